/* SPDX-License-Identifier: MIT */
/* snapd's account-key rules (asserts/account_key.go) and its validity window. */
#include "types-test-util.h"

#define FIXTURE "account-key"

static AccountKey *load_key(const char *fixture)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture(fixture);
        AssertionError err = {};
        AccountKey *k = NULL;

        if (account_key_from_assertion(a, &k, &err) < 0)
                fail_msg("%s", err.message);
        return k;
}

static void test_fields(void **state)
{
        _cleanup_(account_key_freep) AccountKey *k = load_key(FIXTURE);
        usec_t t;

        assert_string_equal(k->account_id, "developer1");
        assert_string_equal(k->name, "default");
        assert_string_equal(k->public_key_sha3_384,
                            "EAD4DbLxK_kn0gzNCXOs3kd6DeMU3f-L6BEsSEuJGBqCORR0gXkdDxMbOm11mRFu");
        assert_int_equal(time_parse_rfc3339("2016-08-19T13:49:45Z", &t), 0);
        assert_int_equal(k->since, t);
        assert_int_equal(k->until, USEC_INFINITY);
        assert_true(k->public_key_size > 0);
        assert_true(startswith((const char *) k->public_key, "AcbBTQRW"));
        assert_string_equal(k->authority_id, "testrootorg");
}

static void test_rules(void **state)
{
        static const TypesCase cases[] = {
                { "account-id missing", "account-id", NULL, "\"account-id\" header is mandatory" },
                { "account-id empty", "account-id", "\"\"", "\"account-id\" header should not be empty" },
                { "name absent is allowed", "name", NULL, NULL },
                { "name empty", "name", "\"\"", "\"name\" header should not be empty" },
                { "name leading dash", "name", "\"-default\"",
                  "\"name\" header contains invalid characters: \"-default\"" },
                { "name trailing dash", "name", "\"default-\"", "contains invalid characters" },
                { "name double dash", "name", "\"de--fault\"", "contains invalid characters" },
                { "name upper case", "name", "\"Default\"", "contains invalid characters" },
                { "name digits only", "name", "\"2024\"", "contains invalid characters" },
                { "name digit first", "name", "\"2024-key\"", NULL },
                { "name one letter", "name", "\"k\"", NULL },
                { "since missing", "since", NULL, "\"since\" header is mandatory" },
                { "since bad", "since", "\"2016-08-19\"", "\"since\" header is not a RFC3339 date" },
                { "until empty", "until", "\"\"", "\"until\" header is not a RFC3339 date: \"\"" },
                { "until equals since", "until", "\"2016-08-19T13:49:45Z\"", NULL },
                { "until before since", "until", "\"2016-08-19T13:49:44.999999Z\"",
                  "'until' time cannot be before 'since' time" },
                { "key id missing", "public-key-sha3-384", NULL,
                  "\"public-key-sha3-384\" header is mandatory" },
                { "key id of another key", "public-key-sha3-384",
                  "\"XCIC_Wvj9_hiAt0b10sDon74oGr3a6xGODkMZqrj63ZzNYUD5N87-ojjPoeN7f1Y\"",
                  "public key does not match provided key id" },
                { "format 1 (constraints)", "format", "\"1\"", "format 1 is not supported (at most 0)" },
                { "constraints at format 0", "constraints", "[{\"headers\":{\"type\":\"model\"}}]",
                  "\"constraints\" header is not supported" },
        };
        types_run_cases(FIXTURE, types_view_account_key, cases, ELEMENTSOF(cases));
}

static void test_body_must_be_the_key(void **state)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture(FIXTURE);
        AssertionError err = {};
        AccountKey *k = NULL;
        uint8_t *saved = a->body;
        size_t saved_size = a->body_size;

        a->body = NULL;
        a->body_size = 0;
        assert_int_equal(account_key_from_assertion(a, &k, &err), -EBADMSG);
        assert_string_equal(err.message, "assertion account-key: cannot decode public key: no data");
        a->body = saved;
        a->body_size = saved_size;

        /* One flipped base64 character changes the key, and so its id. */
        a->body[20] = a->body[20] == 'A' ? 'B' : 'A';
        assert_int_equal(account_key_from_assertion(a, &k, &err), -EBADMSG);
        assert_null(k);
}

static void test_valid_at(void **state)
{
        _cleanup_(account_key_freep) AccountKey *open_ended = load_key(FIXTURE);
        _cleanup_(account_key_freep) AccountKey *k = load_key("account-key-until");

        assert_false(account_key_is_valid_at(open_ended, open_ended->since - 1));
        assert_true(account_key_is_valid_at(open_ended, open_ended->since));
        assert_true(account_key_is_valid_at(open_ended, USEC_INFINITY - 1));

        assert_true(account_key_is_valid_at(k, k->until - 1));
        assert_false(account_key_is_valid_at(k, k->until));
}

static void test_window_intersects(void **state)
{
        _cleanup_(account_key_freep) AccountKey *k = load_key("account-key-until");

        /* [earliest, latest] entirely before since, touching since, inside, touching until, after. */
        assert_false(account_key_window_intersects(k, k->since - 10, k->since - 1));
        assert_true(account_key_window_intersects(k, k->since - 10, k->since));
        assert_true(account_key_window_intersects(k, k->since + 1, k->until - 1));
        assert_true(account_key_window_intersects(k, k->until - 1, USEC_INFINITY));
        assert_false(account_key_window_intersects(k, k->until, USEC_INFINITY));
        /* An impossible range intersects nothing. */
        assert_false(account_key_window_intersects(k, k->since + 2, k->since + 1));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_rules),
                cmocka_unit_test(test_body_must_be_the_key),
                cmocka_unit_test(test_valid_at),
                cmocka_unit_test(test_window_intersects),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
