/* SPDX-License-Identifier: MIT */
/* The deny list: names kept in order and found, DENY_LIST_MAX names and not one more (when adding and when
 * loading), a file of DENY_LIST_SIZE_MAX bytes read and one byte more refused, a full list of the longest
 * names fits that size, and a file that is not ours (malformed, invalid or repeated names) refused rather
 * than taken for empty. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "deny-list.h"
#include "file-util.h"
#include "macros.h"
#include "user-name.h"

#define SINCE ((usec_t) 1764064800 * USEC_PER_SEC) /* 2025-11-25T10:00:00Z */

static char *root_new(void)
{
        char *root = strdup("/tmp/test-deny-list.XXXXXX");

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

/* The i-th of many distinct names, USER_NAME_LENGTH_MAX bytes long: the largest file a full list makes. */
static void long_name(size_t i, char name[static USER_NAME_LENGTH_MAX + 1])
{
        snprintf(name, USER_NAME_LENGTH_MAX + 1, "u%0*zu", (int) USER_NAME_LENGTH_MAX - 1, i);
        assert_int_equal(strlen(name), USER_NAME_LENGTH_MAX);
        assert_true(user_name_is_valid_syntax(name));
}

static void write_deny_file(const char *root, const char *text, size_t size)
{
        _cleanup_free_ char *dir = NULL, *path = NULL;

        assert_int_equal(path_join_root(root, DENY_LIST_DIR, &dir), 0);
        assert_int_equal(mkdir_parents_and_self(dir, 0700), 0);
        assert_int_equal(path_join_root(root, DENY_LIST_PATH, &path), 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, path, text, size, 0600, (uid_t) -1, (gid_t) -1), 0);
}

static void test_names_are_kept_in_order_and_found(void **state)
{
        _cleanup_(deny_list_done) DenyList l = {};

        assert_int_equal(deny_list_add(&l, "mallory", SINCE), 0);
        assert_int_equal(deny_list_add(&l, "alice", SINCE), 0);
        assert_int_equal(deny_list_add(&l, "bob", SINCE + 1), 0);
        assert_int_equal(deny_list_add(&l, "bob", SINCE), -EEXIST);
        assert_int_equal(deny_list_add(&l, "not a name", SINCE), -EINVAL);
        assert_int_equal(deny_list_add(&l, "", SINCE), -EINVAL);
        assert_int_equal(l.n, 3);
        assert_string_equal(l.entries[0].user_name, "alice");
        assert_string_equal(l.entries[1].user_name, "bob");
        assert_string_equal(l.entries[2].user_name, "mallory");
        assert_non_null(deny_list_find(&l, "bob"));
        assert_int_equal(deny_list_find(&l, "bob")->since, SINCE + 1);
        assert_null(deny_list_find(&l, "carol"));
        assert_null(deny_list_find(&l, NULL));
        assert_int_equal(deny_list_remove(&l, "bob"), 0);
        assert_int_equal(deny_list_remove(&l, "bob"), -ENOENT);
        assert_null(deny_list_find(&l, "bob"));
        assert_non_null(deny_list_find(&l, "mallory"));
}

static void test_max_names_and_not_one_more(void **state)
{
        _cleanup_(deny_list_done) DenyList l = {}, loaded = {};
        _cleanup_free_ char *error = NULL, *path = NULL;
        char *root = root_new();
        char name[USER_NAME_LENGTH_MAX + 1];
        struct stat st;

        for (size_t i = 0; i < DENY_LIST_MAX; i++) {
                long_name(i, name);
                assert_int_equal(deny_list_add(&l, name, SINCE), 0);
        }
        long_name(DENY_LIST_MAX, name);
        assert_int_equal(deny_list_add(&l, name, SINCE), -E2BIG);
        assert_int_equal(l.n, DENY_LIST_MAX);

        /* A full list of the longest names is a file the size bound reads. */
        assert_int_equal(deny_list_save(root, &l), 0);
        assert_int_equal(path_join_root(root, DENY_LIST_PATH, &path), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size <= DENY_LIST_SIZE_MAX);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(deny_list_load(root, &loaded, &error), 0);
        assert_int_equal(loaded.n, DENY_LIST_MAX);
        for (size_t i = 0; i < DENY_LIST_MAX; i++) {
                assert_string_equal(loaded.entries[i].user_name, l.entries[i].user_name);
                assert_int_equal(loaded.entries[i].since, SINCE);
        }
        root_free(root);
}

