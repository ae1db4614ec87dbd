/* SPDX-License-Identifier: MIT */
/* home_create(): homed's layout, owners and modes, the binding, the signature, the skeleton copy and the
 * refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>

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

/* An image before its first boot: /etc/machine-id missing, empty or "uninitialized" is no machine-id yet
 * (the home is made, its record has no binding), anything else not 32 lower-case hex digits is refused. */
static void create_without_machine_id_leaves_record_unbound(void **state)
{
        static const char *const unset[] = { NULL, "", "\n", "uninitialized\n", "uninitialized" };
        static const char *const malformed[] = { "0123456789ABCDEF0123456789abcdef\n", "uninit\n",
                                                 "0123456789abcdef0123456789abcde\n" };

        for (size_t i = 0; i < ELEMENTSOF(unset); i++) {
                char *root = test_root_new();
                _cleanup_free_ char *mid = test_path(root, "/etc/machine-id");
                _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW - 5), *stored = NULL,
                                      *host = NULL;
                Home *h = NULL;
                RecordError err = {};
                UserRecordSignatureState s;

                assert_int_equal(unlink(mid), 0);
                if (unset[i])
                        test_write(root, "/etc/machine-id", unset[i], 0444);
                if (home_new(root, 0, &h, &err) < 0)
                        fail_msg("home_new with machine-id %s: %s", unset[i] ? unset[i] : "(missing)",
                                 err.message);
                assert_false(home_has_machine_id(h));
                if (home_create(h, rec, &stored, &err) < 0)
                        fail_msg("home_create: %s", err.message);
                test_assert_stat(root, "/home/alice.homedir", S_IFDIR, 0700, 60456, 60456);
                host = load_file_record(root, "/var/lib/systemd/home/alice.identity");
                assert_null(json_object_get(host, "binding"));
                assert_int_equal(user_record_verify(host, h->key->pkey, &s), 0);
                assert_int_equal(s, USER_RECORD_SIGNED_EXCLUSIVE);
                /* Nothing to bind to yet. */
                assert_int_equal(home_bind(h, "alice", NULL, &err), -ENOMEDIUM);
                home_free(h);
                test_root_free(root);
        }
        for (size_t i = 0; i < ELEMENTSOF(malformed); i++) {
                char *root = test_root_new();
                _cleanup_free_ char *mid = test_path(root, "/etc/machine-id");
                Home *h = NULL;
                RecordError err = {};

                assert_int_equal(unlink(mid), 0);
                test_write(root, "/etc/machine-id", malformed[i], 0444);
                assert_int_equal(home_new(root, 0, &h, &err), -ENOMEDIUM);
                assert_non_null(strstr(err.message, "machine-id: malformed"));
                test_root_free(root);
        }
}

/* The first boot: the machine has its id; home_bind() adds the binding with the home's owner as uid, keeps
 * the signature and ~/.identity, and does nothing the second time. */
