/* SPDX-License-Identifier: MIT */
/* States as homed names them, activation (bind mount with nosuid,nodev[,noexec]), lock/unlock, dirty,
 * offline mode never mounting, remove and list. Mount tests need CAP_SYS_ADMIN; without it they skip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cmocka.h>

#include "home-storage.h"
#include "home-test-util.h"
#include "user-record.h"

static bool can_mount(void)
{
        char dir[] = "/tmp/test-home-can-mount.XXXXXX";
        bool ok;

        assert_non_null(mkdtemp(dir));
        ok = mount(dir, dir, NULL, MS_BIND, NULL) == 0;
        if (ok)
                assert_int_equal(umount2(dir, 0), 0);
        assert_int_equal(rmdir(dir), 0);
        return ok;
}

/* Unmounts whatever a failed test left below root, so the next one starts clean. */
static void umount_below(const char *root)
{
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "findmnt -rn -o TARGET | grep '^%s/' | sort -r | xargs -r -n1 umount -l",
                             root) > 0);
        if (system(cmd) != 0)
                print_message("umount below %s failed\n", root);
}

static HomeState state_of(Home *h, const char *user)
{
        HomeState s;

        assert_int_equal(home_state(h, user, &s), 0);
        return s;
}

static void create_alice(Home *h, bool noexec)
{
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);

        if (noexec)
                assert_int_equal(json_object_set_new(rec, "mountNoExecute", json_true()), 0);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
}

static void state_names_are_homeds(void **state)
{
        assert_string_equal(home_state_to_string(HOME_STATE_ABSENT), "absent");
        assert_string_equal(home_state_to_string(HOME_STATE_INACTIVE), "inactive");
        assert_string_equal(home_state_to_string(HOME_STATE_DIRTY), "dirty");
        assert_string_equal(home_state_to_string(HOME_STATE_ACTIVE), "active");
        assert_string_equal(home_state_to_string(HOME_STATE_LOCKED), "locked");
        assert_null(home_state_to_string(_HOME_STATE_MAX));
}

static void new_home_is_inactive_and_unknown_user_is_enoent(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        HomeState s;

        create_alice(h, false);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_INACTIVE);
        assert_int_equal(home_state(h, "nobody-here", &s), -ENOENT);
        test_root_free(root);
}

static void offline_context_never_mounts(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        RecordError err = {};

        create_alice(h, false);
        assert_int_equal(home_activate(h, "alice", &err), -EPERM);
        assert_non_null(strstr(err.message, "mounting is disabled"));
        assert_int_equal(home_lock(h, "alice", NULL), -EPERM);
        assert_false(test_exists(root, "/home/alice"));
        assert_int_equal(state_of(h, "alice"), HOME_STATE_INACTIVE);
        test_root_free(root);
}

static void activate_bind_mounts_nosuid_nodev_and_deactivate_undoes_it(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_free_ char *mp = test_path(root, "/home/alice");
        struct statvfs sv;

        if (!can_mount())
                skip();
        create_alice(h, false);
        assert_int_equal(home_activate(h, "alice", NULL), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_ACTIVE);
        assert_int_equal(home_path_is_mount_point(mp), 1);
        /* The user's files show through the mount point, which is the user's home now. */
        assert_true(test_exists(root, "/home/alice/.identity"));
        test_assert_stat(root, "/home/alice", S_IFDIR, 0700, 60456, 60456);
        assert_int_equal(statvfs(mp, &sv), 0);
        assert_true(sv.f_flag & ST_NOSUID);
        assert_true(sv.f_flag & ST_NODEV);
        assert_false(sv.f_flag & ST_NOEXEC);
        assert_int_equal(home_activate(h, "alice", NULL), -EALREADY);

        assert_int_equal(home_deactivate(h, "alice", NULL), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_INACTIVE);
        assert_false(test_exists(root, "/home/alice"));
        assert_int_equal(home_deactivate(h, "alice", NULL), -EALREADY);
        umount_below(root);
        test_root_free(root);
}

