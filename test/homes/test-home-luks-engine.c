/* SPDX-License-Identifier: MIT */
/* LUKS homes through the engine: a record with storage luks makes an absent home; realize checks the
 * password before touching anything; the header work of realize and activation (GPT, loop device, LUKS2,
 * token, keyslot policy after a password change) and removal's cryptographic erase, on a root under /tmp.
 * Needs root and loop devices (run under the team's lock). On a kernel without device-mapper (this CI)
 * realize and activation stop at dm and must leave nothing behind; with device-mapper, the VM scenario
 * (test/homes/luks-guest.sh) proves the rest. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "home-gpt.h"
#include "home-loop.h"
#include "home-luks-settings.h"
#include "home-luks-volume.h"
#include "home-storage.h"
#include "luks-test-util.h"
#include "user-record.h"

#define MIB (1024ULL * 1024)

/* The kernel's device-mapper (libdevmapper creates /dev/mapper/control even where the kernel has none). */
static bool have_dm(void)
{
        return access("/sys/class/misc/device-mapper", F_OK) == 0;
}

static int skip_unless_root_with_loop(void)
{
        if (geteuid() != 0 || access("/dev/loop-control", W_OK) != 0) {
                print_message("SKIP: needs root and loop devices\n");
                return 77;
        }
        return 0;
}

static HomeState state_of(Home *h, const char *user)
{
        HomeState s;

        assert_int_equal(home_state(h, user, &s), 0);
        return s;
}

static json_t *host_record(Home *h, const char *user)
{
        json_t *j = NULL;

        assert_int_equal(home_load_record(h, user, &j, NULL), 0);
        return j;
}

/* No loop device may still be backed by a file below root. */
static void assert_no_loop_below(const char *root)
{
        for (unsigned attempt = 0;; attempt++) {
                _cleanup_free_ char *out = test_output(
                        "cat /sys/block/loop*/loop/backing_file 2>/dev/null | grep -c '^%s/' || true", root);

                if (streq(out, "0\n"))
                        return;
                /* Autoclear detaches asynchronously after the last close. */
                assert_true(attempt < 50);
                usleep(100 * 1000);
        }
}

static bool temp_images_below(const char *root)
{
        _cleanup_free_ char *out =
                test_output("ls -A '%s/home' 2>/dev/null | grep -c '^\\.#' || true", root);

        return !streq(out, "0\n");
}

static void create_leaves_an_absent_home(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD), *host = NULL;
        json_t *binding;

        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_ABSENT);
        assert_false(test_exists(root, "/home/alice.home"));
        host = host_record(h, "alice");
        binding = json_object_get(json_object_get(host, "binding"), TEST_MACHINE_ID);
        assert_string_equal(json_string_value(json_object_get(binding, "storage")), "luks");
        assert_string_equal(json_string_value(json_object_get(binding, "imagePath")), "/home/alice.home");
        /* The host record keeps only the hash, never a password. */
        assert_non_null(json_object_get(json_object_get(host, "privileged"), "hashedPassword"));
        assert_null(json_object_get(host, "secret"));
        test_root_free(root);
}

static void realize_checks_the_password_first(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *offline = test_home_new(root, 0), *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD),
                              *nohash = test_record("bob", TEST_NOW);
        RecordError err = {};

        assert_int_equal(json_object_set_new(nohash, "storage", json_string("luks")), 0);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        assert_int_equal(home_create(h, nohash, NULL, NULL), 0);
        assert_int_equal(home_realize(offline, "alice", TEST_PASSWORD, 0, &err), -EPERM);
        assert_int_equal(home_realize(h, "alice", TEST_PASSWORD_NEW, 0, &err), -EKEYREJECTED);
        assert_non_null(strstr(err.message, "wrong password"));
        assert_int_equal(home_realize(h, "bob", TEST_PASSWORD, 0, &err), -ENOKEY);
        assert_false(temp_images_below(root));
        assert_int_equal(state_of(h, "alice"), HOME_STATE_ABSENT);
        test_root_free(root);
}

