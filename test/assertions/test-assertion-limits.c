/* SPDX-License-Identifier: MIT */
/* Every bound of assertion-limits.h at N (accepted) and N+1 (refused with -E2BIG and a message). */
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

#define KEY  "Jv8_JiHiIzJVcO9M55pPdqSDWUvuhfDIBJUS-3VW7F_idjix7Ffn5qMxB21ZQuij"
#define HEAD "type: account\nauthority-id: acme\naccount-id: acme\n"
#define TAIL "sign-key-sha3-384: " KEY

typedef struct Buf {
        char *data;
        size_t size;
        FILE *f;
} Buf;

static void buf_open(Buf *b)
{
        *b = (Buf){};
        b->f = open_memstream(&b->data, &b->size);
        assert_non_null(b->f);
}

static void buf_close(Buf *b)
{
        assert_int_equal(fclose(b->f), 0);
}

static void put_repeat(FILE *f, char c, size_t n)
{
        for (size_t i = 0; i < n; i++)
                fputc(c, f);
}

/* A signature of exactly n bytes: base64-like lines of 76. */
static void put_signature(FILE *f, size_t n)
{
        for (size_t i = 0; i < n; i++)
                fputc(i % 77 == 76 && i + 1 < n ? '\n' : 'A', f);
}

static int decode(const Buf *b, AssertionError *err)
{
        _cleanup_assertion_list_ AssertionList *l = NULL;

        return assertion_stream_decode(b->data, b->size, &l, err);
}

static int decode_padded_headers(size_t header_block_size, AssertionError *err)
{
        size_t fixed = strlen(HEAD "note: \n" TAIL "\n\n");
        Buf b;
        int r;

        buf_open(&b);
        fputs(HEAD "note: ", b.f);
        put_repeat(b.f, 'x', header_block_size - fixed);
        fputs("\n" TAIL "\n\nAXNpZw==\n", b.f);
        buf_close(&b);
        r = decode(&b, err);
        free(b.data);
        return r;
}

static void test_headers_limit_counts_the_closing_blank_line(void **state)
{
        AssertionError err = {};

        assert_int_equal(decode_padded_headers(ASSERTION_HEADERS_MAX, &err), 0);
        assert_int_equal(decode_padded_headers(ASSERTION_HEADERS_MAX + 1, &err), -E2BIG);
        assert_int_equal(err.line, 1);
        assert_non_null(strstr(err.message, "headers"));
}

static int decode_body(size_t body_size, size_t declared, AssertionError *err)
{
        Buf b;
        int r;

        buf_open(&b);
        fprintf(b.f, HEAD "body-length: %zu\n" TAIL "\n\n", declared);
        put_repeat(b.f, 'b', body_size);
        fputs("\n\nAXNpZw==\n", b.f);
        buf_close(&b);
        r = decode(&b, err);
        free(b.data);
        return r;
}

static void test_body_limit(void **state)
{
        AssertionError err = {};

        assert_int_equal(decode_body(ASSERTION_BODY_MAX, ASSERTION_BODY_MAX, &err), 0);
        assert_int_equal(decode_body(ASSERTION_BODY_MAX + 1, ASSERTION_BODY_MAX + 1, &err), -E2BIG);
        assert_int_equal(err.line, 4);
        assert_string_equal(err.message, "assertion body length 2097153 exceeds maximum body size 2097152");
}

static int decode_signature(size_t sig_size, bool followed, AssertionError *err)
{
        Buf b;
        int r;

        buf_open(&b);
        fputs(HEAD TAIL "\n\n", b.f);
        put_signature(b.f, sig_size);
        if (followed)
                fputs("\n\n" HEAD TAIL "\n\nAXNpZw==\n", b.f);
        buf_close(&b);
        r = decode(&b, err);
        free(b.data);
        return r;
}

static void test_signature_limit_counts_the_closing_blank_line(void **state)
{
        AssertionError err = {};

        /* As snapd's reader: the signature and the blank line after it fit in ASSERTION_SIGNATURE_MAX. */
        assert_int_equal(decode_signature(ASSERTION_SIGNATURE_MAX - 2, true, &err), 0);
        assert_int_equal(decode_signature(ASSERTION_SIGNATURE_MAX - 1, true, &err), -E2BIG);
        assert_int_equal(err.line, 6);
        assert_non_null(strstr(err.message, "signature"));
        /* At the end of input the signature alone must stay below the bound. */
        assert_int_equal(decode_signature(ASSERTION_SIGNATURE_MAX - 1, false, &err), 0);
        assert_int_equal(decode_signature(ASSERTION_SIGNATURE_MAX, false, &err), -E2BIG);
}

static int decode_stream_of(unsigned n, AssertionError *err, size_t *ret_n)
{
        _cleanup_assertion_list_ AssertionList *l = NULL;
        Buf b;
        int r;

        buf_open(&b);
        for (unsigned i = 0; i < n; i++)
                fprintf(b.f,
                        "%stype: account\nauthority-id: acme\naccount-id: acme-%u\n" TAIL "\n\nAXNpZw==\n",
                        i > 0 ? "\n" : "", i);
        buf_close(&b);
        r = assertion_stream_decode(b.data, b.size, &l, err);
        if (r >= 0)
                *ret_n = l->n;
        free(b.data);
        return r;
}

static void test_stream_limit(void **state)
{
        AssertionError err = {};
        size_t n = 0;

        assert_int_equal(decode_stream_of(ASSERTION_STREAM_MAX, &err, &n), 0);
        assert_int_equal(n, ASSERTION_STREAM_MAX);
        assert_int_equal(decode_stream_of(ASSERTION_STREAM_MAX + 1, &err, &n), -E2BIG);
        assert_int_equal(err.line, ASSERTION_STREAM_MAX * 7 + 1);
        assert_string_equal(err.message, "more than 1024 assertions in one stream");
}

