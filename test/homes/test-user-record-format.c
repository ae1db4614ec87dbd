/* SPDX-License-Identifier: MIT */
/* The canonical (signed) text and homed's pretty file format, byte for byte as systemd 252 writes them,
 * and the strict loader in front of them (size limit, duplicate keys, reals). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "test-user-record-util.h"

static char *canonical_of(const char *json)
{
        _cleanup_json_ json_t *v = test_parse(json);
        char *text = NULL;

        assert_int_equal(user_record_canonical_text(v, &text), 0);
        return text;
}

static void test_canonical_escapes_like_systemd(void **state)
{
        /* \" \\ \b \f \n \r \t as short escapes, other C0 controls as lower-case \u00xx, DEL, '/' and UTF-8
         * raw. */
        _cleanup_free_ char *text = canonical_of(
                "{\"userName\":\"alice\",\"io.t\":\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\\u001B\\u007f/"
                "\\u00e9\xe2\x82\xac\\ud83d\\ude00\"}");

        assert_string_equal(
                text, "{\"io.t\":\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\\u001b\x7f/\xc3\xa9\xe2\x82\xac"
                      "\xf0\x9f\x98\x80\",\"userName\":\"alice\"}");
}

static void test_canonical_sorts_keys_by_bytes_at_every_depth(void **state)
{
        _cleanup_free_ char *text = canonical_of(
                "{\"userName\":\"u\",\"io.z\":{\"b\":1,\"a\":{\"d\":[{\"y\":1,\"x\":2}],\"c\":3}},"
                "\"io.keys\":{\"\xc3\xa9\":1,\"ab\":2,\"a\":3,\"_\":4,\"B\":5}}");

        assert_string_equal(
                text, "{\"io.keys\":{\"B\":5,\"_\":4,\"a\":3,\"ab\":2,\"\xc3\xa9\":1},"
                      "\"io.z\":{\"a\":{\"c\":3,\"d\":[{\"x\":2,\"y\":1}]},\"b\":1},\"userName\":\"u\"}");
}

static void test_canonical_keeps_array_order(void **state)
{
        _cleanup_free_ char *text = canonical_of("{\"userName\":\"u\",\"memberOf\":[\"z\",\"a\",\"m\"]}");

        assert_string_equal(text, "{\"memberOf\":[\"z\",\"a\",\"m\"],\"userName\":\"u\"}");
}

static void test_canonical_strips_unsigned_sections_only(void **state)
{
        _cleanup_free_ char *text = canonical_of(
                "{\"userName\":\"u\",\"secret\":{\"password\":[\"x\"]},\"binding\":{},\"status\":{},"
                "\"signature\":[],\"privileged\":{\"hashedPassword\":[]},\"perMachine\":[]}");

        assert_string_equal(text,
                            "{\"perMachine\":[],\"privileged\":{\"hashedPassword\":[]},\"userName\":\"u\"}");
}

static void test_canonical_integers_booleans_null(void **state)
{
        _cleanup_free_ char *text =
                canonical_of("{\"userName\":\"u\",\"niceLevel\":-5,\"io.big\":9223372036854775807,"
                             "\"io.neg\":-9223372036854775808,\"locked\":true,\"autoLogin\":false,"
                             "\"io.n\":null,\"io.zero\":-0}");

        assert_string_equal(text,
                            "{\"autoLogin\":false,\"io.big\":9223372036854775807,\"io.n\":null,"
                            "\"io.neg\":-9223372036854775808,\"io.zero\":0,\"locked\":true,\"niceLevel\":-5,"
                            "\"userName\":\"u\"}");
}

static void test_canonical_refuses_reals_and_non_objects(void **state)
{
        _cleanup_json_ json_t *real = test_parse("{\"userName\":\"u\",\"rateLimitBurst\":30.0}");
        _cleanup_json_ json_t *array = test_parse("[1]");
        char *text = NULL;

        assert_int_equal(user_record_canonical_text(real, &text), -EBADMSG);
        assert_int_equal(user_record_canonical_text(array, &text), -EBADMSG);
        assert_int_equal(user_record_format_pretty(real, &text), -EBADMSG);
        assert_null(text);
}

static void test_pretty_format_matches_homed(void **state)
{
        _cleanup_json_ json_t *v = test_parse("{\"userName\":\"u\",\"memberOf\":[],\"io.o\":{},\"io.n\":[[1,"
                                              "[]],{\"b\":{},\"a\":[\"x\"]}]}");
        _cleanup_free_ char *text = NULL;

        assert_int_equal(user_record_format_pretty(v, &text), 0);
        assert_string_equal(text, "{\n"
                                  "\t\"io.n\" : [\n"
                                  "\t\t[\n"
                                  "\t\t\t1,\n"
                                  "\t\t\t[]\n"
                                  "\t\t],\n"
                                  "\t\t{\n"
                                  "\t\t\t\"a\" : [\n"
                                  "\t\t\t\t\"x\"\n"
                                  "\t\t\t],\n"
                                  "\t\t\t\"b\" : {}\n"
                                  "\t\t}\n"
                                  "\t],\n"
                                  "\t\"io.o\" : {},\n"
                                  "\t\"memberOf\" : [],\n"
                                  "\t\"userName\" : \"u\"\n"
                                  "}\n");
}