static void realize_refuses_other_storage_and_existing_homes(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_json_ json_t *dir = test_record("carol", TEST_NOW);
        RecordError err = {};

        assert_int_equal(home_create(h, dir, NULL, NULL), 0);
        assert_int_equal(home_realize(h, "carol", TEST_PASSWORD, 0, &err), -EOPNOTSUPP);
        assert_int_equal(home_realize(h, "nobody-here", TEST_PASSWORD, 0, &err), -ENOENT);
        test_root_free(root);
}

static void realize_without_device_mapper_leaves_nothing(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD);
        RecordError err = {};

        if (have_dm())
                skip();
        assert_int_equal(json_object_set_new(rec, "diskSize", json_integer(64 * MIB)), 0);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        assert_true(home_realize(h, "alice", TEST_PASSWORD, HOME_REALIZE_ACTIVATE, &err) < 0);
        assert_non_null(strstr(err.message, "device-mapper"));
        assert_false(temp_images_below(root));
        assert_false(test_exists(root, "/home/alice.home"));
        assert_false(test_exists(root, "/var/lib/corehomed/homes/alice.active"));
        assert_no_loop_below(root);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_ABSENT);
        test_root_free(root);
}

/* What realize writes up to the file system, built with the same library calls: the image a realized
 * home has on disk, minus what only device-mapper can make. */
static void build_image(Home *h, const char *root, const char *user, const char *password, char **ret_path)
{
        _cleanup_json_ json_t *host = host_record(h, user), *embedded = NULL;
        _cleanup_(home_loop_freep) HomeLoop *loop = NULL;
        _cleanup_free_ char *path = NULL;
        HomeLuksVolume *v = NULL;
        HomeLuksSettings s;
        HomeGptPartition p;
        RecordError err = {};
        int fd;

        assert_true(asprintf(&path, "%s/home/%s.home", root, user) > 0);
        *strrchr(path, '/') = '\0';
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
        path[strlen(path)] = '/';
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 64 * MIB), 0);
        assert_int_equal(home_gpt_make(fd, user, "0f5a6c1e-7d2b-4c3a-8e9f-a1b2c3d4e5f6", &p), 0);
        assert_int_equal(home_loop_attach(fd, p.offset, p.size, 512, &loop), 0);
        assert_int_equal(home_luks_settings_from_record(host, TEST_MACHINE_ID, &s, &err), 0);
        assert_int_equal(home_embedded_record(host, &embedded), 0);
        if (home_luks_volume_format(loop->node, &s, "6a3f2d5e-1b4c-4d8e-9f70-123456789abc", user, password,
                                    embedded, &v, &err) < 0)
                fail_msg("format: %s", err.message);
        home_luks_volume_free(v);
        close(fd);
        *ret_path = TAKE_PTR(path);
}

