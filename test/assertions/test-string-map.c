/* SPDX-License-Identifier: MIT */
/* The trust database's hash map (string-map.h): what is put is found, replaced values come back, removal
 * (backward shift, no tombstones) keeps every other key findable, iteration sees each key once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "string-map.h"

#define N 5000

static char keys[N][16];

static void test_put_get_replace_remove(void **state)
{
        _cleanup_string_map_ StringMap *m = string_map_new();
        void *old = NULL;

        assert_non_null(m);
        assert_null(string_map_get(m, "absent"));
        assert_null(string_map_remove(m, "absent"));
        for (size_t i = 0; i < N; i++) {
                snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
                assert_int_equal(string_map_put(m, keys[i], &keys[i], &old), 0);
                assert_null(old);
        }
        assert_int_equal(string_map_size(m), N);
        assert_int_equal(string_map_put(m, keys[7], &keys[8], &old), 0);
        assert_ptr_equal(old, &keys[7]);
        assert_int_equal(string_map_size(m), N);
        assert_int_equal(string_map_put(m, keys[7], &keys[7], NULL), 0);

        /* Remove every third key: the others stay findable whatever probe runs the removals cut. */
        for (size_t i = 0; i < N; i += 3)
                assert_ptr_equal(string_map_remove(m, keys[i]), &keys[i]);
        for (size_t i = 0; i < N; i++)
                assert_ptr_equal(string_map_get(m, keys[i]), i % 3 == 0 ? NULL : &keys[i]);
        assert_int_equal(string_map_size(m), N - (N + 2) / 3);

        size_t state_ = 0, seen = 0;
        const char *k;
        void *v;
        while (string_map_next(m, &state_, &k, &v)) {
                assert_ptr_equal(v, string_map_get(m, k));
                seen++;
        }
        assert_int_equal(seen, string_map_size(m));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_put_get_replace_remove),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
