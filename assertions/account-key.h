/* SPDX-License-Identifier: MIT */
#pragma once

/* The typed view of an "account-key" assertion (snapd asserts/account_key.go): a public key an account may
 * sign with, within [since, until). Primary key: public-key-sha3-384. The body is the encoded public key,
 * checked here to hash to public_key_sha3_384 (via public-key.h) and kept as the body's text. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assertion-fields.h"
#include "assertion.h"
#include "time-util.h"

typedef struct AccountKey {
        char *account_id;
        char *name;                /* snapd's key-name rule */
        usec_t since;              /* mandatory */
        usec_t until;              /* USEC_INFINITY when absent */
        char *public_key_sha3_384; /* base64url-nopad key id */
        uint8_t *public_key;       /* the body, verbatim (base64 text of 0x01 || packet); owned */
        size_t public_key_size;
        /* The headers every assertion carries. */
        char *authority_id;
        char *sign_key; /* sign-key-sha3-384 */
        uint64_t revision;
        unsigned format;
} AccountKey;

/* -EBADMSG with err filled ("assertion account-key: ...") when a does not satisfy snapd's rules. */
int account_key_from_assertion(const Assertion *a, AccountKey **ret, AssertionError *err);
AccountKey *account_key_free(AccountKey *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(AccountKey *, account_key_free)
#define _cleanup_account_key_ _cleanup_(account_key_freep)

/* Whether the key may sign at time t: since <= t < until (snapd's AccountKey.isKeyValidAt). */
bool account_key_is_valid_at(const AccountKey *k, usec_t t);
/* Whether the key may be valid at some time within [earliest, latest] (latest = USEC_INFINITY: unbounded),
 * snapd's isValidAssumingCurTimeWithin(): for devices that only know the time lies in a range. */
bool account_key_window_intersects(const AccountKey *k, usec_t earliest, usec_t latest);
