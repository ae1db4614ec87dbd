/* SPDX-License-Identifier: MIT */
/* The fleet's bounds at N and N+1: response body bytes (declared and received), streams in a framed feed,
 * assertions in one import; and the feed framing itself is strict. What a publisher encodes
 * (fleet_feed_encode()) reads back through the same framing, within the same bounds. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "file-util.h"
#include "fleet.h"

static char *account;
static size_t account_size;

static int setup(void **state)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/trust/acme.account", getenv("FIXTURES_DIR"));
        return read_file_bounded(AT_FDCWD, path, 1 << 20, &account, &account_size) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        free(account);
        return 0;
}

static void body_size_check_at_n_and_n_plus_one(void **state)
{
        assert_int_equal(fleet_body_size_check(FLEET_BODY_MAX, FLEET_BODY_MAX), 0);
        assert_int_equal(fleet_body_size_check((uint64_t) FLEET_BODY_MAX + 1, FLEET_BODY_MAX), -E2BIG);
        assert_int_equal(fleet_body_size_check(UINT64_MAX, FLEET_BODY_MAX), -E2BIG);
}

static void buffer_refuses_the_byte_beyond_max(void **state)
{
        FleetBuffer b = { .max = 10 };
        assert_int_equal(fleet_buffer_append(&b, "12345", 5), 0);
        assert_int_equal(fleet_buffer_append(&b, "67890", 5), 0); /* exactly N */
        assert_int_equal(b.size, 10);
        assert_string_equal(b.data, "1234567890");
        assert_int_equal(fleet_buffer_append(&b, "x", 1), -E2BIG); /* N + 1 */
        assert_true(b.too_big);
        assert_int_equal(b.size, 10);
        fleet_buffer_done(&b);

        FleetBuffer c = { .max = 10 };
        assert_int_equal(fleet_buffer_append(&c, "12345678901", 11), -E2BIG); /* one chunk over */
        assert_int_equal(c.size, 0);
        fleet_buffer_done(&c);
}

/* A framed feed of n_streams streams of per_stream copies of the account. */
/* noinline: GCC 12 at -O3 mistakes the memstream's pointer to data for a dangling one. */
static __attribute__((noinline)) char *feed(size_t n_streams, size_t per_stream, size_t *ret_size)
{
        char *data = NULL, *s = NULL;
        size_t size = 0, s_size = 0;
        FILE *f = open_memstream(&data, &size), *g;

        fputs(FLEET_FEED_MAGIC, f);
        for (size_t i = 0; i < n_streams; i++) {
                g = open_memstream(&s, &s_size);
                for (size_t j = 0; j < per_stream; j++) {
                        if (j > 0)
                                fputc('\n', g);
                        fwrite(account, 1, account_size, g);
                }
                fclose(g);
                fprintf(f, "%zu\n", s_size);
                fwrite(s, 1, s_size, f);
                fputc('\n', f);
                free(s);
        }
        fclose(f);
        *ret_size = size;
        return data;
}

static void feed_streams_at_n_and_n_plus_one(void **state)
{
        AssertionBatch b = {};
        char *error = NULL;
        size_t size;
        char *data = feed(FLEET_FEED_STREAMS_MAX, 1, &size);

        assert_int_equal(fleet_feed_add(&b, "feed", data, size, &error), 0);
        assert_int_equal(b.list.n, FLEET_FEED_STREAMS_MAX);
        assert_int_equal(b.n_streams, FLEET_FEED_STREAMS_MAX);
        assertion_batch_done(&b);
        free(data);

        data = feed(FLEET_FEED_STREAMS_MAX + 1, 1, &size);
        assert_int_equal(fleet_feed_add(&b, "feed", data, size, &error), -E2BIG);
        assert_non_null(strstr(error, "streams"));
        assert_int_equal(b.list.n, 0); /* taken whole or not at all */
        free(error);
        free(data);
        assertion_batch_done(&b);
}

static void import_assertions_at_n_and_n_plus_one(void **state)
{
        AssertionBatch b = {};
        char *error = NULL;
        size_t size;
        char *data = feed(FLEET_FEED_STREAMS_MAX, FLEET_FEED_ASSERTIONS_MAX / FLEET_FEED_STREAMS_MAX, &size);

        assert_int_equal(fleet_feed_add(&b, "feed", data, size, &error), 0);
        assert_int_equal(b.list.n, FLEET_FEED_ASSERTIONS_MAX);
        free(data);
        /* One more (a prerequisite) would exceed the bound of one import. */
        assert_int_equal(fleet_feed_add(&b, "more", account, account_size, &error), -E2BIG);
        assert_int_equal(b.list.n, FLEET_FEED_ASSERTIONS_MAX);
        free(error);
        assertion_batch_done(&b);
}

static void plain_stream_keeps_the_stream_limit(void **state)
{
        AssertionBatch b = {};
        char *error = NULL;
        size_t size;
        char *data = feed(1, ASSERTION_STREAM_MAX + 1, &size);
        size_t magic = strlen(FLEET_FEED_MAGIC);
        /* skip the frame: the stream itself, ASSERTION_STREAM_MAX + 1 assertions */
        size_t offset = (size_t) (strchr(data + magic, '\n') - data) + 1;
        char *stream = data + offset;
        size_t stream_size = size - offset - 1;

        assert_int_equal(fleet_feed_add(&b, "plain", stream, stream_size, &error), -E2BIG);
        free(error);
        free(data);
        assertion_batch_done(&b);
}

