/* SPDX-License-Identifier: MIT */
#pragma once

/* The roots a device trusts ($ROOT/etc/corehomed/trusted) as a person needs to hear about them: which they
 * are, whether anything stored chains to them, and, when an assertion is refused for an unknown signer,
 * whether the trust directory is the cause (it is empty, or the chain ends at an authority it does not
 * hold). Without these words a device with a wrong or missing root refuses every stick with "no matching
 * public key", which does not say what to fix. */

#include <stdbool.h>
#include <stddef.h>

#include "assertion.h"
#include "trust-db.h"

typedef struct TrustRoot {
        char *account_id;
        bool chained; /* some stored assertion is signed by this root */
} TrustRoot;

typedef struct TrustRoots {
        TrustRoot *roots; /* the trusted accounts, in the database's order */
        size_t n;
} TrustRoots;

int trust_roots_load(TrustDb *db, TrustRoots *ret);
void trust_roots_done(TrustRoots *r);

/* "trusted here: a, b" or the sentence for an empty trust directory, for status and hints. New string,
 * NULL on OOM. */
char *trust_roots_describe(const TrustRoots *r);

/* For an assertion refused because no known key signed it: a sentence that names the trust directory as the
 * cause when it is one (no root at all, or a's authority is neither a trusted root nor an account with a
 * stored key), in *ret; *ret NULL when the directory is not to blame (a key that is simply not stored yet,
 * for an account the device knows). */
int trust_roots_unknown_signer_hint(TrustDb *db, const TrustRoots *r, const Assertion *a, char **ret);
