/* SPDX-License-Identifier: MIT */
#pragma once

/* Authentication as systemd-homed 252 does it for org.freedesktop.home1, without the bus: the "secret"
 * argument a client sends, homed's per-user rate limit, whether a record may log in now, and the password
 * against the record's hashedPassword. Pure functions of their arguments (the clock is passed in), so the
 * rules are tested without a bus or a home. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "macros.h"
#include "time-util.h"

/* A secret argument longer than this is refused before parsing: it is a few passwords in JSON. */
#define HOME1_SECRET_TEXT_MAX (64U * 1024U)
/* Passwords one secret may carry (pam_systemd_home sends every password it collected, one per retry, at
 * most five): more is refused, so a call cannot make us run crypt() without bound. */
#define HOME1_SECRET_PASSWORDS_MAX 16U

/* homed's defaults when the record sets no rateLimitIntervalUSec / rateLimitBurst. */
#define HOME1_RATELIMIT_INTERVAL_DEFAULT (60 * USEC_PER_SEC)
#define HOME1_RATELIMIT_BURST_DEFAULT    30U

/* The "secret" argument ({"password": [...], ...}, the record's secret section): its passwords as a
 * NULL-terminated array (empty when it has none). Other secrets (PINs, tokens) are ignored: no home of ours
 * is keyed to a token. -EINVAL malformed, -E2BIG above the limits. *ret is erased when freed with
 * home1_passwords_free(). */
int home1_secret_parse(const char *text, char ***ret);
char **home1_passwords_free(char **passwords);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, home1_passwords_free)
#define _cleanup_passwords_ _cleanup_(home1_passwords_freep)

/* One user's authentication attempts, as homed keeps them (rateLimitBeginUSec, rateLimitCount in the
 * record's status section). begin == USEC_INFINITY: none yet. */
typedef struct Home1RateLimit {
        usec_t begin;
        uint64_t count;
} Home1RateLimit;

#define HOME1_RATELIMIT_INIT ((Home1RateLimit){ .begin = USEC_INFINITY, .count = 0 })

/* Counts an attempt at now, as homed's user_record_ratelimit(): every attempt counts, successful or not.
 * Returns 1 when it may go on, 0 when the limit is hit (nothing counted). record (may be NULL) gives
 * rateLimitIntervalUSec and rateLimitBurst. A window that begins in the future (the clock went back) starts
 * over, as homed does. */
int home1_ratelimit_try(Home1RateLimit *rl, json_t *record, usec_t now);

/* When the next attempt is allowed: USEC_INFINITY when nothing is known, 0 right away, else that time
 * (homed's user_record_ratelimit_next_try()). */
usec_t home1_ratelimit_next_try(const Home1RateLimit *rl, json_t *record, usec_t now);

/* May the record's user log in at now? 0 yes; -ENOLCK "locked": true; -EL2HLT before notBeforeUSec;
 * -EL3HLT from the grant's end on (grant_record_end(); homed's user_record_test_blocked() uses notAfterUSec;
 * a record from the future is fine, as homed only warns). */
int home1_record_login_allowed(json_t *record, usec_t now);

/* The passwords against the record's privileged.hashedPassword (crypt_r): the index (>= 0) of the first
 * that matches; -ENOKEY none was given; -EKEYREJECTED none matches; -EKEYREVOKED the record has no hash at
 * all (nothing to authenticate against: homed's "HomeCantAuthenticate"). */
int home1_authenticate(json_t *record, char *const *passwords);
