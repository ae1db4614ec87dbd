/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "macros.h"
#include "time-util.h"

static void test_parse_utc_and_offsets(void **state)
{
        usec_t t;

        assert_int_equal(time_parse_rfc3339("1970-01-01T00:00:00Z", &t), 0);
        assert_int_equal(t, 0);
        assert_int_equal(time_parse_rfc3339("2016-01-01T00:00:00Z", &t), 0);
        assert_int_equal(t, 1451606400ULL * USEC_PER_SEC);
        assert_int_equal(time_parse_rfc3339("2016-01-01T02:00:00+02:00", &t), 0);
        assert_int_equal(t, 1451606400ULL * USEC_PER_SEC);
        assert_int_equal(time_parse_rfc3339("2015-12-31T23:00:00-01:00", &t), 0);
        assert_int_equal(t, 1451606400ULL * USEC_PER_SEC);
        assert_int_equal(time_parse_rfc3339("2024-02-29T12:00:00.5Z", &t), 0);
        assert_int_equal(t, 1709208000ULL * USEC_PER_SEC + 500000);
        assert_int_equal(time_parse_rfc3339("2024-02-29T12:00:00.123456789Z", &t), 0);
        assert_int_equal(t, 1709208000ULL * USEC_PER_SEC + 123456);
}

static void test_parse_refuses_other_forms(void **state)
{
        static const char *bad[] = {
                "",
                "2016-01-01",
                "2016-01-01 00:00:00Z",
                "2016-01-01T00:00:00",
                "2016-01-01T00:00:00z",
                "2016-13-01T00:00:00Z",
                "2023-02-29T00:00:00Z",
                "2016-01-01T24:00:00Z",
                "2016-01-01T00:00:60Z",
                "2016-01-01T00:00:00.Z",
                "2016-01-01T00:00:00+0200",
                "2016-01-01T00:00:00Z ",
                "16-01-01T00:00:00Z",
                "1969-12-31T23:59:59Z",
        };
        usec_t t;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(time_parse_rfc3339(bad[i], &t), -EINVAL);
}

static void test_format_roundtrip(void **state)
{
        char buf[RFC3339_MAX];
        usec_t t;

        assert_int_equal(time_format_rfc3339(1451606400ULL * USEC_PER_SEC, buf), 0);
        assert_string_equal(buf, "2016-01-01T00:00:00Z");
        assert_int_equal(time_format_rfc3339(1451606400ULL * USEC_PER_SEC + 42, buf), 0);
        assert_string_equal(buf, "2016-01-01T00:00:00.000042Z");
        assert_int_equal(time_parse_rfc3339(buf, &t), 0);
        assert_int_equal(t, 1451606400ULL * USEC_PER_SEC + 42);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_utc_and_offsets),
                cmocka_unit_test(test_parse_refuses_other_forms),
                cmocka_unit_test(test_format_roundtrip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
