/* SPDX-License-Identifier: MIT */
/* The assertion store (assertion-store.h): commits, newest wins, merges keep the packs few, a reader's
 * snapshot outlives later commits and merges, a writer with a stale snapshot is refused, leftovers are
 * invisible to readers and removed by recovery, a gap is damage, the old per-file layout is read and
 * migrated. The store does not check signatures: these assertions carry a placeholder one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "assertion-pack.h"
#include "assertion-store.h"
#include "file-util.h"
#include "macros.h"

#define KEY "Jv8_JiHiIzJVcO9M55pPdqSDWUvuhfDIBJUS-3VW7F_idjix7Ffn5qMxB21ZQuij"
#define T1  ((usec_t) 1767225600ULL * USEC_PER_SEC) /* 2026-01-01 */
#define T2  ((usec_t) 1780000000ULL * USEC_PER_SEC)

typedef struct Root {
        char path[64];
        char store[128];
} Root;

static void root_new(Root *r)
{
        strcpy(r->path, "/tmp/corehomed-store-XXXXXX");
        assert_non_null(mkdtemp(r->path));
        snprintf(r->store, sizeof(r->store), "%s" ASSERTION_STORE_DIR, r->path);
}

static void root_free(Root *r)
{
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->path);
        assert_int_equal(system(cmd), 0);
}

/* An account assertion acme-N at a revision, with a placeholder signature. */
static Assertion *account(unsigned n, unsigned revision)
{
        char text[512];
        Assertion *a = NULL;

        snprintf(text, sizeof(text),
                 "type: account\nauthority-id: acme\nrevision: %u\naccount-id: acme-%u\ndisplay-name: A\n"
                 "sign-key-sha3-384: " KEY "\n\nAXNpZw==\n",
                 revision, n);
        assert_int_equal(assertion_decode(text, strlen(text), &a, NULL), 0);
        return a;
}

static void commit(AssertionStore *s, usec_t floor, unsigned n, ...)
{
        Assertion *items[16];
        va_list ap;

        va_start(ap, n);
        for (unsigned i = 0; i < n; i++) {
                unsigned id = va_arg(ap, unsigned), rev = va_arg(ap, unsigned);
                items[i] = account(id, rev);
        }
        va_end(ap);
        assert_int_equal(assertion_store_commit(s, items, n, floor), 0);
        for (unsigned i = 0; i < n; i++)
                assertion_free(items[i]);
}

static char *key_of(unsigned n)
{
        char *k;
        assert_true(asprintf(&k, "account,acme-%u", n) > 0);
        return k;
}

/* The revision stored for acme-N, or -1 when absent. */
static long stored_revision(AssertionStore *s, unsigned n)
{
        _cleanup_free_ char *key = key_of(n), *error = NULL;
        _cleanup_assertion_ Assertion *a = NULL;
        AssertionStoreEntry e;
        int r = assertion_store_find(s, key, &e);

        assert_true(r >= 0);
        if (r == 0)
                return -1;
        assert_int_equal(assertion_store_load(s, &e, key, &a, &error), 0);
        return (long) a->revision;
}

static unsigned count_files(const Root *r, const char *suffix_or_prefix, bool prefix)
{
        DIR *d = opendir(r->store);
        unsigned n = 0;

        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));) {
                size_t l = strlen(de->d_name), s = strlen(suffix_or_prefix);
                if (prefix ? strneq(de->d_name, suffix_or_prefix, s)
                           : l > s && streq(de->d_name + l - s, suffix_or_prefix))
                        n++;
        }
        closedir(d);
        return n;
}

static bool exists(const Root *r, const char *name)
{
        _cleanup_free_ char *p = NULL;
        struct stat st;
        assert_true(asprintf(&p, "%s/%s", r->store, name) > 0);
        return stat(p, &st) == 0;
}

typedef struct Seen {
        char keys[64][64];
        size_t n;
} Seen;

static int remember(const char *key, const AssertionStoreEntry *e, void *userdata)
{
        Seen *seen = userdata;
        assert_true(seen->n < 64);
        snprintf(seen->keys[seen->n++], 64, "%s", key);
        return 0;
}

