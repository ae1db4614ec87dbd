/* SPDX-License-Identifier: MIT */
/* A fleet import as one batch: the streams received (a feed, prerequisites fetched afterwards), decoded
 * once, checked whole by the trust database; and the one retry when only prerequisites were missing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion-fields.h"
#include "fleet.h"
#include "json-util.h"
#include "macros.h"

void fleet_batch_done(FleetBatch *b)
{
        for (size_t i = 0; i < b->n_parts; i++) {
                free(b->parts[i].name);
                free(b->parts[i].data);
        }
        free(b->parts);
        for (size_t i = 0; i < b->list.n; i++)
                assertion_free(b->list.items[i]);
        free(b->list.items);
        free(b->part_of);
        *b = (FleetBatch){};
}

static int set_error(char **ret_error, int r, const char *format, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *format, ...)
{
        va_list ap;

        if (ret_error) {
                free(*ret_error);
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

/* One stream decoded into a pending list; nothing touches the batch yet. */
typedef struct Pending {
        AssertionList *lists[FLEET_FEED_STREAMS_MAX];
        const char *data[FLEET_FEED_STREAMS_MAX];
        size_t size[FLEET_FEED_STREAMS_MAX];
        size_t n;
        size_t n_assertions;
} Pending;

static void pending_done(Pending *p)
{
        for (size_t i = 0; i < p->n; i++)
                assertion_list_free(p->lists[i]);
}

static int pending_add(Pending *p, size_t already, const char *name, const char *data, size_t size,
                       char **ret_error)
{
        AssertionError aerr = {};
        char reason[300];
        int r;

        if (p->n >= FLEET_FEED_STREAMS_MAX)
                return set_error(ret_error, -E2BIG, "%s: more than %d streams in one feed", name,
                                 FLEET_FEED_STREAMS_MAX);
        r = assertion_stream_decode(data, size, &p->lists[p->n], &aerr);
        if (r < 0)
                return set_error(ret_error, r, "%s: stream %zu: %s", name, p->n + 1,
                                 aerr.message[0] ? assertion_error_format(&aerr, reason, sizeof(reason))
                                                 : strerror(-r));
        p->data[p->n] = data;
        p->size[p->n] = size;
        p->n_assertions += p->lists[p->n]->n;
        p->n++;
        /* Each assertion costs a signature check: the whole import is bounded, not just each stream. */
        if (already + p->n_assertions > FLEET_FEED_ASSERTIONS_MAX)
                return set_error(ret_error, -E2BIG, "%s: more than %d assertions in one import", name,
                                 FLEET_FEED_ASSERTIONS_MAX);
        return 0;
}

/* "DIGITS\n" with no leading zero, within rest. */
static int frame_length(const char *s, size_t rest, size_t *ret_length, size_t *ret_consumed)
{
        size_t i = 0, length = 0;

        while (i < rest && i < 10 && s[i] >= '0' && s[i] <= '9') {
                length = length * 10 + (size_t) (s[i] - '0');
                i++;
        }
        if (i == 0 || i >= rest || s[i] != '\n' || (s[0] == '0'))
                return -EBADMSG;
        *ret_length = length;
        *ret_consumed = i + 1;
        return 0;
}

static int pending_add_feed(Pending *p, size_t already, const char *name, const char *data, size_t size,
                            char **ret_error)
{
        size_t pos = strlen(FLEET_FEED_MAGIC);
        int r;

        while (pos < size) {
                size_t length, consumed;
                if (frame_length(data + pos, size - pos, &length, &consumed) < 0)
                        return set_error(
                                ret_error, -EBADMSG,
                                "%s: byte %zu: expected a stream length (decimal, no leading zero, then "
                                "a newline)",
                                name, pos);
                pos += consumed;
                if (length > size - pos || size - pos - length < 1 || data[pos + length] != '\n')
                        return set_error(ret_error, -EBADMSG,
                                         "%s: byte %zu: stream of %zu bytes not followed by a newline", name,
                                         pos, length);
                r = pending_add(p, already, name, data + pos, length, ret_error);
                if (r < 0)
                        return r;
                pos += length + 1;
        }
        return 0;
}

static int batch_append_part(FleetBatch *b, const char *name, const char *data, size_t size)
{
        FleetPart *parts = reallocarray(b->parts, b->n_parts + 1, sizeof(FleetPart));
        if (!parts)
                return -ENOMEM;
        b->parts = parts;
        FleetPart *part = &b->parts[b->n_parts];
        *part = (FleetPart){ .name = strdup(name), .data = malloc(size + 1), .size = size };
        if (!part->name || !part->data) {
                free(part->name);
                free(part->data);
                return -ENOMEM;
        }
        memcpy(part->data, data, size);
        part->data[size] = '\0';
        b->n_parts++;
        return 0;
}

