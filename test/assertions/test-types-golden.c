/* SPDX-License-Identifier: MIT */
/* Golden files in test/fixtures/types/: every NAME.assert passes its typed view; every bad-NAME.assert
 * decodes but its typed view refuses it with exactly the text of bad-NAME.expected-err; and
 * assertion_check_typed() agrees with the typed view on each. */
#include <dirent.h>

#include "assertion-typed.h"

#include "types-test-util.h"

static char *fixtures_types_dir(void)
{
        char *dir = NULL;

        assert_non_null(getenv("FIXTURES_DIR"));
        assert_true(asprintf(&dir, "%s/types", getenv("FIXTURES_DIR")) > 0);
        return dir;
}

/* Runs the typed view of the (single) assertion in file; returns its verdict and message. */
static int run_view(const char *dir, const char *file, AssertionError *err)
{
        _cleanup_(assertion_freep) Assertion *a = NULL;
        _cleanup_free_ char *data = NULL;
        size_t size;
        TypesView view;
        int r;

        assert_int_equal(types_read_file(dir, file, &data, &size), 0);
        if (assertion_decode(data, size, &a, err) < 0)
                fail_msg("%s does not decode (line %u: %s): fixtures must fail in their typed view", file,
                         err->line, err->message);
        view = types_view_for(a->type);
        if (!view)
                fail_msg("%s: no typed view for type %s", file, a->type);
        r = view(a, err);

        /* assertion_check_typed() (what the signing tool runs before it signs) gives the same verdict in the
         * same words. */
        AssertionError typed = {};
        int t = assertion_check_typed(a, &typed);
        if (t != r || (r < 0 && !streq(typed.message, err->message)))
                fail_msg("%s: assertion_check_typed() says %d \"%s\", the typed view %d \"%s\"", file, t,
                         typed.message, r, err->message);
        return r;
}

static void test_golden_files(void **state)
{
        _cleanup_free_ char *dir = fixtures_types_dir();
        unsigned good = 0, bad = 0;
        struct dirent **entries = NULL;
        int n;

        n = scandir(dir, &entries, NULL, alphasort);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
                const char *name = entries[i]->d_name;
                size_t len = strlen(name);
                AssertionError err = {};
                int r;

                if (len < 8 || !streq(name + len - 7, ".assert"))
                        continue;
                r = run_view(dir, name, &err);
                if (!startswith(name, "bad-")) {
                        if (r < 0)
                                fail_msg("%s refused: %s", name, err.message);
                        good++;
                        continue;
                }

                _cleanup_free_ char *expected_file = NULL, *expected = NULL;
                size_t size;
                assert_true(asprintf(&expected_file, "%.*s.expected-err", (int) (len - 7), name) > 0);
                if (types_read_file(dir, expected_file, &expected, &size) < 0)
                        fail_msg("%s has no %s", name, expected_file);
                while (size > 0 && expected[size - 1] == '\n')
                        expected[--size] = 0;
                if (r != -EBADMSG)
                        fail_msg("%s accepted (%d), expected: %s", name, r, expected);
                if (!streq(err.message, expected))
                        fail_msg("%s: got \"%s\", expected \"%s\"", name, err.message, expected);
                bad++;
        }
        for (int i = 0; i < n; i++)
                free(entries[i]);
        free(entries);
        printf("%u good and %u bad golden files\n", good, bad);
        /* Empty directories prove nothing. */
        assert_true(good >= 10);
        assert_true(bad >= 30);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden_files),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
