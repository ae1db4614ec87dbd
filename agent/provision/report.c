/* SPDX-License-Identifier: MIT */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[_PROVISION_OUTCOME_MAX] = {
        [PROVISION_CREATED] = "created",     [PROVISION_UPDATED] = "updated",
        [PROVISION_UNCHANGED] = "unchanged", [PROVISION_REMOVED] = "removed",
        [PROVISION_PENDING] = "pending",     [PROVISION_SKIPPED] = "skipped",
        [PROVISION_DENIED] = "denied",       [PROVISION_ALLOWED] = "allowed",
        [PROVISION_REFUSED] = "refused",
};

const char *provision_outcome_to_string(ProvisionOutcome o)
{
        return (unsigned) o < ELEMENTSOF(outcome_names) ? outcome_names[o] : "unknown";
}

int provision_outcome_from_string(const char *s, ProvisionOutcome *ret)
{
        for (size_t i = 0; s && i < ELEMENTSOF(outcome_names); i++)
                if (streq(s, outcome_names[i])) {
                        *ret = (ProvisionOutcome) i;
                        return 0;
                }
        return -EINVAL;
}

void grant_origin_done(GrantOrigin *o)
{
        free(o->description);
        free(o->brand_id);
        free(o->email);
        *o = (GrantOrigin){ .revision = -1 };
}

int grant_origin_from_assertion(const Assertion *a, GrantOrigin *ret)
{
        GrantOrigin o = { .revision = -1 };
        const char *revision = assertion_header_string(a, "revision");

        o.description = assertion_describe(a);
        if (!o.description)
                return -ENOMEM;
        /* The decoder has checked that a revision is a decimal integer. */
        o.revision = revision ? (int64_t) strtoll(revision, NULL, 10) : 0;
        if (streq(a->type, "system-user")) {
                o.brand_id = strdup(strempty(assertion_header_string(a, "brand-id")));
                o.email = strdup(strempty(assertion_header_string(a, "email")));
                if (!o.brand_id || !o.email) {
                        grant_origin_done(&o);
                        return -ENOMEM;
                }
        }
        *ret = o;
        return 0;
}

int grant_origin_from_record(json_t *grant, GrantOrigin *ret)
{
        GrantOrigin o = { .revision = -1 };
        json_t *revision = json_object_get(grant, "revision");

        o.brand_id = strdup(strempty(json_string_value(json_object_get(grant, "brandId"))));
        o.email = strdup(strempty(json_string_value(json_object_get(grant, "email"))));
        if (!o.brand_id || !o.email) {
                grant_origin_done(&o);
                return -ENOMEM;
        }
        if (json_is_integer(revision))
                o.revision = (int64_t) json_integer_value(revision);
        grant_origin_done(ret);
        *ret = o;
        return 0;
}

int provision_report_new(ProvisionReportKind kind, ProvisionReport **ret)
{
        ProvisionReport *r = calloc(1, sizeof(ProvisionReport));

        if (!r)
                return -ENOMEM;
        r->kind = kind;
        *ret = r;
        return 0;
}

static void assertion_result_done(AssertionResult *e)
{
        free(e->origin);
        free(e->type);
        grant_origin_done(&e->what);
        free(e->reason);
}

static void user_result_done(UserResult *e)
{
        free(e->user_name);
        grant_origin_done(&e->what);
        free(e->reason);
}

ProvisionReport *provision_report_free(ProvisionReport *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_assertions; i++)
                assertion_result_done(&r->assertions[i]);
        for (size_t i = 0; i < r->n_users; i++)
                user_result_done(&r->users[i]);
        free(r->assertions);
        free(r->users);
        free(r->source);
        free(r->note);
        free(r);
        return NULL;
}

int provision_report_add_verdicts(ProvisionReport *r, const TrustReport *trust, char *const *origins)
{
        AssertionResult *items =
                reallocarray(r->assertions, r->n_assertions + trust->n, sizeof(AssertionResult));

        if (!items)
                return -ENOMEM;
        r->assertions = items;
        for (size_t i = 0; i < trust->n; i++) {
                const TrustVerdict *v = &trust->verdicts[i];
                AssertionResult *e = &r->assertions[r->n_assertions];
                int k;

                *e = (AssertionResult){ .verdict = v->kind, .error = v->error };
                k = grant_origin_from_assertion(v->assertion, &e->what);
                if (k < 0)
                        return k;
                r->n_assertions++; /* from here on, the entry is freed with the report */
                e->origin = strdup(strempty(origins[i]));
                e->type = strdup(v->assertion->type);
                if (!e->origin || !e->type)
                        return -ENOMEM;
                if (v->kind == TRUST_VERDICT_REFUSED || v->kind == TRUST_VERDICT_SKIPPED) {
                        e->reason = strdup(v->reason);
                        if (!e->reason)
                                return -ENOMEM;
                }
                if (v->kind == TRUST_VERDICT_REFUSED)
                        r->n_assertions_refused++;
                if (v->kind == TRUST_VERDICT_SKIPPED)
                        r->n_assertions_skipped++;
        }
        r->committed = trust->committed;
        return 0;
}

int provision_report_add_user(ProvisionReport *r, const Assertion *a, const char *user_name,
                              UserResult **ret)
{
        UserResult *items = reallocarray(r->users, r->n_users + 1, sizeof(UserResult));
        UserResult *e;
        int k;

        if (!items)
                return -ENOMEM;
        r->users = items;
        e = &r->users[r->n_users];
        *e = (UserResult){ .outcome = PROVISION_UNCHANGED, .what = { .revision = -1 } };
        if (a) {
                k = grant_origin_from_assertion(a, &e->what);
                if (k < 0)
                        return k;
        }
        r->n_users++;
        if (user_name && !(e->user_name = strdup(user_name)))
                return -ENOMEM;
        *ret = e;
        return 0;
}

int user_result_set(ProvisionReport *r, UserResult *e, ProvisionOutcome outcome, int error,
                    const char *format, ...)
{
        char *reason = NULL;
        va_list ap;

        if (format) {
                va_start(ap, format);
                int k = vasprintf(&reason, format, ap);
                va_end(ap);
                if (k < 0)
                        return -ENOMEM;
        }
        if (e->outcome == PROVISION_REFUSED && r->n_users_refused > 0)
                r->n_users_refused--;
        free(e->reason);
        e->reason = reason;
        e->outcome = outcome;
        e->error = error;
        if (outcome == PROVISION_REFUSED)
                r->n_users_refused++;
        return 0;
}

int provision_report_take_users(ProvisionReport *to, ProvisionReport *from)
{
        UserResult *items;

        if (from->n_users == 0)
                return 0;
        items = reallocarray(to->users, to->n_users + from->n_users, sizeof(UserResult));
        if (!items)
                return -ENOMEM;
        to->users = items;
        memcpy(to->users + to->n_users, from->users, from->n_users * sizeof(UserResult));
        to->n_users += from->n_users;
        to->n_users_refused += from->n_users_refused;
        from->users = mfree(from->users);
        from->n_users = from->n_users_refused = 0;
        return 0;
}
