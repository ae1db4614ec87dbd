/* SPDX-License-Identifier: MIT */
#include "operations.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion-batch.h"
#include "device-identity.h"
#include "grant-convert.h"
#include "import.h"
#include "json-util.h"
#include "last-media.h"
#include "lifecycle.h"
#include "macros.h"
#include "media.h"
#include "report-json.h"
#include "string-util.h"
#include "trust-roots.h"
#include "user-record.h"

void operation_error_done(OperationError *err)
{
        err->prefix = mfree(err->prefix);
        err->message = mfree(err->message);
}

int operation_error_set(OperationError *err, int r, const char *prefix, const char *format, ...)
{
        char *message = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        operation_error_done(err);
        err->prefix = prefix ? strdup(prefix) : NULL;
        err->message = message;
        return r;
}

static int fail_usage(OperationError *err, const char *prefix, const char *what)
{
        err->usage = true;
        return operation_error_set(err, -EINVAL, prefix, "%s", what);
}

void operation_result_done(OperationResult *r)
{
        r->report = provision_report_free(r->report);
        r->view = json_decref_null(r->view);
}

json_t *operation_result_reply(const OperationResult *r)
{
        if (r->report)
                return provision_report_to_json(r->report);
        return r->view ? json_incref(r->view) : json_object();
}

/* --- assertion batches --- */

static int batch_add(AssertionBatch *b, const char *origin, json_t *text, OperationError *err)
{
        _cleanup_free_ char *error = NULL;
        int r = assertion_batch_add(b, origin, json_string_value(text), json_string_length(text), &error);

        if (r < 0)
                return operation_error_set(err, r, NULL, "%s", error ? error : strerror(-r));
        return 0;
}

