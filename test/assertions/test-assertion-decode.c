/* SPDX-License-Identifier: MIT */
/* The decoder's boundaries and bookkeeping: signed content, body, signature, lines, the type table and the
 * lexical rules. Refusals are covered one by one by the golden fixtures (test-assertion-golden.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assertion.h"

#define KEY     "Jv8_JiHiIzJVcO9M55pPdqSDWUvuhfDIBJUS-3VW7F_idjix7Ffn5qMxB21ZQuij"
#define HEADERS "type: account\nauthority-id: acme\naccount-id: acme\nsign-key-sha3-384: " KEY
#define WITH_BODY                                                                                      \
        "type: account\nauthority-id: acme\naccount-id: acme\nbody-length: 8\nsign-key-sha3-384: " KEY \
        "\n\nTHE-BODY"

static Assertion *decode_ok(const char *s)
{
        Assertion *a = NULL;
        AssertionError err = {};

        if (assertion_decode(s, strlen(s), &a, &err) < 0)
                fail_msg("refused: line %u: %s", err.line, err.message);
        return a;
}

static void test_content_is_headers_without_the_blank_line(void **state)
{
        _cleanup_assertion_ Assertion *a = decode_ok(HEADERS "\n\nAXNpZw==\n");

        assert_string_equal(a->content, HEADERS);
        assert_int_equal(a->content_size, strlen(HEADERS));
        assert_null(a->body);
        assert_int_equal(a->body_size, 0);
        assert_string_equal(a->signature, "AXNpZw==");
        assert_string_equal(a->type, "account");
        assert_int_equal(a->first_line, 1);
}

static void test_content_includes_body(void **state)
{
        _cleanup_assertion_ Assertion *a = decode_ok(WITH_BODY "\n\nAXNpZw==");

        assert_string_equal(a->content, WITH_BODY);
        assert_int_equal(a->body_size, 8);
        assert_memory_equal(a->body, "THE-BODY", 8);
        assert_string_equal(a->signature, "AXNpZw==");
}

/* snapd keeps the second blank line of a body-less assertion in the signed content. */
static void test_empty_body_with_two_blank_lines_keeps_them_in_content(void **state)
{
        _cleanup_assertion_ Assertion *a = decode_ok(HEADERS "\n\n\n\nAXNpZw==\n");
        _cleanup_free_ char *wire = NULL;
        size_t size;

        assert_string_equal(a->content, HEADERS "\n\n");
        assert_null(a->body);
        assert_int_equal(assertion_encode(a, &wire, &size), 0);
        assert_string_equal(wire, HEADERS "\n\n\n\nAXNpZw==\n");
}

static void test_signature_keeps_inner_newlines(void **state)
{
        _cleanup_assertion_ Assertion *a = decode_ok(HEADERS "\n\nAAAA\nBBBB\nCC==\n");

        assert_string_equal(a->signature, "AAAA\nBBBB\nCC==");
        assert_int_equal(a->signature_size, 14);
}

static void test_single_decode_refuses_a_second_assertion_or_trailing_data(void **state)
{
        const char *two = HEADERS "\n\nAXNpZw==\n\n" HEADERS "\n\nAXNpZw==\n";
        const char *trailing = HEADERS "\n\nAXNpZw==\n\n\n";
        Assertion *a = NULL;
        AssertionError err = {};

        assert_int_equal(assertion_decode(two, strlen(two), &a, &err), -EBADMSG);
        assert_int_equal(err.line, 8);
        assert_string_equal(err.message, "trailing data after the assertion");
        assert_int_equal(assertion_decode(trailing, strlen(trailing), &a, &err), -EBADMSG);
        assert_int_equal(assertion_decode("", 0, &a, &err), -EBADMSG);
        assert_null(a);
        /* One blank line after the signature is what snapd's encoder writes between assertions. */
        a = decode_ok(HEADERS "\n\nAXNpZw==\n\n");
        assertion_free(a);
}