static void assert_pretty_reproduces(const char *name)
{
        _cleanup_free_ char *file = NULL, *text = NULL;
        _cleanup_json_ json_t *record = NULL;
        RecordError err = {};
        size_t size;

        file = test_read("INTEROP_DIR", name, &size);
        assert_int_equal(user_record_load(file, size, &record, &err), 0);
        assert_int_equal(user_record_format_pretty(record, &text), 0);
        if (strlen(text) != size || memcmp(text, file, size) != 0)
                fail_msg("%s: our pretty format differs from homed's file:\n%s", name, text);
}

static void test_pretty_reproduces_homed_files_byte_for_byte(void **state)
{
        assert_pretty_reproduces("systemd/vecuser.host.identity");
        assert_pretty_reproduces("systemd/vecuser.embedded.identity");
        assert_pretty_reproduces("systemd/vecswap.host.identity");
        assert_pretty_reproduces("systemd/vecswap.embedded.identity");
}

static void test_canonical_matches_systemd_signed_text(void **state)
{
        _cleanup_free_ char *signed_text = NULL, *ours = NULL, *host = NULL;
        _cleanup_json_ json_t *embedded = test_load("INTEROP_DIR", "systemd/vecswap.embedded.identity");
        _cleanup_json_ json_t *host_record = test_load("INTEROP_DIR", "systemd/vecswap.host.identity");
        size_t size;

        signed_text = test_read("INTEROP_DIR", "systemd/vecswap.signed-text", &size);
        assert_int_equal(user_record_canonical_text(embedded, &ours), 0);
        assert_int_equal(strlen(ours), size);
        assert_memory_equal(ours, signed_text, size);
        /* homed's host file holds the array permuted: its canonical text is not what was signed. */
        assert_int_equal(user_record_canonical_text(host_record, &host), 0);
        assert_string_not_equal(host, ours);
}

static void test_load_refuses_vecreal(void **state)
{
        static const char *const files[] = { "systemd/vecreal.host.identity",
                                             "systemd/vecreal.embedded.identity" };

        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *file = NULL, *signed_text = NULL, *text = NULL;
                _cleanup_json_ json_t *record = NULL, *raw = NULL;
                RecordError err = {};
                size_t size, signed_size;

                file = test_read("INTEROP_DIR", files[i], &size);
                assert_int_equal(user_record_load(file, size, &record, &err), -EBADMSG);
                assert_null(record);
                assert_string_equal(err.field, "rateLimitBurst");
                assert_non_null(strstr(err.message, "real"));

                /* systemd signed "3.000000000000000000000e+01"; we cannot produce that text at all. */
                signed_text = test_read("INTEROP_DIR", "systemd/vecreal.signed-text", &signed_size);
                assert_non_null(strstr(signed_text, "3.000000000000000000000e+01"));
                raw = test_parse(file);
                assert_int_equal(user_record_canonical_text(raw, &text), -EBADMSG);
        }
}

static void test_load_text_size_limit_at_n_and_n_plus_1(void **state)
{
        static const char head[] = "{\"userName\":\"alice\",\"io.pad\":\"";
        static const char tail[] = "\"}";
        _cleanup_free_ char *text = malloc(USER_RECORD_TEXT_MAX + 2);
        _cleanup_json_ json_t *record = NULL;
        RecordError err = {};
        size_t pad = USER_RECORD_TEXT_MAX - strlen(head) - strlen(tail);

        assert_non_null(text);
        memcpy(text, head, strlen(head));
        memset(text + strlen(head), 'x', pad + 1);
        memcpy(text + strlen(head) + pad, tail, strlen(tail));
        assert_int_equal(user_record_load(text, USER_RECORD_TEXT_MAX, &record, &err), 0);
        json_decref(record);
        record = NULL;

        memcpy(text + strlen(head) + pad + 1, tail, strlen(tail));
        assert_int_equal(user_record_load(text, USER_RECORD_TEXT_MAX + 1, &record, &err), -E2BIG);
        assert_null(record);
}

static void test_load_refuses_duplicate_keys(void **state)
{
        static const char *const texts[] = {
                "{\"userName\":\"alice\",\"userName\":\"bob\"}",
                "{\"userName\":\"alice\",\"privileged\":{\"hashedPassword\":[],\"hashedPassword\":[\"x\"]}}",
                "{\"userName\":\"alice\",\"io.x\":[{\"a\":1,\"a\":1}]}",
        };

        for (size_t i = 0; i < 3; i++) {
                _cleanup_json_ json_t *record = NULL;
                RecordError err = {};

                assert_int_equal(user_record_load(texts[i], strlen(texts[i]), &record, &err), -EBADMSG);
                assert_non_null(strstr(err.message, "duplicate"));
        }
}

