/* SPDX-License-Identifier: MIT */
/* home_create(): homed's layout, owners and modes, the binding, the signature, the skeleton copy and the
 * refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "home-test-util.h"
#include "user-record.h"

static json_t *load_file_record(const char *root, const char *path)
{
        _cleanup_free_ char *full = test_path(root, path), *data = NULL;
        json_t *j = NULL;
        RecordError err = {};
        size_t size;

        assert_int_equal(read_file_bounded(AT_FDCWD, full, USER_RECORD_TEXT_MAX, &data, &size), 0);
        if (user_record_load(data, size, &j, &err) < 0)
                fail_msg("%s: %s: %s", path, err.field, err.message);
        /* The file is byte for byte homed's pretty format of what it holds. */
        _cleanup_free_ char *pretty = NULL;
        assert_int_equal(user_record_format_pretty(j, &pretty), 0);
        assert_string_equal(pretty, data);
        return j;
}

static void create_lays_out_home_as_homed_does(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW - 5), *stored = NULL, *host = NULL,
                              *embedded = NULL;
        RecordError err = {};
        UserRecordSignatureState s;

        if (home_create(h, rec, &stored, &err) < 0)
                fail_msg("home_create: %s", err.message);

        /* alice's homed UID is 60456; gid is the same (per-user group). */
        test_assert_stat(root, "/var/lib/systemd/home/alice.identity", S_IFREG, 0600, 0, 0);
        test_assert_stat(root, "/home/alice.homedir", S_IFDIR, 0700, 60456, 60456);
        test_assert_stat(root, "/home/alice.homedir/.identity", S_IFREG, 0600, 60456, 60456);
        test_assert_stat(root, "/var/lib/systemd/home/io.corehomed.public", S_IFREG, 0644, 0, 0);
        assert_false(test_exists(root, "/home/alice"));

        host = load_file_record(root, "/var/lib/systemd/home/alice.identity");
        json_t *b = json_object_get(json_object_get(host, "binding"), TEST_MACHINE_ID);
        assert_non_null(b);
        assert_int_equal(json_object_size(b), 4);
        assert_int_equal(json_integer_value(json_object_get(b, "uid")), 60456);
        assert_int_equal(json_integer_value(json_object_get(b, "gid")), 60456);
        assert_string_equal(json_string_value(json_object_get(b, "imagePath")), "/home/alice.homedir");
        assert_string_equal(json_string_value(json_object_get(b, "storage")), "directory");
        assert_int_equal(json_integer_value(json_object_get(host, "lastChangeUSec")), TEST_NOW - 5);
        assert_true(json_equal(host, stored));

        embedded = load_file_record(root, "/home/alice.homedir/.identity");
        assert_null(json_object_get(embedded, "binding"));
        assert_true(json_equal(json_object_get(embedded, "signature"), json_object_get(host, "signature")));

        /* Both verify with the engine key, and only with it. */
        assert_int_equal(user_record_verify(host, h->key->pkey, &s), 0);
        assert_int_equal(s, USER_RECORD_SIGNED_EXCLUSIVE);
        assert_int_equal(user_record_verify(embedded, h->key->pkey, &s), 0);
        assert_int_equal(s, USER_RECORD_SIGNED_EXCLUSIVE);
        test_root_free(root);
}

static void create_sets_last_change_from_clock_and_drops_secret(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = json_pack("{s:s, s:{s:[s]}}", "userName", "bar", "secret", "password",
                                               "hunter2"),
                              *host = NULL;
        RecordError err = {};

        if (home_create(h, rec, NULL, &err) < 0)
                fail_msg("home_create: %s", err.message);
        host = load_file_record(root, "/var/lib/systemd/home/bar.identity");
        assert_int_equal(json_integer_value(json_object_get(host, "lastChangeUSec")), TEST_NOW);
        assert_null(json_object_get(host, "secret"));
        test_assert_stat(root, "/home/bar.homedir", S_IFDIR, 0700, 60022, 60022);
        test_root_free(root);
}