static void test_loading_more_than_max_names_is_refused(void **state)
{
        _cleanup_(deny_list_done) DenyList l = {};
        _cleanup_free_ char *error = NULL, *text = NULL;
        char *root = root_new();
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(f);
        fputs("{\"denied\": [", f);
        for (size_t i = 0; i <= DENY_LIST_MAX; i++)
                fprintf(f, "%s{\"user\": \"u%zu\", \"since\": \"2025-11-25T10:00:00Z\"}", i ? "," : "", i);
        fputs("]}", f);
        assert_int_equal(fclose(f), 0);
        assert_true(size <= DENY_LIST_SIZE_MAX);
        write_deny_file(root, text, size);
        assert_int_equal(deny_list_load(root, &l, &error), -E2BIG);
        assert_non_null(strstr(error, "more than"));
        root_free(root);
}

/* A valid list padded with spaces to exactly size bytes. */
static void write_padded(const char *root, size_t size)
{
        static const char list[] =
                "{\"denied\": [{\"user\": \"alice\", \"since\": \"2025-11-25T10:00:00Z\"}]}";
        _cleanup_free_ char *text = malloc(size);

        assert_non_null(text);
        assert_true(size >= sizeof(list) - 1);
        memcpy(text, list, sizeof(list) - 1);
        memset(text + sizeof(list) - 1, ' ', size - (sizeof(list) - 1));
        write_deny_file(root, text, size);
}

static void test_size_bound_at_n_and_n_plus_1(void **state)
{
        _cleanup_(deny_list_done) DenyList l = {}, l2 = {};
        _cleanup_free_ char *error = NULL, *error2 = NULL;
        char *root = root_new();

        write_padded(root, DENY_LIST_SIZE_MAX);
        assert_int_equal(deny_list_load(root, &l, &error), 0);
        assert_non_null(deny_list_find(&l, "alice"));
        write_padded(root, DENY_LIST_SIZE_MAX + 1);
        assert_int_equal(deny_list_load(root, &l2, &error2), -E2BIG);
        assert_non_null(strstr(error2, "larger than"));
        root_free(root);
}

static void test_missing_file_is_an_empty_list(void **state)
{
        _cleanup_(deny_list_done) DenyList l = {};
        _cleanup_free_ char *error = NULL;
        char *root = root_new();

        assert_int_equal(deny_list_load(root, &l, &error), 0);
        assert_int_equal(l.n, 0);
        assert_null(error);
        root_free(root);
}

static void expect_refused(const char *text, const char *why)
{
        _cleanup_(deny_list_done) DenyList l = {};
        _cleanup_free_ char *error = NULL;
        char *root = root_new();

        write_deny_file(root, text, strlen(text));
        assert_int_equal(deny_list_load(root, &l, &error), -EBADMSG);
        assert_non_null(error);
        if (!strstr(error, why))
                fail_msg("expected '%s' in: %s", why, error);
        assert_int_equal(l.n, 0);
        root_free(root);
}

static void test_a_file_that_is_not_ours_is_refused(void **state)
{
        expect_refused("", "not a deny list");
        expect_refused("[]", "not a deny list");
        expect_refused("{\"denied\": {}}", "not a deny list");
        expect_refused("{\"denied\": [{\"user\": \"alice\"}]}", "an entry needs");
        expect_refused("{\"denied\": [{\"user\": \"alice\", \"since\": \"yesterday\"}]}", "an entry needs");
        expect_refused("{\"denied\": [{\"user\": \"a b\", \"since\": \"2025-11-25T10:00:00Z\"}]}",
                       "not a valid user name");
        expect_refused("{\"denied\": [{\"user\": \"alice\", \"since\": \"2025-11-25T10:00:00Z\"},"
                       "{\"user\": \"alice\", \"since\": \"2025-11-25T10:00:00Z\"}]}",
                       "listed twice");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names_are_kept_in_order_and_found),
                cmocka_unit_test(test_max_names_and_not_one_more),
                cmocka_unit_test(test_loading_more_than_max_names_is_refused),
                cmocka_unit_test(test_size_bound_at_n_and_n_plus_1),
                cmocka_unit_test(test_missing_file_is_an_empty_list),
                cmocka_unit_test(test_a_file_that_is_not_ours_is_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
