/* SPDX-License-Identifier: MIT */
/* Removing a home tree: any depth, never through symlinks, never through mounts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>

#include <cmocka.h>

#include "home-test-util.h"
#include "home-tree.h"

static void remove_handles_nesting_far_beyond_depth_limit(void **state)
{
        char *root = test_root_new();
        _cleanup_free_ char *top = test_path(root, "/victim");
        _cleanup_close_ int fd = -1;

        /* Built with *at() calls: the full path would exceed PATH_MAX. */
        assert_int_equal(mkdir(top, 0755), 0);
        fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        for (unsigned i = 0; i < 5 * HOME_TREE_DEPTH_MAX; i++) {
                assert_int_equal(mkdirat(fd, "dd", 0755), 0);
                int sub = openat(fd, "dd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(sub >= 0);
                if (i % 7 == 0) {
                        int f = openat(sub, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                        assert_true(f >= 0);
                        close(f);
                }
                close(fd);
                fd = sub;
        }
        assert_int_equal(home_tree_remove(top), 0);
        assert_false(test_exists(root, "/victim"));
        test_root_free(root);
}

static void remove_does_not_follow_symlinks(void **state)
{
        char *root = test_root_new();
        _cleanup_free_ char *outside = test_path(root, "/outside"), *link = test_path(root, "/victim/link"),
                            *top = test_path(root, "/victim");

        test_write(root, "/outside/keep", "precious", 0644);
        test_write(root, "/victim/a/b", "x", 0644);
        assert_int_equal(symlink(outside, link), 0);
        assert_int_equal(home_tree_remove(top), 0);
        assert_false(test_exists(root, "/victim"));
        assert_true(test_exists(root, "/outside/keep"));
        test_root_free(root);
}

static void remove_refuses_to_cross_a_bind_mount(void **state)
{
        char *root = test_root_new();
        _cleanup_free_ char *outside = test_path(root, "/outside"), *mp = test_path(root, "/victim/mnt"),
                            *top = test_path(root, "/victim");

        test_write(root, "/outside/keep", "precious", 0644);
        test_write(root, "/victim/mnt/.keep", "", 0644);
        if (mount(outside, mp, NULL, MS_BIND, NULL) < 0)
                skip();
        assert_int_equal(home_tree_remove(top), -EXDEV);
        assert_int_equal(umount2(mp, 0), 0);
        assert_true(test_exists(root, "/outside/keep"));
        assert_int_equal(home_tree_remove(top), 0);
        test_root_free(root);
}

static void remove_of_missing_path_succeeds(void **state)
{
        assert_int_equal(home_tree_remove("/tmp/test-home-tree-does-not-exist"), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(remove_handles_nesting_far_beyond_depth_limit),
                cmocka_unit_test(remove_does_not_follow_symlinks),
                cmocka_unit_test(remove_refuses_to_cross_a_bind_mount),
                cmocka_unit_test(remove_of_missing_path_succeeds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
