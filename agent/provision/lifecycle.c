/* SPDX-License-Identifier: MIT */
#include "provision.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash-point.h"
#include "device-identity.h"
#include "file-util.h"
#include "grant-convert.h"
#include "grant-policy.h"
#include "home-tree.h"
#include "intent-journal.h"
#include "string-util.h"
#include "system-user.h"
#include "user-record.h"

#define PASSWD_SIZE_MAX (4 * 1024 * 1024)

const char *provision_outcome_to_string(ProvisionOutcome o)
{
        static const char *const names[] = {
                [PROVISION_CREATED] = "created",     [PROVISION_UPDATED] = "updated",
                [PROVISION_UNCHANGED] = "unchanged", [PROVISION_REMOVED] = "removed",
                [PROVISION_PENDING] = "pending",     [PROVISION_SKIPPED] = "skipped",
                [PROVISION_REFUSED] = "refused",
        };
        return (unsigned) o < ELEMENTSOF(names) ? names[o] : "unknown";
}

ProvisionReport *provision_report_free(ProvisionReport *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n; i++) {
                free(r->items[i].assertion);
                free(r->items[i].user_name);
        }
        free(r->items);
        free(r);
        return NULL;
}

static ProvisionResult *report_add(ProvisionReport *r, const Assertion *a, const char *user_name)
{
        ProvisionResult *items = realloc(r->items, (r->n + 1) * sizeof(ProvisionResult));

        if (!items)
                return NULL;
        r->items = items;
        ProvisionResult *e = &r->items[r->n++];
        *e = (ProvisionResult){ .outcome = PROVISION_UNCHANGED };
        e->assertion = a ? assertion_describe(a) : NULL;
        e->user_name = user_name ? strdup(user_name) : NULL;
        return e;
}

static void result_set(ProvisionReport *r, ProvisionResult *e, ProvisionOutcome outcome, int error,
                       const char *format, ...) __attribute__((format(printf, 5, 6)));
static void result_set(ProvisionReport *r, ProvisionResult *e, ProvisionOutcome outcome, int error,
                       const char *format, ...)
{
        va_list ap;

        e->outcome = outcome;
        e->error = error;
        if (format) {
                va_start(ap, format);
                vsnprintf(e->reason, sizeof(e->reason), format, ap);
                va_end(ap);
        }
        if (outcome == PROVISION_REFUSED)
                r->n_refused++;
}

Provisioner *provisioner_free(Provisioner *p)
{
        if (!p)
                return NULL;
        config_free(p->config);
        trust_db_free(p->db);
        home_free(p->home);
        device_identity_free(p->device);
        free(p->device_error);
        free(p->config_path);
        free(p->root);
        free(p);
        return NULL;
}

void provisioner_set_now(Provisioner *p, usec_t now)
{
        p->now = now;
        p->home->now = now;
        trust_db_set_now(p->db, now);
}

/* Deletes what an interrupted create or remove left under /home: the engine's temporary names
 * (".#homework…", ".#removing…") are never a complete home. */
static int sweep_temporary_homes(Provisioner *p)
{
        _cleanup_free_ char *dir = NULL;
        DIR *d;
        int r = path_join_root(p->root, HOME_DIR, &dir);

        if (r < 0)
                return r;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *path = NULL;
                if (!startswith(de->d_name, ".#homework") && !startswith(de->d_name, ".#removing"))
                        continue;
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = home_tree_remove(path);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r < 0 ? r : 0;
}

int provision_recover(Provisioner *p, char **ret_error)
{
        Intent *intents = NULL;
        size_t n = 0;
        int r;

        r = intent_list(p->root, &intents, &n);
        if (r < 0) {
                *ret_error = strprintf("cannot read the intent journal: %s", strerror(-r));
                return r;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                Intent *in = &intents[i];
                RecordError err = {};

                switch (in->operation) {
                case INTENT_CREATE: /* nothing existed before: undo */
                case INTENT_REMOVE: /* the user was going away: finish */
                        r = home_remove(p->home, in->user_name, &err);
                        break;
                case INTENT_UPDATE: /* the new record is in the journal: finish */
                        r = home_update(p->home, in->record, NULL, &err);
                        break;
                }
                if (r == -ENOENT || r == USER_RECORD_UPDATE_SAME)
                        r = 0;
                if (r >= 0)
                        r = sweep_temporary_homes(p);
                if (r >= 0)
                        r = intent_end(p->root, in->user_name);
                if (r < 0)
                        *ret_error = strprintf("cannot recover the interrupted operation on user %s: %s",
                                               in->user_name, err.message[0] ? err.message : strerror(-r));
        }
        intent_list_free(intents, n);
        if (r >= 0)
                r = sweep_temporary_homes(p);
        return r;
}

