/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "assertion-fields.h"
#include "grant-policy.h"

static bool strv_has(char *const *l, const char *s)
{
        if (!l || !s)
                return false;
        for (; *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

/* Appends to buf (NUL-terminated, size bytes), truncating with "..." rather than overflowing: the lists come
 * from the assertion, which may be long. */
static void append(char *buf, size_t size, const char *s)
{
        size_t used = strlen(buf), n = strlen(s);

        if (used + n < size) {
                memcpy(buf + used, s, n + 1);
                return;
        }
        if (size >= 4 && used < size - 1) {
                size_t room = size - 1 - used;
                memcpy(buf + used, s, room);
                buf[size - 1] = '\0';
                memcpy(buf + size - 4, "...", 4);
        }
}

/* Go's %q of a []string, as snapd's messages print lists: ["a" "b"]. */
static void append_list(char *buf, size_t size, char *const *l)
{
        char q[ASSERTION_QUOTE_MAX];

        append(buf, size, "[");
        for (char *const *i = l; i && *i; i++) {
                if (i != l)
                        append(buf, size, " ");
                append(buf, size, assertion_quote(*i, q));
        }
        append(buf, size, "]");
}

static GrantVerdict decide(GrantDecision *d, GrantVerdict verdict, GrantRule rule)
{
        d->verdict = verdict;
        d->rule = rule;
        return verdict;
}

/* "\"VALUE\" not in NAME [LIST]": snapd's wording for the series, models and serials rules. */
static GrantVerdict refuse_not_in(GrantDecision *d, GrantRule rule, const char *value, const char *name,
                                  char *const *list)
{
        char q[ASSERTION_QUOTE_MAX];

        snprintf(d->reason, sizeof d->reason, "%s not in %s ", assertion_quote(value, q), name);
        append_list(d->reason, sizeof d->reason, list);
        return decide(d, GRANT_NOT_FOR_DEVICE, rule);
}

static GrantVerdict check_authority(const DeviceIdentity *device, const SystemUser *u, GrantDecision *d)
{
        const Model *m = device->model_assertion;
        char q[ASSERTION_QUOTE_MAX], q2[ASSERTION_QUOTE_MAX];
        bool allowed;

        /* Threat: an account that is trusted to sign something (any account-key in the database) issuing
         * users for a brand's devices. Only the model decides who besides the brand may; without a model
         * assertion we know of no such delegation, so the brand alone signs. */
        if (m)
                allowed = model_system_user_authority_allows(m, u->authority_id);
        else
                allowed = streq(u->authority_id, device->brand_id);
        if (allowed)
                return GRANT_APPLIES;

        /* snapd's list of accepted authorities: the brand first, then the model's list (which may repeat
         * the brand, then it is shown once). */
        snprintf(d->reason, sizeof d->reason, "%s not in accepted authorities [%s",
                 assertion_quote(u->authority_id, q), assertion_quote(device->brand_id, q2));
        if (m && m->system_user_authority == MODEL_SYSTEM_USER_AUTHORITY_LIST)
                for (char *const *i = m->system_user_authority_list; *i; i++) {
                        if (streq(*i, device->brand_id))
                                continue;
                        append(d->reason, sizeof d->reason, " ");
                        append(d->reason, sizeof d->reason, assertion_quote(*i, q));
                }
        append(d->reason, sizeof d->reason, "]");
        return decide(d, GRANT_NOT_FOR_DEVICE, GRANT_RULE_AUTHORITY);
}

GrantVerdict grant_policy_check(const DeviceIdentity *device, const SystemUser *u, usec_t now,
                                GrantDecision *ret)
{
        GrantDecision local, *d = ret ? ret : &local;
        char q[ASSERTION_QUOTE_MAX], q2[ASSERTION_QUOTE_MAX], t[RFC3339_MAX];

        *d = (GrantDecision){ .verdict = GRANT_APPLIES, .rule = GRANT_RULE_NONE };

        /* Threat: brand A's system-user creating accounts on brand B's devices. snapd gets this for free by
         * looking the assertion up under the model's brand-id; we are handed assertions, so we check. */
        if (!streq(u->brand_id, device->brand_id)) {
                snprintf(d->reason, sizeof d->reason, "brand-id %s is not the device's brand %s",
                         assertion_quote(u->brand_id, q), assertion_quote(device->brand_id, q2));
                return decide(d, GRANT_NOT_FOR_DEVICE, GRANT_RULE_BRAND);
        }

        if (check_authority(device, u, d) != GRANT_APPLIES)
                return d->verdict;

        if (u->series && !strv_has(u->series, device->series))
                return refuse_not_in(d, GRANT_RULE_SERIES, device->series, "series", u->series);

        if (u->models && !strv_has(u->models, device->model))
                return refuse_not_in(d, GRANT_RULE_MODELS, device->model, "models", u->models);

        if (u->serials) {
                /* Not a refusal: the grant may well be for this device once it has registered. */
                if (!device->serial) {
                        snprintf(d->reason, sizeof d->reason,
                                 "bound to serial assertion but device not yet registered");
                        return decide(d, GRANT_PENDING_SERIAL, GRANT_RULE_SERIALS);
                }
                if (!strv_has(u->serials, device->serial))
                        return refuse_not_in(d, GRANT_RULE_SERIALS, device->serial, "serials", u->serials);
        }

        /* snapd's ValidAt: since <= now < until. */
        if (now < u->since) {
                (void) time_format_rfc3339(u->since, t);
                snprintf(d->reason, sizeof d->reason, "assertion not valid yet: since %s", t);
                return decide(d, GRANT_NOT_YET_VALID, GRANT_RULE_SINCE);
        }
        if (now >= u->until) {
                (void) time_format_rfc3339(u->until, t);
                snprintf(d->reason, sizeof d->reason, "assertion not valid anymore: until %s", t);
                return decide(d, GRANT_EXPIRED, GRANT_RULE_UNTIL);
        }

        return decide(d, GRANT_APPLIES, GRANT_RULE_NONE);
}

bool grant_is_expired(const SystemUser *u, usec_t now)
{
        return u->user_presence == SYSTEM_USER_PRESENCE_UNTIL_EXPIRATION && now >= u->until;
}

int grant_verdict_to_errno(GrantVerdict v)
{
        switch (v) {
        case GRANT_APPLIES:
                return 0;
        case GRANT_PENDING_SERIAL:
                return -EAGAIN;
        case GRANT_NOT_FOR_DEVICE:
                return -EXDEV;
        case GRANT_NOT_YET_VALID:
        case GRANT_EXPIRED:
                return -EKEYEXPIRED;
        }
        return -EINVAL;
}

const char *grant_verdict_to_string(GrantVerdict v)
{
        static const char *const names[] = {
                [GRANT_APPLIES] = "applies",
                [GRANT_PENDING_SERIAL] = "pending-serial",
                [GRANT_NOT_FOR_DEVICE] = "not-for-device",
                [GRANT_NOT_YET_VALID] = "not-yet-valid",
                [GRANT_EXPIRED] = "expired",
        };
        return (unsigned) v < ELEMENTSOF(names) ? names[v] : "unknown";
}

const char *grant_rule_to_string(GrantRule r)
{
        static const char *const names[] = {
                [GRANT_RULE_NONE] = "none",           [GRANT_RULE_BRAND] = "brand",
                [GRANT_RULE_AUTHORITY] = "authority", [GRANT_RULE_SERIES] = "series",
                [GRANT_RULE_MODELS] = "models",       [GRANT_RULE_SERIALS] = "serials",
                [GRANT_RULE_SINCE] = "since",         [GRANT_RULE_UNTIL] = "until",
        };
        return (unsigned) r < ELEMENTSOF(names) ? names[r] : "unknown";
}
