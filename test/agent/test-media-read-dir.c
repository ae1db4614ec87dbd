/* SPDX-License-Identifier: MIT */
/* media_read_auto_import() on a directory (the medium's top, as the worker sees it once mounted): what a
 * hostile medium can put at auto-import.assert is refused, the size limit holds at N and N+1, and the
 * worker refuses what is not a block device. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "media.h"

static int setup_dir(void **state)
{
        char *dir = strdup("/tmp/test-media-read-dir-XXXXXX");

        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        *state = dir;
        return 0;
}

static int teardown_dir(void **state)
{
        _cleanup_free_ char *dir = *state, *cmd = NULL;

        assert_true(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static char *path_in(const char *dir, const char *name)
{
        char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static void write_assert_file(const char *dir, size_t size)
{
        _cleanup_free_ char *p = path_in(dir, MEDIA_ASSERT_FILE), *buf = malloc(size ? size : 1);
        _cleanup_close_ int fd = -1;

        assert_non_null(buf);
        memset(buf, 'a', size);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, size), (ssize_t) size);
}

/* Reads dir and checks the error and that the message names the path and the reason. */
static void assert_refused(const char *dir, int expected, const char *words)
{
        _cleanup_free_ char *data = NULL, *error = NULL;
        size_t size = 0;

        assert_int_equal(media_read_auto_import(dir, &data, &size, &error), expected);
        assert_null(data);
        assert_non_null(error);
        assert_true(strncmp(error, dir, strlen(dir)) == 0);
        if (!strstr(error, words))
                fail_msg("'%s' does not say '%s'", error, words);
}

static void test_regular_file_is_read_with_its_bytes(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *data = NULL, *error = NULL;
        size_t size = 0;

        write_assert_file(dir, 100);
        assert_int_equal(media_read_auto_import(dir, &data, &size, &error), 0);
        assert_int_equal(size, 100);
        assert_int_equal(data[0], 'a');
        assert_int_equal(data[100], '\0');
        assert_null(error);
}

static void test_file_of_exactly_1mib_is_read_one_more_byte_is_refused(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *data = NULL;
        size_t size = 0;

        write_assert_file(dir, MEDIA_ASSERT_SIZE_MAX);
        assert_int_equal(media_read_auto_import(dir, &data, &size, NULL), 0);
        assert_int_equal(size, MEDIA_ASSERT_SIZE_MAX);

        write_assert_file(dir, MEDIA_ASSERT_SIZE_MAX + 1);
        assert_refused(dir, -E2BIG, "larger than 1 MiB");
}

static void test_symlink_is_not_followed(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *target = path_in(dir, "target"), *link = path_in(dir, MEDIA_ASSERT_FILE);
        _cleanup_close_ int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        assert_int_equal(symlink("target", link), 0);
        assert_refused(dir, -ELOOP, "symbolic link");
}

static void test_fifo_is_refused_without_blocking(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *p = path_in(dir, MEDIA_ASSERT_FILE);

        /* Opening a FIFO without a writer blocks forever unless O_NONBLOCK: this test would hang. */
        assert_int_equal(mkfifo(p, 0644), 0);
        assert_refused(dir, -EBADFD, "not a regular file");
}

static void test_directory_named_like_the_file_is_refused(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *p = path_in(dir, MEDIA_ASSERT_FILE);

        assert_int_equal(mkdir(p, 0755), 0);
        assert_refused(dir, -EBADFD, "not a regular file");
}

static void test_missing_file_is_reported(void **state)
{
        assert_refused(*state, -ENOENT, "no auto-import.assert");
}

static void test_regular_file_as_medium_is_refused(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *p = path_in(dir, MEDIA_ASSERT_FILE);

        write_assert_file(dir, 10);
        assert_refused(p, -ENOTBLK, "neither a directory nor a block device");
}

static void on_read_never(MediaWorker *w, const char *devnode, int error, const char *data, size_t size,
                          const char *reason, void *userdata)
{
        fail_msg("handler called for a worker that never started");
}

static void test_worker_refuses_what_is_not_a_block_device(void **state)
{
        const char *dir = *state;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ char *file = path_in(dir, MEDIA_ASSERT_FILE), *missing = path_in(dir, "missing");
        MediaWorker *w = NULL;

        write_assert_file(dir, 10);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(media_worker_start(e, file, on_read_never, NULL, &w), -ENOTBLK);
        assert_int_equal(media_worker_start(e, dir, on_read_never, NULL, &w), -ENOTBLK);
        assert_int_equal(media_worker_start(e, missing, on_read_never, NULL, &w), -ENOENT);
        assert_int_equal(media_worker_start(e, NULL, on_read_never, NULL, &w), -EINVAL);
        assert_int_equal(media_worker_start(e, file, NULL, NULL, &w), -EINVAL);
        assert_null(w);
        assert_null(media_worker_free(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_regular_file_is_read_with_its_bytes, setup_dir,
                                                teardown_dir),
                cmocka_unit_test_setup_teardown(test_file_of_exactly_1mib_is_read_one_more_byte_is_refused,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_symlink_is_not_followed, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_fifo_is_refused_without_blocking, setup_dir,
                                                teardown_dir),
                cmocka_unit_test_setup_teardown(test_directory_named_like_the_file_is_refused, setup_dir,
                                                teardown_dir),
                cmocka_unit_test_setup_teardown(test_missing_file_is_reported, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_regular_file_as_medium_is_refused, setup_dir,
                                                teardown_dir),
                cmocka_unit_test_setup_teardown(test_worker_refuses_what_is_not_a_block_device, setup_dir,
                                                teardown_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
