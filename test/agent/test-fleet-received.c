/* SPDX-License-Identifier: MIT */
/* The fleet worker's answer (fleet_received_encode/decode): what the worker received survives the pipe
 * unchanged, every bound holds at N and refuses N+1, and any answer off the one allowed shape is refused
 * whole — the daemon treats the worker as untrusted. */
#include <errno.h>
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
#include "json-util.h"

#define FEED_URL "https://fleet.example/devices/SN-0001/assertions"
#define KEY_URL  "https://fleet.example/devices/SN-0001/assertions/account-key/x"

static char *account, *account_key;
static size_t account_size, account_key_size;

static int read_fixture(const char *name, char **ret, size_t *ret_size)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/trust/%s", getenv("FIXTURES_DIR"), name);
        return read_file_bounded(AT_FDCWD, path, 1 << 20, ret, ret_size);
}

static int setup(void **state)
{
        if (read_fixture("acme.account", &account, &account_size) < 0 ||
            read_fixture("acme.account-key", &account_key, &account_key_size) < 0)
                return -1;
        return 0;
}

static int teardown(void **state)
{
        free(account);
        free(account_key);
        return 0;
}

/* --- a hand-made answer, record by record --- */

typedef struct Answer {
        char *data;
        size_t size;
        FILE *f;
} Answer;

static void answer_begin(Answer *a)
{
        *a = (Answer){};
        a->f = open_memstream(&a->data, &a->size);
        fputs(FLEET_RECEIVED_MAGIC, a->f);
}

static void put_u32(FILE *f, uint32_t v)
{
        unsigned char le[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff };
        fwrite(le, 1, 4, f);
}

static void record(Answer *a, char tag, const void *payload, size_t size)
{
        fputc(tag, a->f);
        put_u32(a->f, (uint32_t) size);
        if (size > 0)
                fwrite(payload, 1, size, a->f);
}

static void record_int(Answer *a, char tag, int32_t v, const char *text)
{
        size_t n = text ? strlen(text) : 0;
        fputc(tag, a->f);
        put_u32(a->f, (uint32_t) (4 + n));
        put_u32(a->f, (uint32_t) v);
        if (n > 0)
                fwrite(text, 1, n, a->f);
}

static void record_named(Answer *a, char tag, const char *name, const char *rest, size_t rest_size)
{
        fputc(tag, a->f);
        put_u32(a->f, (uint32_t) (4 + strlen(name) + rest_size));
        put_u32(a->f, (uint32_t) strlen(name));
        fputs(name, a->f);
        fwrite(rest, 1, rest_size, a->f);
}

static void answer_end(Answer *a)
{
        record(a, 'Z', NULL, 0);
        fclose(a->f);
}

static int decode(Answer *a, FleetReceived *ret)
{
        char *error = NULL;
        int r = fleet_received_decode(a->data, a->size, ret, &error);
        if (r < 0)
                assert_non_null(error);
        free(error);
        free(a->data);
        return r;
}

static char *repeat(char c, size_t n)
{
        char *s = malloc(n + 1);
        memset(s, c, n);
        s[n] = '\0';
        return s;
}

/* --- round trips --- */

static void a_feed_with_prerequisites_round_trips(void **state)
{
        FleetReceived r = { .status = 200, .etag = strdup("\"abc\""), .prerequisites = json_array() };
        FleetReceived back = {};
        char *data = NULL, *error = NULL;
        size_t size;

        assert_int_equal(fleet_feed_add(&r.batch, FEED_URL, account, account_size, &error), 0);
        assert_int_equal(fleet_feed_add(&r.batch, KEY_URL, account_key, account_key_size, &error), 0);
        json_array_append_new(r.prerequisites, json_pack("{s:s, s:s}", "url", KEY_URL, "result", "fetched"));

        assert_int_equal(fleet_received_encode(&r, &data, &size), 0);
        assert_int_equal(fleet_received_decode(data, size, &back, &error), 0);
        assert_int_equal(back.error, 0);
        assert_int_equal(back.status, 200);
        assert_string_equal(back.etag, "\"abc\"");
        assert_int_equal(back.batch.n_streams, 2);
        assert_int_equal(back.batch.list.n, 2);
        assert_string_equal(back.batch.streams[0].origin, FEED_URL);
        assert_string_equal(back.batch.streams[1].origin, KEY_URL);
        assert_int_equal(back.batch.streams[1].size, account_key_size);
        assert_memory_equal(back.batch.streams[1].data, account_key, account_key_size);
        assert_true(json_equal(back.prerequisites, r.prerequisites));
        free(data);
        fleet_received_done(&r);
        fleet_received_done(&back);
}