/* Opens the partition of image through a loop device: the volume, unlocked with password (or NULL). */
static HomeLuksVolume *open_image(const char *image, json_t *host, const char *password, HomeLoop **ret_loop)
{
        HomeLuksVolume *v = NULL;
        HomeLuksSettings s;
        HomeGptPartition p;
        RecordError err = {};
        int fd = open(image, O_RDWR | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(home_gpt_find(fd, "alice", NULL, &p), 0);
        assert_int_equal(home_loop_attach(fd, p.offset, p.size, 512, ret_loop), 0);
        close(fd);
        assert_int_equal(home_luks_settings_from_record(host, TEST_MACHINE_ID, &s, &err), 0);
        assert_int_equal(home_luks_volume_load((*ret_loop)->node, NULL, "alice", &s, &v), 0);
        if (password)
                assert_true(home_luks_volume_unlock(v, (char *[]){ (char *) password, NULL }) >= 0);
        return v;
}

static bool opens_with(const char *image, json_t *host, const char *password)
{
        _cleanup_(home_loop_freep) HomeLoop *loop = NULL;
        HomeLuksVolume *v = open_image(image, host, NULL, &loop);
        bool ok = home_luks_volume_unlock(v, (char *[]){ (char *) password, NULL }) >= 0;

        home_luks_volume_free(v);
        return ok;
}

static void activation_checks_record_then_keyslot(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD), *host = NULL;
        _cleanup_free_ char *image = NULL;
        RecordError err = {};

        if (have_dm())
                skip();
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        build_image(h, root, "alice", TEST_PASSWORD, &image);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_INACTIVE);

        assert_int_equal(home_activate(h, "alice", &err), -ENOKEY);
        assert_int_equal(home_activate_with_passwords(h, "alice", (char *[]){ (char *) "nope", NULL }, &err),
                         -EKEYREJECTED);
        /* The right password gets as far as device-mapper. */
        assert_true(home_activate_with_passwords(h, "alice", (char *[]){ (char *) TEST_PASSWORD, NULL },
                                                 &err) < 0);
        assert_non_null(strstr(err.message, "device-mapper"));
        assert_int_equal(state_of(h, "alice"), HOME_STATE_INACTIVE);
        assert_false(test_exists(root, "/var/lib/corehomed/homes/alice.active"));
        assert_no_loop_below(root);
        /* The host record is untouched by a failed activation and still verifies. (The binding gets the
         * volume's UUIDs, cipher and file system on a successful one: the VM scenario checks that.) */
        host = host_record(h, "alice");
        assert_null(json_object_get(json_object_get(json_object_get(host, "binding"), TEST_MACHINE_ID),
                                    "luksUuid"));
        /* The binding is unsigned: the record still verifies. */
        UserRecordSignatureState sig;
        assert_int_equal(user_record_verify(host, h->key->pkey, &sig), 0);
        assert_int_equal(sig, USER_RECORD_SIGNED_EXCLUSIVE);
        test_root_free(root);
}

/* The password-change policy (docs/homes.md) end to end through the engine. */
static void password_change_rekeys_at_the_next_login_with_both(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD),
                              *newer = test_luks_record("alice", TEST_NOW + 1, TEST_PASSWORD_NEW),
                              *host = NULL, *token = NULL, *embedded = NULL;
        _cleanup_(home_loop_freep) HomeLoop *loop = NULL;
        _cleanup_free_ char *image = NULL;
        HomeLuksVolume *v;
        RecordError err = {};

        if (have_dm())
                skip();
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        build_image(h, root, "alice", TEST_PASSWORD, &image);
        assert_int_equal(home_update(h, newer, NULL, &err), 0);
        host = host_record(h, "alice");
        /* The new password alone: the record accepts it, no keyslot holds it yet. */
        assert_int_equal(home_activate_with_passwords(h, "alice",
                                                      (char *[]){ (char *) TEST_PASSWORD_NEW, NULL }, &err),
                         -ENOKEY);
        assert_non_null(strstr(err.message, "previous password"));
        /* The old password alone: it opens the keyslot, but the record no longer accepts it. */
        assert_int_equal(
                home_activate_with_passwords(h, "alice", (char *[]){ (char *) TEST_PASSWORD, NULL }, &err),
                -EKEYREJECTED);
        assert_true(opens_with(image, host, TEST_PASSWORD));
        /* Both (as pam_systemd_home sends them after a second prompt): re-keyed before dm is even tried. */
        assert_true(home_activate_with_passwords(
                            h, "alice",
                            (char *[]){ (char *) TEST_PASSWORD_NEW, (char *) TEST_PASSWORD, NULL },
                            &err) < 0);
        assert_non_null(strstr(err.message, "device-mapper"));
        assert_true(opens_with(image, host, TEST_PASSWORD_NEW));
        assert_false(opens_with(image, host, TEST_PASSWORD));

        /* The token now carries the new record. */
        v = open_image(image, host, TEST_PASSWORD_NEW, &loop);
        assert_int_equal(home_luks_volume_keyslots(v), 1);
        assert_int_equal(home_luks_volume_read_record(v, &token), 0);
        assert_int_equal(home_embedded_record(host, &embedded), 0);
        assert_true(json_equal(token, embedded));
        home_luks_volume_free(v);
        loop = home_loop_free(loop);
        assert_no_loop_below(root);
        test_root_free(root);
}