/* The device's identity comes from the configuration and the stored model/serial assertions. A device
 * without one can still list, inspect, remove and expire users. */
static void provisioner_load_device(Provisioner *p)
{
        int r = device_identity_load(p->config, p->db, &p->device, &p->device_error);

        if (r < 0 && !p->device_error)
                p->device_error = strdup(strerror(-r));
}

int provisioner_open(const char *root, usec_t now, unsigned home_flags, Provisioner **ret, char **ret_error)
{
        _cleanup_provisioner_ Provisioner *p = calloc(1, sizeof(Provisioner));
        ConfigError cerr = {};
        RecordError herr = {};
        int r;

        if (!p)
                return -ENOMEM;
        p->now = now;
        if (root && !streq(root, "/") && !(p->root = strdup(root)))
                return -ENOMEM;

        r = config_load(p->root, &p->config, &cerr);
        if (r < 0) {
                *ret_error = strprintf("%s", cerr.message);
                return r;
        }
        r = trust_db_open(p->root, now, &p->db, ret_error);
        if (r < 0)
                return r;
        r = home_new(p->root, home_flags, &p->home, &herr);
        if (r < 0) {
                *ret_error = strprintf("%s", herr.message);
                return r;
        }
        p->home->now = now;

        provisioner_load_device(p);
        *ret = TAKE_PTR(p);
        return 0;
}

int provisioner_reload(Provisioner *p, char **ret_error)
{
        _cleanup_trust_db_ TrustDb *db = NULL;
        int r;

        r = trust_db_open(p->root, p->now, &db, ret_error);
        if (r < 0)
                return r;
        trust_db_free(p->db);
        p->db = TAKE_PTR(db);
        p->device = device_identity_free(p->device);
        p->device_error = mfree(p->device_error);
        provisioner_load_device(p);
        return 0;
}

/* Whether name is taken by a user or group of the base system: homed would refuse a home that shadows
 * one, and a login under a system account's name must not become possible through a stick. */