static int batch_from_parameters(json_t *parameters, AssertionBatch *b, OperationError *err)
{
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
                        return operation_error_set(err, -E2BIG, origin,
                                                   "more than %d bytes of assertions in one import",
                                                   OPERATION_IMPORT_BYTES_MAX);
                return batch_add(b, origin ? origin : "assertions", text, err);
        }
        if (!json_is_array(files) || json_array_size(files) == 0)
                return fail_usage(err, NULL, "needs \"files\" (a non-empty array) or \"assertions\"");
        if (json_array_size(files) > OPERATION_FILES_MAX)
                return fail_usage(err, NULL, "too many files in one request");
        size_t bytes = 0;
        json_array_foreach (files, i, e) {
                json_t *name = json_object_get(e, "name"), *data = json_object_get(e, "assertions");
                if (!json_is_string(name) || !json_is_string(data))
                        return fail_usage(err, NULL,
                                          "each of \"files\" needs \"name\" and \"assertions\" strings");
                bytes += json_string_length(data);
                if (bytes > OPERATION_IMPORT_BYTES_MAX)
                        return operation_error_set(
                                err, -E2BIG, json_string_value(name),
                                "more than %d bytes of assertions in one import (all files "
                                "together)",
                                OPERATION_IMPORT_BYTES_MAX);
                r = batch_add(b, json_string_value(name), data, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int operation_import(OperationContext *c, json_t *parameters, OperationResult *ret,
                            OperationError *err)
{
        _cleanup_(assertion_batch_done) AssertionBatch b = {};
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = batch_from_parameters(parameters, &b, err);
        if (r < 0)
                return r;
        r = provision_report_new(PROVISION_REPORT_IMPORT, &report);
        if (r >= 0)
                r = provision_import(c->db, NULL, &b, IMPORT_USERS_NONE, report, &error);
        if (r < 0)
                return operation_error_set(err, r, "import", "%s", error ? error : strerror(-r));
        ret->report = TAKE_PTR(report);
        return 0;
}

static int operation_verify(OperationContext *c, json_t *parameters, OperationResult *ret,
                            OperationError *err)
{
        _cleanup_(assertion_batch_done) AssertionBatch b = {};
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        _cleanup_trust_report_ TrustReport *trust = NULL;
        _cleanup_free_ char **origins = NULL;
        int r;

        r = batch_from_parameters(parameters, &b, err);
        if (r < 0)
                return r;
        r = trust_db_check(c->db, &b.list, &trust);
        if (r < 0)
                return operation_error_set(err, r, "verify", "cannot check the assertions: %s",
                                           strerror(-r));
        origins = assertion_batch_origins(&b);
        r = origins ? provision_report_new(PROVISION_REPORT_IMPORT, &report) : -ENOMEM;
        if (r >= 0)
                r = provision_report_add_verdicts(report, trust, origins);
        if (r >= 0)
                r = provision_report_explain_unknown_signers(report, 0, c->db, trust);
        if (r < 0)
                return r;
        ret->report = TAKE_PTR(report);
        return 0;
}

/* --- users --- */

int operation_import_media_data(OperationContext *c, const char *label, const char *data, size_t size,
                                OperationResult *ret, OperationError *err)
{
        _cleanup_(assertion_batch_done) AssertionBatch b = {};
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = assertion_batch_add(&b, label, data, size, &error);
        if (r < 0)
                return operation_error_set(err, r, NULL, "%s", error ? error : strerror(-r));
        r = provision_report_new(PROVISION_REPORT_MEDIA, &report);
        if (r < 0)
                return r;
        if (!(report->source = strdup(label)))
                return -ENOMEM;
        r = provision_import(c->db, c->provisioner, &b, IMPORT_USERS_MEDIA, report, &error);
        if (r < 0)
                return operation_error_set(err, r, label, "%s", error ? error : strerror(-r));
        ret->report = TAKE_PTR(report);
        return 0;
}

static int operation_import_media(OperationContext *c, json_t *parameters, OperationResult *ret,
                                  OperationError *err)
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
                operation_error_set(err, r, NULL, "%s", error ? error : strerror(-r));
        else
                r = operation_import_media_data(c, label, data, size, ret, err);
        /* What `status` shows of the last medium (the daemon's media queue records its own). A record
         * that cannot be written changes nothing of what was imported. */
        if (r < 0 && err->message)
                (void) last_media_save(c->root, c->provisioner->now, path, err->message, NULL);
        else if (r >= 0)
                (void) last_media_save(c->root, c->provisioner->now, path, NULL, ret->report);
        return r;
}

static int users_report(OperationResult *ret, int (*f)(Provisioner *p, ProvisionReport *report),
                        Provisioner *p, const char *verb, OperationError *err)
{
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        int r = provision_report_new(PROVISION_REPORT_USERS, &report);

        if (r >= 0)
                r = f(p, report);
        if (r < 0)
                return operation_error_set(err, r, verb, "%s", strerror(-r));
        ret->report = TAKE_PTR(report);
        return 0;
}

static int operation_create_users(OperationContext *c, json_t *parameters, OperationResult *ret,
                                  OperationError *err)
{
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        json_t *e = json_object_get(parameters, "email");
        int r;

        if (e && !json_is_string(e) && !json_is_null(e))
                return fail_usage(err, "create-user", "\"email\" must be a string");
        r = provision_report_new(PROVISION_REPORT_USERS, &report);
        if (r >= 0)
                r = provision_create_users(c->provisioner, json_string_value(e), report);
        if (r < 0)
                return operation_error_set(err, r, "create-user", "%s", strerror(-r));
        ret->report = TAKE_PTR(report);
        return 0;
}

static int operation_expire(OperationContext *c, json_t *parameters, OperationResult *ret,
                            OperationError *err)
{
        return users_report(ret, provision_expire, c->provisioner, "expire", err);
}

static json_t *list_entry(Provisioner *p, const HomeListEntry *h)
{
        _cleanup_json_ json_t *record = NULL;
        RecordError rerr = {};
        json_t *grant = NULL;
        usec_t end = USEC_INFINITY;
        char expiry[RFC3339_MAX] = "";

        if (home_load_record(p->home, h->user_name, &record, &rerr) >= 0) {
                grant = json_object_get(record, GRANT_RECORD_EXTENSION);
                end = grant_record_end(record);
        }
        if (end != USEC_INFINITY)
                (void) time_format_rfc3339(end, expiry);

        return json_pack("{s:s, s:I, s:s, s:s?, s:s?, s:s?, s:O?, s:b}", "user", h->user_name, "uid",
                         (json_int_t) h->uid, "state", home_state_to_string(h->state), "expires",
                         expiry[0] ? expiry : NULL, "brand",
                         json_string_value(json_object_get(grant, "brandId")), "email",
                         json_string_value(json_object_get(grant, "email")), "revision",
                         json_object_get(grant, "revision"), "managed", grant != NULL);
}

static int operation_list(OperationContext *c, json_t *parameters, OperationResult *ret, OperationError *err)
{
        _cleanup_json_ json_t *array = json_array();
        HomeListEntry *homes = NULL;
        size_t n = 0;
        int r;

        if (!array)
                return -ENOMEM;
        r = home_list(c->provisioner->home, &homes, &n);
        if (r < 0)
                return operation_error_set(err, r, "list", "cannot list homes: %s", strerror(-r));
        for (size_t i = 0; i < n; i++)
                json_array_append_new(array, list_entry(c->provisioner, &homes[i]));
        home_list_free(homes, n);
        ret->view = json_pack("{s:O, s:o}", "users", array, "denied",
                              deny_list_to_json(&c->provisioner->denied));
        return ret->view ? 0 : -ENOMEM;
}

static const char *user_parameter(json_t *parameters, const char *verb, OperationError *err)
{
        const char *user = json_string_value(json_object_get(parameters, "userName"));

        if (!user || !user[0])
                (void) fail_usage(err, verb, "needs \"userName\"");
        return user && user[0] ? user : NULL;
}

static int operation_inspect(OperationContext *c, json_t *parameters, OperationResult *ret,
                             OperationError *err)
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
        if (r == -ENOENT && deny_list_find(&p->denied, user))
                return operation_error_set(err, r, user,
                                           "no such user managed here: %s (corehomectl allow %s lifts it)",
                                           PROVISION_DENIED_REASON, user);
        if (r < 0)
                return operation_error_set(err, r, user, "%s",
                                           r == -ENOENT ? "no such user managed here" : rerr.message);
        (void) home_state(p->home, user, &state);
        (void) user_record_verify(record, p->home->key->pkey, &signature);

        /* The grant the user came from, by its primary key (brand-id, email) in the trust database. */
        json_t *grant = json_object_get(record, GRANT_RECORD_EXTENSION);
        const char *key[] = { json_string_value(json_object_get(grant, "brandId")),
                              json_string_value(json_object_get(grant, "email")), NULL };
        const Assertion *a = key[0] && key[1] ? trust_db_find(c->db, "system-user", key) : NULL;

        ret->view = json_pack("{s:s, s:s, s:O, s:o?}", "state", home_state_to_string(state), "signature",
                              user_record_signature_state_to_string(signature), "record", record,
                              "assertion", a ? assertion_to_json(a) : NULL);
        return ret->view ? 0 : -ENOMEM;
}