static void a_failure_and_a_304_round_trip(void **state)
{
        FleetReceived r = {}, back = {};
        char *data = NULL;
        size_t size;

        assert_int_equal(fleet_received_fail(&r, -ETIMEDOUT, "https://h/x: timed out"), 0);
        assert_int_equal(fleet_received_encode(&r, &data, &size), 0);
        assert_int_equal(fleet_received_decode(data, size, &back, NULL), 0);
        assert_int_equal(back.error, -ETIMEDOUT);
        assert_string_equal(back.message, "https://h/x: timed out");
        free(data);
        fleet_received_done(&r);
        fleet_received_done(&back);

        r = (FleetReceived){ .status = 304 };
        assert_int_equal(fleet_received_encode(&r, &data, &size), 0);
        assert_int_equal(fleet_received_decode(data, size, &back, NULL), 0);
        assert_int_equal(back.error, 0);
        assert_int_equal(back.status, 304);
        assert_int_equal(back.batch.list.n, 0);
        free(data);
        fleet_received_done(&back);
}

/* The worker's own text is masked and cut, never refused: its answer must still get through. */
static void the_encoder_masks_and_cuts_text(void **state)
{
        FleetReceived r = {}, back = {};
        char *long_message = repeat('m', FLEET_MESSAGE_MAX + 10), *data = NULL;
        size_t size;

        long_message[3] = '\n';
        long_message[4] = '\x1b';
        assert_int_equal(fleet_received_fail(&r, -EIO, long_message), 0);
        assert_int_equal(fleet_received_encode(&r, &data, &size), 0);
        assert_int_equal(fleet_received_decode(data, size, &back, NULL), 0);
        assert_int_equal(strlen(back.message), FLEET_MESSAGE_MAX);
        assert_memory_equal(back.message, "mmm??mmm", 8);
        free(data);
        free(long_message);
        fleet_received_done(&r);
        fleet_received_done(&back);
}

/* --- bounds at N and N+1 --- */

static void message_at_n_and_n_plus_one(void **state)
{
        for (size_t n = FLEET_MESSAGE_MAX; n <= FLEET_MESSAGE_MAX + 1; n++) {
                FleetReceived back = {};
                char *message = repeat('x', n);
                Answer a;
                answer_begin(&a);
                record_int(&a, 'E', -EIO, message);
                answer_end(&a);
                assert_int_equal(decode(&a, &back), n == FLEET_MESSAGE_MAX ? 0 : -EBADMSG);
                free(message);
                fleet_received_done(&back);
        }
}

static void etag_at_n_and_n_plus_one(void **state)
{
        for (size_t n = FLEET_ETAG_MAX; n <= FLEET_ETAG_MAX + 1; n++) {
                FleetReceived back = {};
                char *etag = repeat('e', n);
                Answer a;
                answer_begin(&a);
                record_int(&a, 'H', 304, NULL);
                record(&a, 'T', etag, n);
                answer_end(&a);
                assert_int_equal(decode(&a, &back), n == FLEET_ETAG_MAX ? 0 : -EBADMSG);
                free(etag);
                fleet_received_done(&back);
        }
}

