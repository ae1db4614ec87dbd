/* SPDX-License-Identifier: MIT */
/* home_update(): newer records replace both files and keep the binding; older, equal-but-different and
 * other-user records are refused and change nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "home-test-util.h"
#include "home-tree.h"
#include "user-record.h"

static char *read_root_file(const char *root, const char *path)
{
        _cleanup_free_ char *full = test_path(root, path);
        char *data = NULL;
        size_t size;

        assert_int_equal(read_file_bounded(AT_FDCWD, full, USER_RECORD_TEXT_MAX, &data, &size), 0);
        return data;
}

static void setup_alice(const char *root, Home *h)
{
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);

        assert_int_equal(json_object_set_new(rec, "realName", json_string("Alice")), 0);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
}

static void newer_record_updates_host_and_embedded_keeping_binding(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW + 1), *stored = NULL, *loaded = NULL;
        _cleanup_free_ char *host = NULL, *embedded = NULL;
        UserRecordSignatureState s;
        RecordError err = {};

        setup_alice(root, h);
        assert_int_equal(json_object_set_new(rec, "realName", json_string("Alice Liddell")), 0);
        if (home_update(h, rec, &stored, &err) != 0)
                fail_msg("home_update: %s", err.message);

        assert_int_equal(home_load_record(h, "alice", &loaded, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(loaded, "realName")), "Alice Liddell");
        json_t *b = json_object_get(json_object_get(loaded, "binding"), TEST_MACHINE_ID);
        assert_int_equal(json_integer_value(json_object_get(b, "uid")), 60456);
        assert_int_equal(user_record_verify(loaded, h->key->pkey, &s), 0);
        assert_int_equal(s, USER_RECORD_SIGNED_EXCLUSIVE);

        host = read_root_file(root, "/var/lib/systemd/home/alice.identity");
        embedded = read_root_file(root, "/home/alice.homedir/.identity");
        assert_non_null(strstr(host, "Alice Liddell"));
        assert_non_null(strstr(embedded, "Alice Liddell"));
        assert_null(strstr(embedded, "binding"));
        test_assert_stat(root, "/var/lib/systemd/home/alice.identity", S_IFREG, 0600, 0, 0);
        test_assert_stat(root, "/home/alice.homedir/.identity", S_IFREG, 0600, 60456, 60456);
        test_root_free(root);
}

static void older_or_equal_but_different_record_is_refused_unchanged(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *older = test_record("alice", TEST_NOW - 1),
                              *equal = test_record("alice", TEST_NOW);
        _cleanup_free_ char *before = NULL, *after = NULL;
        RecordError err = {};

        setup_alice(root, h);
        before = read_root_file(root, "/var/lib/systemd/home/alice.identity");
        assert_int_equal(json_object_set_new(older, "realName", json_string("Mallory")), 0);
        assert_int_equal(home_update(h, older, NULL, &err), -ESTALE);
        assert_int_equal(json_object_set_new(equal, "realName", json_string("Mallory")), 0);
        assert_int_equal(home_update(h, equal, NULL, NULL), -ESTALE);
        after = read_root_file(root, "/var/lib/systemd/home/alice.identity");
        assert_string_equal(before, after);
        test_root_free(root);
}

static void identical_record_is_a_no_op(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *same = test_record("alice", TEST_NOW);
        _cleanup_free_ char *before = NULL, *after = NULL;

        setup_alice(root, h);
        before = read_root_file(root, "/var/lib/systemd/home/alice.identity");
        assert_int_equal(json_object_set_new(same, "realName", json_string("Alice")), 0);
        assert_int_equal(home_update(h, same, NULL, NULL), USER_RECORD_UPDATE_SAME);
        after = read_root_file(root, "/var/lib/systemd/home/alice.identity");
        assert_string_equal(before, after);
        test_root_free(root);
}

static void update_cannot_change_uid_or_touch_unknown_user(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *uid = test_record("alice", TEST_NOW + 1), *bob = test_record("bob", TEST_NOW);

        setup_alice(root, h);
        assert_int_equal(json_object_set_new(uid, "uid", json_integer(60001)), 0);
        assert_int_equal(home_update(h, uid, NULL, NULL), -EINVAL);
        assert_int_equal(home_update(h, bob, NULL, NULL), -ENOENT);
        test_root_free(root);
}

static void update_of_absent_home_writes_host_record_only(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW + 1);
        _cleanup_free_ char *image = test_path(root, "/home/alice.homedir"), *host = NULL;
        HomeState st;

        setup_alice(root, h);
        assert_int_equal(home_tree_remove(image), 0);
        assert_int_equal(home_state(h, "alice", &st), 0);
        assert_int_equal(st, HOME_STATE_ABSENT);
        assert_int_equal(home_update(h, rec, NULL, NULL), 0);
        assert_false(test_exists(root, "/home/alice.homedir"));
        host = read_root_file(root, "/var/lib/systemd/home/alice.identity");
        assert_null(strstr(host, "\"realName\""));
        test_root_free(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(newer_record_updates_host_and_embedded_keeping_binding),
                cmocka_unit_test(older_or_equal_but_different_record_is_refused_unchanged),
                cmocka_unit_test(identical_record_is_a_no_op),
                cmocka_unit_test(update_cannot_change_uid_or_touch_unknown_user),
                cmocka_unit_test(update_of_absent_home_writes_host_record_only),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
