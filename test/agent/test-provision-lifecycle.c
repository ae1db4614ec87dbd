/* SPDX-License-Identifier: MIT */
/* The grant lifecycle through the provision library itself (no CLI, no daemon): one import pipeline with
 * the users of its batch, create / unchanged / update / revoke, expiry, remove, recovery of interrupted
 * operations, a device without an identity, and the typed report with its JSON form both ways. Assertions
 * are the signed fixtures of test/fixtures/trust (test brand acme, model appliance-1). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "assertion-batch.h"
#include "file-util.h"
#include "grant-convert.h"
#include "import.h"
#include "intent-journal.h"
#include "json-util.h"
#include "lifecycle.h"
#include "macros.h"
#include "provisioner.h"
#include "report-json.h"
#include "time-util.h"

#define MACHINE_ID "0123456789abcdef0123456789abcdef"
/* 2026-11-25T10:00:00Z: inside alice's window [2016-01-01, 2030-01-01), after revision 2's until. */
#define NOW ((usec_t) 1795600800 * USEC_PER_SEC)

typedef struct Fixture {
        char *root;
        Provisioner *p;
} Fixture;

static void write_at(const char *root, const char *path, const char *data, size_t size)
{
        _cleanup_free_ char *full = NULL, *dir = NULL;

        assert_int_equal(path_join_root(root, path, &full), 0);
        dir = strdup(full);
        assert_non_null(dir);
        *strrchr(dir, '/') = 0;
        assert_int_equal(mkdir_parents_and_self(dir, 0755), 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, full, data, size, 0644, (uid_t) -1, (gid_t) -1), 0);
}

static char *fixture_read(const char *name, size_t *ret_size)
{
        _cleanup_free_ char *path = NULL;
        char *data = NULL;

        assert_true(asprintf(&path, "%s/trust/%s", getenv("FIXTURES_DIR"), name) > 0);
        assert_int_equal(read_file_bounded(AT_FDCWD, path, 1024 * 1024, &data, ret_size), 0);
        return data;
}

static void root_setup(Fixture *f, const char *config)
{
        _cleanup_free_ char *trusted = NULL, *error = NULL;
        size_t size;

        f->root = strdup("/tmp/test-provision-lifecycle.XXXXXX");
        assert_non_null(f->root);
        assert_non_null(mkdtemp(f->root));
        assert_int_equal(chmod(f->root, 0755), 0);
        write_at(f->root, "/etc/machine-id", MACHINE_ID "\n", strlen(MACHINE_ID) + 1);
        write_at(f->root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 26);
        write_at(f->root, "/etc/group", "root:x:0:\n", 10);
        trusted = fixture_read("trusted/root.assert", &size);
        write_at(f->root, "/etc/corehomed/trusted/root.assert", trusted, size);
        if (config)
                write_at(f->root, "/etc/corehomed/corehomed.yaml", config, strlen(config));
        if (provisioner_open(f->root, NOW, 0, &f->p, &error) < 0)
                fail_msg("provisioner_open: %s", strempty(error));
}

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof(Fixture));

        assert_non_null(f);
        root_setup(f, "device:\n  brand-id: acme\n  model: appliance-1\n");
        *state = f;
        return 0;
}

static int setup_without_identity(void **state)
{
        Fixture *f = calloc(1, sizeof(Fixture));

        assert_non_null(f);
        root_setup(f, NULL);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *cmd = NULL;

        provisioner_free(f->p);
        assert_true(asprintf(&cmd, "rm -rf '%s'", f->root) > 0);
        assert_int_equal(system(cmd), 0);
        free(f->root);
        free(f);
        return 0;
}

/* Imports the fixture files as one batch (users as the source's policy says) into a new report. */
static ProvisionReport *import_files(Fixture *f, ImportUsers users, ProvisionReportKind kind, ...)
{
        _cleanup_(assertion_batch_done) AssertionBatch b = {};
        _cleanup_free_ char *error = NULL;
        ProvisionReport *report = NULL;
        va_list ap;

        va_start(ap, kind);
        for (const char *name; (name = va_arg(ap, const char *));) {
                _cleanup_free_ char *data = NULL;
                size_t size;

                data = fixture_read(name, &size);
                if (assertion_batch_add(&b, name, data, size, &error) < 0)
                        fail_msg("%s: %s", name, error);
        }
        va_end(ap);
        assert_int_equal(provision_report_new(kind, &report), 0);
        if (provision_import(NULL, f->p, &b, users, report, &error) < 0)
                fail_msg("provision_import: %s", strempty(error));
        return report;
}

/* alice, created from the test stick. */
static void create_alice(Fixture *f)
{
        _cleanup_provision_report_ ProvisionReport *r =
                import_files(f, IMPORT_USERS_MEDIA, PROVISION_REPORT_MEDIA, "stick.assert", NULL);

        assert_int_equal(r->n_users, 1);
        assert_int_equal(r->users[0].outcome, PROVISION_CREATED);
}