static void mount_point_is_root_owned_0700_while_inactive(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_free_ char *mp = test_path(root, "/home/alice");

        if (!can_mount())
                skip();
        create_alice(h, false);
        assert_int_equal(home_activate(h, "alice", NULL), 0);
        /* Under the mount the mount point itself is root's and closed. */
        assert_int_equal(umount2(mp, 0), 0);
        test_assert_stat(root, "/home/alice", S_IFDIR, 0700, 0, 0);
        assert_int_equal(home_deactivate(h, "alice", NULL), 0);
        umount_below(root);
        test_root_free(root);
}

static void record_mount_no_execute_adds_noexec(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_free_ char *mp = test_path(root, "/home/alice");
        struct statvfs sv;

        if (!can_mount())
                skip();
        create_alice(h, true);
        assert_int_equal(home_activate(h, "alice", NULL), 0);
        assert_int_equal(statvfs(mp, &sv), 0);
        assert_true(sv.f_flag & ST_NOEXEC);
        assert_int_equal(home_deactivate(h, "alice", NULL), 0);
        umount_below(root);
        test_root_free(root);
}

static void lock_freezes_content_and_unlock_thaws_it(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_free_ char *file = test_path(root, "/home/alice/new-file");
        int fd;

        if (!can_mount())
                skip();
        create_alice(h, false);
        assert_int_equal(home_lock(h, "alice", NULL), -ENOTCONN);
        assert_int_equal(home_activate(h, "alice", NULL), 0);
        assert_int_equal(home_unlock(h, "alice", NULL), -EALREADY);
        assert_int_equal(home_lock(h, "alice", NULL), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_LOCKED);
        assert_int_equal(home_lock(h, "alice", NULL), -EALREADY);
        fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd < 0 && errno == EROFS);

        assert_int_equal(home_unlock(h, "alice", NULL), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_ACTIVE);
        fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);

        /* Deactivating a locked home works and forgets the lock. */
        assert_int_equal(home_lock(h, "alice", NULL), 0);
        assert_int_equal(home_deactivate(h, "alice", NULL), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_INACTIVE);
        assert_false(test_exists(root, "/run/corehomed/homes/alice.locked"));
        umount_below(root);
        test_root_free(root);
}

static void unmounted_behind_our_back_is_dirty_until_deactivated(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_home_ Home *offline = test_home_new(root, 0);
        _cleanup_free_ char *mp = test_path(root, "/home/alice");

        if (!can_mount())
                skip();
        create_alice(h, false);
        assert_int_equal(home_activate(h, "alice", NULL), 0);
        /* As after a crash or reboot: no mount, but no clean deactivation either. */
        assert_int_equal(umount2(mp, 0), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_DIRTY);
        /* Clearing the mark needs no mount, so even offline work can do it. */
        assert_int_equal(home_deactivate(offline, "alice", NULL), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_INACTIVE);

        /* A dirty home can also simply be activated again. */
        assert_int_equal(home_activate(h, "alice", NULL), 0);
        assert_int_equal(umount2(mp, 0), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_DIRTY);
        assert_int_equal(home_activate(h, "alice", NULL), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_ACTIVE);
        assert_int_equal(home_deactivate(h, "alice", NULL), 0);
        umount_below(root);
        test_root_free(root);
}

static void remove_deletes_home_record_and_marks(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *bar = test_record("bar", TEST_NOW);
        _cleanup_free_ char *before = NULL, *after = NULL;
        HomeState s;

        test_write(root, "/etc/skel/dir/file", "x", 0644);
        test_write(root, "/home/.keep", "", 0644);
        assert_int_equal(home_create(h, bar, NULL, NULL), 0);
        before = test_tree_listing(root);
        create_alice(h, false);
        assert_int_equal(home_remove(h, "alice", NULL), 0);
        after = test_tree_listing(root);
        assert_string_equal(before, after);
        assert_int_equal(home_state(h, "alice", &s), -ENOENT);
        assert_int_equal(home_remove(h, "alice", NULL), -ENOENT);
        assert_int_equal(state_of(h, "bar"), HOME_STATE_INACTIVE);
        test_root_free(root);
}

