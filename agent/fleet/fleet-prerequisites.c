/* SPDX-License-Identifier: MIT */
/* The one prerequisite round: when a batch is refused only because signers or accounts are unknown, each
 * missing account-key and account is fetched once from the fleet server and the batch checked again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion-fields.h"
#include "fleet.h"
#include "json-util.h"
#include "macros.h"

void fleet_prerequisites_free(FleetPrerequisite *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(p[i].key);
        free(p);
}

static bool batch_has(const AssertionBatch *b, const char *type, const char *header, const char *value)
{
        for (size_t i = 0; i < b->list.n; i++) {
                const Assertion *a = b->list.items[i];
                if (streq(a->type, type) && streq(strempty(assertion_header_string(a, header)), value))
                        return true;
        }
        return false;
}

typedef struct Missing {
        FleetPrerequisite *items;
        size_t n;
} Missing;

/* type is "account-key" (value: its public-key-sha3-384) or "account" (value: its account-id): the whole
 * primary key of each, so the database answers by its index. */
static int missing_add(Missing *m, TrustDb *db, const AssertionBatch *b, const char *type,
                       const char *header, const char *value)
{
        const char *const key[] = { value, NULL };

        if (!value)
                return 0;
        /* Only what a well-formed URL can name; anything else cannot be helped by the server. */
        if (streq(type, "account-key") ? !fleet_key_id_is_valid(value) : !account_id_is_valid(value))
                return 0;
        for (size_t i = 0; i < m->n; i++)
                if (streq(m->items[i].type, type) && streq(m->items[i].key, value))
                        return 0;
        if (batch_has(b, type, header, value) || trust_db_find(db, type, key))
                return 0;
        if (m->n >= FLEET_PREREQUISITES_MAX)
                return -E2BIG;
        FleetPrerequisite *items = reallocarray(m->items, m->n + 1, sizeof(FleetPrerequisite));
        if (!items)
                return -ENOMEM;
        m->items = items;
        m->items[m->n] = (FleetPrerequisite){ .type = streq(type, "account") ? "account" : "account-key",
                                              .key = strdup(value) };
        if (!m->items[m->n].key)
                return -ENOMEM;
        m->n++;
        return 0;
}

int fleet_missing_prerequisites(TrustDb *db, const AssertionBatch *b, const TrustReport *report,
                                FleetPrerequisite **ret, size_t *ret_n)
{
        Missing m = {};
        int r = 0;

        if (report->n_refused == 0)
                goto done;
        /* Fetching helps only when every refusal is about an unknown signer or account. */
        for (size_t i = 0; i < report->n; i++)
                if (report->verdicts[i].kind == TRUST_VERDICT_REFUSED &&
                    report->verdicts[i].error != -ENOKEY)
                        goto done;
        for (size_t i = 0; i < report->n && r >= 0; i++) {
                const TrustVerdict *v = &report->verdicts[i];
                const Assertion *a = v->assertion;
                if (v->kind != TRUST_VERDICT_REFUSED)
                        continue;
                const char *authority = assertion_header_string(a, "authority-id");
                r = missing_add(&m, db, b, "account-key", "public-key-sha3-384",
                                assertion_header_string(a, "sign-key-sha3-384"));
                if (r >= 0)
                        r = missing_add(&m, db, b, "account", "account-id", authority);
                /* An account-key needs the account it is for. */
                if (r >= 0 && streq(a->type, "account-key"))
                        r = missing_add(&m, db, b, "account", "account-id",
                                        assertion_header_string(a, "account-id"));
        }
        if (r < 0) {
                fleet_prerequisites_free(m.items, m.n);
                return r;
        }
done:
        *ret = m.items;
        *ret_n = m.n;
        return (int) m.n;
}

static int check(TrustDb *db, AssertionBatch *b, bool store, TrustReport **ret)
{
        return store ? trust_db_import(db, &b->list, ret) : trust_db_check(db, &b->list, ret);
}

static void log_fetch(json_t *fetched, const char *url, const char *result)
{
        if (fetched)
                json_array_append_new(fetched, json_pack("{s:s, s:s}", "url", url, "result", result));
}

int fleet_fetch_prerequisites(FleetClient *c, TrustDb *db, const char *base, AssertionBatch *b,
                              const TrustReport *report, json_t *fetched)
{
        FleetPrerequisite *missing = NULL;
        size_t n_missing = 0;
        int r, n_added = 0;

        r = fleet_missing_prerequisites(db, b, report, &missing, &n_missing);
        if (r == -E2BIG) {
                log_fetch(fetched, base, "too many missing prerequisites: none fetched");
                return 0;
        }
        if (r <= 0)
                return r;

        /* Exactly one request per missing assertion, and one retry: a server that keeps answering with
         * assertions that need yet more assertions gets no second round. */
        for (size_t i = 0; i < n_missing; i++) {
                _cleanup_free_ char *url = NULL, *error = NULL, *result = NULL;
                FleetResponse response = {};

                r = fleet_url_prerequisite(base, missing[i].type, missing[i].key, &url);
                if (r < 0)
                        continue;
                r = fleet_fetch(c, url, NULL, &response, &error);
                if (r >= 0 && response.status == 200)
                        r = fleet_feed_add(b, url, response.body, response.size, &error);
                fleet_response_done(&response);
                if (r >= 0) {
                        n_added++;
                        log_fetch(fetched, url, "fetched");
                } else if (asprintf(&result, "failed: %s", error ? error : strerror(-r)) >= 0)
                        log_fetch(fetched, url, result);
        }
        fleet_prerequisites_free(missing, n_missing);
        return n_added;
}

int fleet_import_batch(FleetClient *c, TrustDb *db, const char *base, AssertionBatch *b, bool store,
                       json_t *fetched, TrustReport **ret)
{
        _cleanup_trust_report_ TrustReport *report = NULL;
        int r;

        r = check(db, b, store, &report);
        if (r < 0)
                return r;
        r = fleet_fetch_prerequisites(c, db, base, b, report, fetched);
        if (r <= 0) {
                *ret = TAKE_PTR(report);
                return 0;
        }
        report = trust_report_free(report);
        return check(db, b, store, ret);
}
