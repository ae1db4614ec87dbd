/* SPDX-License-Identifier: MIT */
/* A create that fails at any step leaves the tree exactly as it was: no record, no home, no temporary. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "home-test-util.h"
#include "home-tree.h"

static void assert_failed_create_leaves_nothing(const char *step)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);
        _cleanup_free_ char *before = NULL, *after = NULL;
        RecordError err = {};

        test_write(root, "/etc/skel/.profile", "x", 0644);
        test_write(root, "/home/.keep", "", 0644);
        before = test_tree_listing(root);
        h->fail_at = step;
        assert_int_equal(home_create(h, rec, NULL, &err), -EIO);
        assert_true(err.message[0] != '\0');
        after = test_tree_listing(root);
        assert_string_equal(before, after);

        /* And the next attempt, without the fault, succeeds. */
        h->fail_at = NULL;
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        test_root_free(root);
}

static void failure_writing_host_record_leaves_nothing(void **state)
{
        assert_failed_create_leaves_nothing("host-record");
}

static void failure_creating_home_directory_leaves_nothing(void **state)
{
        assert_failed_create_leaves_nothing("mkdir");
}

static void failure_copying_skeleton_leaves_nothing(void **state)
{
        assert_failed_create_leaves_nothing("skeleton");
}

static void failure_writing_embedded_identity_leaves_nothing(void **state)
{
        assert_failed_create_leaves_nothing("identity");
}

static void failure_before_rename_leaves_nothing(void **state)
{
        assert_failed_create_leaves_nothing("rename");
}

static void too_deep_skeleton_fails_and_leaves_nothing(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);
        _cleanup_free_ char *deep = test_path(root, "/etc/skel"), *after = NULL;

        /* A real failure, no injection: nesting one level beyond HOME_TREE_DEPTH_MAX. */
        for (unsigned i = 0; i <= HOME_TREE_DEPTH_MAX + 1; i++) {
                char *n = NULL;
                assert_true(asprintf(&n, "%s/d", deep) > 0);
                free(deep);
                deep = n;
        }
        assert_int_equal(mkdir_parents_and_self(deep, 0755), 0);
        assert_int_equal(home_create(h, rec, NULL, NULL), -ELOOP);
        after = test_tree_listing(root);
        assert_null(strstr(after, "alice"));
        assert_null(strstr(after, ".#"));
        test_root_free(root);
}

static void skeleton_at_depth_limit_is_copied(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);
        _cleanup_free_ char *deep = test_path(root, "/etc/skel");

        for (unsigned i = 0; i < HOME_TREE_DEPTH_MAX; i++) {
                char *n = NULL;
                assert_true(asprintf(&n, "%s/d", deep) > 0);
                free(deep);
                deep = n;
        }
        assert_int_equal(mkdir_parents_and_self(deep, 0755), 0);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        test_root_free(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(failure_writing_host_record_leaves_nothing),
                cmocka_unit_test(failure_creating_home_directory_leaves_nothing),
                cmocka_unit_test(failure_copying_skeleton_leaves_nothing),
                cmocka_unit_test(failure_writing_embedded_identity_leaves_nothing),
                cmocka_unit_test(failure_before_rename_leaves_nothing),
                cmocka_unit_test(too_deep_skeleton_fails_and_leaves_nothing),
                cmocka_unit_test(skeleton_at_depth_limit_is_copied),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
