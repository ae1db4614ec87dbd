/* SPDX-License-Identifier: MIT */
/* One poll of the fleet feed: fetch (with the last ETag), import as one batch (with the one prerequisite
 * round), create users when the configuration asks for it, and remember what happened. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "json-util.h"
#include "lifecycle.h"
#include "macros.h"
#include "report-json.h"

/* Only the grants this feed brought, as for a stick: a poll is not a way to re-run older grants. Grants
 * that do not apply to this device are skipped, not refused: a fleet feed may serve many devices. */
static int create_users(Provisioner *p, const FleetBatch *b, json_t **ret)
{
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        _cleanup_free_ const Assertion **grants = calloc(b->list.n + 1, sizeof(Assertion *));
        size_t n = 0;
        int r;

        if (!grants)
                return -ENOMEM;
        for (size_t i = 0; i < b->list.n; i++)
                if (streq(b->list.items[i]->type, "system-user"))
                        grants[n++] = b->list.items[i];
        r = provision_report_new(PROVISION_REPORT_USERS, &report);
        if (r >= 0)
                r = provision_apply_grants(p, grants, n, false, report);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *o = provision_report_to_json(report);
        *ret = json_incref(json_object_get(o, "users"));
        return *ret ? 0 : -ENOMEM;
}

static char *describe_report(const TrustReport *report)
{
        size_t added = 0, updated = 0, unchanged = 0;
        const char *first_reason = NULL;
        char *s = NULL;

        for (size_t i = 0; i < report->n; i++)
                switch (report->verdicts[i].kind) {
                case TRUST_VERDICT_ADDED:
                        added++;
                        break;
                case TRUST_VERDICT_UPDATED:
                        updated++;
                        break;
                case TRUST_VERDICT_UNCHANGED:
                        unchanged++;
                        break;
                case TRUST_VERDICT_REFUSED:
                        if (!first_reason)
                                first_reason = report->verdicts[i].reason;
                        break;
                }
        if (report->n_refused > 0) {
                if (asprintf(&s, "refused: %zu of %zu assertions (%s); nothing stored", report->n_refused,
                             report->n, strempty(first_reason)) < 0)
                        return NULL;
        } else if (asprintf(&s, "imported %zu assertions: %zu added, %zu updated, %zu unchanged", report->n,
                            added, updated, unchanged) < 0)
                return NULL;
        return s;
}

static int record(FleetPoll *p, FleetState *state, const char *url, bool ok, const char *result)
{
        char *u = strdup(url), *res = strdup(result);

        if (!u || !res) {
                free(u);
                free(res);
                return -ENOMEM;
        }
        free(state->url);
        free(state->result);
        state->url = u;
        state->result = res;
        state->ok = ok;
        state->last_poll = p->now;
        state->failures = ok ? 0 : state->failures + 1;
        return fleet_state_save(p->root, state);
}

int fleet_poll(FleetPoll *p, json_t **ret, char **ret_error)
{
        _cleanup_(fleet_state_done) FleetState state = {};
        _cleanup_(fleet_batch_done) FleetBatch batch = {};
        _cleanup_(fleet_response_done) FleetResponse response = {};
        _cleanup_trust_report_ TrustReport *report = NULL;
        _cleanup_free_ char *url = NULL, *error = NULL, *result = NULL;
        _cleanup_json_ json_t *fetched = json_array(), *o = NULL;
        int r;

        if (!fetched)
                return -ENOMEM;
        if (!p->config->enabled || !p->config->url)
                return -ENOMEDIUM;
        r = fleet_url_feed(p->config->url, &url);
        if (r < 0) {
                if (ret_error)
                        *ret_error = strdup("fleet.url is not a valid https URL");
                return r;
        }
        r = fleet_state_load(p->root, &state);
        if (r < 0)
                state = (FleetState){}; /* a broken state file costs one full download, nothing more */
        /* An ETag belongs to the URL it came from. */
        if (!state.url || !streq(state.url, url)) {
                free(state.etag);
                state.etag = NULL;
        }
        const char *etag = state.etag;

        r = fleet_fetch(&p->client, url, etag, &response, &error);
        if (r >= 0 && response.status == 200)
                r = fleet_batch_add(&batch, url, response.body, response.size, &error);
        if (r < 0) {
                _cleanup_free_ char *text = NULL;
                if (asprintf(&text, "failed: %s", error ? error : strerror(-r)) < 0)
                        return -ENOMEM;
                (void) record(p, &state, url, false, text);
                if (ret_error)
                        *ret_error = TAKE_PTR(error);
                return r;
        }
        if (response.status == 304) {
                (void) record(p, &state, url, true, "unchanged (304 Not Modified)");
                *ret = json_pack("{s:s, s:i, s:[], s:b, s:[], s:s}", "source", url, "status", 304,
                                 "assertions", "committed", false, "prerequisites", "result",
                                 "unchanged (304 Not Modified)");
                return *ret ? 0 : -ENOMEM;
        }

        _cleanup_free_ char *base = strdup(p->config->url);
        if (!base)
                return -ENOMEM;
        r = fleet_import_batch(&p->client, p->db, base, &batch, true, fetched, &report);
        if (r < 0) {
                if (ret_error &&
                    asprintf(ret_error, "%s: cannot store the assertions: %s", url, strerror(-r)) < 0)
                        *ret_error = NULL;
                (void) record(p, &state, url, false, "failed: cannot store the assertions");
                return r;
        }
        o = fleet_report_json(&batch, report);
        if (!o || json_object_set_new(o, "source", json_string(url)) < 0 ||
            json_object_set_new(o, "status", json_integer(200)) < 0 ||
            json_object_set(o, "prerequisites", fetched) < 0)
                return -ENOMEM;

        if (report->committed && p->config->create_users && p->provisioner) {
                _cleanup_json_ json_t *users = NULL;
                r = create_users(p->provisioner, &batch, &users);
                if (r < 0) {
                        if (ret_error &&
                            asprintf(ret_error, "%s: cannot create users: %s", url, strerror(-r)) < 0)
                                *ret_error = NULL;
                        return r;
                }
                json_object_set(o, "users", users);
        }

        result = describe_report(report);
        if (!result)
                return -ENOMEM;
        /* The ETag is remembered only for a committed feed: a refused one is fetched again next time (the
         * missing piece may have arrived meanwhile, or the clock been fixed). */
        if (report->committed) {
                free(state.etag);
                state.etag = response.etag ? strdup(response.etag) : NULL;
        }
        (void) record(p, &state, url, report->n_refused == 0, result);
        json_object_set_new(o, "result", json_string(result));
        *ret = TAKE_PTR(o);
        return 0;
}