static bool has_user(Fixture *f, const char *name)
{
        _cleanup_free_ char *record = NULL, *home = NULL;
        struct stat st;

        assert_true(asprintf(&record, "%s/var/lib/systemd/home/%s.identity", f->root, name) > 0);
        assert_true(asprintf(&home, "%s/home/%s.homedir", f->root, name) > 0);
        return stat(record, &st) == 0 && stat(home, &st) == 0;
}

static void test_import_media_creates_the_batch_users(void **state)
{
        Fixture *f = *state;
        _cleanup_provision_report_ ProvisionReport *r =
                import_files(f, IMPORT_USERS_MEDIA, PROVISION_REPORT_MEDIA, "stick.assert", NULL);

        assert_true(r->committed);
        assert_int_equal(r->n_assertions, 3);
        assert_int_equal(provision_report_refused(r), 0);
        for (size_t i = 0; i < r->n_assertions; i++) {
                assert_int_equal(r->assertions[i].verdict, TRUST_VERDICT_ADDED);
                assert_string_equal(r->assertions[i].origin, "stick.assert");
        }
        assert_int_equal(r->n_users, 1);
        assert_string_equal(r->users[0].user_name, "alice");
        assert_int_equal(r->users[0].outcome, PROVISION_CREATED);
        /* The grant's fields travel typed, for the journal. */
        assert_string_equal(r->users[0].what.brand_id, "acme");
        assert_string_equal(r->users[0].what.email, "alice@example.com");
        assert_int_equal(r->users[0].what.revision, 0);
        assert_true(has_user(f, "alice"));
}

static void test_same_batch_again_is_unchanged(void **state)
{
        Fixture *f = *state;
        _cleanup_provision_report_ ProvisionReport *again = NULL;

        create_alice(f);
        again = import_files(f, IMPORT_USERS_MEDIA, PROVISION_REPORT_MEDIA, "stick.assert", NULL);

        for (size_t i = 0; i < again->n_assertions; i++)
                assert_int_equal(again->assertions[i].verdict, TRUST_VERDICT_UNCHANGED);
        assert_int_equal(again->n_users, 1);
        assert_int_equal(again->users[0].outcome, PROVISION_UNCHANGED);
}

static void test_import_only_creates_nobody(void **state)
{
        Fixture *f = *state;
        _cleanup_provision_report_ ProvisionReport *r =
                import_files(f, IMPORT_USERS_NONE, PROVISION_REPORT_IMPORT, "stick.assert", NULL);

        assert_true(r->committed);
        assert_int_equal(r->n_users, 0);
        assert_false(has_user(f, "alice"));
}

static void test_update_then_revoke(void **state)
{
        Fixture *f = *state;
        _cleanup_provision_report_ ProvisionReport *r1 = NULL, *updated = NULL, *revoked = NULL, *r2 = NULL;

        create_alice(f);
        r1 = import_files(f, IMPORT_USERS_NONE, PROVISION_REPORT_IMPORT, "alice-r1.system-user", NULL);

        assert_int_equal(r1->assertions[0].verdict, TRUST_VERDICT_UPDATED);
        assert_int_equal(provision_report_new(PROVISION_REPORT_USERS, &updated), 0);
        assert_int_equal(provision_create_users(f->p, NULL, updated), 0);
        assert_int_equal(updated->n_users, 1);
        assert_int_equal(updated->users[0].outcome, PROVISION_UPDATED);
        assert_string_equal(updated->users[0].reason, "revision 1");
        assert_int_equal(updated->users[0].what.revision, 1);

        r2 = import_files(f, IMPORT_USERS_NONE, PROVISION_REPORT_IMPORT, "alice-r2-revoked.system-user",
                          NULL);
        assert_true(r2->committed);
        assert_int_equal(provision_report_new(PROVISION_REPORT_USERS, &revoked), 0);
        assert_int_equal(provision_create_users(f->p, NULL, revoked), 0);
        assert_int_equal(revoked->users[0].outcome, PROVISION_REMOVED);
        assert_non_null(strstr(revoked->users[0].reason, "revoked by revision 2"));
        assert_false(has_user(f, "alice"));
}

static void test_strict_unknown_email_is_refused(void **state)
{
        Fixture *f = *state;
        _cleanup_provision_report_ ProvisionReport *r = NULL;

        assert_int_equal(provision_report_new(PROVISION_REPORT_USERS, &r), 0);
        assert_int_equal(provision_create_users(f->p, "nobody@example.com", r), 0);
        assert_int_equal(r->n_users, 1);
        assert_int_equal(r->n_users_refused, 1);
        assert_int_equal(r->users[0].error, -ENOENT);
        assert_string_equal(r->users[0].reason, "no system-user assertion for nobody@example.com is known");
}