/* A stream holds as many assertions as one import may: a stick is one stream. */
_Static_assert(ASSERTION_STREAM_MAX >= ASSERTION_BATCH_MAX, "a stream must hold a whole batch");

/* What issue 16 calls a big stick: grants for 500 technicians, about 1 MiB, in one auto-import.assert. */
static void test_stick_with_500_grants_is_one_stream(void **state)
{
        _cleanup_assertion_list_ AssertionList *l = NULL;
        _cleanup_free_ char *grant = NULL, *path = NULL;
        AssertionError err = {};
        size_t size;
        Buf b;

        assert_true(asprintf(&path, "%s/trust/alice.system-user", getenv("FIXTURES_DIR")) > 0);
        assert_int_equal(read_file_bounded(AT_FDCWD, path, 1 << 20, &grant, &size), 0);
        char *at = strstr(grant, "email: alice@example.com\n");
        assert_non_null(at);
        buf_open(&b);
        for (unsigned i = 0; i < 500; i++)
                fprintf(b.f, "%s%.*semail: tech%03u@example.com\n%s", i > 0 ? "\n" : "", (int) (at - grant),
                        grant, i, at + strlen("email: alice@example.com\n"));
        buf_close(&b);
        assert_true(b.size > 500 * 1024 && b.size <= 1024 * 1024);
        assert_int_equal(assertion_stream_decode(b.data, b.size, &l, &err), 0);
        assert_int_equal(l->n, 500);
        assert_string_equal(assertion_header_string(l->items[499], "email"), "tech499@example.com");
        free(b.data);
}

static int decode_nested(unsigned levels, AssertionError *err)
{
        Buf b;
        int r;

        buf_open(&b);
        fputs(HEAD "nested:", b.f);
        for (unsigned i = 0; i + 1 < levels; i++)
                fprintf(b.f, "\n%*s  -", (int) (2 * i), "");
        fprintf(b.f, "\n%*s  - leaf\n" TAIL "\n\nAXNpZw==\n", (int) (2 * (levels - 1)), "");
        buf_close(&b);
        r = decode(&b, err);
        free(b.data);
        return r;
}

static void test_nesting_limit(void **state)
{
        AssertionError err = {};

        assert_int_equal(decode_nested(ASSERTION_NESTING_MAX, &err), 0);
        assert_int_equal(decode_nested(ASSERTION_NESTING_MAX + 1, &err), -E2BIG);
        assert_int_equal(err.line, 4 + ASSERTION_NESTING_MAX + 1);
        assert_string_equal(err.message, "lists and maps nested deeper than 8 levels");
}

static int decode_entries(unsigned n, bool map, AssertionError *err)
{
        Buf b;
        int r;

        buf_open(&b);
        fputs(HEAD "entries:", b.f);
        for (unsigned i = 0; i < n; i++)
                fprintf(b.f, map ? "\n  k%u: v" : "\n  - v%u", i);
        fputs("\n" TAIL "\n\nAXNpZw==\n", b.f);
        buf_close(&b);
        r = decode(&b, err);
        free(b.data);
        return r;
}

static void test_list_and_map_length_limit(void **state)
{
        AssertionError err = {};

        assert_int_equal(decode_entries(ASSERTION_LIST_MAX, false, &err), 0);
        assert_int_equal(decode_entries(ASSERTION_LIST_MAX + 1, false, &err), -E2BIG);
        assert_int_equal(err.line, 4 + ASSERTION_LIST_MAX + 1);
        assert_string_equal(err.message, "list with more than 1024 entries");
        assert_int_equal(decode_entries(ASSERTION_LIST_MAX, true, &err), 0);
        assert_int_equal(decode_entries(ASSERTION_LIST_MAX + 1, true, &err), -E2BIG);
        assert_string_equal(err.message, "map with more than 1024 entries");
}

/* The encoder never writes what the decoder would refuse. */
static void test_encoder_refuses_beyond_limits(void **state)
{
        json_t *headers = json_pack("{s:s, s:s, s:s, s:s}", "type", "account", "authority-id", "acme",
                                    "account-id", "acme", "sign-key-sha3-384", KEY);
        json_t *list = json_array(), *deep = json_string("leaf");
        char *s = NULL;
        size_t size;

        for (unsigned i = 0; i <= ASSERTION_LIST_MAX; i++)
                json_array_append_new(list, json_string("v"));
        json_object_set_new(headers, "entries", list);
        assert_int_equal(assertion_encode_content(headers, NULL, 0, &s, &size), -E2BIG);
        json_array_remove(list, 0);
        assert_int_equal(assertion_encode_content(headers, NULL, 0, &s, &size), 0);
        free(s);

        for (unsigned i = 0; i < ASSERTION_NESTING_MAX; i++)
                deep = json_pack("[o]", deep);
        json_object_set(headers, "entries", deep);
        assert_int_equal(assertion_encode_content(headers, NULL, 0, &s, &size), 0);
        free(s);
        json_object_set_new(headers, "entries", json_pack("[o]", deep));
        assert_int_equal(assertion_encode_content(headers, NULL, 0, &s, &size), -E2BIG);
        json_decref(headers);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_headers_limit_counts_the_closing_blank_line),
                cmocka_unit_test(test_body_limit),
                cmocka_unit_test(test_signature_limit_counts_the_closing_blank_line),
                cmocka_unit_test(test_stream_limit),
                cmocka_unit_test(test_stick_with_500_grants_is_one_stream),
                cmocka_unit_test(test_nesting_limit),
                cmocka_unit_test(test_list_and_map_length_limit),
                cmocka_unit_test(test_encoder_refuses_beyond_limits),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
