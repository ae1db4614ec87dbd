/* SPDX-License-Identifier: MIT */
/* system-user -> user record, golden files: every test/fixtures/grant/NAME.assert converts to exactly
 * NAME.expected-record.json (with the default configuration: admin group sudo, /bin/bash, directory, and
 * lastChangeUSec GOLDEN_LAST_CHANGE), every bad-NAME.assert is refused with exactly bad-NAME.expected-err.
 * GRANT_GOLDEN_UPDATE=1 rewrites the expected files (review the diff!). */
#include <dirent.h>
#include <openssl/evp.h>

#include "test-grant-util.h"

#include "config.h"
#include "grant-convert.h"
#include "user-record.h"

#define GOLDEN_LAST_CHANGE ((usec_t) 1700000000123456ULL)
#define GOLDEN_MIN_GOOD    15 /* the fixtures cover every header combination: fewer means they went missing */
#define GOLDEN_MIN_BAD     5

static char *strip_suffix(const char *name, const char *suffix)
{
        size_t n = strlen(name), s = strlen(suffix);

        if (n <= s || !streq(name + n - s, suffix))
                return NULL;
        return strndup(name, n - s);
}

static void write_expected(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

/* The digest in the record must be SHA3-384 over the assertion exactly as it sits in the file (the fixtures
 * are written in wire form: content, blank line, signature, newline), computed here independently. */
static void check_digest(json_t *record, const char *data, size_t size)
{
        unsigned char md[48];
        unsigned md_size = 0;
        char hex[97];
        json_t *g = json_object_get(record, GRANT_RECORD_EXTENSION);

        assert_int_equal(EVP_Digest(data, size, md, &md_size, EVP_sha3_384(), NULL), 1);
        for (size_t i = 0; i < sizeof md; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        assert_non_null(g);
        assert_string_equal(json_string_value(json_object_get(g, "assertionSha3_384")), hex);
}

static int convert_file(const char *dir, const char *name, json_t **ret, char **ret_error, char **ret_data,
                        size_t *ret_size)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_assertion_ Assertion *a = NULL;
        _cleanup_system_user_ SystemUser *u = NULL;
        _cleanup_config_ Config *config = NULL;
        AssertionError err = {};
        char *data;
        size_t size;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        data = grant_test_read(path, &size);
        if (assertion_decode(data, size, &a, &err) < 0)
                fail_msg("%s: line %u: %s", name, err.line, err.message);
        u = grant_test_system_user(a);
        assert_int_equal(config_new_default(&config), 0);
        *ret_data = data;
        *ret_size = size;
        return grant_to_user_record(u, a, config, GOLDEN_LAST_CHANGE, ret, ret_error);
}

static void check_good(const char *dir, const char *base, bool update)
{
        _cleanup_free_ char *name = NULL, *expected_path = NULL, *error = NULL, *data = NULL, *pretty = NULL;
        _cleanup_json_ json_t *record = NULL, *expected = NULL;
        json_error_t jerr;
        size_t size;
        int r;

        assert_true(asprintf(&name, "%s.assert", base) > 0);
        assert_true(asprintf(&expected_path, "%s/%s.expected-record.json", dir, base) > 0);
        r = convert_file(dir, name, &record, &error, &data, &size);
        if (r < 0)
                fail_msg("%s: refused: %s", name, strempty(error));

        assert_int_equal(user_record_validate(record, NULL), 0);
        check_digest(record, data, size);
        assert_int_equal(user_record_format_pretty(record, &pretty), 0);
        if (update)
                write_expected(expected_path, pretty);

        expected = json_load_file(expected_path, JSON_REJECT_DUPLICATES, &jerr);
        if (!expected)
                fail_msg("%s: %s", expected_path, jerr.text);
        if (!json_equal(record, expected))
                fail_msg("%s: record differs from %s:\n%s", name, expected_path, pretty);
}

static void check_bad(const char *dir, const char *base, bool update)
{
        _cleanup_free_ char *name = NULL, *expected_path = NULL, *error = NULL, *data = NULL,
                            *expected = NULL, *line = NULL;
        _cleanup_json_ json_t *record = NULL;
        size_t size;
        int r;

        assert_true(asprintf(&name, "%s.assert", base) > 0);
        assert_true(asprintf(&expected_path, "%s/%s.expected-err", dir, base) > 0);
        r = convert_file(dir, name, &record, &error, &data, &size);
        if (r >= 0)
                fail_msg("%s: converted, expected a refusal", name);
        assert_int_equal(r, -EBADMSG);
        assert_null(record);
        assert_non_null(error);
        assert_true(asprintf(&line, "%s\n", error) > 0);
        if (update)
                write_expected(expected_path, line);
        expected = grant_test_read(expected_path, NULL);
        assert_string_equal(line, expected);
}

static void test_golden_fixtures_convert_exactly(void **state)
{
        _cleanup_free_ char *dir = grant_test_path("FIXTURES_DIR", "grant");
        bool update = getenv("GRANT_GOLDEN_UPDATE") != NULL;
        unsigned n_good = 0, n_bad = 0;
        struct dirent **entries = NULL;
        int n;

        (void) state;
        n = scandir(dir, &entries, NULL, alphasort);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *base = strip_suffix(entries[i]->d_name, ".assert");
                if (base && startswith(base, "bad-")) {
                        check_bad(dir, base, update);
                        n_bad++;
                } else if (base) {
                        check_good(dir, base, update);
                        n_good++;
                }
                free(entries[i]);
        }
        free(entries);
        assert_true(n_good >= GOLDEN_MIN_GOOD);
        assert_true(n_bad >= GOLDEN_MIN_BAD);
}

/* Every expected file has its assertion: a stale golden file would otherwise test nothing. */
static void test_golden_no_orphan_expected_files(void **state)
{
        _cleanup_free_ char *dir = grant_test_path("FIXTURES_DIR", "grant");
        struct dirent **entries = NULL;
        int n;

        (void) state;
        n = scandir(dir, &entries, NULL, alphasort);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *base = strip_suffix(entries[i]->d_name, ".expected-record.json");
                if (!base)
                        base = strip_suffix(entries[i]->d_name, ".expected-err");
                if (base) {
                        _cleanup_free_ char *p = NULL;
                        assert_true(asprintf(&p, "%s/%s.assert", dir, base) > 0);
                        if (access(p, F_OK) < 0)
                                fail_msg("%s has no %s.assert", entries[i]->d_name, base);
                }
                free(entries[i]);
        }
        free(entries);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden_fixtures_convert_exactly),
                cmocka_unit_test(test_golden_no_orphan_expected_files),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