int fleet_batch_add(FleetBatch *b, const char *name, const char *data, size_t size, char **ret_error)
{
        _cleanup_(pending_done) Pending p = {};
        int r;

        if (size >= strlen(FLEET_FEED_MAGIC) &&
            memcmp(data, FLEET_FEED_MAGIC, strlen(FLEET_FEED_MAGIC)) == 0)
                r = pending_add_feed(&p, b->list.n, name, data, size, ret_error);
        else
                r = pending_add(&p, b->list.n, name, data, size, ret_error);
        if (r < 0)
                return r;
        if (p.n_assertions == 0)
                return set_error(ret_error, -ENODATA, "%s: holds no assertions", name);

        size_t n = b->list.n + p.n_assertions;
        Assertion **items = reallocarray(b->list.items, n, sizeof(Assertion *));
        if (!items)
                return -ENOMEM;
        b->list.items = items;
        size_t *part_of = reallocarray(b->part_of, n, sizeof(size_t));
        if (!part_of)
                return -ENOMEM;
        b->part_of = part_of;
        /* Reserve the parts first, so nothing below can fail half-way. */
        size_t first_part = b->n_parts;
        for (size_t i = 0; i < p.n; i++) {
                r = batch_append_part(b, name, p.data[i], p.size[i]);
                if (r < 0) {
                        while (b->n_parts > first_part) {
                                b->n_parts--;
                                free(b->parts[b->n_parts].name);
                                free(b->parts[b->n_parts].data);
                        }
                        return r;
                }
        }
        for (size_t i = 0; i < p.n; i++) {
                for (size_t j = 0; j < p.lists[i]->n; j++) {
                        b->part_of[b->list.n] = first_part + i;
                        b->list.items[b->list.n++] = TAKE_PTR(p.lists[i]->items[j]);
                }
                p.lists[i]->n = 0;
        }
        return 0;
}

void fleet_prerequisites_free(FleetPrerequisite *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(p[i].key);
        free(p);
}

static bool batch_has(const FleetBatch *b, const char *type, const char *header, const char *value)
{
        for (size_t i = 0; i < b->list.n; i++) {
                const Assertion *a = b->list.items[i];
                if (streq(a->type, type) && streq(strempty(assertion_header_string(a, header)), value))
                        return true;
        }
        return false;
}

static int found_one(const Assertion *a, bool trusted, void *userdata)
{
        *(bool *) userdata = true;
        return 1;
}

static bool db_has(TrustDb *db, const char *type, const char *header, const char *value)
{
        _cleanup_free_ char *filter = NULL;
        bool found = false;

        if (asprintf(&filter, "%s=%s", header, value) < 0)
                return false;
        char *filters[] = { filter, NULL };
        (void) trust_db_foreach(db, type, filters, found_one, &found);
        return found;
}

typedef struct Missing {
        FleetPrerequisite *items;
        size_t n;
} Missing;

static int missing_add(Missing *m, TrustDb *db, const FleetBatch *b, const char *type, const char *header,
                       const char *value)
{
        if (!value)
                return 0;
        /* Only what a well-formed URL can name; anything else cannot be helped by the server. */
        if (streq(type, "account-key") ? !fleet_key_id_is_valid(value) : !account_id_is_valid(value))
                return 0;
        for (size_t i = 0; i < m->n; i++)
                if (streq(m->items[i].type, type) && streq(m->items[i].key, value))
                        return 0;
        if (batch_has(b, type, header, value) || db_has(db, type, header, value))
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

int fleet_missing_prerequisites(TrustDb *db, const FleetBatch *b, const TrustReport *report,
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

static int check(TrustDb *db, FleetBatch *b, bool store, TrustReport **ret)
{
        return store ? trust_db_import(db, &b->list, ret) : trust_db_check(db, &b->list, ret);
}

static void log_fetch(json_t *fetched, const char *url, const char *result)
{
        if (fetched)
                json_array_append_new(fetched, json_pack("{s:s, s:s}", "url", url, "result", result));
}

int fleet_fetch_prerequisites(FleetClient *c, TrustDb *db, const char *base, FleetBatch *b,
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
                        r = fleet_batch_add(b, url, response.body, response.size, &error);
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

int fleet_import_batch(FleetClient *c, TrustDb *db, const char *base, FleetBatch *b, bool store,
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

json_t *fleet_report_json(const FleetBatch *b, const TrustReport *report)
{
        _cleanup_json_ json_t *array = json_array();

        if (!array)
                return NULL;
        for (size_t i = 0; i < report->n; i++) {
                const TrustVerdict *v = &report->verdicts[i];
                _cleanup_free_ char *what = assertion_describe(v->assertion);
                /* The report is in batch order: the same index as b->list. */
                json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "file", b->parts[b->part_of[i]].name,
                                      "assertion", strempty(what), "type", v->assertion->type, "verdict",
                                      trust_verdict_kind_to_string(v->kind));
                if (o && v->kind == TRUST_VERDICT_REFUSED)
                        json_object_set_new(o, "reason", json_string(v->reason));
                if (!o || json_array_append_new(array, o) < 0)
                        return NULL;
        }
        return json_pack("{s:O, s:b}", "assertions", array, "committed", report->committed);
}
