/* SPDX-License-Identifier: MIT */
#include "operations.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-identity.h"
#include "grant-convert.h"
#include "json-util.h"
#include "macros.h"
#include "media.h"
#include "user-record.h"

static int fail(OperationError *err, int r, const char *prefix, const char *format, ...)
        __attribute__((format(printf, 4, 5)));
static int fail(OperationError *err, int r, const char *prefix, const char *format, ...)
{
        va_list ap;

        snprintf(err->prefix, sizeof(err->prefix), "%s", strempty(prefix));
        va_start(ap, format);
        vsnprintf(err->message, sizeof(err->message), format, ap);
        va_end(ap);
        return r;
}

static int fail_usage(OperationError *err, const char *prefix, const char *what)
{
        err->usage = true;
        return fail(err, -EINVAL, prefix, "%s", what);
}

/* --- assertion batches --- */

typedef struct Batch {
        AssertionList *list;
        char **origin; /* per assertion, owned */
} Batch;

static void batch_done(Batch *b)
{
        for (size_t i = 0; b->list && i < b->list->n; i++)
                free(b->origin[i]);
        free(b->origin);
        assertion_list_free(b->list);
        *b = (Batch){};
}

/* Decodes data (named origin in messages) and appends its assertions to b. */
static int batch_add(Batch *b, const char *origin, const char *data, size_t size, OperationError *err)
{
        _cleanup_assertion_list_ AssertionList *l = NULL;
        AssertionError aerr = {};
        char reason[300];
        int r;

        r = assertion_stream_decode(data, size, &l, &aerr);
        if (r < 0)
                return fail(err, r, origin, "%s",
                            aerr.message[0] ? assertion_error_format(&aerr, reason, sizeof(reason))
                                            : strerror(-r));
        if (l->n == 0)
                return fail(err, -ENODATA, origin, "holds no assertions");
        if (!b->list && !(b->list = calloc(1, sizeof(AssertionList))))
                return -ENOMEM;
        size_t n = b->list->n + l->n;
        if (n > OPERATION_ASSERTIONS_MAX)
                return fail(err, -E2BIG, origin, "too many assertions in one import (more than %d)",
                            OPERATION_ASSERTIONS_MAX);
        Assertion **items = realloc(b->list->items, n * sizeof(Assertion *));
        if (!items)
                return -ENOMEM;
        b->list->items = items;
        char **origins = realloc(b->origin, n * sizeof(char *));
        if (!origins)
                return -ENOMEM;
        b->origin = origins;
        for (size_t i = 0; i < l->n; i++) {
                char *o = strdup(origin);
                if (!o)
                        return -ENOMEM;
                b->origin[b->list->n] = o;
                b->list->items[b->list->n++] = TAKE_PTR(l->items[i]);
        }
        l->n = 0;
        return 0;
}

static int batch_from_parameters(json_t *parameters, Batch *ret, OperationError *err)
{
        _cleanup_(batch_done) Batch b = {};
        json_t *files = json_object_get(parameters, "files"),
               *text = json_object_get(parameters, "assertions");
        json_t *e;
        size_t i;
        int r;

        if (files && text)
                return fail_usage(err, NULL, "give either \"files\" or \"assertions\", not both");
        if (text) {
                const char *origin = json_string_value(json_object_get(parameters, "origin"));
                if (!json_is_string(text))
                        return fail_usage(err, NULL,
                                          "\"assertions\" must be a string (an assertion stream)");
                if (json_string_length(text) > OPERATION_IMPORT_BYTES_MAX)
                        return fail(err, -E2BIG, origin, "more than %d bytes of assertions in one import",
                                    OPERATION_IMPORT_BYTES_MAX);
                r = batch_add(&b, origin ? origin : "assertions", json_string_value(text),
                              json_string_length(text), err);
                if (r < 0)
                        return r;
        } else {
                if (!json_is_array(files) || json_array_size(files) == 0)
                        return fail_usage(err, NULL,
                                          "needs \"files\" (a non-empty array) or \"assertions\"");
                if (json_array_size(files) > OPERATION_FILES_MAX)
                        return fail_usage(err, NULL, "too many files in one request");
                size_t bytes = 0;
                json_array_foreach (files, i, e) {
                        json_t *name = json_object_get(e, "name"), *data = json_object_get(e, "assertions");
                        if (!json_is_string(name) || !json_is_string(data))
                                return fail_usage(
                                        err, NULL,
                                        "each of \"files\" needs \"name\" and \"assertions\" strings");
                        bytes += json_string_length(data);
                        if (bytes > OPERATION_IMPORT_BYTES_MAX)
                                return fail(err, -E2BIG, json_string_value(name),
                                            "more than %d bytes of assertions in one import (all files "
                                            "together)",
                                            OPERATION_IMPORT_BYTES_MAX);
                        r = batch_add(&b, json_string_value(name), json_string_value(data),
                                      json_string_length(data), err);
                        if (r < 0)
                                return r;
                }
        }
        *ret = b;
        b = (Batch){};
        return 0;
}