/* A managed user whose grant ended: expiry removes it, one whose grant goes on stays. */
static void make_managed_user(Fixture *f, const char *name, usec_t not_after)
{
        _cleanup_json_ json_t *record =
                json_pack("{s:s, s:s, s:I, s:{s:s, s:s, s:i}}", "userName", name, "disposition", "regular",
                          "notAfterUSec", (json_int_t) not_after, GRANT_RECORD_EXTENSION, "brandId", "acme",
                          "email", "x@example.com", "revision", 4);
        RecordError err = {};

        assert_non_null(record);
        if (home_create(f->p->home, record, NULL, &err) < 0)
                fail_msg("home_create: %s", err.message);
}

static void test_expire(void **state)
{
        Fixture *f = *state;
        _cleanup_provision_report_ ProvisionReport *r = NULL;

        make_managed_user(f, "gone", NOW);
        make_managed_user(f, "stays", NOW + 1);
        assert_int_equal(provision_report_new(PROVISION_REPORT_USERS, &r), 0);
        assert_int_equal(provision_expire(f->p, r), 0);
        assert_int_equal(r->n_users, 1);
        assert_string_equal(r->users[0].user_name, "gone");
        assert_int_equal(r->users[0].outcome, PROVISION_REMOVED);
        assert_non_null(strstr(r->users[0].reason, "grant expired at "));
        /* The record's grant tells the journal whose grant ended. */
        assert_string_equal(r->users[0].what.brand_id, "acme");
        assert_int_equal(r->users[0].what.revision, 4);
        assert_false(has_user(f, "gone"));
        assert_true(has_user(f, "stays"));
}

/* A clock that says 1970 does not keep a grant whose until the time floor has passed, and the raised floor
 * outlives a reload of the database. */
static void test_expire_at_the_floored_clock(void **state)
{
        Fixture *f = *state;
        _cleanup_provision_report_ ProvisionReport *r = NULL;
        _cleanup_free_ char *error = NULL;

        make_managed_user(f, "gone", NOW);
        make_managed_user(f, "stays", NOW + 1);
        provisioner_set_now(f->p, 86400 * USEC_PER_SEC); /* 1970-01-02 */
        provisioner_raise_time_floor(f->p, NOW);
        assert_int_equal(provisioner_reload(f->p, &error), 0);
        assert_int_equal(provisioner_check_time(f->p), NOW);
        assert_int_equal(provision_report_new(PROVISION_REPORT_USERS, &r), 0);
        assert_int_equal(provision_expire(f->p, r), 0);
        assert_int_equal(r->n_users, 1);
        assert_string_equal(r->users[0].user_name, "gone");
        assert_int_equal(r->users[0].outcome, PROVISION_REMOVED);
        assert_false(has_user(f, "gone"));
        assert_true(has_user(f, "stays"));
}

static void test_remove(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *error = NULL;

        create_alice(f);
        assert_int_equal(provision_remove_user(f->p, "alice", &error), 0);
        assert_false(has_user(f, "alice"));
        assert_int_equal(provision_remove_user(f->p, "alice", &error), -ENOENT);
        assert_string_equal(error, "no such user managed here");
}

/* A writer killed after journaling a create (home half made) and an update (record not yet written). */
static void test_recover_undoes_create_and_finishes_update(void **state)
{
        Fixture *f = *state;
        _cleanup_json_ json_t *record = NULL, *half = NULL;
        _cleanup_free_ char *error = NULL;
        RecordError err = {};
        Intent *intents = NULL;
        size_t n = 0;

        create_alice(f);
        half = json_pack("{s:s, s:s}", "userName", "bob", "disposition", "regular");
        assert_non_null(half);
        assert_int_equal(intent_begin(f->root, INTENT_CREATE, "bob", NULL), 0);
        assert_int_equal(home_create(f->p->home, half, NULL, &err), 0);

        assert_int_equal(home_load_record(f->p->home, "alice", &record, &err), 0);
        assert_int_equal(json_object_set_new(record, "realName", json_string("Alice Recovered")), 0);
        assert_int_equal(json_object_set_new(record, "lastChangeUSec", json_integer((json_int_t) NOW + 5)),
                         0);
        assert_int_equal(json_object_del(record, "signature"), 0);
        assert_int_equal(intent_begin(f->root, INTENT_UPDATE, "alice", record), 0);

        assert_int_equal(provision_recover(f->p, &error), 0);
        assert_int_equal(intent_list(f->root, &intents, &n), 0);
        intent_list_free(intents, n);
        assert_int_equal(n, 0);
        assert_false(has_user(f, "bob"));
        json_decref(record);
        record = NULL;
        assert_int_equal(home_load_record(f->p->home, "alice", &record, &err), 0);
        assert_string_equal(json_string_value(json_object_get(record, "realName")), "Alice Recovered");
}

