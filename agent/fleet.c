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
#include "json-util.h"
#include "macros.h"

static json_t *users_json(const ProvisionReport *report)
{
        _cleanup_json_ json_t *array = json_array();

        for (size_t i = 0; array && i < report->n; i++) {
                const ProvisionResult *e = &report->items[i];
                json_t *o = json_pack("{s:s?, s:s?, s:s}", "user", e->user_name, "assertion", e->assertion,
                                      "outcome", provision_outcome_to_string(e->outcome));
                if (o && e->reason[0])
                        json_object_set_new(o, "reason", json_string(e->reason));
                if (!o || json_array_append_new(array, o) < 0)
                        return NULL;
        }
        return TAKE_PTR(array);
}

/* Only the grants this feed brought, as for a stick: a poll is not a way to re-run older grants. Grants
 * that do not apply to this device are skipped, not refused: a fleet feed may serve many devices. */
static int create_users(Provisioner *p, const FleetBatch *b, json_t *users)
{
        for (size_t i = 0; i < b->list.n; i++) {
                _cleanup_provision_report_ ProvisionReport *report = NULL;
                const Assertion *a = b->list.items[i];
                int r;

                if (!streq(a->type, "system-user"))
                        continue;
                r = provision_create_users(p, assertion_header_string(a, "brand-id"),
                                           assertion_header_string(a, "email"), false, &report);
                if (r < 0)
                        return r;
                _cleanup_json_ json_t *more = users_json(report);
                if (!more || json_array_extend(users, more) < 0)
                        return -ENOMEM;
        }
        return 0;
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
                r = fleet_batch_add(&ret->batch, url, response.body, response.size, &error);
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

static int set_error(char **ret_error, const char *format, ...) _printf_(2, 3);
static int set_error(char **ret_error, const char *format, ...)
{
        va_list ap;

        if (!ret_error)
                return 0;
        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return 0;
}

int fleet_poll_apply(FleetPoll *p, FleetReceived *received, json_t **ret, char **ret_error)
{
        _cleanup_(fleet_state_done) FleetState state = {};
        _cleanup_trust_report_ TrustReport *report = NULL;
        _cleanup_free_ char *url = NULL, *result = NULL;
        _cleanup_json_ json_t *o = NULL;
        int r;

        if (!p->config->enabled || !p->config->url)
                return -ENOMEDIUM;
        r = fleet_url_feed(p->config->url, &url);
        if (r < 0) {
                set_error(ret_error, "fleet.url is not a valid https URL");
                return r;
        }
        if (fleet_state_load(p->root, &state) < 0)
                state = (FleetState){};
        if (!state.url || !streq(state.url, url)) {
                free(state.etag);
                state.etag = NULL;
        }

        if (received->error < 0) {
                const char *why = received->message ? received->message : strerror(-received->error);
                _cleanup_free_ char *text = NULL;
                if (asprintf(&text, "failed: %s", why) < 0)
                        return -ENOMEM;
                (void) record(p, &state, url, false, text);
                set_error(ret_error, "%s", why);
                return received->error;
        }
        if (received->status == 304) {
                (void) record(p, &state, url, true, "unchanged (304 Not Modified)");
                *ret = json_pack("{s:s, s:i, s:[], s:b, s:[], s:s}", "source", url, "status", 304,
                                 "assertions", "committed", false, "prerequisites", "result",
                                 "unchanged (304 Not Modified)");
                return *ret ? 0 : -ENOMEM;
        }

        /* One batch: the feed and its prerequisites are checked together and stored all or nothing. */
        r = trust_db_import(p->db, &received->batch.list, &report);
        if (r < 0) {
                set_error(ret_error, "%s: cannot store the assertions: %s", url, strerror(-r));
                (void) record(p, &state, url, false, "failed: cannot store the assertions");
                return r;
        }
        o = fleet_report_json(&received->batch, report);
        if (!o || json_object_set_new(o, "source", json_string(url)) < 0 ||
            json_object_set_new(o, "status", json_integer(200)) < 0 ||
            json_object_set_new(o, "prerequisites",
                                received->prerequisites ? json_incref(received->prerequisites)
                                                        : json_array()) < 0)
                return -ENOMEM;

        if (report->committed && p->config->create_users && p->provisioner) {
                _cleanup_json_ json_t *users = json_array();
                if (!users)
                        return -ENOMEM;
                r = create_users(p->provisioner, &received->batch, users);
                if (r < 0) {
                        set_error(ret_error, "%s: cannot create users: %s", url, strerror(-r));
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
                state.etag = received->etag ? strdup(received->etag) : NULL;
        }
        (void) record(p, &state, url, report->n_refused == 0, result);
        json_object_set_new(o, "result", json_string(result));
        *ret = TAKE_PTR(o);
        return 0;
}

int fleet_poll(FleetPoll *p, json_t **ret, char **ret_error)
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
