/* SPDX-License-Identifier: MIT */
#pragma once

/* The typed view of an "account" assertion (snapd asserts/account.go): ties an account-id to a display name
 * and the authority's confidence in it. Primary key: account-id. */

#include <stdint.h>

#include "assertion-fields.h"
#include "assertion.h"
#include "time-util.h"

typedef struct Account {
        char *account_id;
        char *display_name;
        char *username;   /* optional; NULL when absent */
        char *validation; /* "unproven", "starred", "verified", ... ("certified" is read as "verified") */
        usec_t timestamp;
        /* The headers every assertion carries. */
        char *authority_id;
        char *sign_key; /* sign-key-sha3-384 */
        uint64_t revision;
        unsigned format;
} Account;

/* -EBADMSG with err filled ("assertion account: ...") when a does not satisfy snapd's rules. */
int account_from_assertion(const Assertion *a, Account **ret, AssertionError *err);
Account *account_free(Account *acc);
DEFINE_TRIVIAL_CLEANUP_FUNC(Account *, account_free)
#define _cleanup_account_ _cleanup_(account_freep)
