/* SPDX-License-Identifier: MIT */
/* snapd's serial rules (asserts/device_asserts.go). */
#include "types-test-util.h"

#define FIXTURE "serial"

static void test_fields(void **state)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture(FIXTURE);
        _cleanup_(serial_freep) Serial *s = NULL;
        AssertionError err = {};
        usec_t t;

        assert_int_equal(serial_from_assertion(a, &s, &err), 0);
        assert_string_equal(s->brand_id, "acme");
        assert_string_equal(s->model, "appliance-1");
        assert_string_equal(s->serial, "SN-0001");
        assert_string_equal(s->device_key_sha3_384,
                            "EAD4DbLxK_kn0gzNCXOs3kd6DeMU3f-L6BEsSEuJGBqCORR0gXkdDxMbOm11mRFu");
        assert_true(startswith(s->device_key, "AcbBTQRW"));
        assert_int_equal(s->device_key_size, strlen(s->device_key));
        assert_int_equal(time_parse_rfc3339("2024-01-01T00:00:00Z", &t), 0);
        assert_int_equal(s->timestamp, t);
}

static void test_rules(void **state)
{
        static const TypesCase cases[] = {
                { "brand-id bad", "brand-id", "\"ACME_\"",
                  "\"brand-id\" header contains invalid characters: \"ACME_\"" },
                { "brand-id 32 alnum", "brand-id", "\"BhgbYoDtThegqVkEU7oiZP8GQwCoUIxz\"", NULL },
                { "model upper case", "model", "\"Appliance\"",
                  "\"model\" header cannot contain uppercase letters" },
                { "model bad", "model", "\"a_b\"", "\"model\" header contains invalid characters" },
                { "serial missing", "serial", NULL, "\"serial\" header is mandatory" },
                { "serial with /", "serial", "\"a/b\"", "\"serial\" primary key header cannot contain '/'" },
                { "device-key missing", "device-key", NULL, "\"device-key\" header is mandatory" },
                { "device-key garbage", "device-key", "\"not base64!\"", "assertion serial: " },
                { "device-key-sha3-384 missing", "device-key-sha3-384", NULL,
                  "\"device-key-sha3-384\" header is mandatory" },
                { "device-key-sha3-384 of another key", "device-key-sha3-384",
                  "\"XCIC_Wvj9_hiAt0b10sDon74oGr3a6xGODkMZqrj63ZzNYUD5N87-ojjPoeN7f1Y\"",
                  "device key does not match provided key id" },
                { "timestamp missing", "timestamp", NULL, "\"timestamp\" header is mandatory" },
                { "format 1", "format", "\"1\"", "format 1 is not supported (at most 0)" },
        };
        types_run_cases(FIXTURE, types_view_serial, cases, ELEMENTSOF(cases));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_rules),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
