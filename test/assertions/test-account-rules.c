/* SPDX-License-Identifier: MIT */
/* snapd's account rules (asserts/account.go). */
#include "types-test-util.h"

#define FIXTURE "account"

static void test_fields_and_certified_is_verified(void **state)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture(FIXTURE);
        _cleanup_(account_freep) Account *acc = NULL;
        AssertionError err = {};
        usec_t t;

        assert_int_equal(account_from_assertion(a, &acc, &err), 0);
        assert_string_equal(acc->account_id, "acme");
        assert_string_equal(acc->display_name, "ACME Corp");
        assert_string_equal(acc->username, "acme");
        assert_string_equal(acc->validation, "verified");
        assert_string_equal(acc->authority_id, "canonical");
        assert_int_equal(time_parse_rfc3339("2016-04-01T00:00:00Z", &t), 0);
        assert_int_equal(acc->timestamp, t);
}

static void test_rules(void **state)
{
        static const TypesCase cases[] = {
                { "display-name missing", "display-name", NULL, "\"display-name\" header is mandatory" },
                { "display-name empty", "display-name", "\"\"",
                  "\"display-name\" header should not be empty" },
                { "validation missing", "validation", NULL, "\"validation\" header is mandatory" },
                { "validation empty", "validation", "\"\"", "\"validation\" header should not be empty" },
                { "validation other word", "validation", "\"starred\"", NULL },
                { "timestamp missing", "timestamp", NULL, "\"timestamp\" header is mandatory" },
                { "timestamp bad", "timestamp", "\"2016-04-01T00:00:00\"",
                  "\"timestamp\" header is not a RFC3339 date" },
                { "username absent", "username", NULL, NULL },
                { "username a list", "username", "[\"x\"]", "\"username\" header must be a string" },
                { "account-id with /", "account-id", "\"a/b\"",
                  "\"account-id\" primary key header cannot contain '/'" },
                { "authority-id missing", "authority-id", NULL, "\"authority-id\" header is mandatory" },
                { "revision negative", "revision", "\"-1\"", "\"revision\" header is not an integer" },
                { "format 1", "format", "\"1\"", "format 1 is not supported (at most 0)" },
                { "sign key not a digest", "sign-key-sha3-384", "\"abc\"",
                  "\"sign-key-sha3-384\" header is not a base64url SHA3-384 digest" },
        };
        types_run_cases(FIXTURE, types_view_account, cases, ELEMENTSOF(cases));
}

static void test_revision(void **state)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture(FIXTURE);
        _cleanup_(account_freep) Account *acc = NULL;
        AssertionError err = {};

        types_set_header(a, "revision", "\"9223372036854775807\"");
        assert_int_equal(account_from_assertion(a, &acc, &err), 0);
        assert_int_equal(acc->revision, INT64_MAX);
        acc = account_free(acc);
        types_set_header(a, "revision", "\"9223372036854775808\"");
        assert_int_equal(account_from_assertion(a, &acc, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "\"revision\" header is out of range"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fields_and_certified_is_verified),
                cmocka_unit_test(test_rules),
                cmocka_unit_test(test_revision),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
