/* SPDX-License-Identifier: MIT */
/* The pack file format (assertion-pack.h): what assertion_pack_build() writes reads back; every key is found
 * by the binary search over the index text, absent keys are absent, prefixes are ranges; the header's
 * bounds at N and N+1; malformed headers and index lines are refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assertion-pack.h"
#include "macros.h"

static const AssertionPackItem items[] = {
        { "account,acme", "A1\n", 3 },
        { "account-key,KEYID", "AK\n", 3 }, /* ',' sorts before '-': one type's keys stay together */
        { "system-user,acme,alice@example.com", "SU-alice\n", 9 },
        { "system-user,acme,bob@example.com", "SU-bob\n", 7 },
        { "system-user,acme-corp,carol@example.com", "SU-carol\n", 9 },
};

static int compare_items(const void *a, const void *b)
{
        return strcmp(((const AssertionPackItem *) a)->key, ((const AssertionPackItem *) b)->key);
}

static char *build(size_t n, size_t *ret_size, AssertionPackHeader *ret_header)
{
        AssertionPackItem sorted[ELEMENTSOF(items)];
        char *data;

        memcpy(sorted, items, sizeof(items));
        qsort(sorted, n, sizeof(AssertionPackItem), compare_items);
        assert_int_equal(assertion_pack_build(3, 7, (usec_t) 1767225600ULL * USEC_PER_SEC, sorted, n, &data,
                                              ret_size),
                         0);
        assert_int_equal(assertion_pack_header_parse(data, *ret_size, ret_header), 0);
        return data;
}

static void test_build_and_find_every_key(void **state)
{
        AssertionPackHeader h;
        size_t size;
        _cleanup_free_ char *data = build(ELEMENTSOF(items), &size, &h);
        const char *index = data + h.header_size, *stream = index + h.index_size;

        assert_int_equal(h.first, 3);
        assert_int_equal(h.last, 7);
        assert_int_equal(h.time_floor, (usec_t) 1767225600ULL * USEC_PER_SEC);
        assert_int_equal(h.count, ELEMENTSOF(items));
        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                AssertionPackEntry e;
                assert_int_equal(assertion_pack_index_find(index, h.index_size, items[i].key, &e), 1);
                assert_int_equal(e.size, items[i].wire_size);
                assert_memory_equal(stream + e.offset, items[i].wire, e.size);
        }
        /* The stream part is one snapd stream: wire forms separated by one newline. */
        assert_int_equal(size - h.header_size - h.index_size, 3 + 3 + 9 + 7 + 9 + 4);
}

static void test_absent_keys_are_absent(void **state)
{
        AssertionPackHeader h;
        size_t size;
        _cleanup_free_ char *data = build(ELEMENTSOF(items), &size, &h);
        const char *index = data + h.header_size;
        const char *absent[] = {
                "a", "account,acm", "account,acme0", "model,x", "system-user,acme,b", "zzz"
        };
        AssertionPackEntry e;

        for (size_t i = 0; i < ELEMENTSOF(absent); i++)
                assert_int_equal(assertion_pack_index_find(index, h.index_size, absent[i], &e), 0);
        assert_int_equal(assertion_pack_index_find("", 0, "account,acme", &e), 0); /* an empty pack */
}

static void test_prefix_is_a_range(void **state)
{
        AssertionPackHeader h;
        size_t size, lo, hi, n = 0;
        _cleanup_free_ char *data = build(ELEMENTSOF(items), &size, &h);
        const char *index = data + h.header_size;

        assert_int_equal(assertion_pack_index_lower_bound(index, h.index_size, "system-user,", 12, &lo), 0);
        assert_int_equal(assertion_pack_index_lower_bound(index, h.index_size, "system-user-", 12, &hi), 0);
        for (size_t pos = lo; pos < hi; n++) {
                AssertionPackEntry e;
                assert_int_equal(assertion_pack_index_entry(index, hi, pos, &e), 0);
                assert_true(strneq(e.key, "system-user,", 12));
                pos = e.next;
        }
        assert_int_equal(n, 3);
        assert_int_equal(assertion_pack_index_lower_bound(index, h.index_size, "account,", 8, &lo), 0);
        assert_int_equal(assertion_pack_index_lower_bound(index, h.index_size, "account-", 8, &hi), 0);
        assert_true(hi > lo);
}

static void test_build_refuses_unsorted_duplicate_and_bad_keys(void **state)
{
        AssertionPackItem unsorted[] = { { "b,x", "1", 1 }, { "a,x", "2", 1 } };
        AssertionPackItem duplicate[] = { { "a,x", "1", 1 }, { "a,x", "2", 1 } };
        AssertionPackItem space[] = { { "a,x y", "1", 1 } };
        AssertionPackItem empty[] = { { "a,x", "", 0 } };
        char *data = NULL;
        size_t size;

        assert_int_equal(assertion_pack_build(1, 1, 0, unsorted, 2, &data, &size), -EINVAL);
        assert_int_equal(assertion_pack_build(1, 1, 0, duplicate, 2, &data, &size), -EINVAL);
        assert_int_equal(assertion_pack_build(1, 1, 0, space, 1, &data, &size), -EINVAL);
        assert_int_equal(assertion_pack_build(1, 1, 0, empty, 1, &data, &size), -EINVAL);
        assert_int_equal(assertion_pack_build(0, 1, 0, NULL, 0, &data, &size), -EINVAL);
        assert_int_equal(assertion_pack_build(2, 1, 0, NULL, 0, &data, &size), -EINVAL);
        assert_null(data);
}

