/* SPDX-License-Identifier: MIT */
#pragma once

/* Many signature checks at once, on every CPU: the RSA verification is most of what importing a large batch
 * costs (a stick or a fleet delivery of hundreds of grants), and the checks are independent. The trust
 * database's batch check runs them first for every assertion whose signing key it can already name, then
 * decides the chain one assertion at a time as before, using these results (trust-batch.c). */

#include <stdbool.h>
#include <stddef.h>

#include "assertion.h"
#include "public-key.h"

/* Below this many checks the calling thread does them alone (starting threads would cost more). */
#define SIGNATURE_VERIFY_PARALLEL_MIN 32
/* At most this many threads in all, the caller's included (and never more than the online CPUs). */
#define SIGNATURE_VERIFY_THREADS_MAX 8

typedef struct SignatureCheck {
        const Assertion *assertion;
        const PublicKey *key;
        bool checked; /* out: result and error are set */
        int result;   /* out: as assertion_verify_signature() */
        AssertionError error;
} SignatureCheck;

/* Runs assertion_verify_signature() for every check. A PublicKey's verification state serves one thread, so
 * every helper thread verifies with copies of the keys of its own (made from the key's packet); the caller
 * uses the keys themselves. When threads cannot be had (no memory, a thread limit), the caller does the rest
 * alone: the results are the same either way. Returns the number of threads used. */
unsigned signature_verify_many(SignatureCheck *checks, size_t n);