static json_t *verdict_json(const char *origin, const TrustVerdict *v)
{
        const Assertion *a = v->assertion;
        _cleanup_free_ char *what = assertion_describe(a);
        json_t *revision = json_object_get(a->headers, "revision");
        json_t *o =
                json_pack("{s:s, s:s, s:s, s:s, s:I}", "file", origin, "assertion", strempty(what), "type",
                          a->type, "verdict", trust_verdict_kind_to_string(v->kind), "revision",
                          (json_int_t) (json_is_string(revision) ? atoll(json_string_value(revision)) : 0));

        if (!o)
                return NULL;
        if (v->kind == TRUST_VERDICT_REFUSED)
                json_object_set_new(o, "reason", json_string(v->reason));
        /* For the journal: whose grant this is. */
        for (const char *const *k = (const char *const[]){ "brand-id", "email", NULL }; *k; k++)
                if (assertion_header_string(a, *k))
                        json_object_set_new(o, *k, json_string(assertion_header_string(a, *k)));
        return o;
}

static json_t *batch_report_json(const Batch *b, const TrustReport *report)
{
        _cleanup_json_ json_t *array = json_array();

        for (size_t i = 0; array && i < report->n; i++)
                if (json_array_append_new(array, verdict_json(b->origin[i], &report->verdicts[i])) < 0)
                        return NULL;
        return json_pack("{s:O, s:b}", "assertions", array, "committed", report->committed);
}

static int check_assertions(OperationContext *c, json_t *parameters, bool store, json_t **ret,
                            OperationError *err)
{
        _cleanup_(batch_done) Batch b = {};
        _cleanup_trust_report_ TrustReport *report = NULL;
        const char *verb = store ? "import" : "verify";
        int r;

        r = batch_from_parameters(parameters, &b, err);
        if (r < 0)
                return r;
        r = store ? trust_db_import(c->db, b.list, &report) : trust_db_check(c->db, b.list, &report);
        if (r < 0)
                return fail(err, r, verb, "cannot %s the assertions: %s", store ? "store" : "check",
                            strerror(-r));
        *ret = batch_report_json(&b, report);
        return *ret ? 0 : -ENOMEM;
}

int operation_import(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err)
{
        return check_assertions(c, parameters, true, ret, err);
}

int operation_verify(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err)
{
        return check_assertions(c, parameters, false, ret, err);
}

/* --- users --- */

json_t *operation_provision_report_json(const ProvisionReport *report)
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

size_t operation_count_refused(json_t *entries, const char *key, const char *refused_value)
{
        size_t i, n = 0;
        json_t *e;

        json_array_foreach (entries, i, e)
                if (streq(strempty(json_string_value(json_object_get(e, key))), refused_value))
                        n++;
        return n;
}

static int users_reply(ProvisionReport *report, json_t **ret)
{
        json_t *users = operation_provision_report_json(report);

        *ret = users ? json_pack("{s:o}", "users", users) : NULL;
        return *ret ? 0 : -ENOMEM;
}