static int operation_remove(OperationContext *c, json_t *parameters, OperationResult *ret,
                            OperationError *err)
{
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        _cleanup_json_ json_t *record = NULL;
        _cleanup_free_ char *error = NULL;
        RecordError rerr = {};
        const char *user = user_parameter(parameters, "remove", err);
        UserResult *e;
        int r;

        if (!user)
                return -EINVAL;
        r = provision_report_new(PROVISION_REPORT_REMOVE, &report);
        if (r < 0)
                return r;
        r = provision_report_add_user(report, NULL, user, &e);
        if (r < 0)
                return r;
        /* For the journal: whose grant goes (read before the record is gone). */
        if (home_load_record(c->provisioner->home, user, &record, &rerr) >= 0 &&
            json_object_get(record, GRANT_RECORD_EXTENSION) &&
            grant_origin_from_record(json_object_get(record, GRANT_RECORD_EXTENSION), &e->what) < 0)
                return -ENOMEM;
        r = provision_remove_user(c->provisioner, user, &error);
        if (r < 0)
                return operation_error_set(err, r, user, "%s", error ? error : strerror(-r));
        r = user_result_set(report, e, PROVISION_REMOVED, 0, "removed by the administrator");
        if (r < 0)
                return r;
        ret->report = TAKE_PTR(report);
        return 0;
}

/* Deny and Allow: the administrator's local revoke of a user name (deny-list.h). */
static int deny_or_allow(OperationContext *c, json_t *parameters, OperationResult *ret, OperationError *err,
                         bool deny)
{
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        _cleanup_free_ char *error = NULL;
        const char *verb = deny ? "deny" : "allow";
        const char *user = user_parameter(parameters, verb, err);
        int r;

        if (!user)
                return -EINVAL;
        r = provision_report_new(PROVISION_REPORT_USERS, &report);
        if (r < 0)
                return r;
        r = deny ? provision_deny(c->provisioner, user, report, &error)
                 : provision_allow(c->provisioner, user, report, &error);
        if (r == -EINVAL)
                err->usage = true;
        if (r < 0)
                return operation_error_set(err, r, user, "%s", error ? error : strerror(-r));
        ret->report = TAKE_PTR(report);
        return 0;
}

static int operation_deny(OperationContext *c, json_t *parameters, OperationResult *ret, OperationError *err)
{
        return deny_or_allow(c, parameters, ret, err, true);
}