static bool zeros_at(const char *path, uint64_t offset, uint64_t length)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        uint8_t buf[65536];

        assert_true(fd >= 0);
        for (uint64_t off = 0; off < length; off += sizeof(buf)) {
                assert_int_equal(pread(fd, buf, sizeof(buf), (off_t) (offset + off)), (ssize_t) sizeof(buf));
                for (size_t i = 0; i < sizeof(buf); i++)
                        if (buf[i])
                                return false;
        }
        return true;
}

static void remove_erases_the_header_before_deleting(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD), *host = NULL;
        _cleanup_free_ char *image = NULL, *keep = NULL;
        HomeGptPartition p;
        RecordError err = {};
        int fd;

        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        build_image(h, root, "alice", TEST_PASSWORD, &image);
        host = host_record(h, "alice");
        /* A second name for the same blocks: what a copy of the disk would still see after the unlink. */
        assert_true(asprintf(&keep, "%s/kept-copy", root) > 0);
        assert_int_equal(link(image, keep), 0);
        fd = open(keep, O_RDONLY | O_CLOEXEC);
        assert_int_equal(home_gpt_find(fd, "alice", NULL, &p), 0);
        close(fd);
        assert_false(zeros_at(keep, p.offset, 16 * MIB));

        assert_int_equal(home_remove(h, "alice", &err), 0);
        assert_false(test_exists(root, "/home/alice.home"));
        assert_false(test_exists(root, "/var/lib/systemd/home/alice.identity"));
        assert_false(temp_images_below(root));
        /* Every keyslot and the header: 16 MiB of zeros where LUKS2 was. */
        assert_true(zeros_at(keep, p.offset, 16 * MIB));
        assert_no_loop_below(root);
        test_root_free(root);
}

static void crash_after_format_is_erased_by_the_next_remove(void **state)
{
#ifndef COREHOMED_CRASH_POINTS
        skip();
#else
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD);
        RecordError err = {};
        int status;
        pid_t pid;

        assert_int_equal(json_object_set_new(rec, "diskSize", json_integer(64 * MIB)), 0);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                setenv("COREHOMED_CRASH_AT", "home-realize:formatted", 1);
                (void) home_realize(h, "alice", TEST_PASSWORD, 0, NULL);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* The crash left a formatted image under its temporary name (a keyslot for the password!) ... */
        assert_true(temp_images_below(root));
        assert_int_equal(state_of(h, "alice"), HOME_STATE_ABSENT);
        assert_no_loop_below(root);
        /* ... which the next remove erases with the home. */
        assert_int_equal(home_remove(h, "alice", &err), 0);
        assert_false(temp_images_below(root));
        test_root_free(root);
#endif
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(create_leaves_an_absent_home),
                cmocka_unit_test(realize_checks_the_password_first),
                cmocka_unit_test(realize_refuses_other_storage_and_existing_homes),
                cmocka_unit_test(realize_without_device_mapper_leaves_nothing),
                cmocka_unit_test(activation_checks_record_then_keyslot),
                cmocka_unit_test(password_change_rekeys_at_the_next_login_with_both),
                cmocka_unit_test(remove_erases_the_header_before_deleting),
                cmocka_unit_test(crash_after_format_is_erased_by_the_next_remove),
        };
        int r = skip_unless_root_with_loop();

        if (r != 0)
                return r;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