static void part_name_at_n_and_n_plus_one(void **state)
{
        const char *prefix = "https://fleet.example/";

        for (size_t n = FLEET_URL_MAX; n <= FLEET_URL_MAX + 1; n++) {
                FleetReceived back = {};
                char *name = repeat('a', n);
                memcpy(name, prefix, strlen(prefix));
                Answer a;
                answer_begin(&a);
                record_int(&a, 'H', 200, NULL);
                record_named(&a, 'P', name, account, account_size);
                answer_end(&a);
                assert_int_equal(decode(&a, &back), n == FLEET_URL_MAX ? 0 : -EBADMSG);
                free(name);
                fleet_received_done(&back);
        }
}

static void prerequisite_results_at_n_and_n_plus_one(void **state)
{
        for (size_t n = FLEET_PREREQUISITES_MAX; n <= FLEET_PREREQUISITES_MAX + 1; n++) {
                FleetReceived back = {};
                Answer a;
                answer_begin(&a);
                record_int(&a, 'H', 200, NULL);
                record_named(&a, 'P', FEED_URL, account, account_size);
                for (size_t i = 0; i < n; i++)
                        record_named(&a, 'Q', KEY_URL, "failed: 404", 11);
                answer_end(&a);
                assert_int_equal(decode(&a, &back), n == FLEET_PREREQUISITES_MAX ? 0 : -EBADMSG);
                if (n == FLEET_PREREQUISITES_MAX)
                        assert_int_equal(json_array_size(back.prerequisites), n);
                fleet_received_done(&back);
        }
}

static void the_whole_answer_is_bounded(void **state)
{
        FleetReceived back = {};
        char *error = NULL;

        /* Refused on the size alone, before a byte is read. */
        assert_int_equal(fleet_received_decode("", (size_t) FLEET_RECEIVED_MAX + 1, &back, &error),
                         -EBADMSG);
        free(error);
}

/* --- the one allowed shape --- */

typedef void (*Build)(Answer *a);

static void b_empty(Answer *a)
{
        fclose(a->f);
        a->size = 0;
}
static void b_no_end(Answer *a)
{
        record_int(a, 'H', 304, NULL);
        fclose(a->f);
}
static void b_after_end(Answer *a)
{
        record_int(a, 'H', 304, NULL);
        answer_end(a);
        a->data = realloc(a->data, a->size + 1);
        a->data[a->size++] = 'x';
}
static void b_length_beyond(Answer *a)
{
        fputc('H', a->f);
        put_u32(a->f, 400);
        put_u32(a->f, 304);
        fclose(a->f);
}
static void b_etag_first(Answer *a)
{
        record(a, 'T', "\"e\"", 3);
        record_int(a, 'H', 304, NULL);
        answer_end(a);
}
static void b_part_after_result(Answer *a)
{
        record_int(a, 'H', 200, NULL);
        record_named(a, 'P', FEED_URL, account, account_size);
        record_named(a, 'Q', KEY_URL, "fetched", 7);
        record_named(a, 'P', KEY_URL, account_key, account_key_size);
        answer_end(a);
}
static void b_part_in_304(Answer *a)
{
        record_int(a, 'H', 304, NULL);
        record_named(a, 'P', FEED_URL, account, account_size);
        answer_end(a);
}
static void b_200_without_parts(Answer *a)
{
        record_int(a, 'H', 200, NULL);
        answer_end(a);
}
static void b_status_201(Answer *a)
{
        record_int(a, 'H', 201, NULL);
        answer_end(a);
}
static void b_error_zero(Answer *a)
{
        record_int(a, 'E', 0, "fine?");
        answer_end(a);
}
static void b_error_positive(Answer *a)
{
        record_int(a, 'E', 5, "eio");
        answer_end(a);
}
static void b_error_then_part(Answer *a)
{
        record_int(a, 'E', -EIO, "x");
        record_named(a, 'P', FEED_URL, account, account_size);
        answer_end(a);
}
static void b_control_in_message(Answer *a)
{
        record_int(a, 'E', -EIO, "a\nFAKE LOG LINE");
        answer_end(a);
}
static void b_etag_with_space(Answer *a)
{
        record_int(a, 'H', 304, NULL);
        record(a, 'T', "\"a b\"", 5);
        answer_end(a);
}
static void b_name_not_a_url(Answer *a)
{
        record_int(a, 'H', 200, NULL);
        record_named(a, 'P', "feed", account, account_size);
        answer_end(a);
}
static void b_name_http(Answer *a)
{
        record_int(a, 'H', 200, NULL);
        record_named(a, 'P', "http://fleet.example/x", account, account_size);
        answer_end(a);
}
static void b_part_garbage(Answer *a)
{
        record_int(a, 'H', 200, NULL);
        record_named(a, 'P', FEED_URL, "not: an assertion\n", 18);
        answer_end(a);
}
static void b_part_empty_feed(Answer *a)
{
        /* A part is decoded by the ordinary rules: an empty framed feed holds nothing. */
        record_int(a, 'H', 200, NULL);
        record_named(a, 'P', FEED_URL, FLEET_FEED_MAGIC, strlen(FLEET_FEED_MAGIC));
        answer_end(a);
}
static void b_name_length_beyond(Answer *a)
{
        fputc('P', a->f);
        put_u32(a->f, 8);
        put_u32(a->f, 100);
        fputs("http", a->f);
        answer_end(a);
}
static void b_two_headers(Answer *a)
{
        record_int(a, 'H', 304, NULL);
        record_int(a, 'H', 304, NULL);
        answer_end(a);
}
static void b_end_with_payload(Answer *a)
{
        record_int(a, 'H', 304, NULL);
        record(a, 'Z', "x", 1);
        fclose(a->f);
}
static void b_unknown_tag(Answer *a)
{
        record_int(a, 'H', 304, NULL);
        record(a, 'X', "", 0);
        answer_end(a);
}
static void b_short_header(Answer *a)
{
        fputc('H', a->f);
        put_u32(a->f, 2);
        fputs("ab", a->f);
        answer_end(a);
}