static void test_load_refuses_malformed_json_with_position(void **state)
{
        static const char *const texts[] = {
                "{\"userName\":\"alice\"} x",
                "{\"userName\":\"alice\",}",
                "{\"userName\":\"al\\u0000ice\"}",
                "{\"userName\":\"\xff\"}",
                "",
                "{\"userName\":'alice'}",
                "{\"userName\":\"alice\",\"uid\":99999999999999999999}",
        };

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                _cleanup_json_ json_t *record = NULL;
                RecordError err = {};

                assert_int_equal(user_record_load(texts[i], strlen(texts[i]), &record, &err), -EBADMSG);
                assert_non_null(strstr(err.message, "line"));
        }
}

static void test_load_reads_exactly_size_bytes(void **state)
{
        static const char text[] = "{\"userName\":\"alice\"}GARBAGE";
        _cleanup_json_ json_t *record = NULL;

        assert_int_equal(user_record_load(text, strlen("{\"userName\":\"alice\"}"), &record, NULL), 0);
}

static void test_canonical_round_trips(void **state)
{
        _cleanup_json_ json_t *record = test_load("FIXTURES_DIR", "records/full.json");
        _cleanup_json_ json_t *again = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL, *pretty = NULL, *file = NULL;
        size_t size;

        assert_int_equal(user_record_canonical_text(record, &text), 0);
        assert_int_equal(user_record_load(text, strlen(text), &again, NULL), 0);
        assert_int_equal(user_record_canonical_text(again, &text2), 0);
        assert_string_equal(text, text2);

        /* The fixture is written in homed's format, so formatting it reproduces it. */
        file = test_read("FIXTURES_DIR", "records/full.json", &size);
        assert_int_equal(user_record_format_pretty(record, &pretty), 0);
        assert_string_equal(pretty, file);
}

static void test_strip_and_set_binding(void **state)
{
        _cleanup_json_ json_t *record =
                test_parse("{\"userName\":\"alice\",\"secret\":{\"password\":[\"x\"]}}");
        _cleanup_json_ json_t *embedded = NULL;
        _cleanup_free_ char *text = NULL;

        assert_int_equal(user_record_set_binding(record, "3d1219c7c4c5404aaa1f6d2a48adfda4", 60199, 60199,
                                                 "/home/alice.homedir", "directory"),
                         0);
        assert_int_equal(user_record_validate(record, NULL), 0);
        assert_int_equal(user_record_format_pretty(record, &text), 0);
        assert_string_equal(text, "{\n\t\"binding\" : {\n\t\t\"3d1219c7c4c5404aaa1f6d2a48adfda4\" : {\n"
                                  "\t\t\t\"gid\" : 60199,\n\t\t\t\"imagePath\" : \"/home/alice.homedir\",\n"
                                  "\t\t\t\"storage\" : \"directory\",\n\t\t\t\"uid\" : 60199\n\t\t}\n\t},\n"
                                  "\t\"secret\" : {\n\t\t\"password\" : [\n\t\t\t\"x\"\n\t\t]\n\t},\n"
                                  "\t\"userName\" : \"alice\"\n}\n");

        assert_int_equal(user_record_strip(record,
                                           USER_RECORD_SECTION_BINDING | USER_RECORD_SECTION_SECRET |
                                                   USER_RECORD_SECTION_STATUS,
                                           &embedded),
                         0);
        assert_null(json_object_get(embedded, "binding"));
        assert_null(json_object_get(embedded, "secret"));
        assert_non_null(json_object_get(record, "binding")); /* the original is untouched */

        assert_int_equal(
                user_record_set_binding(record, "NOT-A-MACHINE-ID", 60199, 60199, "/home/a", "directory"),
                -EINVAL);
        assert_int_equal(user_record_set_binding(record, "3d1219c7c4c5404aaa1f6d2a48adfda4", 0, 60199,
                                                 "/home/a", "directory"),
                         -EINVAL);
        assert_int_equal(user_record_set_binding(record, "3d1219c7c4c5404aaa1f6d2a48adfda4", 60199, 60199,
                                                 "relative", "directory"),
                         -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_canonical_escapes_like_systemd),
                cmocka_unit_test(test_canonical_sorts_keys_by_bytes_at_every_depth),
                cmocka_unit_test(test_canonical_keeps_array_order),
                cmocka_unit_test(test_canonical_strips_unsigned_sections_only),
                cmocka_unit_test(test_canonical_integers_booleans_null),
                cmocka_unit_test(test_canonical_refuses_reals_and_non_objects),
                cmocka_unit_test(test_pretty_format_matches_homed),
                cmocka_unit_test(test_pretty_reproduces_homed_files_byte_for_byte),
                cmocka_unit_test(test_canonical_matches_systemd_signed_text),
                cmocka_unit_test(test_load_refuses_vecreal),
                cmocka_unit_test(test_load_text_size_limit_at_n_and_n_plus_1),
                cmocka_unit_test(test_load_refuses_duplicate_keys),
                cmocka_unit_test(test_load_refuses_malformed_json_with_position),
                cmocka_unit_test(test_load_reads_exactly_size_bytes),
                cmocka_unit_test(test_canonical_round_trips),
                cmocka_unit_test(test_strip_and_set_binding),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
