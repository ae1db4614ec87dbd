/* SPDX-License-Identifier: MIT */
/* Subvolume homes on a loop-mounted btrfs: the home is a subvolume with a qgroup limit of diskSize that
 * btrfs enforces, it activates like a directory home, and removal destroys it with any subvolumes the user
 * nested inside. /home not on btrfs is refused. Needs root, loop devices, btrfs and mkfs.btrfs (run under
 * the team's lock); everything mounted is unmounted at the end of each test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "home-storage.h"
#include "luks-test-util.h"

#define MIB (1024ULL * 1024)

typedef struct Btrfs {
        char *root;
        char *image;
} Btrfs;

/* A root whose /home is a fresh btrfs (mount -o loop: the loop device detaches at umount). */
static Btrfs btrfs_root(void)
{
        Btrfs b = { .root = test_root_new() };
        _cleanup_free_ char *out = NULL;
        int fd = test_image_new(300 * MIB, &b.image);

        close(fd);
        out = test_output("mkfs.btrfs -q -f '%s' >/dev/null 2>&1 && mkdir -p '%s/home' && "
                          "mount -o loop '%s' '%s/home' 2>&1 && echo ok",
                          b.image, b.root, b.image, b.root);
        if (!streq(out, "ok\n"))
                fail_msg("cannot mount a btrfs: %s", out);
        return b;
}

static void btrfs_done(Btrfs *b)
{
        /* Deepest first: a bind mount of the home, then the btrfs itself; nothing may stay mounted. */
        _cleanup_free_ char *out =
                test_output("findmnt -rn -o TARGET | grep '^%s/' | sort -r | xargs -r -n1 umount; "
                            "findmnt -rn -o TARGET | grep -c '^%s/' || true",
                            b->root, b->root);

        assert_string_equal(out, "0\n");
        unlink(b->image);
        free(b->image);
        test_root_free(b->root);
}

static json_t *subvolume_record(const char *name, uint64_t disk_size)
{
        json_t *j = test_record(name, TEST_NOW);

        assert_int_equal(json_object_set_new(j, "storage", json_string("subvolume")), 0);
        if (disk_size)
                assert_int_equal(json_object_set_new(j, "diskSize", json_integer((json_int_t) disk_size)),
                                 0);
        return j;
}

static HomeState state_of(Home *h, const char *user)
{
        HomeState s;

        assert_int_equal(home_state(h, user, &s), 0);
        return s;
}

static void create_makes_a_limited_subvolume(void **state)
{
        Btrfs b = btrfs_root();
        _cleanup_home_ Home *h = test_home_new(b.root, 0);
        _cleanup_json_ json_t *rec = subvolume_record("alice", 64 * MIB);
        _cleanup_free_ char *home = NULL, *show = NULL, *qgroups = NULL;
        struct stat st;

        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        home = test_path(b.root, "/home/alice.homedir");
        assert_int_equal(lstat(home, &st), 0);
        assert_int_equal(st.st_ino, 256); /* a subvolume's root */
        assert_int_equal(st.st_uid, 60456);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_true(test_exists(b.root, "/home/alice.homedir/.identity"));
        show = test_output("btrfs subvolume show '%s' >/dev/null 2>&1 && echo subvolume", home);
        assert_string_equal(show, "subvolume\n");
        /* The subvolume's own qgroup (0/<id>) has a referenced limit of diskSize. */
        qgroups = test_output("btrfs qgroup show -r --raw '%s' 2>/dev/null", home);
        assert_non_null(strstr(qgroups, "67108864"));
        assert_int_equal(state_of(h, "alice"), HOME_STATE_INACTIVE);
        h = home_free(h);
        btrfs_done(&b);
}

static void quota_is_enforced(void **state)
{
        Btrfs b = btrfs_root();
        _cleanup_home_ Home *h = test_home_new(b.root, 0);
        _cleanup_json_ json_t *rec = subvolume_record("alice", 16 * MIB);
        _cleanup_free_ char *out = NULL;

        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        /* 32 MiB into a home limited to 16: btrfs refuses with EDQUOT ("Disk quota exceeded"). */
        out = test_output("dd if=/dev/zero of='%s/home/alice.homedir/big' bs=1M count=32 conv=fsync 2>&1 | "
                          "grep -c 'Disk quota exceeded'",
                          b.root);
        assert_string_equal(out, "1\n");
        h = home_free(h);
        btrfs_done(&b);
}

