/* SPDX-License-Identifier: MIT */
/* lastChangeUSec decides which record of a user wins: newer replaces, older is a downgrade (replay of an
 * earlier record), equal must be identical, and the user and realm must not change. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "test-user-record-util.h"

static const struct {
        const char *old_json;
        const char *new_json;
        int expected;
        const char *field;
} cases[] = {
        { "{\"userName\":\"a\",\"lastChangeUSec\":10}", "{\"userName\":\"a\",\"lastChangeUSec\":11}", 0,
          NULL },
        { "{\"userName\":\"a\",\"lastChangeUSec\":10}", "{\"userName\":\"a\",\"lastChangeUSec\":9}", -ESTALE,
          "lastChangeUSec" },
        { "{\"userName\":\"a\",\"lastChangeUSec\":10}", "{\"userName\":\"a\",\"lastChangeUSec\":10}",
          USER_RECORD_UPDATE_SAME, NULL },
        { "{\"userName\":\"a\",\"lastChangeUSec\":10}",
          "{\"userName\":\"a\",\"lastChangeUSec\":10,\"locked\":true}", -ESTALE, "lastChangeUSec" },
        /* unsigned sections do not count as content */
        { "{\"userName\":\"a\",\"lastChangeUSec\":10}",
          "{\"userName\":\"a\",\"lastChangeUSec\":10,\"binding\":{},\"signature\":[]}",
          USER_RECORD_UPDATE_SAME, NULL },
        { "{\"userName\":\"a\",\"lastChangeUSec\":10}", "{\"userName\":\"a\"}", -ESTALE, "lastChangeUSec" },
        { "{\"userName\":\"a\"}", "{\"userName\":\"a\",\"lastChangeUSec\":1}", 0, NULL },
        { "{\"userName\":\"a\"}", "{\"userName\":\"a\"}", USER_RECORD_UPDATE_SAME, NULL },
        { "{\"userName\":\"a\"}", "{\"userName\":\"a\",\"locked\":true}", -ESTALE, "lastChangeUSec" },
        { "{\"userName\":\"a\",\"lastChangeUSec\":10}", "{\"userName\":\"b\",\"lastChangeUSec\":11}",
          -EINVAL, "userName" },
        { "{\"userName\":\"a\",\"lastChangeUSec\":10}",
          "{\"userName\":\"a\",\"realm\":\"example.com\",\"lastChangeUSec\":11}", -EINVAL, "realm" },
        { "{\"userName\":\"a\",\"realm\":\"example.com\",\"lastChangeUSec\":10}",
          "{\"userName\":\"a\",\"realm\":\"example.org\",\"lastChangeUSec\":11}", -EINVAL, "realm" },
        { "{\"userName\":\"a\",\"realm\":\"example.com\",\"lastChangeUSec\":10}",
          "{\"userName\":\"a\",\"realm\":\"example.com\",\"lastChangeUSec\":11}", 0, NULL },
};

static void test_update_table(void **state)
{
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_json_ json_t *old_record = test_parse(cases[i].old_json);
                _cleanup_json_ json_t *new_record = test_parse(cases[i].new_json);
                RecordError err = {};
                int r;

                r = user_record_check_update(old_record, new_record, &err);
                if (r != cases[i].expected)
                        fail_msg("case %zu: expected %d, got %d (%s)", i, cases[i].expected, r, err.message);
                if (cases[i].field && !streq(err.field, cases[i].field))
                        fail_msg("case %zu: expected field %s, got %s", i, cases[i].field, err.field);
        }
}

static void test_update_downgrade_message(void **state)
{
        _cleanup_json_ json_t *old_record = test_parse("{\"userName\":\"a\",\"lastChangeUSec\":10}");
        _cleanup_json_ json_t *new_record = test_parse("{\"userName\":\"a\",\"lastChangeUSec\":9}");
        RecordError err = {};

        assert_int_equal(user_record_check_update(old_record, new_record, &err), -ESTALE);
        assert_non_null(strstr(err.message, "refusing to downgrade"));
}

static void test_update_of_homed_vector_by_itself_is_same(void **state)
{
        _cleanup_json_ json_t *host = test_load("INTEROP_DIR", "systemd/vecuser.host.identity");
        _cleanup_json_ json_t *embedded = test_load("INTEROP_DIR", "systemd/vecuser.embedded.identity");

        assert_int_equal(user_record_check_update(host, embedded, NULL), USER_RECORD_UPDATE_SAME);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_update_table),
                cmocka_unit_test(test_update_downgrade_message),
                cmocka_unit_test(test_update_of_homed_vector_by_itself_is_same),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
