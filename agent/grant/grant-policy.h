/* SPDX-License-Identifier: MIT */
#pragma once

/* Which system-user grants apply to this device, now. The rules, in snapd's order
 * (daemon/api_users.go getUserDetailsFromAssertion), each refusal naming its rule:
 *   brand      the system-user's brand-id is the device's brand
 *   authority  its signer is accepted by the model's system-user-authority (absent: the brand only;
 *              "*": anyone; a list: the brand and the listed accounts). Without a stored model assertion
 *              only the brand itself is accepted.
 *   series     series empty, or contains the device's series
 *   models     models empty, or contains the device's model
 *   serials    serials empty, or contains the device's serial; a device without a serial yet gets
 *              GRANT_PENDING_SERIAL (kept, applied once a serial appears), not a refusal
 *   since      since <= now (exactly since: valid)
 *   until      now < until (exactly until: not valid any more) */

#include <stdbool.h>

#include "device-identity.h"
#include "system-user.h"
#include "time-util.h"

typedef enum GrantVerdict {
        GRANT_APPLIES,        /* create / keep the user */
        GRANT_PENDING_SERIAL, /* serial-bound and the device has no serial yet: keep, retry later */
        GRANT_NOT_FOR_DEVICE, /* brand, authority, series, models or serials exclude this device (-EXDEV) */
        GRANT_NOT_YET_VALID,  /* now < since (-EKEYEXPIRED) */
        GRANT_EXPIRED,        /* now >= until (-EKEYEXPIRED) */
} GrantVerdict;

typedef enum GrantRule {
        GRANT_RULE_NONE, /* GRANT_APPLIES */
        GRANT_RULE_BRAND,
        GRANT_RULE_AUTHORITY,
        GRANT_RULE_SERIES,
        GRANT_RULE_MODELS,
        GRANT_RULE_SERIALS,
        GRANT_RULE_SINCE,
        GRANT_RULE_UNTIL,
} GrantRule;

#define GRANT_REASON_MAX 512

typedef struct GrantDecision {
        GrantVerdict verdict;
        GrantRule rule; /* the rule that decided; GRANT_RULE_NONE when the grant applies */
        /* Why, in snapd's words where snapd has them, e.g.
         * "\"other-model\" not in models [\"pc\"]",
         * "\"acme-ops\" not in accepted authorities [\"acme\"]",
         * "bound to serial assertion but device not yet registered",
         * "assertion not valid anymore: until 2024-01-01T00:00:00Z". Empty when the grant applies. */
        char reason[GRANT_REASON_MAX];
} GrantDecision;

/* Decides whether u applies to device at now. Pure: no I/O, no allocation. Returns the verdict (also in
 * ret->verdict; ret may be NULL). */
GrantVerdict grant_policy_check(const DeviceIdentity *device, const SystemUser *u, usec_t now,
                                GrantDecision *ret);

/* For until-expiration grants (user-presence: until-expiration): now >= until, i.e. the user must go.
 * False for grants without user-presence (their users outlive the assertion). */
bool grant_is_expired(const SystemUser *u, usec_t now);

/* 0 for GRANT_APPLIES, -EAGAIN for GRANT_PENDING_SERIAL, -EXDEV for GRANT_NOT_FOR_DEVICE, -EKEYEXPIRED for
 * GRANT_NOT_YET_VALID and GRANT_EXPIRED. */
int grant_verdict_to_errno(GrantVerdict v);

/* "applies", "pending-serial", "not-for-device", "not-yet-valid", "expired". */
const char *grant_verdict_to_string(GrantVerdict v);
/* "none", "brand", "authority", "series", "models", "serials", "since", "until". */
const char *grant_rule_to_string(GrantRule r);
