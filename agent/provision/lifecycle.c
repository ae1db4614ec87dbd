/* SPDX-License-Identifier: MIT */
#include "lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash-point.h"
#include "create-batch.h"
#include "file-util.h"
#include "grant-convert.h"
#include "grant-policy.h"
#include "intent-journal.h"
#include "string-util.h"
#include "system-user.h"
#include "user-name.h"
#include "user-record.h"

#define PASSWD_SIZE_MAX (4 * 1024 * 1024)

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

/* Applies one system-user assertion that the policy accepted. A new user is queued in creates (made with the
 * rest of the batch, create-batch.h); an update or a revocation happens now. */
static int apply_grant(Provisioner *p, ProvisionReport *report, UserResult *e, const SystemUser *u,
                       const Assertion *a, CreateBatch *creates)
{
        _cleanup_json_ json_t *record = NULL, *old = NULL;
        _cleanup_free_ char *error = NULL;
        RecordError lookup_err = {}, err = {};
        int r;

        r = grant_to_user_record(u, a, p->config, p->now, &record, &error);
        if (r < 0)
                return user_result_set(report, e, PROVISION_REFUSED, r, "%s", error ? error : strerror(-r));

        r = home_load_record(p->home, u->username, &old, &lookup_err);
        if (r == -ENOENT) {
                for (const char *const *f = (const char *const[]){ "/etc/passwd", "/etc/group", NULL }; *f;
                     f++)
                        if (name_in_system_database(p, *f, u->username) > 0)
                                return user_result_set(report, e, PROVISION_REFUSED, -EEXIST,
                                                       "user name \"%s\" is already taken in %s",
                                                       u->username, *f);
                return create_batch_add(creates, u->username, record, (size_t) (e - report->users));
        }
        if (r < 0)
                return user_result_set(report, e, PROVISION_REFUSED, r,
                                       "cannot read the existing record: %s",
                                       lookup_err.message[0] ? lookup_err.message : strerror(-r));

        json_t *grant = record_grant(old);
        if (!grant)
                return user_result_set(report, e, PROVISION_REFUSED, -EEXIST,
                                       "user \"%s\" already exists and is not managed by corehomed",
                                       u->username);
        if (!streq(strempty(grant_string(grant, "brandId")), u->brand_id) ||
            !streq(strempty(grant_string(grant, "email")), u->email))
                return user_result_set(report, e, PROVISION_REFUSED, -EEXIST,
                                       "user \"%s\" was created from another grant (brand %s, email %s)",
                                       u->username, strempty(grant_string(grant, "brandId")),
                                       strempty(grant_string(grant, "email")));
        json_t *new_grant = record_grant(record);
        if (json_equal(json_object_get(grant, "assertionSha3_384"),
                       json_object_get(new_grant, "assertionSha3_384")))
                return user_result_set(report, e, PROVISION_UNCHANGED, 0, NULL);
        json_int_t old_revision = json_integer_value(json_object_get(grant, "revision"));
        if (old_revision > (json_int_t) u->revision)
                return user_result_set(report, e, PROVISION_REFUSED, -ESTALE,
                                       "user \"%s\" comes from revision %" PRId64
                                       ", newer than revision %" PRIu64,
                                       u->username, (int64_t) old_revision, u->revision);
        if (json_object_set_new(record, "lastChangeUSec",
                                json_integer((json_int_t) next_last_change(old, p->now))) < 0)
                return -ENOMEM;
        r = update_user(p, record, u->username, &err);
        if (r < 0)
                return user_result_set(report, e, PROVISION_REFUSED, r, "cannot update the record: %s",
                                       err.message[0] ? err.message : strerror(-r));
        return user_result_set(report, e, PROVISION_UPDATED, 0, "revision %" PRIu64, u->revision);
}

/* A newer revision whose window has closed takes the user away (the brand's way to revoke a grant); any
 * other grant that is not valid now is only skipped (kept for later, or not meant for now). */
