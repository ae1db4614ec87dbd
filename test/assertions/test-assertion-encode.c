/* SPDX-License-Identifier: MIT */
/* The encoder writes snapd's canonical content (order, omissions, nested forms), and what it writes decodes
 * back to the same headers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assertion.h"

#define KEY "Jv8_JiHiIzJVcO9M55pPdqSDWUvuhfDIBJUS-3VW7F_idjix7Ffn5qMxB21ZQuij"

static char *encode_ok(json_t *headers, const char *body)
{
        char *s = NULL;
        size_t size;

        assert_int_equal(assertion_encode_content(headers, body, body ? strlen(body) : 0, &s, &size), 0);
        assert_int_equal(strlen(s), size);
        return s;
}

static void test_canonical_order(void **state)
{
        /* Deliberately scrambled: the encoder owns the order. */
        json_t *h =
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "zeta", "z", "sign-key-sha3-384",
                          KEY, "email", "a@b.c", "revision", "2", "alpha", "a", "brand-id", "acme",
                          "authority-id", "acme", "format", "1", "type", "system-user");
        _cleanup_free_ char *s = encode_ok(h, "body");

        assert_string_equal(
                s, "type: system-user\nformat: 1\nauthority-id: acme\nrevision: 2\nbrand-id: acme\n"
                   "email: a@b.c\nalpha: a\nzeta: z\nbody-length: 4\nsign-key-sha3-384: " KEY "\n\nbody");
        json_decref(h);
}

static void test_zero_format_and_revision_are_omitted(void **state)
{
        json_t *h =
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "account", "format", "0", "authority-id",
                          "acme", "revision", "0", "account-id", "acme", "sign-key-sha3-384", KEY);
        _cleanup_free_ char *s = encode_ok(h, NULL);

        assert_string_equal(s,
                            "type: account\nauthority-id: acme\naccount-id: acme\nsign-key-sha3-384: " KEY);
        json_decref(h);
}

static void test_signatory_id_only_when_it_differs(void **state)
{
        json_t *h = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "account", "authority-id", "acme",
                              "signatory-id", "acme", "account-id", "acme", "sign-key-sha3-384", KEY);
        _cleanup_free_ char *same = encode_ok(h, NULL), *differs = NULL;

        assert_null(strstr(same, "signatory-id"));
        json_object_set_new(h, "signatory-id", json_string("other"));
        differs = encode_ok(h, NULL);
        assert_non_null(strstr(differs, "\nauthority-id: acme\nsignatory-id: other\naccount-id: acme\n"));
        json_decref(h);
}

static void test_nested_forms_as_snapd_writes_them(void **state)
{
        json_t *h =
                json_pack("{s:s, s:s, s:s, s:s, s:[s, s, [s, s], {s:s, s:s}], s:{s:s, s:{s:s}}, s:[], s:s}",
                          "type", "account", "authority-id", "acme", "account-id", "acme",
                          "sign-key-sha3-384", KEY, "list", "x", "y1\ny2\n", "u1", "u2", "b", "B", "a", "A",
                          "map", "z", "Z", "m", "k", "v", "empty", "text", "one\ntwo");
        _cleanup_free_ char *s = encode_ok(h, NULL);

        assert_string_equal(s, "type: account\nauthority-id: acme\naccount-id: acme\n"
                               "list:\n  - x\n  -\n      y1\n      y2\n      \n  -\n    - u1\n    - u2\n"
                               "  -\n    a: A\n    b: B\n"
                               "map:\n  m:\n    k: v\n  z: Z\n"
                               "text:\n    one\n    two\n"
                               "sign-key-sha3-384: " KEY);
        json_decref(h);
}

static void test_decode_of_encoded_gives_the_same_headers(void **state)
{
        json_t *h = json_pack(
                "{s:s, s:s, s:s, s:s, s:[s, s, [s, s], {s:s, s:[s]}], s:{s:s, s:{s:s}}, s:s, s:s}", "type",
                "account", "authority-id", "acme", "account-id", "acme", "sign-key-sha3-384", KEY, "list",
                "", "y1\n\ny2\n", "u1", "- u2", "b", " B", "a", "A", "map", "z", "Z:", "m", "k", "v\n",
                "text", "  one\n two", "unicode", "日本 ✓");
        _cleanup_free_ char *content = encode_ok(h, "body"), *wire = NULL;
        _cleanup_assertion_ Assertion *a = NULL;
        AssertionError err = {};

        assert_true(asprintf(&wire, "%s\n\nAXNpZw==\n", content) > 0);
        if (assertion_decode(wire, strlen(wire), &a, &err) < 0)
                fail_msg("line %u: %s\n%s", err.line, err.message, wire);
        json_object_set_new(h, "body-length", json_string("4"));
        assert_true(json_equal(a->headers, h));
        assert_string_equal(a->content, content);
        json_decref(h);
}

