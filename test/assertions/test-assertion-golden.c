/* SPDX-License-Identifier: MIT */
/* Golden files of the codec, in $FIXTURES_DIR/codec/:
 *   NAME.assert      -> NAME.expected.json     the stream decodes to exactly this (type, headers, body)
 *   bad-NAME.assert  -> bad-NAME.expected-err  the stream is refused with exactly this message
 * Every file is visited, so adding a fixture adds a test. CODEC_GOLDEN_UPDATE=1 rewrites the .expected.json
 * files (review the diff!); expected errors are always written by hand. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assertion.h"
#include "file-util.h"

#define FIXTURE_MAX (16 * 1024 * 1024)

static char *fixture_dir(void)
{
        const char *base = getenv("FIXTURES_DIR");
        char *d = NULL;

        assert_non_null(base);
        assert_true(asprintf(&d, "%s/codec", base) > 0);
        return d;
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

static char *sibling(const char *name, const char *suffix)
{
        char *s = NULL;

        assert_true(asprintf(&s, "%.*s%s", (int) (strlen(name) - strlen(".assert")), name, suffix) > 0);
        return s;
}

static char *read_fixture(int dir_fd, const char *name, size_t *ret_size)
{
        char *data = NULL;
        size_t size;
        int r = read_file_bounded(dir_fd, name, FIXTURE_MAX, &data, &size);

        if (r < 0)
                fail_msg("cannot read %s: %s", name, strerror(-r));
        if (ret_size)
                *ret_size = size;
        return data;
}

static char *decoded_json(const AssertionList *l)
{
        json_t *array = json_array();
        char *s;

        for (size_t i = 0; i < l->n; i++)
                assert_int_equal(json_array_append_new(array, assertion_to_json(l->items[i])), 0);
        s = json_dumps(array, JSON_INDENT(2));
        json_decref(array);
        assert_non_null(s);
        return s;
}

/* Visits every NAME.assert (bad == true: only bad-*, else only the others); returns how many failed. */
typedef unsigned (*FixtureCheck)(int dir_fd, const char *name);

static unsigned visit(bool bad, FixtureCheck check, unsigned *ret_count)
{
        _cleanup_free_ char *dir = fixture_dir();
        _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        unsigned failed = 0, count = 0;
        DIR *d;

        assert_true(dir_fd >= 0);
        d = fdopendir(dup(dir_fd));
        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));) {
                if (!has_suffix(de->d_name, ".assert") || (strncmp(de->d_name, "bad-", 4) == 0) != bad)
                        continue;
                failed += check(dir_fd, de->d_name);
                count++;
        }
        closedir(d);
        *ret_count = count;
        return failed;
}

static unsigned check_good(int dir_fd, const char *name)
{
        _cleanup_free_ char *data = NULL, *expected_name = sibling(name, ".expected.json"), *got = NULL;
        _cleanup_assertion_list_ AssertionList *l = NULL;
        AssertionError err = {};
        char message[512];
        json_error_t jerr;
        json_t *expected;
        char *want;
        size_t size;
        int r;

        data = read_fixture(dir_fd, name, &size);
        r = assertion_stream_decode(data, size, &l, &err);
        if (r < 0) {
                print_error("%s: refused: %s\n", name,
                            assertion_error_format(&err, message, sizeof(message)));
                return 1;
        }
        got = decoded_json(l);
        if (getenv("CODEC_GOLDEN_UPDATE")) {
                _cleanup_free_ char *text = NULL;
                assert_true(asprintf(&text, "%s\n", got) > 0);
                assert_int_equal(write_file_atomic(dir_fd, expected_name, text, strlen(text), 0644, -1, -1),
                                 0);
        }
        _cleanup_free_ char *expected_text = read_fixture(dir_fd, expected_name, NULL);
        expected = json_loads(expected_text, JSON_ALLOW_NUL, &jerr);
        if (!expected) {
                print_error("%s: not JSON: %s\n", expected_name, jerr.text);
                return 1;
        }
        /* Compared as dumped text, so the wire order of headers counts too. */
        want = json_dumps(expected, JSON_INDENT(2));
        json_decref(expected);
        r = streq(want, got);
        if (!r)
                print_error("%s: decoded to\n%s\nexpected\n%s\n", name, got, want);
        free(want);
        return r ? 0 : 1;
}

static unsigned check_bad(int dir_fd, const char *name)
{
        _cleanup_free_ char *data = NULL, *expected = NULL, *expected_name = sibling(name, ".expected-err");
        _cleanup_assertion_list_ AssertionList *l = NULL;
        AssertionError err = {};
        char message[512];
        size_t size, n;
        int r;

        data = read_fixture(dir_fd, name, &size);
        expected = read_fixture(dir_fd, expected_name, NULL);
        n = strlen(expected);
        while (n > 0 && expected[n - 1] == '\n')
                expected[--n] = '\0';

        r = assertion_stream_decode(data, size, &l, &err);
        if (r >= 0) {
                print_error("%s: accepted, expected refusal: %s\n", name, expected);
                return 1;
        }
        if (r != -EBADMSG && r != -E2BIG) {
                print_error("%s: refused with %s, expected EBADMSG or E2BIG\n", name, strerror(-r));
                return 1;
        }
        assertion_error_format(&err, message, sizeof(message));
        if (!streq(message, expected)) {
                print_error("%s:\n  got      %s\n  expected %s\n", name, message, expected);
                return 1;
        }
        return 0;
}

static void test_golden_streams_decode_to_expected_json(void **state)
{
        unsigned count, failed = visit(false, check_good, &count);

        print_message("%u golden streams\n", count);
        assert_true(count >= 15);
        assert_int_equal(failed, 0);
}

static void test_malformed_streams_fail_with_expected_message(void **state)
{
        unsigned count, failed = visit(true, check_bad, &count);

        print_message("%u malformed streams\n", count);
        assert_true(count >= 40);
        assert_int_equal(failed, 0);
}

/* A fixture without its partner would silently test nothing. */
static void test_every_expectation_has_its_assert_file(void **state)
{
        _cleanup_free_ char *dir = fixture_dir();
        DIR *d = opendir(dir);
        unsigned orphans = 0;

        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));) {
                const char *suffix = has_suffix(de->d_name, ".expected.json")  ? ".expected.json"
                                     : has_suffix(de->d_name, ".expected-err") ? ".expected-err"
                                                                               : NULL;
                _cleanup_free_ char *path = NULL;

                if (!suffix) {
                        if (de->d_name[0] != '.' && !has_suffix(de->d_name, ".assert")) {
                                print_error("stray file %s\n", de->d_name);
                                orphans++;
                        }
                        continue;
                }
                assert_true(asprintf(&path, "%s/%.*s.assert", dir,
                                     (int) (strlen(de->d_name) - strlen(suffix)), de->d_name) > 0);
                if (access(path, F_OK) < 0) {
                        print_error("%s has no .assert\n", de->d_name);
                        orphans++;
                }
        }
        closedir(d);
        assert_int_equal(orphans, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden_streams_decode_to_expected_json),
                cmocka_unit_test(test_malformed_streams_fail_with_expected_message),
                cmocka_unit_test(test_every_expectation_has_its_assert_file),
        };

        if (!getenv("FIXTURES_DIR")) {
                printf("SKIP: FIXTURES_DIR is not set\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