static int name_in_system_database(Provisioner *p, const char *file, const char *name)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t size, l = strlen(name);
        int r = path_join_root(p->root, file, &path);

        if (r < 0)
                return r;
        r = read_file_bounded(AT_FDCWD, path, PASSWD_SIZE_MAX, &data, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (char *line = data; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                if (strncmp(line, name, l) == 0 && line[l] == ':')
                        return 1;
        return 0;
}

static json_t *record_grant(json_t *record)
{
        return json_object_get(record, GRANT_RECORD_EXTENSION);
}

static const char *grant_string(json_t *grant, const char *key)
{
        return json_string_value(json_object_get(grant, key));
}

/* The lastChangeUSec of an update: now, but always after the stored one (homed refuses anything else). */
static usec_t next_last_change(json_t *old, usec_t now)
{
        uint64_t previous;

        if (user_record_last_change_usec(old, &previous) && previous >= now)
                return previous + 1;
        return now;
}

/* The journal's own failures (a full disk) name the journal, never what an earlier step left in err. */
static int journal_error(RecordError *err, int r, const char *what)
{
        *err = (RecordError){};
        snprintf(err->message, sizeof(err->message), "cannot %s the intent journal: %s", what, strerror(-r));
        return r;
}

static int create_user(Provisioner *p, json_t *record, const char *user_name, RecordError *err)
{
        int r;

        r = intent_begin(p->root, INTENT_CREATE, user_name, NULL);
        if (r < 0)
                return journal_error(err, r, "write");
        crash_point("provision-create:journaled");
        r = home_create(p->home, record, NULL, err);
        if (r < 0) {
                (void) intent_end(p->root, user_name);
                return r;
        }
        crash_point("provision-create:created");
        r = intent_end(p->root, user_name);
        return r < 0 ? journal_error(err, r, "close the entry in") : r;
}

static int update_user(Provisioner *p, json_t *record, const char *user_name, RecordError *err)
{
        int r;

        r = intent_begin(p->root, INTENT_UPDATE, user_name, record);
        if (r < 0)
                return journal_error(err, r, "write");
        crash_point("provision-update:journaled");
        r = home_update(p->home, record, NULL, err);
        if (r < 0) {
                (void) intent_end(p->root, user_name);
                return r;
        }
        crash_point("provision-update:updated");
        r = intent_end(p->root, user_name);
        return r < 0 ? journal_error(err, r, "close the entry in") : r;
}

static int remove_user(Provisioner *p, const char *user_name, RecordError *err)
{
        HomeState state;
        int r;

        r = intent_begin(p->root, INTENT_REMOVE, user_name, NULL);
        if (r < 0)
                return journal_error(err, r, "write");
        crash_point("provision-remove:journaled");
        /* Lock first, so the user's session cannot write while its home goes away. */
        if ((p->home->flags & HOME_ALLOW_MOUNT) && home_state(p->home, user_name, &state) >= 0 &&
            state == HOME_STATE_ACTIVE)
                (void) home_lock(p->home, user_name, err);
        *err = (RecordError){}; /* a failed lock is not the removal's failure */
        r = home_remove(p->home, user_name, err);
        if (r < 0)
                return r; /* the intent stays: the next writer finishes the removal */
        crash_point("provision-remove:removed");
        r = intent_end(p->root, user_name);
        return r < 0 ? journal_error(err, r, "close the entry in") : r;
}

/* Applies one system-user assertion that the policy accepted. */
static void apply_grant(Provisioner *p, ProvisionReport *report, ProvisionResult *e, const SystemUser *u,
                        const Assertion *a)
{
        _cleanup_json_ json_t *record = NULL, *old = NULL;
        _cleanup_free_ char *error = NULL;
        RecordError lookup_err = {}, err = {};
        int r;

        r = grant_to_user_record(u, a, p->config, p->now, &record, &error);
        if (r < 0) {
                result_set(report, e, PROVISION_REFUSED, r, "%s", error ? error : strerror(-r));
                return;
        }

        r = home_load_record(p->home, u->username, &old, &lookup_err);
        if (r == -ENOENT) {
                for (const char *const *f = (const char *const[]){ "/etc/passwd", "/etc/group", NULL }; *f;
                     f++)
                        if (name_in_system_database(p, *f, u->username) > 0) {
                                result_set(report, e, PROVISION_REFUSED, -EEXIST,
                                           "user name \"%s\" is already taken in %s", u->username, *f);
                                return;
                        }
                r = create_user(p, record, u->username, &err);
                if (r < 0)
                        result_set(report, e, PROVISION_REFUSED, r, "cannot create the home: %s",
                                   err.message[0] ? err.message : strerror(-r));
                else
                        result_set(report, e, PROVISION_CREATED, 0, NULL);
                return;
        }
        if (r < 0) {
                result_set(report, e, PROVISION_REFUSED, r, "cannot read the existing record: %s",
                           lookup_err.message[0] ? lookup_err.message : strerror(-r));
                return;
        }

        json_t *grant = record_grant(old);
        if (!grant) {
                result_set(report, e, PROVISION_REFUSED, -EEXIST,
                           "user \"%s\" already exists and is not managed by corehomed", u->username);
                return;
        }
        if (!streq(strempty(grant_string(grant, "brandId")), u->brand_id) ||
            !streq(strempty(grant_string(grant, "email")), u->email)) {
                result_set(report, e, PROVISION_REFUSED, -EEXIST,
                           "user \"%s\" was created from another grant (brand %s, email %s)", u->username,
                           strempty(grant_string(grant, "brandId")), strempty(grant_string(grant, "email")));
                return;
        }
        json_t *new_grant = record_grant(record);
        if (json_equal(json_object_get(grant, "assertionSha3_384"),
                       json_object_get(new_grant, "assertionSha3_384"))) {
                result_set(report, e, PROVISION_UNCHANGED, 0, NULL);
                return;
        }
        json_int_t old_revision = json_integer_value(json_object_get(grant, "revision"));
        if (old_revision > (json_int_t) u->revision) {
                result_set(report, e, PROVISION_REFUSED, -ESTALE,
                           "user \"%s\" comes from revision %" PRId64 ", newer than revision %" PRIu64,
                           u->username, (int64_t) old_revision, u->revision);
                return;
        }
        if (json_object_set_new(record, "lastChangeUSec",
                                json_integer((json_int_t) next_last_change(old, p->now))) < 0) {
                result_set(report, e, PROVISION_REFUSED, -ENOMEM, "out of memory");
                return;
        }
        r = update_user(p, record, u->username, &err);
        if (r < 0)
                result_set(report, e, PROVISION_REFUSED, r, "cannot update the record: %s",
                           err.message[0] ? err.message : strerror(-r));
        else
                result_set(report, e, PROVISION_UPDATED, 0, "revision %" PRIu64, u->revision);
}

/* A newer revision whose window has closed takes the user away (the brand's way to revoke a grant). */
static void revoke_if_superseded(Provisioner *p, ProvisionReport *report, ProvisionResult *e,
                                 const SystemUser *u, const char *reason)
{
        _cleanup_json_ json_t *old = NULL;
        RecordError err = {};
        int r;

        if (home_load_record(p->home, u->username, &old, &err) < 0) {
                result_set(report, e, PROVISION_SKIPPED, 0, "%s", reason);
                return;
        }
        json_t *grant = record_grant(old);
        if (!grant || !streq(strempty(grant_string(grant, "brandId")), u->brand_id) ||
            !streq(strempty(grant_string(grant, "email")), u->email) ||
            json_integer_value(json_object_get(grant, "revision")) >= (json_int_t) u->revision) {
                result_set(report, e, PROVISION_SKIPPED, 0, "%s", reason);
                return;
        }
        r = remove_user(p, u->username, &err);
        if (r < 0)
                result_set(report, e, PROVISION_REFUSED, r, "cannot revoke: %s",
                           err.message[0] ? err.message : strerror(-r));
        else
                result_set(report, e, PROVISION_REMOVED, 0, "revoked by revision %" PRIu64 ": %s",
                           u->revision, reason);
}

typedef struct CreateContext {
        Provisioner *p;
        ProvisionReport *report;
        bool strict;
} CreateContext;

static int create_one(const Assertion *a, bool trusted, void *userdata)
{
        CreateContext *c = userdata;
        _cleanup_system_user_ SystemUser *u = NULL;
        GrantDecision decision = {};
        AssertionError aerr = {};
        char text[300];
        int r;

        ProvisionResult *e = report_add(c->report, a, NULL);
        if (!e)
                return -ENOMEM;
        r = system_user_from_assertion(a, &u, &aerr);
        if (r < 0) {
                result_set(c->report, e, PROVISION_REFUSED, r, "%s",
                           assertion_error_format(&aerr, text, sizeof(text)));
                return 0;
        }
        if (!e->user_name && !(e->user_name = strdup(u->username)))
                return -ENOMEM;

        const char *reason = decision.reason;
        switch (grant_policy_check(c->p->device, u, c->p->now, &decision)) {
        case GRANT_APPLIES:
                apply_grant(c->p, c->report, e, u, a);
                break;
        case GRANT_PENDING_SERIAL:
                result_set(c->report, e, PROVISION_PENDING, 0, "%s", reason);
                break;
        case GRANT_EXPIRED:
                revoke_if_superseded(c->p, c->report, e, u, reason);
                if (c->strict && e->outcome == PROVISION_SKIPPED)
                        result_set(c->report, e, PROVISION_REFUSED, -EKEYEXPIRED, "%s", reason);
                break;
        default:
                if (c->strict)
                        result_set(c->report, e, PROVISION_REFUSED, grant_verdict_to_errno(decision.verdict),
                                   "%s", reason);
                else
                        result_set(c->report, e, PROVISION_SKIPPED, 0, "%s", reason);
        }
        return 0;
}

int provision_create_users(Provisioner *p, const char *brand_id, const char *email, bool strict,
                           ProvisionReport **ret)
{
        _cleanup_provision_report_ ProvisionReport *report = calloc(1, sizeof(ProvisionReport));
        _cleanup_free_ char *email_filter = NULL, *brand_filter = NULL;
        int r;

        if (!report)
                return -ENOMEM;
        if (!p->device) {
                ProvisionResult *e = report_add(report, NULL, NULL);
                if (!e)
                        return -ENOMEM;
                result_set(report, e, PROVISION_REFUSED, -EXDEV, "%s", strempty(p->device_error));
                *ret = TAKE_PTR(report);
                return 0;
        }
        if (email && asprintf(&email_filter, "email=%s", email) < 0)
                return -ENOMEM;
        if (brand_id && asprintf(&brand_filter, "brand-id=%s", brand_id) < 0)
                return -ENOMEM;
        char *filters[3] = {}, **f = filters;
        if (email_filter)
                *f++ = email_filter;
        if (brand_filter)
                *f++ = brand_filter;
        CreateContext c = { .p = p, .report = report, .strict = strict };
        r = trust_db_foreach(p->db, "system-user", filters, create_one, &c);
        if (r < 0)
                return r;
        if (strict && report->n == 0) {
                ProvisionResult *e = report_add(report, NULL, NULL);
                if (!e)
                        return -ENOMEM;
                result_set(report, e, PROVISION_REFUSED, -ENOENT, "no system-user assertion for %s is known",
                           email ? email : strempty(brand_id));
        }
        *ret = TAKE_PTR(report);
        return 0;
}

int provision_expire(Provisioner *p, ProvisionReport **ret)
{
        _cleanup_provision_report_ ProvisionReport *report = calloc(1, sizeof(ProvisionReport));
        HomeListEntry *homes = NULL;
        size_t n = 0;
        int r;

        if (!report)
                return -ENOMEM;
        r = home_list(p->home, &homes, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_json_ json_t *record = NULL;
                RecordError err = {};
                json_t *not_after;

                if (home_load_record(p->home, homes[i].user_name, &record, &err) < 0)
                        continue;
                not_after = json_object_get(record, "notAfterUSec");
                if (!record_grant(record) || !json_is_integer(not_after) ||
                    (usec_t) json_integer_value(not_after) > p->now)
                        continue;
                ProvisionResult *e = report_add(report, NULL, homes[i].user_name);
                if (!e) {
                        r = -ENOMEM;
                        break;
                }
                r = remove_user(p, homes[i].user_name, &err);
                if (r < 0) {
                        result_set(report, e, PROVISION_REFUSED, r, "cannot remove: %s",
                                   err.message[0] ? err.message : strerror(-r));
                        r = 0;
                } else {
                        char when[RFC3339_MAX] = "";
                        (void) time_format_rfc3339((usec_t) json_integer_value(not_after), when);
                        result_set(report, e, PROVISION_REMOVED, 0, "grant expired at %s", when);
                }
        }
        home_list_free(homes, n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(report);
        return 0;
}

int provision_remove_user(Provisioner *p, const char *user_name, char **ret_error)
{
        _cleanup_json_ json_t *record = NULL;
        RecordError err = {};
        int r;

        r = home_load_record(p->home, user_name, &record, &err);
        if (r < 0) {
                *ret_error = strprintf("%s", r == -ENOENT ? "no such user managed here" : err.message);
                return r;
        }
        if (!record_grant(record)) {
                *ret_error = strprintf("not created by corehomed; refusing to remove it");
                return -EPERM;
        }
        r = remove_user(p, user_name, &err);
        if (r < 0)
                *ret_error = strprintf("%s", err.message[0] ? err.message : strerror(-r));
        return r;
}

int provision_device_is_managed(Provisioner *p)
{
        HomeListEntry *homes = NULL;
        size_t n = 0;
        int r = home_list(p->home, &homes, &n);

        if (r < 0)
                return r;
        home_list_free(homes, n);
        return n > 0;
}
