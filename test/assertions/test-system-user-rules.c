/* SPDX-License-Identifier: MIT */
/* Each of snapd's system-user rules (asserts/system_user.go), one table per rule, with its boundaries. */
#include "types-test-util.h"

#define FIXTURE "system-user-format0"

#define RUN(cases) types_run_cases(FIXTURE, types_view_system_user, cases, ELEMENTSOF(cases))

static void test_fixture_fields(void **state)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture(FIXTURE);
        _cleanup_(system_user_freep) SystemUser *u = NULL;
        AssertionError err = {};
        usec_t t;

        assert_int_equal(system_user_from_assertion(a, &u, &err), 0);
        assert_string_equal(u->brand_id, "acme");
        assert_string_equal(u->authority_id, "acme");
        assert_string_equal(u->email, "alice@example.com");
        assert_string_equal(u->username, "alice");
        assert_string_equal(u->name, "Alice");
        assert_true(startswith(u->password, "$6$rounds=5000$"));
        assert_false(u->force_password_change);
        assert_string_equal(u->models[0], "appliance-1");
        assert_null(u->models[1]);
        assert_string_equal(u->series[0], "16");
        assert_null(u->serials);
        assert_string_equal(u->ssh_keys[0], "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE alice@laptop");
        assert_int_equal(time_parse_rfc3339("2024-01-01T00:00:00Z", &t), 0);
        assert_int_equal(u->since, t);
        assert_int_equal(time_parse_rfc3339("2030-01-01T00:00:00Z", &t), 0);
        assert_int_equal(u->until, t);
        assert_int_equal(u->user_presence, SYSTEM_USER_PRESENCE_NONE);
        assert_int_equal(u->format, 0);
        assert_int_equal(u->revision, 0);
        assert_non_null(u->sign_key);
}

static void test_format_at_most_2(void **state)
{
        static const TypesCase cases[] = {
                { "format 2 is known", "format", "\"2\"", NULL },
                { "format 3 is not", "format", "\"3\"", "format 3 is not supported (at most 2)" },
                { "format with leading zero", "format", "\"01\"",
                  "\"format\" header has invalid prefix zeros" },
                { "format not a number", "format", "\"x\"", "\"format\" header is not an integer" },
        };
        RUN(cases);
}

static void test_wrong_type_refused(void **state)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture("model-classic");
        SystemUser *u = NULL;
        AssertionError err = {};

        assert_int_equal(system_user_from_assertion(a, &u, &err), -EBADMSG);
        assert_null(u);
        assert_string_equal(err.message, "assertion system-user: wrong type \"model\"");
}

static void test_primary_keys(void **state)
{
        static const TypesCase cases[] = {
                { "brand-id missing", "brand-id", NULL, "\"brand-id\" header is mandatory" },
                { "brand-id empty", "brand-id", "\"\"", "\"brand-id\" header should not be empty" },
                { "brand-id with /", "brand-id", "\"a/b\"",
                  "\"brand-id\" primary key header cannot contain '/'" },
                { "email missing", "email", NULL, "\"email\" header is mandatory" },
                { "email a list", "email", "[\"a@b\"]", "\"email\" header must be a string" },
        };
        RUN(cases);
}

static void test_email_must_be_an_address(void **state)
{
        static const TypesCase cases[] = {
                { "plain address", "email", "\"a@b\"", NULL },
                { "name-addr", "email", "\"Alice <a@b>\"", NULL },
                { "no @", "email", "\"alice\"",
                  "\"email\" header must be a RFC 5322 compliant email address: mail: missing '@' or "
                  "angle-addr" },
                { "two addresses", "email", "\"a@b, c@d\"", "mail: expected single address" },
        };
        RUN(cases);
}