static void test_missing_store_is_empty_and_stays_missing(void **state)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL;
        Root r;
        Seen seen = {};
        struct stat st;

        root_new(&r);
        assert_int_equal(assertion_store_open(r.path, &s, NULL), 0);
        assert_int_equal(assertion_store_sequence(s), 0);
        assert_int_equal(assertion_store_size(s), 0);
        assert_int_equal(assertion_store_time_floor(s), 0);
        assert_int_equal(stored_revision(s, 1), -1);
        assert_int_equal(assertion_store_foreach(s, "", remember, &seen), 0);
        assert_int_equal(seen.n, 0);
        assert_int_equal(assertion_store_recover(s), 0);
        assert_int_equal(stat(r.store, &st), -1); /* a reader creates nothing */
        root_free(&r);
}

static void test_newest_wins_and_iteration_is_ordered(void **state)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL, *again = NULL;
        Root r;
        Seen seen = {};

        root_new(&r);
        assert_int_equal(assertion_store_open(r.path, &s, NULL), 0);
        commit(s, T1, 3, 2u, 0u, 10u, 0u, 1u, 0u);
        commit(s, 0, 1, 2u, 5u);
        assert_int_equal(assertion_store_sequence(s), 2);
        assert_int_equal(stored_revision(s, 2), 5);
        assert_int_equal(stored_revision(s, 1), 0);
        assert_int_equal(stored_revision(s, 3), -1);
        assert_int_equal(assertion_store_time_floor(s), T1);

        assert_int_equal(assertion_store_open(r.path, &again, NULL), 0);
        assert_int_equal(stored_revision(again, 2), 5);
        assert_int_equal(assertion_store_foreach(again, "account,", remember, &seen), 0);
        assert_int_equal(seen.n, 3);
        assert_string_equal(seen.keys[0], "account,acme-1");
        assert_string_equal(seen.keys[1], "account,acme-10");
        assert_string_equal(seen.keys[2], "account,acme-2");
        seen.n = 0;
        assert_int_equal(assertion_store_foreach(again, "model,", remember, &seen), 0);
        assert_int_equal(seen.n, 0);
        root_free(&r);
}

static void test_merges_keep_the_packs_few(void **state)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL, *again = NULL;
        Root r;

        root_new(&r);
        assert_int_equal(assertion_store_open(r.path, &s, NULL), 0);
        for (unsigned i = 0; i < 100; i++)
                commit(s, T1 + i, 1, i % 40, i / 40);
        /* 100 batches; like a binary counter, never more than about log2(100) packs. */
        print_message("packs after 100 batches: %u\n", count_files(&r, ".pack", false));
        assert_true(count_files(&r, ".pack", false) <= 8);
        assert_int_equal(count_files(&r, ".pack-", true), 0);
        assert_int_equal(assertion_store_sequence(s), 100);
        assert_int_equal(assertion_store_open(r.path, &again, NULL), 0);
        for (unsigned i = 0; i < 40; i++)
                assert_int_equal(stored_revision(again, i), i < 20 ? 2 : 1);
        assert_int_equal(assertion_store_time_floor(again), T1 + 99);
        root_free(&r);
}

static void test_reader_snapshot_outlives_commits_and_merges(void **state)
{
        _cleanup_assertion_store_ AssertionStore *w = NULL, *reader = NULL;
        Root r;

        root_new(&r);
        assert_int_equal(assertion_store_open(r.path, &w, NULL), 0);
        commit(w, 0, 1, 1u, 0u);
        assert_int_equal(assertion_store_open(r.path, &reader, NULL), 0);
        for (unsigned i = 0; i < 8; i++)
                commit(w, 0, 2, 1u, i + 1, i + 2, 0u); /* merges delete the packs the reader holds */
        assert_false(exists(&r, "0000000000000001-0000000000000001.pack")); /* deleted by a merge */
        assert_int_equal(assertion_store_sequence(reader), 1);
        assert_int_equal(stored_revision(reader, 1), 0);
        assert_int_equal(stored_revision(reader, 2), -1);
        assert_int_equal(stored_revision(w, 1), 8);
        root_free(&r);
}

static void test_writer_with_a_stale_snapshot_is_refused(void **state)
{
        _cleanup_assertion_store_ AssertionStore *a = NULL, *b = NULL;
        Assertion *item = account(7, 0);
        Root r;

        root_new(&r);
        assert_int_equal(assertion_store_open(r.path, &a, NULL), 0);
        commit(a, 0, 1, 1u, 0u);
        assert_int_equal(assertion_store_open(r.path, &b, NULL), 0);
        commit(a, 0, 1, 2u, 0u);
        assert_int_equal(assertion_store_commit(b, &item, 1, 0), -EBUSY);
        assert_int_equal(stored_revision(a, 7), -1);
        assertion_free(item);
        root_free(&r);
}