static void test_device_without_identity_refuses(void **state)
{
        Fixture *f = *state;
        _cleanup_provision_report_ ProvisionReport *r = NULL;

        assert_null(f->p->device);
        r = import_files(f, IMPORT_USERS_MEDIA, PROVISION_REPORT_MEDIA, "stick.assert", NULL);
        assert_true(r->committed); /* the assertions are stored all the same */
        assert_int_equal(r->n_users, 1);
        assert_int_equal(r->users[0].outcome, PROVISION_REFUSED);
        assert_int_equal(r->users[0].error, -EXDEV);
        assert_non_null(strstr(r->users[0].reason, "no device identity"));
}

/* snapd's rule: of two grants with one key and revision the first is kept and applies; the second is
 * reported skipped, with the reason, and does not apply; the JSON edge keeps both. */
static void test_same_revision_is_skipped_and_reported(void **state)
{
        Fixture *f = *state;
        _cleanup_provision_report_ ProvisionReport *r = import_files(
                f, IMPORT_USERS_MEDIA, PROVISION_REPORT_MEDIA, "acme.account", "acme.account-key",
                "alice-r1.system-user", "alice-r1-conflict.system-user", NULL);
        _cleanup_provision_report_ ProvisionReport *back = NULL;
        _cleanup_json_ json_t *o = NULL, *record = NULL;
        RecordError err = {};

        assert_true(r->committed);
        assert_int_equal(r->n_assertions, 4);
        assert_int_equal(r->n_assertions_refused, 0);
        assert_int_equal(r->n_assertions_skipped, 1);
        assert_int_equal(r->assertions[3].verdict, TRUST_VERDICT_SKIPPED);
        assert_non_null(r->assertions[3].reason);
        assert_non_null(strstr(r->assertions[3].reason, "comes first in this batch (#3) and is kept"));
        assert_null(r->assertions[2].reason);
        assert_int_equal(r->n_users, 1); /* the skipped grant makes no user entry */
        assert_int_equal(r->users[0].outcome, PROVISION_CREATED);
        assert_int_equal(home_load_record(f->p->home, "alice", &record, &err), 0);
        assert_string_equal(json_string_value(json_object_get(record, "realName")), "Alice Liddell");

        o = provision_report_to_json(r);
        assert_non_null(o);
        assert_int_equal(provision_report_from_json(o, PROVISION_REPORT_MEDIA, &back), 0);
        assert_int_equal(back->n_assertions_skipped, 1);
        assert_int_equal(back->n_assertions_refused, 0);
        assert_int_equal(back->assertions[3].verdict, TRUST_VERDICT_SKIPPED);
        assert_string_equal(back->assertions[3].reason, r->assertions[3].reason);
}

static void test_report_json_round_trip(void **state)
{
        Fixture *f = *state;
        _cleanup_provision_report_ ProvisionReport *r = import_files(
                f, IMPORT_USERS_MEDIA, PROVISION_REPORT_MEDIA, "acme.account", "stick.assert", NULL);
        _cleanup_provision_report_ ProvisionReport *back = NULL;
        _cleanup_json_ json_t *o = provision_report_to_json(r), *again = NULL;

        assert_non_null(o);
        assert_int_equal(provision_report_from_json(o, PROVISION_REPORT_MEDIA, &back), 0);
        assert_int_equal(back->n_assertions, r->n_assertions);
        assert_int_equal(back->n_users, r->n_users);
        assert_int_equal(back->committed, r->committed);
        assert_string_equal(back->source ? back->source : "", r->source ? r->source : "");
        again = provision_report_to_json(back);
        assert_true(json_equal(o, again));
        /* A reply of another shape is not taken for a report. */
        json_decref(again);
        again = json_pack("{s:s}", "assertions", "nope");
        provision_report_free(back);
        back = NULL;
        assert_int_equal(provision_report_from_json(again, PROVISION_REPORT_IMPORT, &back), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_import_media_creates_the_batch_users, setup, teardown),
                cmocka_unit_test_setup_teardown(test_same_batch_again_is_unchanged, setup, teardown),
                cmocka_unit_test_setup_teardown(test_import_only_creates_nobody, setup, teardown),
                cmocka_unit_test_setup_teardown(test_update_then_revoke, setup, teardown),
                cmocka_unit_test_setup_teardown(test_strict_unknown_email_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expire_at_the_floored_clock, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recover_undoes_create_and_finishes_update, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_device_without_identity_refuses, setup_without_identity,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_report_json_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_same_revision_is_skipped_and_reported, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