static void create_copies_skeleton_keeping_modes_without_following_symlinks(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("zed", TEST_NOW);
        _cleanup_free_ char *link = test_path(root, "/etc/skel/secret-link"),
                            *fifo = test_path(root, "/etc/skel/fifo"),
                            *setuid = test_path(root, "/etc/skel/bin/tool"),
                            *sub = test_path(root, "/etc/skel/bin");
        _cleanup_free_ char *target = NULL;
        RecordError err = {};
        char buf[64];
        ssize_t n;

        test_write(root, "/etc/skel/.profile", "echo hi\n", 0640);
        test_write(root, "/etc/skel/bin/tool", "#!/bin/sh\n", 0755);
        assert_int_equal(chmod(setuid, 04755), 0);
        assert_int_equal(chmod(sub, 0750), 0);
        assert_int_equal(symlink("/etc/shadow", link), 0);
        assert_int_equal(mkfifo(fifo, 0644), 0);

        if (home_create(h, rec, NULL, &err) < 0)
                fail_msg("home_create: %s", err.message);
        test_assert_stat(root, "/home/zed.homedir/.profile", S_IFREG, 0640, 60298, 60298);
        test_assert_stat(root, "/home/zed.homedir/bin", S_IFDIR, 0750, 60298, 60298);
        /* The set-user-ID bit does not survive the copy. */
        test_assert_stat(root, "/home/zed.homedir/bin/tool", S_IFREG, 0755, 60298, 60298);
        test_assert_stat(root, "/home/zed.homedir/secret-link", S_IFLNK, (mode_t) -1, 60298, 60298);
        assert_false(test_exists(root, "/home/zed.homedir/fifo"));

        target = test_path(root, "/home/zed.homedir/secret-link");
        n = readlink(target, buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_string_equal(buf, "/etc/shadow");
        test_root_free(root);
}

static void create_uses_record_skeleton_directory_under_root(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("pmtest", TEST_NOW);
        RecordError err = {};

        test_write(root, "/usr/share/skel-special/hello", "x", 0644);
        test_write(root, "/etc/skel/default-only", "x", 0644);
        assert_int_equal(
                json_object_set_new(rec, "skeletonDirectory", json_string("/usr/share/skel-special")), 0);
        if (home_create(h, rec, NULL, &err) < 0)
                fail_msg("home_create: %s", err.message);
        assert_true(test_exists(root, "/home/pmtest.homedir/hello"));
        assert_false(test_exists(root, "/home/pmtest.homedir/default-only"));
        test_root_free(root);
}

static void create_honours_access_mode(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);

        assert_int_equal(json_object_set_new(rec, "accessMode", json_integer(0750)), 0);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        test_assert_stat(root, "/home/alice.homedir", S_IFDIR, 0750, 60456, 60456);
        test_root_free(root);
}

static void create_refuses_existing_record_or_home(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *alice = test_record("alice", TEST_NOW), *bar = test_record("bar", TEST_NOW);
        _cleanup_free_ char *bar_home = test_path(root, "/home/bar.homedir");
        RecordError err = {};

        assert_int_equal(home_create(h, alice, NULL, NULL), 0);
        assert_int_equal(home_create(h, alice, NULL, &err), -EEXIST);
        assert_non_null(strstr(err.message, "alice.identity"));

        assert_int_equal(mkdir_parents_and_self(bar_home, 0700), 0);
        assert_int_equal(home_create(h, bar, NULL, &err), -EEXIST);
        assert_non_null(strstr(err.message, "bar.homedir"));
        /* The refused create left no record behind. */
        assert_false(test_exists(root, "/var/lib/systemd/home/bar.identity"));
        test_root_free(root);
}

static void create_refuses_unsupported_storage_paths_and_names(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *fscrypt = test_record("alice", TEST_NOW),
                              *elsewhere = test_record("alice", TEST_NOW),
                              *image = test_record("alice", TEST_NOW),
                              *rootname = test_record("root", TEST_NOW);

        assert_int_equal(json_object_set_new(fscrypt, "storage", json_string("fscrypt")), 0);
        assert_int_equal(home_create(h, fscrypt, NULL, NULL), -EOPNOTSUPP);
        assert_int_equal(json_object_set_new(elsewhere, "homeDirectory", json_string("/root")), 0);
        assert_int_equal(home_create(h, elsewhere, NULL, NULL), -EINVAL);
        assert_int_equal(json_object_set_new(image, "imagePath", json_string("/etc")), 0);
        assert_int_equal(home_create(h, image, NULL, NULL), -EINVAL);
        assert_true(home_create(h, rootname, NULL, NULL) < 0);
        assert_false(test_exists(root, "/var/lib/systemd/home/alice.identity"));
        assert_false(test_exists(root, "/var/lib/systemd/home/root.identity"));
        test_root_free(root);
}

static void create_refuses_root_without_machine_id(void **state)
{
        char *root = test_root_new();
        _cleanup_free_ char *mid = test_path(root, "/etc/machine-id");
        Home *h = NULL;
        RecordError err = {};

        assert_int_equal(unlink(mid), 0);
        assert_int_equal(home_new(root, 0, &h, &err), -ENOMEDIUM);
        assert_non_null(strstr(err.message, "machine-id"));
        test_write(root, "/etc/machine-id", "0123456789ABCDEF0123456789abcdef\n", 0444);
        assert_int_equal(home_new(root, 0, &h, NULL), -ENOMEDIUM);
        test_root_free(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(create_lays_out_home_as_homed_does),
                cmocka_unit_test(create_sets_last_change_from_clock_and_drops_secret),
                cmocka_unit_test(create_copies_skeleton_keeping_modes_without_following_symlinks),
                cmocka_unit_test(create_uses_record_skeleton_directory_under_root),
                cmocka_unit_test(create_honours_access_mode),
                cmocka_unit_test(create_refuses_existing_record_or_home),
                cmocka_unit_test(create_refuses_unsupported_storage_paths_and_names),
                cmocka_unit_test(create_refuses_root_without_machine_id),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