static void remove_of_absent_home_removes_record(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_free_ char *image = test_path(root, "/home/alice.homedir"), *cmd = NULL;

        create_alice(h, false);
        assert_true(asprintf(&cmd, "rm -rf '%s'", image) > 0);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_ABSENT);
        assert_int_equal(home_remove(h, "alice", NULL), 0);
        assert_false(test_exists(root, "/var/lib/systemd/home/alice.identity"));
        test_root_free(root);
}

static void remove_of_active_home_deactivates_first_but_not_offline(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, HOME_ALLOW_MOUNT);
        _cleanup_home_ Home *offline = test_home_new(root, 0);

        if (!can_mount())
                skip();
        create_alice(h, false);
        assert_int_equal(home_activate(h, "alice", NULL), 0);
        assert_int_equal(home_remove(offline, "alice", NULL), -EBUSY);
        assert_true(test_exists(root, "/home/alice.homedir/.identity"));
        assert_int_equal(home_remove(h, "alice", NULL), 0);
        assert_false(test_exists(root, "/home/alice"));
        assert_false(test_exists(root, "/home/alice.homedir"));
        assert_false(test_exists(root, "/var/lib/systemd/home/alice.identity"));
        assert_false(test_exists(root, "/var/lib/corehomed/homes/alice.active"));
        umount_below(root);
        test_root_free(root);
}

static void list_reports_every_home_with_state_and_signer(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *zed = test_record("zed", TEST_NOW);
        _cleanup_free_ char *image = test_path(root, "/home/zed.homedir"), *cmd = NULL;
        _cleanup_engine_key_ EngineKey *other = NULL;
        _cleanup_json_ json_t *foreign = NULL, *signed_foreign = NULL;
        _cleanup_free_ char *text = NULL;
        HomeListEntry *l = NULL;
        size_t n = 0;

        create_alice(h, false);
        assert_int_equal(home_create(h, zed, NULL, NULL), 0);
        assert_true(asprintf(&cmd, "rm -rf '%s'", image) > 0);
        assert_int_equal(system(cmd), 0);
        /* A third home whose record someone else signed. */
        assert_int_equal(engine_key_generate(&other), 0);
        foreign = test_record("bar", TEST_NOW);
        assert_int_equal(user_record_set_binding(foreign, TEST_MACHINE_ID, 60022, 60022, "/home/bar.homedir",
                                                 "directory"),
                         0);
        assert_int_equal(user_record_sign(foreign, other->pkey, &signed_foreign), 0);
        assert_int_equal(user_record_format_pretty(signed_foreign, &text), 0);
        test_write(root, "/var/lib/systemd/home/bar.identity", text, 0600);

        assert_int_equal(home_list(h, &l, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(l[0].user_name, "alice");
        assert_int_equal(l[0].uid, 60456);
        assert_int_equal(l[0].state, HOME_STATE_INACTIVE);
        assert_true(l[0].ours);
        assert_string_equal(l[1].user_name, "bar");
        assert_int_equal(l[1].uid, 60022);
        assert_int_equal(l[1].state, HOME_STATE_ABSENT);
        assert_false(l[1].ours);
        assert_string_equal(l[2].user_name, "zed");
        assert_int_equal(l[2].state, HOME_STATE_ABSENT);
        assert_true(l[2].ours);
        home_list_free(l, n);
        test_root_free(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(state_names_are_homeds),
                cmocka_unit_test(new_home_is_inactive_and_unknown_user_is_enoent),
                cmocka_unit_test(offline_context_never_mounts),
                cmocka_unit_test(activate_bind_mounts_nosuid_nodev_and_deactivate_undoes_it),
                cmocka_unit_test(mount_point_is_root_owned_0700_while_inactive),
                cmocka_unit_test(record_mount_no_execute_adds_noexec),
                cmocka_unit_test(lock_freezes_content_and_unlock_thaws_it),
                cmocka_unit_test(unmounted_behind_our_back_is_dirty_until_deactivated),
                cmocka_unit_test(remove_deletes_home_record_and_marks),
                cmocka_unit_test(remove_of_absent_home_removes_record),
                cmocka_unit_test(remove_of_active_home_deactivates_first_but_not_offline),
                cmocka_unit_test(list_reports_every_home_with_state_and_signer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
