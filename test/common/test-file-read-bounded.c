/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "file-util.h"
#include "macros.h"

static char *make_tmpdir(void)
{
        char *dir = strdup("/tmp/corehomed-test-XXXXXX");
        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        return dir;
}

static void remove_tmpdir(const char *dir)
{
        _cleanup_free_ char *cmd = NULL;
        assert_true(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
        assert_int_equal(system(cmd), 0);
}

static void test_reads_at_limit_refuses_limit_plus_one(void **state)
{
        _cleanup_free_ char *dir = make_tmpdir(), *data = NULL;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        char block[100];
        size_t size;

        memset(block, 'x', sizeof(block));
        assert_int_equal(write_file_atomic(dfd, "f", block, sizeof(block), 0644, -1, -1), 0);
        assert_int_equal(read_file_bounded(dfd, "f", 100, &data, &size), 0);
        assert_int_equal(size, 100);
        assert_int_equal(data[100], '\0');
        assert_int_equal(read_file_bounded(dfd, "f", 99, &data, &size), -E2BIG);
        remove_tmpdir(dir);
}

static void test_refuses_symlink_fifo_and_directory(void **state)
{
        _cleanup_free_ char *dir = make_tmpdir(), *data = NULL;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        size_t size;

        assert_int_equal(write_file_atomic(dfd, "target", "abc", 3, 0644, -1, -1), 0);
        assert_int_equal(symlinkat("target", dfd, "link"), 0);
        assert_int_equal(mkfifoat(dfd, "fifo", 0600), 0);
        assert_int_equal(mkdirat(dfd, "sub", 0700), 0);

        assert_int_equal(read_file_bounded(dfd, "link", 100, &data, &size), -ELOOP);
        assert_int_equal(read_file_bounded(dfd, "fifo", 100, &data, &size), -EBADFD);
        assert_int_equal(read_file_bounded(dfd, "sub", 100, &data, &size), -EBADFD);
        assert_int_equal(read_file_bounded(dfd, "missing", 100, &data, &size), -ENOENT);
        remove_tmpdir(dir);
}

static void test_atomic_write_sets_mode_and_leaves_no_temporaries(void **state)
{
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        struct stat st;

        assert_int_equal(write_file_atomic(dfd, "f", "old", 3, 0600, -1, -1), 0);
        assert_int_equal(write_file_atomic(dfd, "f", "new!", 4, 0640, -1, -1), 0);
        assert_int_equal(fstatat(dfd, "f", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_int_equal(st.st_size, 4);

        _cleanup_free_ char *cmd = NULL;
        assert_true(asprintf(&cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir) > 0);
        assert_int_equal(system(cmd), 0);
        remove_tmpdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reads_at_limit_refuses_limit_plus_one),
                cmocka_unit_test(test_refuses_symlink_fifo_and_directory),
                cmocka_unit_test(test_atomic_write_sets_mode_and_leaves_no_temporaries),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