static void write_pack(const Root *r, const char *name, uint64_t first, uint64_t last, unsigned id)
{
        _cleanup_assertion_ Assertion *a = account(id, 0);
        _cleanup_free_ char *wire = NULL, *data = NULL, *path = NULL, *key = key_of(id);
        AssertionPackItem item;
        size_t wire_size, size;

        assert_int_equal(assertion_encode(a, &wire, &wire_size), 0);
        item = (AssertionPackItem){ key, wire, wire_size };
        assert_int_equal(assertion_pack_build(first, last, 0, &item, 1, &data, &size), 0);
        assert_true(asprintf(&path, "%s/%s", r->store, name) > 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, path, data, size, 0600, (uid_t) -1, (gid_t) -1), 0);
}

static void test_leftovers_are_invisible_and_recovered(void **state)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL, *reader = NULL;
        Root r;

        root_new(&r);
        assert_int_equal(assertion_store_open(r.path, &s, NULL), 0);
        for (unsigned i = 1; i <= 4; i++)
                commit(s, 0, 1, i, 0u); /* four packs of one tier: merged into 1..4 */
        assert_int_equal(count_files(&r, ".pack", false), 1);
        assert_true(exists(&r, "0000000000000001-0000000000000004.pack"));
        /* What an interrupted writer leaves: a temporary file, and a pack a merge covers. */
        write_pack(&r, ".pack-0123456789abcdef", 5, 5, 9);
        write_pack(&r, "0000000000000002-0000000000000002.pack", 2, 2, 9);

        assert_int_equal(assertion_store_open(r.path, &reader, NULL), 0);
        assert_int_equal(stored_revision(reader, 9), -1);
        assert_int_equal(stored_revision(reader, 2), 0);
        assert_int_equal(assertion_store_recover(reader), 2);
        assert_int_equal(count_files(&r, ".pack-", true), 0);
        assert_int_equal(count_files(&r, ".pack", false), 1);
        assert_int_equal(assertion_store_recover(reader), 0);
        root_free(&r);
}

static void test_a_gap_is_damage(void **state)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL;
        _cleanup_free_ char *error = NULL;
        Root r;

        root_new(&r);
        assert_int_equal(mkdir_parents_and_self(r.store, 0700), 0);
        write_pack(&r, "0000000000000001-0000000000000001.pack", 1, 1, 1);
        write_pack(&r, "0000000000000003-0000000000000003.pack", 3, 3, 3);
        assert_int_equal(assertion_store_open(r.path, &s, &error), -EBADMSG);
        assert_non_null(strstr(error, "do not hold every batch"));
        root_free(&r);
}

static void test_entry_that_is_not_its_key_is_damage(void **state)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL;
        _cleanup_assertion_ Assertion *a = NULL;
        _cleanup_free_ char *error = NULL;
        AssertionStoreEntry e;
        Root r;

        root_new(&r);
        assert_int_equal(mkdir_parents_and_self(r.store, 0700), 0);
        write_pack(&r, "0000000000000001-0000000000000001.pack", 1, 1, 1);
        /* Rename acme-1's entry to acme-2 in the index: the bytes say acme-1. */
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t size;
        assert_true(asprintf(&path, "%s/0000000000000001-0000000000000001.pack", r.store) > 0);
        assert_int_equal(read_file_bounded(AT_FDCWD, path, 1 << 20, &data, &size), 0);
        char *k = strstr(data, "account,acme-1 ");
        assert_non_null(k);
        k[strlen("account,acme-")] = '2';
        assert_int_equal(write_file_atomic(AT_FDCWD, path, data, size, 0600, (uid_t) -1, (gid_t) -1), 0);

        assert_int_equal(assertion_store_open(r.path, &s, NULL), 0);
        assert_int_equal(assertion_store_find(s, "account,acme-2", &e), 1);
        assert_int_equal(assertion_store_load(s, &e, "account,acme-2", &a, &error), -EBADMSG);
        assert_non_null(strstr(error, "damaged"));
        root_free(&r);
}

static void write_legacy(const Root *r, unsigned id)
{
        _cleanup_assertion_ Assertion *a = account(id, 0);
        _cleanup_free_ char *wire = NULL, *dir = NULL, *path = NULL;
        size_t size;

        assert_int_equal(assertion_encode(a, &wire, &size), 0);
        assert_true(asprintf(&dir, "%s/account", r->store) > 0);
        assert_int_equal(mkdir_parents_and_self(dir, 0700), 0);
        assert_true(asprintf(&path, "%s/acme-%u.assert", dir, id) > 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, path, wire, size, 0600, (uid_t) -1, (gid_t) -1), 0);
}