static int revoke_if_superseded(Provisioner *p, ProvisionReport *report, UserResult *e, const SystemUser *u,
                                const char *reason)
{
        _cleanup_json_ json_t *old = NULL;
        RecordError err = {};
        int r;

        if (home_load_record(p->home, u->username, &old, &err) < 0)
                return user_result_set(report, e, PROVISION_SKIPPED, 0, "%s", reason);
        json_t *grant = record_grant(old);
        if (!grant || !streq(strempty(grant_string(grant, "brandId")), u->brand_id) ||
            !streq(strempty(grant_string(grant, "email")), u->email) ||
            json_integer_value(json_object_get(grant, "revision")) >= (json_int_t) u->revision)
                return user_result_set(report, e, PROVISION_SKIPPED, 0, "%s", reason);
        r = remove_user(p, u->username, &err);
        if (r < 0)
                return user_result_set(report, e, PROVISION_REFUSED, r, "cannot revoke: %s",
                                       err.message[0] ? err.message : strerror(-r));
        return user_result_set(report, e, PROVISION_REMOVED, 0, "revoked by revision %" PRIu64 ": %s",
                               u->revision, reason);
}

/* One grant: its typed view, the device's rules, then create / update / revoke / skip. */
static int apply_one(Provisioner *p, const Assertion *a, bool strict, ProvisionReport *report,
                     CreateBatch *creates)
{
        _cleanup_system_user_ SystemUser *u = NULL;
        GrantDecision decision = {};
        AssertionError aerr = {};
        UserResult *e;
        char text[300];
        int r;

        r = provision_report_add_user(report, a, NULL, &e);
        if (r < 0)
                return r;
        r = system_user_from_assertion(a, &u, &aerr);
        if (r < 0)
                return user_result_set(report, e, PROVISION_REFUSED, r, "%s",
                                       assertion_error_format(&aerr, text, sizeof(text)));
        if (!(e->user_name = strdup(u->username)))
                return -ENOMEM;
        /* A second grant for a user this batch is about to make is decided against the made user. */
        if (create_batch_has(creates, u->username)) {
                r = create_batch_run(p, report, creates); /* adds no report entry: e stays valid */
                if (r < 0)
                        return r;
        }
        /* The administrator's word on this device outranks every grant, whichever source brought it. */
        if (deny_list_find(&p->denied, u->username))
                return user_result_set(report, e, strict ? PROVISION_REFUSED : PROVISION_SKIPPED,
                                       strict ? -EPERM : 0, "%s", PROVISION_DENIED_REASON);

        /* At the check time of the signatures: a clock that says 1970 is not taken for the truth. */
        switch (grant_policy_check(p->device, u, provisioner_check_time(p), &decision)) {
        case GRANT_APPLIES:
                return apply_grant(p, report, e, u, a, creates);
        case GRANT_PENDING_SERIAL:
                return user_result_set(report, e, PROVISION_PENDING, 0, "%s", decision.reason);
        case GRANT_EXPIRED:
                r = revoke_if_superseded(p, report, e, u, decision.reason);
                if (r >= 0 && strict && e->outcome == PROVISION_SKIPPED)
                        r = user_result_set(report, e, PROVISION_REFUSED, -EKEYEXPIRED, "%s",
                                            decision.reason);
                return r;
        default:
                if (strict)
                        return user_result_set(report, e, PROVISION_REFUSED,
                                               grant_verdict_to_errno(decision.verdict), "%s",
                                               decision.reason);
                return user_result_set(report, e, PROVISION_SKIPPED, 0, "%s", decision.reason);
        }
}

/* A device without an identity decides nothing: one refusal says why. */
static int refuse_without_device(Provisioner *p, ProvisionReport *report)
{
        UserResult *e;
        int r = provision_report_add_user(report, NULL, NULL, &e);

        if (r < 0)
                return r;
        return user_result_set(report, e, PROVISION_REFUSED, -EXDEV, "%s", strempty(p->device_error));
}

