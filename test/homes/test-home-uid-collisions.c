/* SPDX-License-Identifier: MIT */
/* UID choice inside home_create(): homed's candidate, skipping passwd, group and other homes, and the
 * refusal of record UIDs that are taken or out of range. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "home-test-util.h"
#include "user-record.h"

static void create_skips_uid_used_in_passwd_and_group(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);

        test_write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\ntaken:x:60456:60456::/:/bin/sh\n", 0644);
        test_write(root, "/etc/group", "root:x:0:\ngtaken:x:60457:\n", 0644);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        test_assert_stat(root, "/home/alice.homedir", S_IFDIR, 0700, 60458, 60458);
        test_root_free(root);
}

static void create_skips_uid_of_another_home_record(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("testuser", TEST_NOW);

        /* A record homed wrote for someone else, bound to testuser's first candidate. */
        test_write(root, "/var/lib/systemd/home/other.identity",
                   "{\"userName\":\"other\",\"binding\":{\"" TEST_MACHINE_ID
                   "\":{\"uid\":60155,\"gid\":60155}},"
                   "\"rateLimitBurst\":3.0e+01}\n",
                   0600);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        test_assert_stat(root, "/home/testuser.homedir", S_IFDIR, 0700, 60156, 60156);
        test_root_free(root);
}

static void create_skips_uid_owning_a_home_without_record(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("zed", TEST_NOW);
        _cleanup_free_ char *orphan = test_path(root, "/home/orphan.homedir");

        assert_int_equal(mkdir_parents_and_self(orphan, 0700), 0);
        assert_int_equal(chown(orphan, 60298, 60298), 0);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        test_assert_stat(root, "/home/zed.homedir", S_IFDIR, 0700, 60299, 60299);
        test_root_free(root);
}

static void record_uid_is_used_when_free(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);

        assert_int_equal(json_object_set_new(rec, "uid", json_integer(60300)), 0);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        test_assert_stat(root, "/home/alice.homedir", S_IFDIR, 0700, 60300, 60300);
        test_root_free(root);
}

static void record_uid_taken_by_another_home_is_refused(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *alice = test_record("alice", TEST_NOW), *bob = test_record("bob", TEST_NOW);
        RecordError err = {};

        assert_int_equal(home_create(h, alice, NULL, NULL), 0);
        assert_int_equal(json_object_set_new(bob, "uid", json_integer(60456)), 0);
        assert_int_equal(home_create(h, bob, NULL, &err), -EEXIST);
        assert_non_null(strstr(err.message, "60456"));
        assert_false(test_exists(root, "/var/lib/systemd/home/bob.identity"));
        test_root_free(root);
}

static void record_uid_outside_homed_range_is_refused(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *low = test_record("alice", TEST_NOW), *high = test_record("alice", TEST_NOW),
                              *gid = test_record("alice", TEST_NOW);

        assert_int_equal(json_object_set_new(low, "uid", json_integer(1000)), 0);
        assert_int_equal(home_create(h, low, NULL, NULL), -ERANGE);
        assert_int_equal(json_object_set_new(high, "uid", json_integer(60514)), 0);
        assert_int_equal(home_create(h, high, NULL, NULL), -ERANGE);
        assert_int_equal(json_object_set_new(gid, "uid", json_integer(60300)), 0);
        assert_int_equal(json_object_set_new(gid, "gid", json_integer(60301)), 0);
        assert_int_equal(home_create(h, gid, NULL, NULL), -EINVAL);
        assert_false(test_exists(root, "/home/alice.homedir"));
        test_root_free(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(create_skips_uid_used_in_passwd_and_group),
                cmocka_unit_test(create_skips_uid_of_another_home_record),
                cmocka_unit_test(create_skips_uid_owning_a_home_without_record),
                cmocka_unit_test(record_uid_is_used_when_free),
                cmocka_unit_test(record_uid_taken_by_another_home_is_refused),
                cmocka_unit_test(record_uid_outside_homed_range_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
