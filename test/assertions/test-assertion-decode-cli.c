/* SPDX-License-Identifier: MIT */
/* `corehomectl decode` prints what the codec decoded and refuses malformed input with the codec's message,
 * naming the file and line, and exit status 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "assertion.h"

static int run(const char *args, char **ret_out)
{
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        size_t size = 0;
        FILE *p, *f;
        char buf[4096];
        size_t n;
        int status;

        assert_true(asprintf(&cmd, "%s/agent/corehomectl %s 2>&1", getenv("BUILD_DIR"), args) > 0);
        p = popen(cmd, "r");
        assert_non_null(p);
        f = open_memstream(&out, &size);
        while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
                fwrite(buf, 1, n, f);
        fclose(f);
        status = pclose(p);
        *ret_out = TAKE_PTR(out);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_malformed_file_exits_1_with_file_line_and_reason(void **state)
{
        _cleanup_free_ char *args = NULL, *out = NULL;
        const char *fixtures = getenv("FIXTURES_DIR");

        assert_true(asprintf(&args, "decode %s/codec/bad-repeated-header.assert", fixtures) > 0);
        assert_int_equal(run(args, &out), 1);
        assert_non_null(strstr(out, "corehomectl: "));
        assert_non_null(
                strstr(out, "/codec/bad-repeated-header.assert: line 15: repeated header: \"username\"\n"));
}

static void test_json_output_is_the_golden_json(void **state)
{
        _cleanup_free_ char *args = NULL, *out = NULL, *path = NULL;
        const char *fixtures = getenv("FIXTURES_DIR");
        json_t *got, *expected;

        assert_true(asprintf(&args, "--json decode - < %s/codec/stream-three.assert", fixtures) > 0);
        assert_int_equal(run(args, &out), 0);
        got = json_loads(out, 0, NULL);
        assert_non_null(got);
        assert_true(asprintf(&path, "%s/codec/stream-three.expected.json", fixtures) > 0);
        expected = json_load_file(path, 0, NULL);
        assert_non_null(expected);
        assert_true(json_equal(got, expected));
        json_decref(got);
        json_decref(expected);
}

static void test_plain_output_shows_headers_and_escapes_control_bytes(void **state)
{
        _cleanup_free_ char *args = NULL, *out = NULL;
        const char *fixtures = getenv("FIXTURES_DIR");

        assert_true(asprintf(&args, "decode %s/codec/list-of-lists-and-text.assert", fixtures) > 0);
        assert_int_equal(run(args, &out), 0);
        assert_non_null(
                strstr(out, "# assertion 1 (line 1): system-user brand-id=acme email=alice@example.com\n"));
        assert_non_null(strstr(out, "\nnested:\n  -\n    - inner-1\n    - inner-2\n  -\n      text item\n"));
        assert_null(strchr(out, '\x1b'));
        free(args);
        free(out);

        /* Headers may hold ESC (valid UTF-8): it must not reach the terminal raw. */
        assert_true(asprintf(&args, "decode %s/codec/header-with-escape-byte.assert", fixtures) > 0);
        assert_int_equal(run(args, &out), 0);
        assert_non_null(strstr(out, "\nnote: evil\\x1b[2J\n"));
        assert_null(strchr(out, '\x1b'));
}

static void test_usage_error_exits_2(void **state)
{
        _cleanup_free_ char *out = NULL;

        assert_int_equal(run("decode", &out), 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_malformed_file_exits_1_with_file_line_and_reason),
                cmocka_unit_test(test_json_output_is_the_golden_json),
                cmocka_unit_test(test_plain_output_shows_headers_and_escapes_control_bytes),
                cmocka_unit_test(test_usage_error_exits_2),
        };

        if (!getenv("BUILD_DIR") || !getenv("FIXTURES_DIR")) {
                printf("SKIP: BUILD_DIR/FIXTURES_DIR not set\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