int provision_apply_grants(Provisioner *p, const Assertion *const *grants, size_t n, bool strict,
                           ProvisionReport *report)
{
        _cleanup_(create_batch_done) CreateBatch creates = {};
        int r = 0;

        if (n > 0 && !p->device)
                return refuse_without_device(p, report);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = apply_one(p, grants[i], strict, report, &creates);
        if (r >= 0)
                r = create_batch_run(p, report, &creates);
        return r;
}

typedef struct StoredGrants {
        const Assertion **items;
        size_t n;
} StoredGrants;

static int collect_grant(const Assertion *a, bool trusted, void *userdata)
{
        StoredGrants *g = userdata;
        const Assertion **items = reallocarray(g->items, g->n + 1, sizeof(Assertion *));

        if (!items)
                return -ENOMEM;
        g->items = items;
        g->items[g->n++] = a;
        return 0;
}

int provision_create_users(Provisioner *p, const char *email, ProvisionReport *report)
{
        _cleanup_free_ char *email_filter = NULL;
        StoredGrants grants = {};
        UserResult *e;
        int r;

        if (!p->device)
                return refuse_without_device(p, report);
        if (email && asprintf(&email_filter, "email=%s", email) < 0)
                return -ENOMEM;
        char *filters[] = { email_filter, NULL };
        /* Collected first: applying a grant must not run inside the database's iteration. */
        r = trust_db_foreach(p->db, "system-user", filters, collect_grant, &grants);
        if (r >= 0)
                r = provision_apply_grants(p, grants.items, grants.n, email != NULL, report);
        free(grants.items);
        if (r < 0 || !email || grants.n > 0)
                return r;
        r = provision_report_add_user(report, NULL, NULL, &e);
        if (r < 0)
                return r;
        return user_result_set(report, e, PROVISION_REFUSED, -ENOENT,
                               "no system-user assertion for %s is known", email);
}

/* Removes user_name when its grant ran out by the check time (a record without a grant, or still valid, is
 * left alone). Returns < 0 only when the report cannot be written. */
static int expire_one(Provisioner *p, ProvisionReport *report, const char *user_name)
{
        _cleanup_json_ json_t *record = NULL;
        RecordError err = {};
        json_t *grant;
        UserResult *e;
        int r;

        if (home_load_record(p->home, user_name, &record, &err) < 0)
                return 0;
        grant = record_grant(record);
        usec_t end = grant_record_end(record);
        /* A grant's until has certainly passed once the time floor has. */
        if (!grant || end > provisioner_check_time(p))
                return 0;
        r = provision_report_add_user(report, NULL, user_name, &e);
        if (r < 0)
                return r;
        r = grant_origin_from_record(grant, &e->what);
        if (r < 0)
                return r;
        r = remove_user(p, user_name, &err);
        if (r < 0)
                return user_result_set(report, e, PROVISION_REFUSED, r, "cannot remove: %s",
                                       err.message[0] ? err.message : strerror(-r));
        char when[RFC3339_MAX] = "";
        (void) time_format_rfc3339(end, when);
        return user_result_set(report, e, PROVISION_REMOVED, 0, "grant expired at %s", when);
}

