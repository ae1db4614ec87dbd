/* SPDX-License-Identifier: MIT */
/* One writer per root: a second writer is refused (or waits), the holder is named for the waiting
 * message, the generation moves only when a writer says it changed something, and a damaged counter is
 * taken as a change (a reader reloads, which is always safe). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "file-util.h"
#include "macros.h"
#include "root-lock.h"

static char *root_new(void)
{
        char *root = strdup("/tmp/test-root-lock.XXXXXX");

        assert_non_null(root);
        assert_non_null(mkdtemp(root));
        return root;
}

static void root_free(char *root)
{
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "rm -rf '%s'", root) > 0);
        assert_int_equal(system(cmd), 0);
        free(root);
}

static void note_holder(const char *lock_path, const char *holder, void *userdata)
{
        snprintf(userdata, ROOT_LOCK_HOLDER_MAX, "%s", holder);
}

static void test_second_writer_is_refused_and_told_who_holds_it(void **state)
{
        char *root = root_new();
        RootLock *first = NULL, *second = NULL;
        char holder[ROOT_LOCK_HOLDER_MAX] = "";
        char expected[ROOT_LOCK_HOLDER_MAX];

        assert_int_equal(root_lock_acquire(root, false, NULL, NULL, &first), 0);
        assert_int_equal(root_lock_acquire(root, false, note_holder, holder, &second), -EWOULDBLOCK);
        assert_null(second);
        snprintf(expected, sizeof(expected), "test-root-lock (pid %d)", (int) getpid());
        assert_string_equal(holder, expected);
        root_lock_release(first, NULL);
        assert_int_equal(root_lock_acquire(root, false, NULL, NULL, &second), 0);
        root_lock_release(second, NULL);
        root_free(root);
}

static void test_generation_moves_only_on_change(void **state)
{
        char *root = root_new();
        RootLock *l = NULL;
        uint64_t g0, g1, g2, released;

        assert_int_equal(root_generation_read(root, &g0), 0);
        assert_int_equal(g0, 0);
        assert_int_equal(root_lock_acquire(root, true, NULL, NULL, &l), 0);
        root_lock_release(l, &released);
        assert_int_equal(root_generation_read(root, &g1), 0);
        assert_int_equal(g1, g0);
        assert_int_equal(released, g0);

        assert_int_equal(root_lock_acquire(root, true, NULL, NULL, &l), 0);
        assert_int_equal(l->generation, g1);
        root_lock_mark_changed(l);
        root_lock_release(l, &released);
        assert_int_equal(root_generation_read(root, &g2), 0);
        assert_int_equal(g2, g1 + 1);
        assert_int_equal(released, g2);
        root_free(root);
}

static void test_damaged_generation_reads_as_changed(void **state)
{
        char *root = root_new();
        _cleanup_free_ char *path = NULL;
        uint64_t g;

        assert_true(asprintf(&path, "%s%s", root, ROOT_GENERATION_PATH) > 0);
        assert_int_equal(mkdir_parents_and_self(strndupa(path, strrchr(path, '/') - path), 0700), 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, path, "garbage", 7, 0600, (uid_t) -1, (gid_t) -1), 0);
        assert_int_equal(root_generation_read(root, &g), 0);
        assert_int_equal(g, UINT64_MAX);
        root_free(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_second_writer_is_refused_and_told_who_holds_it),
                cmocka_unit_test(test_generation_moves_only_on_change),
                cmocka_unit_test(test_damaged_generation_reads_as_changed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