static void test_lists_must_be_lists_of_strings(void **state)
{
        static const TypesCase cases[] = {
                { "series a string", "series", "\"16\"", "\"series\" header must be a list of strings" },
                { "models with a map", "models", "[{\"a\":\"b\"}]",
                  "\"models\" header must be a list of strings" },
                { "ssh-keys a map", "ssh-keys", "{\"a\":\"b\"}",
                  "\"ssh-keys\" header must be a list of strings" },
                { "empty series is none", "series", "[]", NULL },
        };
        RUN(cases);
}

static void test_serials_need_format_1(void **state)
{
        static const TypesCase cases[] = {
                { "serials at format 0", "serials", "[\"SN-1\"]",
                  "the \"serials\" header is only supported for format 1 or greater" },
                { "serials at format 1", "serials", "[\"SN-1\"]", NULL, "format", "\"1\"" },
                { "serials at format 2", "serials", "[\"SN-1\"]", NULL, "format", "\"2\"" },
                { "empty serials at format 0", "serials", "[]", NULL },
        };
        RUN(cases);
}

static void test_serials_need_exactly_one_model(void **state)
{
        static const TypesCase cases[] = {
                { "two models", "models", "[\"a\",\"b\"]",
                  "in the presence of the \"serials\" header \"models\" must specify exactly one model",
                  "serials", "[\"SN-1\"]" },
                { "no models", "models", NULL, "\"models\" must specify exactly one model", "serials",
                  "[\"SN-1\"]" },
                { "one model", "models", "[\"a\"]", NULL, "serials", "[\"SN-1\"]" },
        };

        /* format 1 comes with the fixture below, so only the models/serials pair varies. */
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(assertion_freep) Assertion *a = types_load_fixture(FIXTURE);
                AssertionError err = {};
                int r;

                types_set_header(a, "format", "\"1\"");
                types_set_header(a, cases[i].header, cases[i].json_value);
                types_set_header(a, cases[i].header2, cases[i].json_value2);
                r = types_view_system_user(a, &err);
                if (!cases[i].expected)
                        assert_int_equal(r, 0);
                else {
                        assert_int_equal(r, -EBADMSG);
                        assert_non_null(strstr(err.message, cases[i].expected));
                }
        }
}

static void test_username_rule(void **state)
{
        static const TypesCase cases[] = {
                { "lower case and digits", "username", "\"a0\"", NULL },
                { "starts with a digit", "username", "\"0a\"", NULL },
                { "inner - . _", "username", "\"a-b.c_d\"", NULL },
                { "one character", "username", "\"a\"", NULL },
                { "missing", "username", NULL, "\"username\" header is mandatory" },
                { "empty", "username", "\"\"", "\"username\" header should not be empty" },
                { "upper case", "username", "\"Alice\"",
                  "\"username\" header contains invalid characters: \"Alice\"" },
                { "leading dash", "username", "\"-a\"", "contains invalid characters" },
                { "leading dot", "username", "\".a\"", "contains invalid characters" },
                { "leading underscore", "username", "\"_a\"", "contains invalid characters" },
                { "slash", "username", "\"a/b\"", "contains invalid characters" },
                { "space", "username", "\"a b\"", "contains invalid characters" },
                { "plus (snapd's old typo allowed it)", "username", "\"a+b\"",
                  "contains invalid characters" },
                { "colon", "username", "\"a:b\"", "contains invalid characters" },
                { "upper case later", "username", "\"aB\"", "contains invalid characters" },
                { "non-ASCII", "username", "\"\\u00e9\"", "contains invalid characters" },
        };
        RUN(cases);
}

static void test_name_optional_string(void **state)
{
        static const TypesCase cases[] = {
                { "absent", "name", NULL, NULL },
                { "empty", "name", "\"\"", NULL },
                { "a list", "name", "[\"a\"]", "\"name\" header must be a string" },
        };
        RUN(cases);
}