static void bind_adds_binding_of_home_owner(void **state)
{
        char *root = test_root_new();
        _cleanup_free_ char *mid = test_path(root, "/etc/machine-id");
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW - 5), *stored = NULL, *before = NULL,
                              *host = NULL;
        _cleanup_free_ char *embedded_before = NULL, *embedded_after = NULL;
        Home *h = NULL;
        RecordError err = {};
        UserRecordSignatureState s;
        uid_t uid = 0;
        size_t size;

        assert_int_equal(unlink(mid), 0);
        test_write(root, "/etc/machine-id", "uninitialized\n", 0644);
        assert_int_equal(home_new(root, 0, &h, &err), 0);
        if (home_create(h, rec, &stored, &err) < 0)
                fail_msg("home_create: %s", err.message);
        /* The home belongs to another uid than the one home_create() would pick now: bind takes the owner's.
         */
        _cleanup_free_ char *image = test_path(root, "/home/alice.homedir");
        assert_int_equal(chown(image, 60100, 60100), 0);
        before = load_file_record(root, "/var/lib/systemd/home/alice.identity");
        _cleanup_free_ char *embedded_path = test_path(root, "/home/alice.homedir/.identity");
        assert_int_equal(
                read_file_bounded(AT_FDCWD, embedded_path, USER_RECORD_TEXT_MAX, &embedded_before, &size),
                0);

        assert_int_equal(unlink(mid), 0);
        test_write(root, "/etc/machine-id", TEST_MACHINE_ID "\n", 0444);
        assert_int_equal(home_reload_machine_id(h), 1);
        assert_true(home_has_machine_id(h));
        if (home_bind(h, "alice", &uid, &err) != 1)
                fail_msg("home_bind: %s", err.message);
        assert_int_equal(uid, 60100);

        host = load_file_record(root, "/var/lib/systemd/home/alice.identity");
        json_t *b = json_object_get(json_object_get(host, "binding"), TEST_MACHINE_ID);
        assert_non_null(b);
        assert_int_equal(json_object_size(b), 4);
        assert_int_equal(json_integer_value(json_object_get(b, "uid")), 60100);
        assert_int_equal(json_integer_value(json_object_get(b, "gid")), 60100);
        assert_string_equal(json_string_value(json_object_get(b, "imagePath")), "/home/alice.homedir");
        assert_string_equal(json_string_value(json_object_get(b, "storage")), "directory");
        assert_int_equal(user_record_verify(host, h->key->pkey, &s), 0);
        assert_int_equal(s, USER_RECORD_SIGNED_EXCLUSIVE);
        assert_true(json_equal(json_object_get(host, "signature"), json_object_get(before, "signature")));
        json_object_del(host, "binding");
        assert_true(json_equal(host, before));
        assert_int_equal(
                read_file_bounded(AT_FDCWD, embedded_path, USER_RECORD_TEXT_MAX, &embedded_after, &size), 0);
        assert_string_equal(embedded_before, embedded_after);

        /* Bound already: nothing to do, the same uid. */
        uid = 0;
        assert_int_equal(home_bind(h, "alice", &uid, &err), 0);
        assert_int_equal(uid, 60100);
        home_free(h);
        test_root_free(root);
}

/* A record another key signed is not ours to bind; an image owner whose uid another user has is refused. */
static void bind_refuses_foreign_record_and_taken_uid(void **state)
{
        char *root = test_root_new();
        _cleanup_free_ char *mid = test_path(root, "/etc/machine-id");
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW - 5),
                              *bob = test_record("bob", TEST_NOW - 5);
        Home *h = NULL;
        RecordError err = {};

        assert_int_equal(unlink(mid), 0);
        assert_int_equal(home_new(root, 0, &h, &err), 0);
        assert_int_equal(home_create(h, rec, NULL, &err), 0);
        assert_int_equal(home_create(h, bob, NULL, &err), 0);
        /* alice's home now belongs to a uid /etc/passwd gives someone else. */
        _cleanup_free_ char *image = test_path(root, "/home/alice.homedir");
        assert_int_equal(chown(image, 60200, 60200), 0);
        test_write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\nsvc:x:60200:60200::/:/bin/false\n",
                   0644);
        /* bob's record re-signed by another key. */
        EVP_PKEY *other = NULL;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
        assert_non_null(ctx);
        assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
        assert_int_equal(EVP_PKEY_keygen(ctx, &other), 1);
        EVP_PKEY_CTX_free(ctx);
        _cleanup_json_ json_t *bob_host = load_file_record(root, "/var/lib/systemd/home/bob.identity"),
                              *bob_signed = NULL;
        _cleanup_free_ char *bob_text = NULL;
        assert_int_equal(user_record_sign(bob_host, other, &bob_signed), 0);
        EVP_PKEY_free(other);
        assert_int_equal(user_record_format_pretty(bob_signed, &bob_text), 0);
        test_write(root, "/var/lib/systemd/home/bob.identity", bob_text, 0600);

        test_write(root, "/etc/machine-id", TEST_MACHINE_ID "\n", 0444);
        assert_int_equal(home_reload_machine_id(h), 1);
        assert_int_equal(home_bind(h, "alice", NULL, &err), -EEXIST);
        assert_non_null(strstr(err.message, "60200"));
        assert_int_equal(home_bind(h, "bob", NULL, &err), -EPERM);
        _cleanup_json_ json_t *bob_after = load_file_record(root, "/var/lib/systemd/home/bob.identity");
        assert_null(json_object_get(bob_after, "binding"));
        home_free(h);
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
                cmocka_unit_test(create_without_machine_id_leaves_record_unbound),
                cmocka_unit_test(bind_adds_binding_of_home_owner),
                cmocka_unit_test(bind_refuses_foreign_record_and_taken_uid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
