/* SPDX-License-Identifier: MIT */
#pragma once

/* The typed view of a "system-user" assertion (snapd asserts/system_user.go; formats 0, 1, 2): permission to
 * create a local user on the devices it names. Primary key: brand-id, email. Only the assertion's own rules
 * are checked here; whether it applies to this device and now is the grant policy's question. */

#include <stdbool.h>
#include <stdint.h>

#include "assertion-fields.h"
#include "assertion.h"
#include "time-util.h"

typedef enum SystemUserPresence {
        SYSTEM_USER_PRESENCE_NONE,             /* header absent: the user outlives the assertion */
        SYSTEM_USER_PRESENCE_UNTIL_EXPIRATION, /* "until-expiration" (format >= 2): gone at until */
} SystemUserPresence;

typedef struct SystemUser {
        char *brand_id;
        char *email;
        char *username;
        char *name;     /* optional; NULL when absent */
        char *password; /* crypt(3) hash; NULL when absent or empty */
        bool force_password_change;
        char **ssh_keys; /* NULL-terminated; NULL when none */
        char **series;   /* NULL when absent or empty (any series) */
        char **models;   /* NULL when absent or empty (any model) */
        char **serials;  /* NULL when absent or empty (any serial) */
        usec_t since;
        usec_t until;
        SystemUserPresence user_presence;
        /* The headers every assertion carries. */
        char *authority_id; /* may differ from brand_id: the model's policy decides */
        char *sign_key;     /* sign-key-sha3-384 */
        uint64_t revision;
        unsigned format;
} SystemUser;

/* -EBADMSG with err filled ("assertion system-user: ...") when a does not satisfy snapd's rules. */
int system_user_from_assertion(const Assertion *a, SystemUser **ret, AssertionError *err);
SystemUser *system_user_free(SystemUser *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(SystemUser *, system_user_free)
#define _cleanup_system_user_ _cleanup_(system_user_freep)

/* snapd's SystemUser.ValidAt: since <= t < until. */
bool system_user_is_valid_at(const SystemUser *u, usec_t t);