static void test_password_crypt_form(void **state)
{
        static const TypesCase cases[] = {
                { "absent", "password", NULL, NULL },
                { "empty is absent", "password", "\"\"", NULL },
                { "sha512crypt", "password", "\"$6$salt$hash\"", NULL },
                { "id 7", "password", "\"$7$salt$hash\"", NULL },
                { "id 5 (sha256crypt)", "password", "\"$5$salt$hash\"",
                  "\"password\" header only supports $id$ values of 6 (sha512crypt) or higher" },
                { "id 1 (md5crypt)", "password", "\"$1$salt$hash\"", "only supports $id$ values of 6" },
                { "yescrypt id is not an integer", "password", "\"$y$salt$hash\"",
                  "\"password\" header must start with \"$integer-id$\", got \"y\"" },
                { "empty id", "password", "\"$$salt$hash\"", "must start with \"$integer-id$\", got \"\"" },
                { "plain text", "password", "\"secret\"",
                  "\"password\" header invalid: hashed password must be of the form "
                  "\"$integer-id$salt$hash\"" },
                { "two fields", "password", "\"$6$salt\"", "hashed password must be of the form" },
                { "rounds without hash", "password", "\"$6$rounds=5000$salt\"",
                  "\"password\" header invalid: missing hash field" },
                { "salt alphabet ./", "password", "\"$6$a./Z9$h./Z9\"", NULL },
                { "empty salt", "password", "\"$6$$hash\"",
                  "\"password\" header has invalid chars in salt \"\"" },
                { "bad salt char", "password", "\"$6$sa_lt$hash\"", "has invalid chars in salt \"sa_lt\"" },
                { "empty hash", "password", "\"$6$salt$\"", "has invalid chars in hash \"\"" },
                { "bad hash char", "password", "\"$6$salt$ha-sh\"", "has invalid chars in hash \"ha-sh\"" },
                { "extra field lands in hash", "password", "\"$6$rounds=5000$salt$hash$x\"",
                  "has invalid chars in hash \"hash$x\"" },
        };
        RUN(cases);
}

static void test_password_rounds_bounds(void **state)
{
        static const TypesCase cases[] = {
                { "rounds 5000", "password", "\"$6$rounds=5000$salt$hash\"", NULL },
                { "rounds 4999", "password", "\"$6$rounds=4999$salt$hash\"",
                  "\"password\" header rounds parameter out of bounds: 4999" },
                { "rounds 999999999", "password", "\"$6$rounds=999999999$salt$hash\"", NULL },
                { "rounds 1000000000", "password", "\"$6$rounds=1000000000$salt$hash\"",
                  "rounds parameter out of bounds: 1000000000" },
                { "rounds not a number", "password", "\"$6$rounds=many$salt$hash\"",
                  "\"password\" header has invalid number of rounds" },
                { "rounds empty", "password", "\"$6$rounds=$salt$hash\"", "has invalid number of rounds" },
                { "rounds overflow", "password", "\"$6$rounds=99999999999999999999$salt$hash\"",
                  "has invalid number of rounds" },
        };
        RUN(cases);
}

static void test_force_password_change_needs_password(void **state)
{
        static const TypesCase cases[] = {
                { "with a password", "force-password-change", "\"true\"", NULL },
                { "false without password", "force-password-change", "\"false\"", NULL, "password", NULL },
                { "true without password", "force-password-change", "\"true\"",
                  "cannot use \"force-password-change\" with an empty \"password\"", "password", NULL },
                { "true with empty password", "force-password-change", "\"true\"",
                  "cannot use \"force-password-change\" with an empty \"password\"", "password", "\"\"" },
                { "not a bool", "force-password-change", "\"yes\"",
                  "\"force-password-change\" header must be 'true' or 'false'" },
                { "upper case bool", "force-password-change", "\"True\"", "must be 'true' or 'false'" },
        };
        RUN(cases);
}

static void test_since_until_mandatory_rfc3339(void **state)
{
        static const TypesCase cases[] = {
                { "since missing", "since", NULL, "\"since\" header is mandatory" },
                { "until missing", "until", NULL, "\"until\" header is mandatory" },
                { "since empty", "since", "\"\"", "\"since\" header should not be empty" },
                { "since a date only", "since", "\"2024-01-01\"",
                  "\"since\" header is not a RFC3339 date: \"2024-01-01\"" },
                { "until without zone", "until", "\"2030-01-01T00:00:00\"",
                  "\"until\" header is not a RFC3339 date" },
                { "offset form", "since", "\"2024-01-01T02:00:00+02:00\"", NULL },
                { "fraction", "since", "\"2024-01-01T00:00:00.5Z\"", NULL },
        };
        RUN(cases);
}

