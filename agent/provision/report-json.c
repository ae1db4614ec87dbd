/* SPDX-License-Identifier: MIT */
#include "report-json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"

/* --- to JSON --- */

static int set_grant(json_t *o, const GrantOrigin *g)
{
        if (g->brand_id && json_object_set_new(o, "brand-id", json_string(g->brand_id)) < 0)
                return -ENOMEM;
        if (g->email && json_object_set_new(o, "email", json_string(g->email)) < 0)
                return -ENOMEM;
        return 0;
}

static json_t *assertion_json(const AssertionResult *e)
{
        _cleanup_json_ json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "file", e->origin, "assertion",
                                             strempty(e->what.description), "type", e->type, "verdict",
                                             trust_verdict_kind_to_string(e->verdict), "revision",
                                             (json_int_t) (e->what.revision < 0 ? 0 : e->what.revision));

        if (!o)
                return NULL;
        if (e->reason && json_object_set_new(o, "reason", json_string(e->reason)) < 0)
                return NULL;
        if (set_grant(o, &e->what) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static json_t *user_json(const UserResult *e)
{
        _cleanup_json_ json_t *o =
                json_pack("{s:s?, s:s?, s:s}", "user", e->user_name, "assertion", e->what.description,
                          "outcome", provision_outcome_to_string(e->outcome));

        if (!o)
                return NULL;
        if (e->reason && json_object_set_new(o, "reason", json_string(e->reason)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static json_t *assertions_json(const ProvisionReport *r)
{
        _cleanup_json_ json_t *a = json_array();

        for (size_t i = 0; a && i < r->n_assertions; i++)
                if (json_array_append_new(a, assertion_json(&r->assertions[i])) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

static json_t *users_json(const ProvisionReport *r)
{
        _cleanup_json_ json_t *a = json_array();

        for (size_t i = 0; a && i < r->n_users; i++)
                if (json_array_append_new(a, user_json(&r->users[i])) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

json_t *provision_report_to_json(const ProvisionReport *r)
{
        _cleanup_json_ json_t *o = NULL;

        switch (r->kind) {
        case PROVISION_REPORT_IMPORT:
                return json_pack("{s:o, s:b}", "assertions", assertions_json(r), "committed", r->committed);
        case PROVISION_REPORT_MEDIA:
                o = json_pack("{s:s, s:o, s:b, s:o}", "source", strempty(r->source), "assertions",
                              assertions_json(r), "committed", r->committed, "users", users_json(r));
                if (o && r->note && json_object_set_new(o, "note", json_string(r->note)) < 0)
                        return NULL;
                return TAKE_PTR(o);
        case PROVISION_REPORT_USERS:
                return json_pack("{s:o}", "users", users_json(r));
        case PROVISION_REPORT_FLEET:
                o = json_pack("{s:s, s:o, s:b}", "source", strempty(r->source), "assertions",
                              assertions_json(r), "committed", r->committed);
                if (o && r->users_applied && json_object_set_new(o, "users", users_json(r)) < 0)
                        return NULL;
                return TAKE_PTR(o);
        case PROVISION_REPORT_REMOVE:
                if (r->n_users != 1)
                        return NULL;
                return json_pack("{s:s, s:s}", "user", strempty(r->users[0].user_name), "outcome",
                                 provision_outcome_to_string(r->users[0].outcome));
        }
        return NULL;
}

/* --- from JSON --- */

static int dup_member(json_t *o, const char *key, bool required, char **ret)
{
        json_t *v = json_object_get(o, key);

        if (!v || json_is_null(v)) {
                *ret = NULL;
                return required ? -EBADMSG : 0;
        }
        if (!json_is_string(v))
                return -EBADMSG;
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

static int grant_from_json(json_t *o, GrantOrigin *g)
{
        json_t *revision = json_object_get(o, "revision");
        int r;

        g->revision = json_is_integer(revision) ? (int64_t) json_integer_value(revision) : -1;
        r = dup_member(o, "assertion", false, &g->description);
        if (r >= 0)
                r = dup_member(o, "brand-id", false, &g->brand_id);
        if (r >= 0)
                r = dup_member(o, "email", false, &g->email);
        return r;
}

static int assertions_from_json(json_t *array, ProvisionReport *r)
{
        json_t *e;
        size_t i;
        int k;

        if (!json_is_array(array))
                return -EBADMSG;
        r->assertions = calloc(json_array_size(array) + 1, sizeof(AssertionResult));
        if (!r->assertions)
                return -ENOMEM;
        json_array_foreach (array, i, e) {
                AssertionResult *a = &r->assertions[r->n_assertions++];
                const char *verdict = json_string_value(json_object_get(e, "verdict"));

                a->what.revision = -1;
                if (!json_is_object(e) || !verdict ||
                    trust_verdict_kind_from_string(verdict, &a->verdict) < 0)
                        return -EBADMSG;
                k = dup_member(e, "file", true, &a->origin);
                if (k >= 0)
                        k = dup_member(e, "type", true, &a->type);
                if (k >= 0)
                        k = dup_member(e, "reason", false, &a->reason);
                if (k >= 0)
                        k = grant_from_json(e, &a->what);
                if (k < 0)
                        return k;
                if (a->verdict == TRUST_VERDICT_REFUSED)
                        r->n_assertions_refused++;
                if (a->verdict == TRUST_VERDICT_SKIPPED)
                        r->n_assertions_skipped++;
        }
        return 0;
}

static int user_from_json(json_t *e, ProvisionReport *r)
{
        UserResult *u;
        ProvisionOutcome outcome;
        int k;

        if (!json_is_object(e) ||
            provision_outcome_from_string(json_string_value(json_object_get(e, "outcome")), &outcome) < 0)
                return -EBADMSG;
        k = provision_report_add_user(r, NULL, NULL, &u);
        if (k < 0)
                return k;
        u->outcome = outcome;
        if (outcome == PROVISION_REFUSED)
                r->n_users_refused++;
        k = dup_member(e, "user", false, &u->user_name);
        if (k >= 0)
                k = dup_member(e, "reason", false, &u->reason);
        if (k >= 0)
                k = grant_from_json(e, &u->what);
        return k;
}

static int users_from_json(json_t *array, ProvisionReport *r)
{
        json_t *e;
        size_t i;
        int k;

        if (!json_is_array(array))
                return -EBADMSG;
        json_array_foreach (array, i, e) {
                k = user_from_json(e, r);
                if (k < 0)
                        return k;
        }
        return 0;
}

int provision_report_from_json(json_t *o, ProvisionReportKind kind, ProvisionReport **ret)
{
        _cleanup_provision_report_ ProvisionReport *r = NULL;
        int k;

        if (!json_is_object(o))
                return -EBADMSG;
        k = provision_report_new(kind, &r);
        if (k < 0)
                return k;
        switch (kind) {
        case PROVISION_REPORT_MEDIA:
                k = dup_member(o, "source", true, &r->source);
                if (k >= 0)
                        k = dup_member(o, "note", false, &r->note);
                if (k >= 0)
                        k = users_from_json(json_object_get(o, "users"), r);
                if (k < 0)
                        return k;
                _fallthrough_;
        case PROVISION_REPORT_FLEET:
                if (kind == PROVISION_REPORT_FLEET) {
                        k = dup_member(o, "source", true, &r->source);
                        r->users_applied = json_object_get(o, "users") != NULL;
                        if (k >= 0 && r->users_applied)
                                k = users_from_json(json_object_get(o, "users"), r);
                        if (k < 0)
                                return k;
                }
                _fallthrough_;
        case PROVISION_REPORT_IMPORT:
                if (!json_is_boolean(json_object_get(o, "committed")))
                        return -EBADMSG;
                r->committed = json_is_true(json_object_get(o, "committed"));
                k = assertions_from_json(json_object_get(o, "assertions"), r);
                break;
        case PROVISION_REPORT_USERS:
                k = users_from_json(json_object_get(o, "users"), r);
                break;
        case PROVISION_REPORT_REMOVE:
                k = user_from_json(o, r);
                break;
        }
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}