static void test_stream_records_lines_and_keeps_order(void **state)
{
        const char *s = HEADERS "\n\nAXNpZw==\n\n" WITH_BODY "\n\nAXNpZw==\n";
        _cleanup_assertion_list_ AssertionList *l = NULL;

        assert_int_equal(assertion_stream_decode(s, strlen(s), &l, NULL), 0);
        assert_int_equal(l->n, 2);
        assert_int_equal(l->items[0]->first_line, 1);
        assert_int_equal(l->items[1]->first_line, 8);
        assert_int_equal(assertion_header_line(l->items[1], "body-length"), 11);
        assert_int_equal(assertion_header_line(l->items[1], "absent"), 8);
        assert_null(l->items[0]->body);
        assert_int_equal(l->items[1]->body_size, 8);
}

static void test_empty_stream_is_an_empty_list(void **state)
{
        _cleanup_assertion_list_ AssertionList *l = NULL;

        assert_int_equal(assertion_stream_decode("", 0, &l, NULL), 0);
        assert_non_null(l);
        assert_int_equal(l->n, 0);
}

static void test_headers_keep_wire_order_and_nested_values(void **state)
{
        _cleanup_assertion_ Assertion *a =
                decode_ok("type: account\nauthority-id: acme\naccount-id: acme\nzeta: z\nalpha:\n  - a\n  "
                          "-\n    k: v\n"
                          "text:\n    one\n    two\nsign-key-sha3-384: " KEY "\n\nAXNpZw==\n");
        const char *expected_order[] = { "type",  "authority-id", "account-id",       "zeta",
                                         "alpha", "text",         "sign-key-sha3-384" };
        json_t *alpha = assertion_header(a, "alpha");
        const char *key;
        json_t *v;
        size_t i = 0;

        json_object_foreach (a->headers, key, v)
                assert_string_equal(key, expected_order[i++]);
        assert_int_equal(i, ELEMENTSOF(expected_order));
        assert_true(json_is_array(alpha));
        assert_string_equal(json_string_value(json_array_get(alpha, 0)), "a");
        assert_string_equal(json_string_value(json_object_get(json_array_get(alpha, 1), "k")), "v");
        assert_string_equal(assertion_header_string(a, "text"), "one\ntwo");
        assert_null(assertion_header_string(a, "alpha"));
        assert_int_equal(assertion_header_line(a, "text"), 9);
}

static void test_format_and_revision_are_parsed(void **state)
{
        _cleanup_assertion_ Assertion *a =
                decode_ok("type: account\nformat: 3\nauthority-id: acme\nrevision: 12\n"
                          "account-id: acme\nsign-key-sha3-384: " KEY "\n\nAXNpZw==\n");
        _cleanup_assertion_ Assertion *b = decode_ok(HEADERS "\n\nAXNpZw==\n");

        assert_int_equal(a->format, 3);
        assert_int_equal(a->revision, 12);
        assert_int_equal(b->format, 0);
        assert_int_equal(b->revision, 0);
}

static void test_describe_names_type_and_primary_key(void **state)
{
        _cleanup_assertion_ Assertion *a = decode_ok(HEADERS "\n\nAXNpZw==\n");
        _cleanup_free_ char *d = assertion_describe(a);

        assert_string_equal(d, "account account-id=acme");
}

static void test_type_table_matches_snapd(void **state)
{
        static const char *const types[] = {
                "account",
                "account-key",
                "base-declaration",
                "model",
                "preseed",
                "repair",
                "serial",
                "snap-build",
                "snap-declaration",
                "snap-developer",
                "snap-revision",
                "store",
                "system-user",
                "validation",
                "validation-set",
                "account-key-request",
                "device-session-request",
                "serial-request",
        };
        const char *const *keys;

        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                assert_non_null(assertion_type_lookup(types[i]));
        keys = assertion_type_primary_keys("system-user");
        assert_string_equal(keys[0], "brand-id");
        assert_string_equal(keys[1], "email");
        assert_null(keys[2]);
        keys = assertion_type_primary_keys("model");
        assert_string_equal(keys[0], "series");
        assert_string_equal(keys[1], "brand-id");
        assert_string_equal(keys[2], "model");
        assert_null(assertion_type_primary_keys("serial-request")[0]);
        assert_true(assertion_type_lookup("serial-request")->no_authority);
        assert_false(assertion_type_lookup("serial")->no_authority);
        assert_null(assertion_type_lookup("authority-delegation")); /* disabled in snapd */
        assert_null(assertion_type_primary_keys("unknown"));
        assert_null(assertion_type_lookup(NULL));
}