static void test_until_not_before_since(void **state)
{
        static const TypesCase cases[] = {
                { "until equals since", "until", "\"2024-01-01T00:00:00Z\"", NULL },
                { "until one second before", "until", "\"2023-12-31T23:59:59Z\"",
                  "'until' time cannot be before 'since' time" },
                { "until one microsecond before", "until", "\"2023-12-31T23:59:59.999999Z\"",
                  "'until' time cannot be before 'since' time" },
                { "same instant in another zone", "until", "\"2024-01-01T01:00:00+01:00\"", NULL },
        };
        RUN(cases);
}

static void test_user_presence_needs_format_2(void **state)
{
        static const TypesCase cases[] = {
                { "at format 2", "user-presence", "\"until-expiration\"", NULL, "format", "\"2\"" },
                { "at format 1", "user-presence", "\"until-expiration\"",
                  "the \"user-presence\" header is only supported for format 2 or greater", "format",
                  "\"1\"" },
                { "at format 0", "user-presence", "\"until-expiration\"",
                  "only supported for format 2 or greater" },
                { "empty is none", "user-presence", "\"\"", NULL },
                { "other value", "user-presence", "\"forever\"",
                  "invalid \"user-presence\" header, only explicit valid value is \"until-expiration\": "
                  "\"forever\"",
                  "format", "\"2\"" },
                { "a list", "user-presence", "[\"until-expiration\"]",
                  "\"user-presence\" header must be a string" },
        };
        RUN(cases);
}

static void test_user_presence_value(void **state)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture("system-user-format2-until-expiration");
        _cleanup_(system_user_freep) SystemUser *u = NULL;
        AssertionError err = {};

        assert_int_equal(system_user_from_assertion(a, &u, &err), 0);
        assert_int_equal(u->user_presence, SYSTEM_USER_PRESENCE_UNTIL_EXPIRATION);
        assert_int_equal(u->format, 2);
        assert_true(u->force_password_change);
        assert_string_equal(u->serials[0], "SN-0001");
}

static void test_no_models_at_most_one_year(void **state)
{
        static const TypesCase cases[] = {
                { "exactly one year", "until", "\"2025-01-01T00:00:00Z\"", NULL, "models", NULL },
                { "one year and a second", "until", "\"2025-01-01T00:00:01Z\"",
                  "'until' time cannot be more than 365 days in the future when no models are specified",
                  "models", NULL },
                { "one year and a microsecond", "until", "\"2025-01-01T00:00:00.000001Z\"",
                  "more than 365 days", "models", NULL },
                { "empty models list counts as none", "until", "\"2026-01-01T00:00:00Z\"",
                  "more than 365 days", "models", "[]" },
                { "with a model, years are fine", "until", "\"2064-01-01T00:00:00Z\"", NULL },
        };
        RUN(cases);
}

/* Go's AddDate(1, 0, 0) works on the civil date in the zone "since" was written in: 29 February + 1 year is
 * 1 March, and the zone decides which day it is. */