static int parse(const char *text)
{
        AssertionPackHeader h;
        return assertion_pack_header_parse(text, strlen(text), &h);
}

static void test_header_limits(void **state)
{
        char text[256];

        snprintf(text, sizeof(text), ASSERTION_PACK_MAGIC "first: 1\nlast: 1\ncount: %d\nindex-size: %d\n\n",
                 ASSERTION_PACK_ENTRIES_MAX, ASSERTION_PACK_INDEX_MAX);
        assert_int_equal(parse(text), 0);
        snprintf(text, sizeof(text), ASSERTION_PACK_MAGIC "first: 1\nlast: 1\ncount: %d\nindex-size: 0\n\n",
                 ASSERTION_PACK_ENTRIES_MAX + 1);
        assert_int_equal(parse(text), -E2BIG);
        snprintf(text, sizeof(text), ASSERTION_PACK_MAGIC "first: 1\nlast: 1\ncount: 0\nindex-size: %d\n\n",
                 ASSERTION_PACK_INDEX_MAX + 1);
        assert_int_equal(parse(text), -E2BIG);

        /* The header must end within ASSERTION_PACK_HEADER_MAX bytes. */
        char *big = calloc(1, ASSERTION_PACK_HEADER_MAX + 64);
        AssertionPackHeader h;
        assert_non_null(big);
        strcpy(big, ASSERTION_PACK_MAGIC "first: 1\nlast: 1\ncount: 0\nindex-size: 0\n\n");
        assert_int_equal(assertion_pack_header_parse(big, ASSERTION_PACK_HEADER_MAX + 64, &h), 0);
        assert_int_equal(assertion_pack_header_parse(big, h.header_size, &h), 0);
        assert_int_equal(assertion_pack_header_parse(big, h.header_size - 1, &h), -EBADMSG);
        free(big);
}

static void test_malformed_headers_are_refused(void **state)
{
        const char *bad[] = {
                "",
                "corehomed-assertion-pack 2\nfirst: 1\nlast: 1\ncount: 0\nindex-size: 0\n\n",
                ASSERTION_PACK_MAGIC "first: 0\nlast: 1\ncount: 0\nindex-size: 0\n\n",
                ASSERTION_PACK_MAGIC "first: 2\nlast: 1\ncount: 0\nindex-size: 0\n\n",
                ASSERTION_PACK_MAGIC "first: 01\nlast: 1\ncount: 0\nindex-size: 0\n\n",
                ASSERTION_PACK_MAGIC "first: 1\nlast: 1\ncount: -1\nindex-size: 0\n\n",
                ASSERTION_PACK_MAGIC "first: 1\nlast: 99999999999999999999\ncount: 0\nindex-size: 0\n\n",
                ASSERTION_PACK_MAGIC "first: 1\nlast: 1\ncount: 0\nindex-size: 0\n",
                ASSERTION_PACK_MAGIC "first: 1\nlast: 1\ncount: 0\nindex-size: 0\nextra: 1\n\n",
                ASSERTION_PACK_MAGIC "first: 1\nlast: 1\ntime-floor: yesterday\ncount: 0\nindex-size: 0\n\n",
                ASSERTION_PACK_MAGIC "last: 1\nfirst: 1\ncount: 0\nindex-size: 0\n\n",
                ASSERTION_PACK_MAGIC "first:1\nlast: 1\ncount: 0\nindex-size: 0\n\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (parse(bad[i]) != -EBADMSG)
                        fail_msg("accepted header %zu", i);
        assert_int_equal(parse(ASSERTION_PACK_MAGIC "first: 1\nlast: 1\ntime-floor: 2026-01-01T00:00:00Z\n"
                                                    "count: 0\nindex-size: 0\n\n"),
                         0);
}

static void test_malformed_index_lines_are_refused(void **state)
{
        const char *bad[] = {
                "a,x 0 1", /* no newline */
                "a,x 0\n",   "a,x\n",      "a,x 0 0\n", "a,x 00 1\n", "a,x 0 1 2\n",
                "a x 0 1\n", "a,x  0 1\n", " 0 1\n",    "a/x 0 1\n",
        };
        AssertionPackEntry e;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (assertion_pack_index_entry(bad[i], strlen(bad[i]), 0, &e) != -EBADMSG)
                        fail_msg("accepted index line %zu", i);
        }
        assert_int_equal(assertion_pack_index_entry("a,x 0 1\n", 8, 0, &e), 0);
        assert_int_equal(e.next, 8);
        /* A search that meets a malformed line says so rather than guessing. */
        assert_int_equal(assertion_pack_index_find("a,x 0 1\nb,x oops\nc,x 0 1\n", 26, "b,y", &e), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_build_and_find_every_key),
                cmocka_unit_test(test_absent_keys_are_absent),
                cmocka_unit_test(test_prefix_is_a_range),
                cmocka_unit_test(test_build_refuses_unsorted_duplicate_and_bad_keys),
                cmocka_unit_test(test_header_limits),
                cmocka_unit_test(test_malformed_headers_are_refused),
                cmocka_unit_test(test_malformed_index_lines_are_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