static void test_defaulted_optional_primary_key_is_omitted(void **state)
{
        json_t *h =
                json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "snap-revision", "authority-id", "canonical",
                          "snap-sha3-384", KEY, "provenance", "global-upload", "sign-key-sha3-384", KEY);
        _cleanup_free_ char *s = encode_ok(h, NULL), *other = NULL;

        assert_null(strstr(s, "provenance"));
        json_object_set_new(h, "provenance", json_string("delegated"));
        other = encode_ok(h, NULL);
        assert_non_null(strstr(other, "\nsnap-sha3-384: " KEY "\nprovenance: delegated\n"));
        json_decref(h);
}

static void test_no_authority_types(void **state)
{
        json_t *h = json_pack("{s:s, s:s, s:s, s:s}", "type", "serial-request", "brand-id", "acme", "model",
                              "m", "sign-key-sha3-384", KEY);
        _cleanup_free_ char *s = encode_ok(h, NULL);
        char *t = NULL;
        size_t size;

        assert_string_equal(s, "type: serial-request\nbrand-id: acme\nmodel: m\nsign-key-sha3-384: " KEY);
        json_object_set_new(h, "authority-id", json_string("acme"));
        assert_int_equal(assertion_encode_content(h, NULL, 0, &t, &size), -EINVAL);
        json_decref(h);
}

static void test_refuses_what_it_cannot_write_faithfully(void **state)
{
        const char *bad_json[] = {
                "{\"type\": \"unknown\"}",
                "{\"type\": \"account\", \"account-id\": \"acme\", \"sign-key-sha3-384\": \"k\"}",
                "{\"type\": \"account\", \"authority-id\": \"a\", \"sign-key-sha3-384\": \"k\"}",
                "{\"type\": \"account\", \"authority-id\": \"a\", \"account-id\": \"a/b\", "
                "\"sign-key-sha3-384\": \"k\"}",
                "{\"type\": \"account\", \"authority-id\": \"a\", \"account-id\": \"a\"}",
                "{\"type\": \"account\", \"authority-id\": \"a\", \"account-id\": \"a\", "
                "\"sign-key-sha3-384\": \"k\", "
                "\"n\": 5}",
                "{\"type\": \"account\", \"authority-id\": \"a\", \"account-id\": \"a\", "
                "\"sign-key-sha3-384\": \"k\", "
                "\"Bad\": \"x\"}",
                "{\"type\": \"account\", \"authority-id\": \"a\", \"account-id\": \"a\", "
                "\"sign-key-sha3-384\": \"k\", "
                "\"m\": {\"Bad\": \"x\"}}",
                "{\"type\": \"account\", \"authority-id\": \"a\", \"account-id\": \"a\", "
                "\"sign-key-sha3-384\": \"k\", "
                "\"l\": [[]]}",
                "{\"type\": \"account\", \"authority-id\": \"a\", \"account-id\": \"a\", "
                "\"sign-key-sha3-384\": \"k\", "
                "\"s\": \"a\\u0000b\"}",
                "{\"type\": \"account\", \"authority-id\": \"a\", \"account-id\": \"a\", "
                "\"sign-key-sha3-384\": \"k\", "
                "\"revision\": \"01\"}",
                "{\"type\": \"account\", \"authority-id\": \"a\", \"account-id\": \"a\", "
                "\"sign-key-sha3-384\": \"k\", "
                "\"body-length\": \"3\"}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad_json); i++) {
                json_t *h = json_loads(bad_json[i], JSON_ALLOW_NUL, NULL);
                char *s = NULL;
                size_t size;

                assert_non_null(h);
                if (assertion_encode_content(h, NULL, 0, &s, &size) != -EINVAL)
                        fail_msg("accepted: %s", bad_json[i]);
                json_decref(h);
        }
}

static void test_body_must_be_utf8(void **state)
{
        json_t *h = json_pack("{s:s, s:s, s:s, s:s}", "type", "account", "authority-id", "a", "account-id",
                              "a", "sign-key-sha3-384", KEY);
        char *s = NULL;
        size_t size;

        assert_int_equal(assertion_encode_content(h, "\xff", 1, &s, &size), -EINVAL);
        json_decref(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_canonical_order),
                cmocka_unit_test(test_zero_format_and_revision_are_omitted),
                cmocka_unit_test(test_signatory_id_only_when_it_differs),
                cmocka_unit_test(test_nested_forms_as_snapd_writes_them),
                cmocka_unit_test(test_decode_of_encoded_gives_the_same_headers),
                cmocka_unit_test(test_defaulted_optional_primary_key_is_omitted),
                cmocka_unit_test(test_no_authority_types),
                cmocka_unit_test(test_refuses_what_it_cannot_write_faithfully),
                cmocka_unit_test(test_body_must_be_utf8),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