static void test_one_year_counts_in_since_zone(void **state)
{
        static const TypesCase cases[] = {
                { "29 Feb + 1y = 1 Mar", "since", "\"2024-02-29T12:00:00Z\"", NULL, "until",
                  "\"2025-03-01T12:00:00Z\"" },
                { "29 Feb + 1y + 1s", "since", "\"2024-02-29T12:00:00Z\"", "more than 365 days", "until",
                  "\"2025-03-01T12:00:01Z\"" },
                /* 2024-02-29T23:00-02:00 is 1 March 01:00 UTC; a year later in its zone is
                 * 2025-03-01T23:00-02:00, one day later than counting from the UTC date. */
                { "zone decides the civil date", "since", "\"2024-02-29T23:00:00-02:00\"", NULL, "until",
                  "\"2025-03-02T01:00:00Z\"" },
                { "zone decides the civil date + 1s", "since", "\"2024-02-29T23:00:00-02:00\"",
                  "more than 365 days", "until", "\"2025-03-02T01:00:01Z\"" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(assertion_freep) Assertion *a = types_load_fixture(FIXTURE);
                AssertionError err = {};
                int r;

                types_set_header(a, "models", NULL);
                types_set_header(a, cases[i].header, cases[i].json_value);
                types_set_header(a, cases[i].header2, cases[i].json_value2);
                r = types_view_system_user(a, &err);
                if (!cases[i].expected) {
                        if (r < 0)
                                fail_msg("%s: %s", cases[i].what, err.message);
                } else {
                        assert_int_equal(r, -EBADMSG);
                        assert_non_null(strstr(err.message, cases[i].expected));
                }
        }
}

static void test_valid_at_window(void **state)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture(FIXTURE);
        _cleanup_(system_user_freep) SystemUser *u = NULL;
        AssertionError err = {};

        assert_int_equal(system_user_from_assertion(a, &u, &err), 0);
        assert_false(system_user_is_valid_at(u, u->since - 1));
        assert_true(system_user_is_valid_at(u, u->since));
        assert_true(system_user_is_valid_at(u, u->until - 1));
        assert_false(system_user_is_valid_at(u, u->until));
}

static void test_error_names_line_and_no_output(void **state)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture(FIXTURE);
        SystemUser *u = (SystemUser *) 0x1;
        AssertionError err = {};

        types_set_header(a, "username", "\"Bad\"");
        assert_int_equal(system_user_from_assertion(a, &u, &err), -EBADMSG);
        assert_ptr_equal(u, (SystemUser *) 0x1); /* ret untouched on failure */
        assert_int_equal(err.line, a->first_line);
        /* Without err the verdict is the same. */
        assert_int_equal(system_user_from_assertion(a, &u, NULL), -EBADMSG);
}

static void test_long_value_is_bounded_in_message(void **state)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture(FIXTURE);
        char big[600];
        _cleanup_free_ char *json = NULL;
        AssertionError err = {};
        SystemUser *u = NULL;

        memset(big, 'X', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        assert_true(asprintf(&json, "\"%s\"", big) > 0);
        types_set_header(a, "username", json);
        assert_int_equal(system_user_from_assertion(a, &u, &err), -EBADMSG);
        assert_true(strlen(err.message) < sizeof(err.message));
        assert_non_null(strstr(err.message, "\"..."));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixture_fields),
                cmocka_unit_test(test_format_at_most_2),
                cmocka_unit_test(test_wrong_type_refused),
                cmocka_unit_test(test_primary_keys),
                cmocka_unit_test(test_email_must_be_an_address),
                cmocka_unit_test(test_lists_must_be_lists_of_strings),
                cmocka_unit_test(test_serials_need_format_1),
                cmocka_unit_test(test_serials_need_exactly_one_model),
                cmocka_unit_test(test_username_rule),
                cmocka_unit_test(test_name_optional_string),
                cmocka_unit_test(test_password_crypt_form),
                cmocka_unit_test(test_password_rounds_bounds),
                cmocka_unit_test(test_force_password_change_needs_password),
                cmocka_unit_test(test_since_until_mandatory_rfc3339),
                cmocka_unit_test(test_until_not_before_since),
                cmocka_unit_test(test_user_presence_needs_format_2),
                cmocka_unit_test(test_user_presence_value),
                cmocka_unit_test(test_no_models_at_most_one_year),
                cmocka_unit_test(test_one_year_counts_in_since_zone),
                cmocka_unit_test(test_valid_at_window),
                cmocka_unit_test(test_error_names_line_and_no_output),
                cmocka_unit_test(test_long_value_is_bounded_in_message),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