static int operation_allow(OperationContext *c, json_t *parameters, OperationResult *ret,
                           OperationError *err)
{
        return deny_or_allow(c, parameters, ret, err, false);
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

/* When nothing can be verified because of the trust directory, status says so: "trust-warning" for an empty
 * directory, "unchained-roots" for roots nothing stored is signed by (a wrong root, or nothing imported
 * yet). */
static int status_trust(TrustDb *db, json_t *o)
{
        _cleanup_(trust_roots_done) TrustRoots roots = {};
        _cleanup_json_ json_t *unchained = json_array();
        int r;

        if (!unchained)
                return -ENOMEM;
        r = trust_roots_load(db, &roots);
        if (r < 0)
                return r;
        if (roots.n == 0) {
                _cleanup_free_ char *warning = trust_roots_describe(&roots);
                if (!warning || json_object_set_new(o, "trust-warning", json_string(warning)) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < roots.n; i++)
                if (!roots.roots[i].chained &&
                    json_array_append_new(unchained, json_string(roots.roots[i].account_id)) < 0)
                        return -ENOMEM;
        return json_object_set(o, "unchained-roots", unchained) < 0 ? -ENOMEM : 0;
}

static int operation_status(OperationContext *c, json_t *parameters, OperationResult *ret,
                            OperationError *err)
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
                return operation_error_set(err, r, "status", "cannot read the assertion database: %s",
                                           strerror(-r));
        r = status_trust(c->db, o);
        if (r < 0)
                return operation_error_set(err, r, "status", "cannot read the assertion database: %s",
                                           strerror(-r));
        if (home_list(p->home, &homes, &n_homes) < 0)
                n_homes = 0;
        home_list_free(homes, n_homes);
        if (p->device)
                device = device_identity_describe(p->device);

        json_object_set_new(o, "device", device ? json_string(device) : json_null());
        if (!p->device)
                json_object_set_new(o, "device-error", json_string(strempty(p->device_error)));
        json_object_set_new(o, "users", json_integer((json_int_t) n_homes));
        json_object_set_new(o, "denied", deny_list_to_json(&p->denied));
        json_object_set_new(
                o, "daemon",
                json_string(c->daemon_state ? c->daemon_state : "not contacted (offline, --root)"));
        json_object_set_new(o, "root", json_string(c->root ? c->root : "/"));
        usec_t floor = trust_db_check_time(c->db);
        char text[RFC3339_MAX];
        if (floor > p->now && time_format_rfc3339(floor, text) >= 0)
                json_object_set_new(o, "clock-floor", json_string(text));
        /* What happened to the last stick: a record that cannot be read is said, not hidden. */
        _cleanup_(last_media_done) LastMedia media = {};
        r = last_media_load(c->root, &media);
        if (r < 0)
                json_object_set_new(o, "last-media-error", json_string(strerror(-r)));
        else
                json_object_set_new(o, "last-media", last_media_to_json(&media));
        ret->view = TAKE_PTR(o);
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

static int operation_known(OperationContext *c, json_t *parameters, OperationResult *ret,
                           OperationError *err)
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
                return operation_error_set(err, -EINVAL, "known", "unknown assertion type '%s'", type);
        }
        if (filters && (!json_is_array(filters) || json_array_size(filters) > 64))
                return fail_usage(err, "known", "\"filters\" must be an array of HEADER=VALUE strings");
        char *f[json_array_size(filters) + 1];
        json_array_foreach (filters, i, e) {
                const char *s = json_string_value(e);
                if (!s || !strchr(s, '=') || s[0] == '=') {
                        err->usage = true;
                        return operation_error_set(err, -EINVAL, "known",
                                                   "'%s' is not a HEADER=VALUE filter", strempty(s));
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
                return operation_error_set(err, r, "known", "cannot list assertions: %s", strerror(-r));
        ret->view = json_pack("{s:O, s:s%}", "assertions", array, "stream", strempty(stream), stream_size);
        return ret->view ? 0 : -ENOMEM;
}

static const Operation operations[] = {
        { "Import", operation_import, PROVISION_REPORT_IMPORT, .reports = true, .writes = true },
        { "Verify", operation_verify, PROVISION_REPORT_IMPORT, .reports = true },
        { "Known", operation_known },
        { "ImportMedia", operation_import_media, PROVISION_REPORT_MEDIA, .reports = true,
          .needs_provisioner = true, .writes = true, .changes_users = true },
        { "CreateUsers", operation_create_users, PROVISION_REPORT_USERS, .reports = true,
          .needs_provisioner = true, .writes = true, .changes_users = true },
        { "Expire", operation_expire, PROVISION_REPORT_USERS, .reports = true, .needs_provisioner = true,
          .writes = true, .changes_users = true },
        { "List", operation_list, .needs_provisioner = true },
        { "Inspect", operation_inspect, .needs_provisioner = true },
        { "Remove", operation_remove, PROVISION_REPORT_REMOVE, .reports = true, .needs_provisioner = true,
          .writes = true, .changes_users = true },
        { "Status", operation_status, .needs_provisioner = true },
        { "Deny", operation_deny, PROVISION_REPORT_USERS, .reports = true, .needs_provisioner = true,
          .writes = true, .changes_users = true },
        { "Allow", operation_allow, PROVISION_REPORT_USERS, .reports = true, .needs_provisioner = true,
          .writes = true },
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