static void answers_off_the_shape_are_refused(void **state)
{
        static const struct {
                const char *name;
                Build build;
        } cases[] = {
                { "empty", b_empty },
                { "no end record", b_no_end },
                { "a byte after the end", b_after_end },
                { "record longer than the data", b_length_beyond },
                { "ETag before the status", b_etag_first },
                { "part after a request result", b_part_after_result },
                { "part in a 304", b_part_in_304 },
                { "200 without a feed", b_200_without_parts },
                { "status 201", b_status_201 },
                { "error 0", b_error_zero },
                { "positive error", b_error_positive },
                { "part after an error", b_error_then_part },
                { "newline in a message", b_control_in_message },
                { "space in an ETag", b_etag_with_space },
                { "part name not a URL", b_name_not_a_url },
                { "part name http://", b_name_http },
                { "part not an assertion stream", b_part_garbage },
                { "part holding no assertion", b_part_empty_feed },
                { "name longer than its record", b_name_length_beyond },
                { "two status records", b_two_headers },
                { "end record with a payload", b_end_with_payload },
                { "unknown record", b_unknown_tag },
                { "status of 2 bytes", b_short_header },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                FleetReceived back = {};
                Answer a;
                answer_begin(&a);
                cases[i].build(&a);
                if (decode(&a, &back) != -EBADMSG)
                        fail_msg("accepted: %s", cases[i].name);
                fleet_received_done(&back);
        }

        /* And the magic line. */
        FleetReceived back = {};
        assert_int_equal(fleet_received_decode("corehomed-fleet-received 2\n", 27, &back, NULL), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_feed_with_prerequisites_round_trips),
                cmocka_unit_test(a_failure_and_a_304_round_trip),
                cmocka_unit_test(the_encoder_masks_and_cuts_text),
                cmocka_unit_test(message_at_n_and_n_plus_one),
                cmocka_unit_test(etag_at_n_and_n_plus_one),
                cmocka_unit_test(part_name_at_n_and_n_plus_one),
                cmocka_unit_test(prerequisite_results_at_n_and_n_plus_one),
                cmocka_unit_test(the_whole_answer_is_bounded),
                cmocka_unit_test(answers_off_the_shape_are_refused),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