int provision_expire(Provisioner *p, ProvisionReport *report)
{
        HomeListEntry *homes = NULL;
        size_t n = 0;
        int r;

        r = home_list(p->home, &homes, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = expire_one(p, report, homes[i].user_name);
        home_list_free(homes, n);
        return r < 0 ? r : 0;
}

int provision_expire_users(Provisioner *p, char *const *user_names, ProvisionReport *report)
{
        int r = 0;

        for (size_t i = 0; user_names && user_names[i] && r >= 0; i++)
                r = expire_one(p, report, user_names[i]);
        return r < 0 ? r : 0;
}

int provision_remove_user(Provisioner *p, const char *user_name, char **ret_error)
{
        _cleanup_json_ json_t *record = NULL;
        RecordError err = {};
        int r;

        r = home_load_record(p->home, user_name, &record, &err);
        if (r < 0)
                return error_set(ret_error, r, "%s",
                                 r == -ENOENT ? "no such user managed here" : err.message);
        if (!record_grant(record))
                return error_set(ret_error, -EPERM, "not created by corehomed; refusing to remove it");
        r = remove_user(p, user_name, &err);
        if (r < 0)
                return error_set(ret_error, r, "%s", err.message[0] ? err.message : strerror(-r));
        return 0;
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

int provision_deny(Provisioner *p, const char *user_name, ProvisionReport *report, char **ret_error)
{
        _cleanup_json_ json_t *record = NULL;
        RecordError err = {};
        const DenyEntry *known;
        UserResult *e;
        bool present;
        int r;

        if (!user_name_is_valid_syntax(user_name))
                return error_set(ret_error, -EINVAL, "not a valid user name");
        r = home_load_record(p->home, user_name, &record, &err);
        if (r < 0 && r != -ENOENT)
                return error_set(ret_error, r, "%s", err.message[0] ? err.message : strerror(-r));
        present = r >= 0;
        /* A home someone else made is not ours to take away (the same rule as remove). */
        if (present && !record_grant(record))
                return error_set(ret_error, -EPERM, "not created by corehomed; refusing to remove it");

        r = provision_report_add_user(report, NULL, user_name, &e);
        if (r < 0)
                return r;
        if (present && grant_origin_from_record(record_grant(record), &e->what) < 0)
                return -ENOMEM;
        known = deny_list_find(&p->denied, user_name);
        if (!known) {
                r = deny_list_add(&p->denied, user_name, p->now);
                if (r == -E2BIG)
                        return error_set(ret_error, r, "%d names are denied here already; allow one first",
                                         DENY_LIST_MAX);
                if (r < 0)
                        return r;
                /* The list first: a crash after it leaves a user that the next writer removes
                 * (provision_recover()), never a deny that a re-plugged stick could undo. */
                r = deny_list_save(p->root, &p->denied);
                if (r < 0) {
                        (void) deny_list_remove(&p->denied, user_name);
                        return error_set(ret_error, r, "cannot write %s: %s", DENY_LIST_PATH, strerror(-r));
                }
                crash_point("provision-deny:listed");
        }
        if (present) {
                r = remove_user(p, user_name, &err);
                if (r < 0)
                        return user_result_set(report, e, PROVISION_REFUSED, r,
                                               "denied, but cannot remove the user: %s",
                                               err.message[0] ? err.message : strerror(-r));
                return user_result_set(report, e, PROVISION_DENIED, 0,
                                       "%s; the user and its home were removed", PROVISION_DENIED_REASON);
        }
        if (known) {
                char since[RFC3339_MAX] = "";
                (void) time_format_rfc3339(known->since, since);
                return user_result_set(report, e, PROVISION_DENIED, 0, "already denied here since %s",
                                       since);
        }
        return user_result_set(report, e, PROVISION_DENIED, 0, "%s; no such user was here",
                               PROVISION_DENIED_REASON);
}

int provision_allow(Provisioner *p, const char *user_name, ProvisionReport *report, char **ret_error)
{
        UserResult *e;
        int r;

        if (!user_name_is_valid_syntax(user_name))
                return error_set(ret_error, -EINVAL, "not a valid user name");
        r = provision_report_add_user(report, NULL, user_name, &e);
        if (r < 0)
                return r;
        if (!deny_list_find(&p->denied, user_name))
                return user_result_set(report, e, PROVISION_UNCHANGED, 0, "not denied here");
        r = deny_list_remove(&p->denied, user_name);
        if (r < 0)
                return r;
        r = deny_list_save(p->root, &p->denied);
        if (r < 0) {
                _cleanup_free_ char *reload_error = NULL;
                /* The file still denies it: so must we. */
                deny_list_done(&p->denied);
                (void) deny_list_load(p->root, &p->denied, &reload_error);
                return error_set(ret_error, r, "cannot write %s: %s", DENY_LIST_PATH, strerror(-r));
        }
        return user_result_set(report, e, PROVISION_ALLOWED, 0,
                               "grants for %s apply here again (from the next stick, fleet poll or "
                               "create-user --known)",
                               user_name);
}