int operation_import_media_data(OperationContext *c, const char *label, const char *data, size_t size,
                                json_t **ret, OperationError *err)
{
        _cleanup_(batch_done) Batch b = {};
        _cleanup_trust_report_ TrustReport *trust = NULL;
        _cleanup_json_ json_t *o = NULL, *users = json_array();
        Provisioner *p = c->provisioner;
        int r;

        if (!users)
                return -ENOMEM;
        r = batch_add(&b, label, data, size, err);
        if (r < 0)
                return r;
        r = trust_db_import(c->db, b.list, &trust);
        if (r < 0)
                return fail(err, r, label, "cannot store the assertions: %s", strerror(-r));
        o = batch_report_json(&b, trust);
        if (!o || json_object_set_new(o, "source", json_string(label)) < 0 ||
            json_object_set(o, "users", users) < 0)
                return -ENOMEM;
        if (trust->n_refused > 0) {
                *ret = TAKE_PTR(o);
                return 0;
        }

        const char *not_creating = NULL;
        if (p->config->media.create_users == CONFIG_CREATE_USERS_NEVER)
                not_creating = "users are not created from media (media.create-users: never)";
        else if (p->config->media.create_users == CONFIG_CREATE_USERS_UNMANAGED_ONLY &&
                 provision_device_is_managed(p) > 0)
                not_creating =
                        "this device already has users; none created (media.create-users: unmanaged-only)";
        if (not_creating) {
                json_object_set_new(o, "note", json_string(not_creating));
                *ret = TAKE_PTR(o);
                return 0;
        }

        /* Only the grants this medium brought: a stick is not a way to re-run older grants. */
        for (size_t i = 0; i < b.list->n; i++) {
                _cleanup_provision_report_ ProvisionReport *report = NULL;
                const Assertion *a = b.list->items[i];

                if (!streq(a->type, "system-user"))
                        continue;
                r = provision_create_users(p, assertion_header_string(a, "brand-id"),
                                           assertion_header_string(a, "email"), true, &report);
                if (r < 0)
                        return fail(err, r, label, "%s", strerror(-r));
                _cleanup_json_ json_t *more = operation_provision_report_json(report);
                if (!more || json_array_extend(users, more) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int operation_import_media(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err)
{
        _cleanup_free_ char *data = NULL, *error = NULL, *label = NULL;
        const char *path = json_string_value(json_object_get(parameters, "path"));
        size_t size;
        int r;

        if (!path || !path[0])
                return fail_usage(err, "import-media", "needs \"path\" (a directory or a block device)");
        if (asprintf(&label, "%s/%s", path, MEDIA_ASSERT_FILE) < 0)
                return -ENOMEM;
        r = media_read_auto_import(path, &data, &size, &error);
        if (r < 0)
                return fail(err, r, NULL, "%s", error ? error : strerror(-r));
        return operation_import_media_data(c, label, data, size, ret, err);
}

int operation_create_users(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err)
{
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        json_t *e = json_object_get(parameters, "email");
        int r;

        if (e && !json_is_string(e) && !json_is_null(e))
                return fail_usage(err, "create-user", "\"email\" must be a string");
        const char *email = json_string_value(e);
        r = provision_create_users(c->provisioner, NULL, email, email != NULL, &report);
        if (r < 0)
                return fail(err, r, "create-user", "%s", strerror(-r));
        return users_reply(report, ret);
}

int operation_expire(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err)
{
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        int r;

        r = provision_expire(c->provisioner, &report);
        if (r < 0)
                return fail(err, r, "expire", "%s", strerror(-r));
        return users_reply(report, ret);
}

static json_t *list_entry(Provisioner *p, const HomeListEntry *h)
{
        _cleanup_json_ json_t *record = NULL;
        RecordError rerr = {};
        json_t *grant = NULL, *not_after = NULL;
        char expiry[RFC3339_MAX] = "";

        if (home_load_record(p->home, h->user_name, &record, &rerr) >= 0) {
                grant = json_object_get(record, GRANT_RECORD_EXTENSION);
                not_after = json_object_get(record, "notAfterUSec");
        }
        if (json_is_integer(not_after))
                (void) time_format_rfc3339((usec_t) json_integer_value(not_after), expiry);

        return json_pack("{s:s, s:I, s:s, s:s?, s:s?, s:s?, s:O?, s:b}", "user", h->user_name, "uid",
                         (json_int_t) h->uid, "state", home_state_to_string(h->state), "expires",
                         expiry[0] ? expiry : NULL, "brand",
                         json_string_value(json_object_get(grant, "brandId")), "email",
                         json_string_value(json_object_get(grant, "email")), "revision",
                         json_object_get(grant, "revision"), "managed", grant != NULL);
}

int operation_list(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err)
{
        _cleanup_json_ json_t *array = json_array();
        HomeListEntry *homes = NULL;
        size_t n = 0;
        int r;

        if (!array)
                return -ENOMEM;
        r = home_list(c->provisioner->home, &homes, &n);
        if (r < 0)
                return fail(err, r, "list", "cannot list homes: %s", strerror(-r));
        for (size_t i = 0; i < n; i++)
                json_array_append_new(array, list_entry(c->provisioner, &homes[i]));
        home_list_free(homes, n);
        *ret = json_pack("{s:O}", "users", array);
        return *ret ? 0 : -ENOMEM;
}

static const char *user_parameter(json_t *parameters, const char *verb, OperationError *err)
{
        const char *user = json_string_value(json_object_get(parameters, "userName"));

        if (!user || !user[0])
                (void) fail_usage(err, verb, "needs \"userName\"");
        return user && user[0] ? user : NULL;
}

int operation_inspect(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err)
{
        Provisioner *p = c->provisioner;
        _cleanup_json_ json_t *record = NULL;
        RecordError rerr = {};
        HomeState state = HOME_STATE_ABSENT;
        UserRecordSignatureState signature = USER_RECORD_UNSIGNED;
        const char *user = user_parameter(parameters, "inspect", err);
        int r;

        if (!user)
                return -EINVAL;
        r = home_load_record(p->home, user, &record, &rerr);
        if (r < 0)
                return fail(err, r, user, "%s", r == -ENOENT ? "no such user managed here" : rerr.message);
        (void) home_state(p->home, user, &state);
        (void) user_record_verify(record, p->home->key->pkey, &signature);

        json_t *grant = json_object_get(record, GRANT_RECORD_EXTENSION);
        const char *key[] = { json_string_value(json_object_get(grant, "brandId")),
                              json_string_value(json_object_get(grant, "email")), NULL };
        const Assertion *a = key[0] && key[1] ? trust_db_find(c->db, "system-user", key) : NULL;

        *ret = json_pack("{s:s, s:s, s:O, s:o?}", "state", home_state_to_string(state), "signature",
                         user_record_signature_state_to_string(signature), "record", record, "assertion",
                         a ? assertion_to_json(a) : NULL);
        return *ret ? 0 : -ENOMEM;
}

int operation_remove(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err)
{
        _cleanup_free_ char *error = NULL;
        const char *user = user_parameter(parameters, "remove", err);
        int r;

        if (!user)
                return -EINVAL;
        r = provision_remove_user(c->provisioner, user, &error);
        if (r < 0)
                return fail(err, r, user, "%s", error ? error : strerror(-r));
        *ret = json_pack("{s:s, s:s}", "user", user, "outcome", "removed");
        return *ret ? 0 : -ENOMEM;
}

static int count_one(const Assertion *a, bool trusted, void *userdata)
{
        json_t *o = userdata;
        json_t *key = trusted ? json_object_get(o, "trusted") : json_object_get(o, "stored");
        json_t *n = json_object_get(key, a->type);

        json_object_set_new(key, a->type, json_integer(n ? json_integer_value(n) + 1 : 1));
        if (trusted && streq(a->type, "account"))
                json_array_append_new(json_object_get(o, "trusted-accounts"),
                                      json_string(assertion_header_string(a, "account-id")));
        return 0;
}

int operation_status(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err)
{
        Provisioner *p = c->provisioner;
        _cleanup_free_ char *device = NULL;
        HomeListEntry *homes = NULL;
        size_t n_homes = 0;
        int r;

        _cleanup_json_ json_t *o = json_pack("{s:{}, s:{}, s:[]}", "trusted", "stored", "trusted-accounts");
        if (!o)
                return -ENOMEM;
        r = trust_db_foreach(c->db, NULL, NULL, count_one, o);
        if (r < 0)
                return fail(err, r, "status", "cannot read the assertion database: %s", strerror(-r));
        if (home_list(p->home, &homes, &n_homes) < 0)
                n_homes = 0;
        home_list_free(homes, n_homes);
        if (p->device)
                device = device_identity_describe(p->device);

        json_object_set_new(o, "device", device ? json_string(device) : json_null());
        if (!p->device)
                json_object_set_new(o, "device-error", json_string(strempty(p->device_error)));
        json_object_set_new(o, "users", json_integer((json_int_t) n_homes));
        json_object_set_new(
                o, "daemon",
                json_string(c->daemon_state ? c->daemon_state : "not contacted (offline, --root)"));
        json_object_set_new(o, "root", json_string(c->root ? c->root : "/"));
        usec_t floor = trust_db_check_time(c->db);
        char text[RFC3339_MAX];
        if (floor > p->now && time_format_rfc3339(floor, text) >= 0)
                json_object_set_new(o, "clock-floor", json_string(text));
        *ret = TAKE_PTR(o);
        return 0;
}

typedef struct KnownOutput {
        json_t *array;
        FILE *stream;
        size_t n;
} KnownOutput;

static int known_one(const Assertion *a, bool trusted, void *userdata)
{
        KnownOutput *out = userdata;
        _cleanup_free_ char *wire = NULL;
        size_t size;
        int r;

        if (json_array_append_new(out->array, assertion_to_json(a)) < 0)
                return -ENOMEM;
        r = assertion_encode(a, &wire, &size);
        if (r < 0)
                return r;
        /* snapd separates the assertions of a stream with an empty line. */
        if (out->n++ > 0)
                fputc('\n', out->stream);
        fwrite(wire, 1, size, out->stream);
        return 0;
}

int operation_known(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err)
{
        const char *type = json_string_value(json_object_get(parameters, "type"));
        json_t *filters = json_object_get(parameters, "filters"), *e;
        _cleanup_free_ char *stream = NULL;
        size_t i, stream_size = 0;
        int r;

        if (!type)
                return fail_usage(err, "known", "needs an assertion \"type\", e.g. system-user");
        if (!assertion_type_primary_keys(type)) {
                err->usage = true;
                return fail(err, -EINVAL, "known", "unknown assertion type '%s'", type);
        }
        if (filters && (!json_is_array(filters) || json_array_size(filters) > 64))
                return fail_usage(err, "known", "\"filters\" must be an array of HEADER=VALUE strings");
        char *f[json_array_size(filters) + 1];
        json_array_foreach (filters, i, e) {
                const char *s = json_string_value(e);
                if (!s || !strchr(s, '=') || s[0] == '=') {
                        err->usage = true;
                        return fail(err, -EINVAL, "known", "'%s' is not a HEADER=VALUE filter", strempty(s));
                }
                f[i] = (char *) s;
        }
        f[json_array_size(filters)] = NULL;

        _cleanup_json_ json_t *array = json_array();
        KnownOutput out = { .array = array, .stream = open_memstream(&stream, &stream_size) };
        if (!array || !out.stream) {
                if (out.stream)
                        fclose(out.stream);
                return -ENOMEM;
        }
        r = trust_db_foreach(c->db, type, f, known_one, &out);
        if (fclose(out.stream) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return fail(err, r, "known", "cannot list assertions: %s", strerror(-r));
        *ret = json_pack("{s:O, s:s%}", "assertions", array, "stream", strempty(stream), stream_size);
        return *ret ? 0 : -ENOMEM;
}

static const Operation operations[] = {
        { "Import", operation_import, false, false },
        { "Verify", operation_verify, false, false },
        { "Known", operation_known, false, false },
        { "ImportMedia", operation_import_media, true, true },
        { "CreateUsers", operation_create_users, true, true },
        { "Expire", operation_expire, true, true },
        { "List", operation_list, true, false },
        { "Inspect", operation_inspect, true, false },
        { "Remove", operation_remove, true, true },
        { "Status", operation_status, true, false },
};

const Operation *operation_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(operations); i++)
                if (streq(operations[i].name, name))
                        return &operations[i];
        return NULL;
}

const Operation *operation_table(size_t *ret_n)
{
        *ret_n = ELEMENTSOF(operations);
        return operations;
}