static void malformed_frames_are_refused(void **state)
{
        const char *bad[] = {
                FLEET_FEED_MAGIC "x\n",           FLEET_FEED_MAGIC "0\n\n",  FLEET_FEED_MAGIC "05\nabcde\n",
                FLEET_FEED_MAGIC "999\nabc\n",    FLEET_FEED_MAGIC "3\nabc", FLEET_FEED_MAGIC "3\nabcX",
                FLEET_FEED_MAGIC "99999999999\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                AssertionBatch b = {};
                char *error = NULL;
                int r = fleet_feed_add(&b, "feed", bad[i], strlen(bad[i]), &error);
                if (r >= 0)
                        fail_msg("accepted frame %zu", i);
                free(error);
                assertion_batch_done(&b);
        }
        AssertionBatch b = {};
        char *error = NULL;
        assert_int_equal(fleet_feed_add(&b, "feed", FLEET_FEED_MAGIC, strlen(FLEET_FEED_MAGIC), &error),
                         -ENODATA);
        free(error);
        assertion_batch_done(&b);
}

/* The feed a publisher writes is what a device reads back: n copies of the account's wire form. */
static void encode_and_read_back(size_t n, size_t max, int expect)
{
        Assertion *a = NULL;
        char *wire = NULL, *error = NULL;
        size_t wire_size;
        FleetWire w;
        const FleetWire **items = calloc(n + 1, sizeof(FleetWire *));
        FleetBuffer out = { .max = max };
        AssertionBatch b = {};

        assert_int_equal(assertion_decode(account, account_size, &a, NULL), 0);
        assert_int_equal(assertion_encode(a, &wire, &wire_size), 0);
        w = (FleetWire){ .data = wire, .size = wire_size };
        for (size_t i = 0; i < n; i++)
                items[i] = &w;

        assert_int_equal(fleet_feed_encode(items, n, &out), expect);
        if (expect == 0) {
                bool framed = out.size >= strlen(FLEET_FEED_MAGIC) &&
                              memcmp(out.data, FLEET_FEED_MAGIC, strlen(FLEET_FEED_MAGIC)) == 0;
                assert_int_equal(framed, n > ASSERTION_STREAM_MAX);
                assert_int_equal(fleet_feed_add(&b, "feed", out.data, out.size, &error), 0);
                assert_int_equal(b.list.n, n);
                assert_int_equal(b.n_streams, (n + ASSERTION_STREAM_MAX - 1) / ASSERTION_STREAM_MAX);
                if (!framed) { /* byte for byte what the codec writes for a stream */
                        char *stream = NULL;
                        size_t stream_size;
                        assert_int_equal(assertion_stream_encode(&b.list, &stream, &stream_size), 0);
                        assert_int_equal(stream_size, out.size);
                        assert_memory_equal(stream, out.data, out.size);
                        free(stream);
                }
        }
        assertion_batch_done(&b);
        fleet_buffer_done(&out);
        free(error);
        free(wire);
        free(items);
        assertion_free(a);
}

/* Plain while a device of this version reads it as one stream (at most ASSERTION_STREAM_MAX assertions; a
 * stream has no byte bound of its own below the body's), framed beyond. A feed is one import, so today the
 * stream bound and the feed bound are both ASSERTION_BATCH_MAX and N + 1 stream assertions are refused;
 * should the feed bound grow past the stream bound, N + 1 is the first framed feed. */
static void encoded_feeds_read_back_plain_up_to_a_stream_then_framed(void **state)
{
        encode_and_read_back(1, FLEET_BODY_MAX, 0);
        encode_and_read_back(ASSERTION_STREAM_MAX, FLEET_BODY_MAX, 0);
        encode_and_read_back(ASSERTION_STREAM_MAX + 1, FLEET_BODY_MAX,
                             ASSERTION_STREAM_MAX + 1 <= FLEET_FEED_ASSERTIONS_MAX ? 0 : -E2BIG);
        encode_and_read_back(FLEET_FEED_ASSERTIONS_MAX, FLEET_BODY_MAX, 0);
        encode_and_read_back(FLEET_FEED_ASSERTIONS_MAX + 1, FLEET_BODY_MAX, -E2BIG);
        encode_and_read_back(0, FLEET_BODY_MAX, -ENODATA);
}

static void encoded_feed_size_at_n_and_n_plus_one(void **state)
{
        const FleetWire w = { .data = "x", .size = 1 }, *items[] = { &w, &w, &w };
        FleetBuffer out = { .max = 5 }; /* "x\nx\nx" */

        assert_int_equal(fleet_feed_encode(items, 3, &out), 0);
        assert_int_equal(out.size, 5);
        fleet_buffer_done(&out);
        out = (FleetBuffer){ .max = 4 };
        assert_int_equal(fleet_feed_encode(items, 3, &out), -E2BIG);
        fleet_buffer_done(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(body_size_check_at_n_and_n_plus_one),
                cmocka_unit_test(buffer_refuses_the_byte_beyond_max),
                cmocka_unit_test(feed_streams_at_n_and_n_plus_one),
                cmocka_unit_test(import_assertions_at_n_and_n_plus_one),
                cmocka_unit_test(plain_stream_keeps_the_stream_limit),
                cmocka_unit_test(malformed_frames_are_refused),
                cmocka_unit_test(encoded_feeds_read_back_plain_up_to_a_stream_then_framed),
                cmocka_unit_test(encoded_feed_size_at_n_and_n_plus_one),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