static void no_disk_size_no_limit(void **state)
{
        Btrfs b = btrfs_root();
        _cleanup_home_ Home *h = test_home_new(b.root, 0);
        _cleanup_json_ json_t *rec = subvolume_record("alice", 0);
        _cleanup_free_ char *qgroups = NULL;

        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        /* Quota was never turned on for this file system. */
        qgroups = test_output(
                "btrfs qgroup show '%s/home' 2>&1 | grep -ci 'quota.*not enabled\\|not enabled' || true",
                b.root);
        assert_string_equal(qgroups, "1\n");
        h = home_free(h);
        btrfs_done(&b);
}

static void activates_like_a_directory(void **state)
{
        Btrfs b = btrfs_root();
        _cleanup_home_ Home *h = test_home_new(b.root, HOME_ALLOW_MOUNT);
        _cleanup_json_ json_t *rec = subvolume_record("alice", 64 * MIB);
        RecordError err = {};

        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        assert_int_equal(home_activate(h, "alice", &err), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_ACTIVE);
        assert_true(test_exists(b.root, "/home/alice/.identity"));
        assert_int_equal(home_lock(h, "alice", &err), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_LOCKED);
        assert_int_equal(home_unlock(h, "alice", &err), 0);
        assert_int_equal(home_deactivate(h, "alice", &err), 0);
        assert_int_equal(state_of(h, "alice"), HOME_STATE_INACTIVE);
        h = home_free(h);
        btrfs_done(&b);
}

static void remove_destroys_nested_subvolumes(void **state)
{
        Btrfs b = btrfs_root();
        _cleanup_home_ Home *h = test_home_new(b.root, 0);
        _cleanup_json_ json_t *rec = subvolume_record("alice", 64 * MIB);
        _cleanup_free_ char *out = NULL, *list = NULL;
        RecordError err = {};

        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        out = test_output("cd '%s/home/alice.homedir' && btrfs -q subvolume create nested >/dev/null && "
                          "mkdir -p nested/dir && btrfs -q subvolume create nested/dir/deeper >/dev/null && "
                          "echo data > nested/dir/deeper/file && echo ok",
                          b.root);
        assert_string_equal(out, "ok\n");
        assert_int_equal(home_remove(h, "alice", &err), 0);
        assert_false(test_exists(b.root, "/home/alice.homedir"));
        assert_false(test_exists(b.root, "/var/lib/systemd/home/alice.identity"));
        list = test_output("btrfs subvolume list '%s/home' | wc -l", b.root);
        assert_string_equal(list, "0\n");
        free(out);
        out = test_output("ls -A '%s/home' | wc -l", b.root);
        assert_string_equal(out, "0\n");
        h = home_free(h);
        btrfs_done(&b);
}

static void not_btrfs_is_refused(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = subvolume_record("alice", 0);
        _cleanup_free_ char *fstype = test_output("stat -f -c %%T /tmp");
        RecordError err = {};

        if (streq(fstype, "btrfs\n"))
                skip();
        assert_int_equal(home_create(h, rec, NULL, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.message, "btrfs"));
        assert_false(test_exists(root, "/var/lib/systemd/home/alice.identity"));
        test_root_free(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(create_makes_a_limited_subvolume),
                cmocka_unit_test(quota_is_enforced),
                cmocka_unit_test(no_disk_size_no_limit),
                cmocka_unit_test(activates_like_a_directory),
                cmocka_unit_test(remove_destroys_nested_subvolumes),
                cmocka_unit_test(not_btrfs_is_refused),
        };

        if (geteuid() != 0 || access("/dev/loop-control", W_OK) != 0 ||
            system("command -v mkfs.btrfs >/dev/null") != 0 ||
            system("grep -qw btrfs /proc/filesystems") != 0) {
                printf("SKIP: needs root, loop devices, btrfs and mkfs.btrfs (btrfs-progs)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