static void test_header_name_rule(void **state)
{
        static const char *const good[] = { "a", "type", "sign-key-sha3-384", "a1", "a-1-b" };
        static const char *const bad[] = { "", "A", "1a", "-a", "a-", "a--b", "a_b", "a b", "aB" };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_true(assertion_header_name_valid(good[i], strlen(good[i])));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_false(assertion_header_name_valid(bad[i], strlen(bad[i])));
}

static void test_integer_rule(void **state)
{
        int64_t v = -1;

        assert_int_equal(assertion_parse_int("0", 1, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(assertion_parse_int("9223372036854775807", 19, &v), 0);
        assert_true(v == INT64_MAX);
        assert_int_equal(assertion_parse_int("9223372036854775808", 19, &v), -ERANGE);
        assert_int_equal(assertion_parse_int("01", 2, &v), -EDOM);
        assert_int_equal(assertion_parse_int("00", 2, &v), -EDOM);
        assert_int_equal(assertion_parse_int("", 0, &v), -EINVAL);
        assert_int_equal(assertion_parse_int("+1", 2, &v), -EINVAL);
        assert_int_equal(assertion_parse_int("-1", 2, &v), -EINVAL);
        assert_int_equal(assertion_parse_int("1 ", 2, &v), -EINVAL);
}

static void test_error_format_names_the_line(void **state)
{
        AssertionError err = { .line = 7 };
        char buf[300];

        strcpy(err.message, "repeated header: \"a\"");
        assert_string_equal(assertion_error_format(&err, buf, sizeof(buf)),
                            "line 7: repeated header: \"a\"");
        err.line = 0;
        assert_string_equal(assertion_error_format(&err, buf, sizeof(buf)), "repeated header: \"a\"");
}

static void test_long_values_are_shortened_in_messages(void **state)
{
        char s[600];
        Assertion *a = NULL;
        AssertionError err = {};

        snprintf(s, sizeof(s), "type: account\n%0300d\nsign-key-sha3-384: " KEY "\n\nAXNpZw==\n", 0);
        assert_int_equal(assertion_decode(s, strlen(s), &a, &err), -EBADMSG);
        assert_int_equal(err.line, 2);
        assert_true(strlen(err.message) < 120);
        assert_non_null(strstr(err.message, "\"..."));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_content_is_headers_without_the_blank_line),
                cmocka_unit_test(test_content_includes_body),
                cmocka_unit_test(test_empty_body_with_two_blank_lines_keeps_them_in_content),
                cmocka_unit_test(test_signature_keeps_inner_newlines),
                cmocka_unit_test(test_single_decode_refuses_a_second_assertion_or_trailing_data),
                cmocka_unit_test(test_stream_records_lines_and_keeps_order),
                cmocka_unit_test(test_empty_stream_is_an_empty_list),
                cmocka_unit_test(test_headers_keep_wire_order_and_nested_values),
                cmocka_unit_test(test_format_and_revision_are_parsed),
                cmocka_unit_test(test_describe_names_type_and_primary_key),
                cmocka_unit_test(test_type_table_matches_snapd),
                cmocka_unit_test(test_header_name_rule),
                cmocka_unit_test(test_integer_rule),
                cmocka_unit_test(test_error_format_names_the_line),
                cmocka_unit_test(test_long_values_are_shortened_in_messages),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
