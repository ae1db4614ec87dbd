/* SPDX-License-Identifier: MIT */
/* One poll of the fleet feed, in two halves: receive (fetch with the last ETag, decode, the one prerequisite
 * round) and apply (import as one batch, create users when the configuration asks for it, remember what
 * happened). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "import.h"
#include "json-util.h"
#include "macros.h"
#include "report-json.h"
#include "string-util.h"

/* "imported 3 assertions: 2 added, 0 updated, 1 unchanged" (", 1 skipped" when snapd's rule skipped one),
 * or the first refusal's reason. */
static char *describe_report(const ProvisionReport *report)
{
        size_t added = 0, updated = 0, unchanged = 0, skipped = 0;
        const char *first_reason = NULL;

        for (size_t i = 0; i < report->n_assertions; i++)
                switch (report->assertions[i].verdict) {
                case TRUST_VERDICT_ADDED:
                        added++;
                        break;
                case TRUST_VERDICT_UPDATED:
                        updated++;
                        break;
                case TRUST_VERDICT_UNCHANGED:
                        unchanged++;
                        break;
                case TRUST_VERDICT_SKIPPED: /* another assertion with its key is kept */
                        skipped++;
                        break;
                case TRUST_VERDICT_REFUSED:
                        if (!first_reason)
                                first_reason = report->assertions[i].reason;
                        break;
                }
        if (report->n_assertions_refused > 0)
                return strprintf("refused: %zu of %zu assertions (%s); nothing stored",
                                 report->n_assertions_refused, report->n_assertions, strempty(first_reason));
        if (skipped > 0)
                return strprintf(
                        "imported %zu assertions: %zu added, %zu updated, %zu unchanged, %zu skipped",
                        report->n_assertions, added, updated, unchanged, skipped);
        return strprintf("imported %zu assertions: %zu added, %zu updated, %zu unchanged",
                         report->n_assertions, added, updated, unchanged);
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

int fleet_poll_receive(FleetPoll *p, FleetReceived *ret)
{
        _cleanup_(fleet_state_done) FleetState state = {};
        _cleanup_(fleet_response_done) FleetResponse response = {};
        _cleanup_trust_report_ TrustReport *report = NULL;
        _cleanup_free_ char *url = NULL, *error = NULL;
        int r;

        *ret = (FleetReceived){};
        if (!p->config->enabled || !p->config->url)
                return fleet_received_fail(ret, -ENOMEDIUM, "no fleet configured");
        r = fleet_url_feed(p->config->url, &url);
        if (r < 0)
                return fleet_received_fail(ret, r, "fleet.url is not a valid https URL");
        /* A broken state file costs one full download, nothing more; an ETag belongs to the URL it came
         * from. */
        if (fleet_state_load(p->root, &state) < 0)
                state = (FleetState){};
        const char *etag = state.url && streq(state.url, url) ? state.etag : NULL;

        r = fleet_fetch(&p->client, url, etag, &response, &error);
        if (r >= 0 && response.status == 200)
                r = fleet_feed_add(&ret->batch, url, response.body, response.size, &error);
        if (r < 0)
                return fleet_received_fail(ret, r, error ? error : strerror(-r));
        ret->status = response.status;
        if (response.status == 304)
                return 0;
        ret->etag = TAKE_PTR(response.etag);

        /* Which prerequisites are missing: a check that stores nothing. The import that counts comes when
         * the outcome is applied, against the database as it is then. */
        ret->prerequisites = json_array();
        if (!ret->prerequisites)
                return -ENOMEM;
        if (trust_db_check(p->db, &ret->batch.list, &report) >= 0)
                (void) fleet_fetch_prerequisites(&p->client, p->db, p->config->url, &ret->batch, report,
                                                 ret->prerequisites);
        return 0;
}

void fleet_poll_result_done(FleetPollResult *r)
{
        free(r->source);
        provision_report_free(r->report);
        json_decref(r->prerequisites);
        free(r->result);
        *r = (FleetPollResult){};
}

json_t *fleet_poll_result_json(const FleetPollResult *r)
{
        _cleanup_json_ json_t *o = NULL;

        if (r->report)
                o = provision_report_to_json(r->report);
        else
                o = json_pack("{s:s, s:[], s:b}", "source", strempty(r->source), "assertions", "committed",
                              false);
        if (!o || json_object_set_new(o, "status", json_integer(r->status)) < 0 ||
            json_object_set_new(o, "prerequisites",
                                r->prerequisites ? json_incref(r->prerequisites) : json_array()) < 0 ||
            json_object_set_new(o, "result", json_string(strempty(r->result))) < 0)
                return NULL;
        return TAKE_PTR(o);
}

int fleet_poll_result_from_json(json_t *o, FleetPollResult *ret)
{
        _cleanup_(fleet_poll_result_done) FleetPollResult r = {};
        json_t *status = json_object_get(o, "status"), *prerequisites = json_object_get(o, "prerequisites");
        const char *source = json_string_value(json_object_get(o, "source")),
                   *result = json_string_value(json_object_get(o, "result"));
        int k;

        if (!json_is_integer(status) || !source || !result ||
            (prerequisites && !json_is_array(prerequisites)))
                return -EBADMSG;
        r.status = (long) json_integer_value(status);
        r.source = strdup(source);
        r.result = strdup(result);
        r.prerequisites = prerequisites ? json_incref(prerequisites) : json_array();
        if (!r.source || !r.result || !r.prerequisites)
                return -ENOMEM;
        k = provision_report_from_json(o, PROVISION_REPORT_FLEET, &r.report);
        if (k < 0)
                return k;
        *ret = r;
        r = (FleetPollResult){};
        return 0;
}

int fleet_poll_apply(FleetPoll *p, FleetReceived *received, FleetPollResult *ret, char **ret_error)
{
        _cleanup_(fleet_state_done) FleetState state = {};
        _cleanup_(fleet_poll_result_done) FleetPollResult result = {};
        _cleanup_free_ char *url = NULL, *error = NULL;
        int r;

        if (!p->config->enabled || !p->config->url)
                return -ENOMEDIUM;
        r = fleet_url_feed(p->config->url, &url);
        if (r < 0)
                return error_set(ret_error, r, "fleet.url is not a valid https URL");
        if (fleet_state_load(p->root, &state) < 0)
                state = (FleetState){};
        if (!state.url || !streq(state.url, url)) {
                free(state.etag);
                state.etag = NULL;
        }

        if (received->error < 0) {
                const char *why = received->message ? received->message : strerror(-received->error);
                _cleanup_free_ char *text = strprintf("failed: %s", why);
                if (!text)
                        return -ENOMEM;
                (void) record(p, &state, url, false, text);
                return error_set(ret_error, received->error, "%s", why);
        }
        result.status = received->status;
        result.source = strdup(url);
        result.prerequisites = received->prerequisites ? json_incref(received->prerequisites) : json_array();
        if (!result.source || !result.prerequisites)
                return -ENOMEM;
        if (received->status == 304) {
                result.result = strdup("unchanged (304 Not Modified)");
                if (!result.result)
                        return -ENOMEM;
                (void) record(p, &state, url, true, result.result);
                *ret = result;
                result = (FleetPollResult){};
                return 0;
        }

        /* One batch through the one pipeline: the feed and its prerequisites are checked together and stored
         * all or nothing; then the users of the feed's own grants, a grant for another device of the fleet
         * being skipped, not refused. */
        r = provision_report_new(PROVISION_REPORT_FLEET, &result.report);
        if (r < 0)
                return r;
        result.report->source = strdup(url);
        if (!result.report->source)
                return -ENOMEM;
        r = provision_import(p->db, p->provisioner, &received->batch, IMPORT_USERS_FLEET, result.report,
                             &error);
        if (r < 0) {
                (void) record(p, &state, url, false, "failed: cannot store the assertions");
                return error_set(ret_error, r, "%s: %s", url, error ? error : strerror(-r));
        }
        result.result = describe_report(result.report);
        if (!result.result)
                return -ENOMEM;
        /* The ETag is remembered only for a committed feed: a refused one is fetched again next time (the
         * missing piece may have arrived meanwhile, or the clock been fixed). */
        if (result.report->committed) {
                free(state.etag);
                state.etag = received->etag ? strdup(received->etag) : NULL;
        }
        (void) record(p, &state, url, result.report->n_assertions_refused == 0, result.result);
        *ret = result;
        result = (FleetPollResult){};
        return 0;
}

int fleet_poll(FleetPoll *p, FleetPollResult *ret, char **ret_error)
{
        _cleanup_(fleet_received_done) FleetReceived received = {};
        int r;

        /* One deadline for the whole poll: the feed and every prerequisite share it. */
        if (p->client.deadline == 0 && p->config->timeout > 0)
                p->client.deadline = time_now_monotonic() + p->config->timeout;
        r = fleet_poll_receive(p, &received);
        if (r < 0)
                return r;
        return fleet_poll_apply(p, &received, ret, ret_error);
}