static void legacy_root(Root *r)
{
        _cleanup_free_ char *floor = NULL;

        root_new(r);
        write_legacy(r, 1);
        write_legacy(r, 2);
        assert_true(asprintf(&floor, "%s/time-floor", r->store) > 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, floor, "2026-01-01T00:00:00Z\n", 21, 0600, (uid_t) -1,
                                           (gid_t) -1),
                         0);
}

static void test_old_layout_is_read_then_migrated_by_a_commit(void **state)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL, *again = NULL;
        Root r;

        legacy_root(&r);
        assert_int_equal(assertion_store_open(r.path, &s, NULL), 0);
        assert_int_equal(stored_revision(s, 1), 0);
        assert_int_equal(stored_revision(s, 2), 0);
        assert_int_equal(assertion_store_time_floor(s), T1);
        commit(s, 0, 2, 2u, 1u, 3u, 0u);
        assert_false(exists(&r, "account"));
        assert_false(exists(&r, "time-floor"));

        assert_int_equal(assertion_store_open(r.path, &again, NULL), 0);
        assert_int_equal(stored_revision(again, 1), 0);
        assert_int_equal(stored_revision(again, 2), 1);
        assert_int_equal(stored_revision(again, 3), 0);
        assert_int_equal(assertion_store_time_floor(again), T1);
        root_free(&r);
}

static void test_old_layout_is_migrated_by_recovery(void **state)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL, *again = NULL;
        Root r;

        legacy_root(&r);
        assert_int_equal(assertion_store_open(r.path, &s, NULL), 0);
        assert_true(assertion_store_recover(s) >= 0);
        assert_false(exists(&r, "account"));
        assert_int_equal(count_files(&r, ".pack", false), 1);
        assert_int_equal(assertion_store_open(r.path, &again, NULL), 0);
        assert_int_equal(stored_revision(again, 2), 0);
        assert_int_equal(assertion_store_time_floor(again), T1);
        root_free(&r);
}

static void test_old_time_floor_alone_is_migrated(void **state)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL, *again = NULL;
        _cleanup_free_ char *floor = NULL;
        Root r;

        root_new(&r);
        assert_int_equal(mkdir_parents_and_self(r.store, 0700), 0);
        assert_true(asprintf(&floor, "%s/time-floor", r.store) > 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, floor, "2026-01-01T00:00:00Z\n", 21, 0600, (uid_t) -1,
                                           (gid_t) -1),
                         0);
        assert_int_equal(assertion_store_open(r.path, &s, NULL), 0);
        assert_true(assertion_store_recover(s) >= 0);
        assert_false(exists(&r, "time-floor"));
        assert_int_equal(assertion_store_open(r.path, &again, NULL), 0);
        assert_int_equal(assertion_store_time_floor(again), T1);
        assert_int_equal(assertion_store_size(again), 0);
        root_free(&r);
}

static void test_time_floor_only_rises(void **state)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL;
        usec_t floor;
        Root r;

        root_new(&r);
        assert_int_equal(assertion_store_open(r.path, &s, NULL), 0);
        commit(s, T2, 1, 1u, 0u);
        commit(s, T1, 1, 2u, 0u);
        assert_int_equal(assertion_store_time_floor(s), T2);
        assert_int_equal(assertion_store_read_time_floor(r.path, &floor), 0);
        assert_int_equal(floor, T2);
        root_free(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_missing_store_is_empty_and_stays_missing),
                cmocka_unit_test(test_newest_wins_and_iteration_is_ordered),
                cmocka_unit_test(test_merges_keep_the_packs_few),
                cmocka_unit_test(test_reader_snapshot_outlives_commits_and_merges),
                cmocka_unit_test(test_writer_with_a_stale_snapshot_is_refused),
                cmocka_unit_test(test_leftovers_are_invisible_and_recovered),
                cmocka_unit_test(test_a_gap_is_damage),
                cmocka_unit_test(test_entry_that_is_not_its_key_is_damage),
                cmocka_unit_test(test_old_layout_is_read_then_migrated_by_a_commit),
                cmocka_unit_test(test_old_layout_is_migrated_by_recovery),
                cmocka_unit_test(test_old_time_floor_alone_is_migrated),
                cmocka_unit_test(test_time_floor_only_rises),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
