/* SPDX-License-Identifier: MIT */
/* fleet_backoff_delay(): the interval with +-10% jitter after success; after failures, exponential from
 * FLEET_BACKOFF_MIN, capped, with equal jitter (never below half the step). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fleet.h"

#define MIN_     FLEET_BACKOFF_MIN
#define INTERVAL (15 * 60 * USEC_PER_SEC)

static void success_stays_within_ten_percent_of_the_interval(void **state)
{
        assert_int_equal(fleet_backoff_delay(0, INTERVAL, 0), INTERVAL - INTERVAL / 10);
        assert_int_equal(fleet_backoff_delay(0, INTERVAL, INTERVAL / 5), INTERVAL + INTERVAL / 10);
        assert_int_equal(fleet_backoff_delay(0, INTERVAL, UINT64_MAX) <= INTERVAL + INTERVAL / 10, 1);
        assert_int_equal(fleet_backoff_delay(0, INTERVAL, UINT64_MAX) >= INTERVAL - INTERVAL / 10, 1);
}

static void first_failure_retries_after_the_minimum_with_equal_jitter(void **state)
{
        assert_int_equal(fleet_backoff_delay(1, INTERVAL, 0), MIN_ / 2);
        assert_int_equal(fleet_backoff_delay(1, INTERVAL, MIN_ / 2), MIN_);
        assert_int_equal(fleet_backoff_delay(1, INTERVAL, MIN_ / 2 + 1), MIN_ / 2);
}

static void failures_double_the_step(void **state)
{
        /* random 0: the fixed half of each step */
        assert_int_equal(fleet_backoff_delay(2, INTERVAL, 0), MIN_);
        assert_int_equal(fleet_backoff_delay(3, INTERVAL, 0), 2 * MIN_);
        assert_int_equal(fleet_backoff_delay(4, INTERVAL, 0), 4 * MIN_);
        assert_int_equal(fleet_backoff_delay(5, INTERVAL, 0), 8 * MIN_);
}

static void backoff_is_capped_at_the_interval(void **state)
{
        /* 30 s * 2^5 = 16 min > 15 min: capped */
        assert_int_equal(fleet_backoff_delay(6, INTERVAL, 0), INTERVAL / 2);
        assert_int_equal(fleet_backoff_delay(6, INTERVAL, INTERVAL / 2), INTERVAL);
        assert_int_equal(fleet_backoff_delay(1000, INTERVAL, INTERVAL / 2), INTERVAL);
        assert_int_equal(fleet_backoff_delay(UINT32_MAX, INTERVAL, UINT64_MAX) <= INTERVAL, 1);
}

static void backoff_is_capped_at_the_maximum_for_long_intervals(void **state)
{
        usec_t week = 7 * 24 * 3600 * USEC_PER_SEC;
        assert_int_equal(fleet_backoff_delay(1000, week, FLEET_BACKOFF_MAX / 2), FLEET_BACKOFF_MAX);
        assert_int_equal(fleet_backoff_delay(1000, week, 0), FLEET_BACKOFF_MAX / 2);
}

static void short_interval_still_waits_the_minimum(void **state)
{
        usec_t ten = 10 * USEC_PER_SEC;
        assert_int_equal(fleet_backoff_delay(5, ten, MIN_ / 2), MIN_);
        assert_int_equal(fleet_backoff_delay(5, ten, 0), MIN_ / 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(success_stays_within_ten_percent_of_the_interval),
                cmocka_unit_test(first_failure_retries_after_the_minimum_with_equal_jitter),
                cmocka_unit_test(failures_double_the_step),
                cmocka_unit_test(backoff_is_capped_at_the_interval),
                cmocka_unit_test(backoff_is_capped_at_the_maximum_for_long_intervals),
                cmocka_unit_test(short_interval_still_waits_the_minimum),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
