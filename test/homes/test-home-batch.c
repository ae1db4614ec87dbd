/* SPDX-License-Identifier: MIT */
/* A batch of home creations (home-batch.h): the UIDs it picks are the ones one-by-one creation picks, also
 * for names whose first candidates collide (the batch counts its own picks from memory), a record UID a
 * batch home took is taken for the rest of the batch, and the homes are whole once the batch ends. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "home-batch.h"
#include "home-test-util.h"
#include "uid-alloc.h"
#include "user-record.h"

/* Two names homed would first give the same UID. */
static void colliding_names(char a[static 16], char b[static 16])
{
        uid_t seen[HOME_UID_MAX - HOME_UID_MIN + 1] = {};

        for (unsigned i = 1; i < 100000; i++) {
                char name[16];
                snprintf(name, sizeof(name), "user%u", i);
                uid_t c = uid_alloc_first_candidate(name);
                if (seen[c - HOME_UID_MIN]) {
                        snprintf(a, 16, "user%u", (unsigned) seen[c - HOME_UID_MIN]);
                        snprintf(b, 16, "%s", name);
                        return;
                }
                seen[c - HOME_UID_MIN] = i;
        }
        fail_msg("no two names collide");
}

static uid_t home_owner(const char *root, const char *name)
{
        _cleanup_free_ char *rel = NULL, *path = NULL;
        struct stat st;

        assert_true(asprintf(&rel, "/home/%s.homedir", name) > 0);
        path = test_path(root, rel);
        assert_int_equal(lstat(path, &st), 0);
        return st.st_uid;
}

/* Creates names[0..n) in one batch (batch) or one by one; returns the root. */
static char *create_all(const char *const *names, size_t n, bool batch)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);

        if (batch)
                assert_int_equal(home_batch_begin(h), 0);
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *rec = test_record(names[i], TEST_NOW);
                RecordError err = {};
                if (home_create(h, rec, NULL, &err) < 0)
                        fail_msg("%s: %s", names[i], err.message);
        }
        if (batch)
                assert_int_equal(home_batch_end(h), 0);
        return root;
}

static void batch_picks_what_one_by_one_picks(void **state)
{
        char a[16], b[16];

        colliding_names(a, b);
        const char *names[] = { a, "alice", b, "bob" };
        char *one = create_all(names, ELEMENTSOF(names), false),
             *batch = create_all(names, ELEMENTSOF(names), true);

        assert_int_equal(uid_alloc_first_candidate(a), uid_alloc_first_candidate(b));
        assert_int_not_equal(home_owner(batch, a), home_owner(batch, b));
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                assert_int_equal(home_owner(one, names[i]), home_owner(batch, names[i]));
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *rel = NULL;
                assert_true(asprintf(&rel, "/home/%s.homedir/.identity", names[i]) > 0);
                assert_true(test_exists(batch, rel));
        }
        test_root_free(one);
        test_root_free(batch);
}

static void batch_counts_a_record_uid_it_gave_out(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *alice = test_record("alice", TEST_NOW), *bob = test_record("bob", TEST_NOW);
        RecordError err = {};

        assert_int_equal(json_object_set_new(alice, "uid", json_integer(60300)), 0);
        assert_int_equal(json_object_set_new(bob, "uid", json_integer(60300)), 0);
        assert_int_equal(home_batch_begin(h), 0);
        assert_int_equal(home_create(h, alice, NULL, NULL), 0);
        assert_int_equal(home_create(h, bob, NULL, &err), -EEXIST);
        assert_string_equal(err.message, "uid: 60300 is already in use");
        assert_int_equal(home_batch_end(h), 0);
        assert_false(test_exists(root, "/home/bob.homedir"));
        test_root_free(root);
}

static void batch_sees_what_the_tree_held_before(void **state)
{
        char *root = test_root_new();
        _cleanup_home_ Home *h = test_home_new(root, 0);
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);

        test_write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\ntaken:x:60456:60456::/:/bin/sh\n", 0644);
        assert_int_equal(home_batch_begin(h), 0);
        assert_int_equal(home_batch_begin(h), -EBUSY);
        assert_int_equal(home_create(h, rec, NULL, NULL), 0);
        assert_int_equal(home_batch_end(h), 0);
        assert_int_equal(home_batch_end(h), 0); /* none open: nothing to do */
        test_assert_stat(root, "/home/alice.homedir", S_IFDIR, 0700, 60457, 60457);
        test_root_free(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(batch_picks_what_one_by_one_picks),
                cmocka_unit_test(batch_counts_a_record_uid_it_gave_out),
                cmocka_unit_test(batch_sees_what_the_tree_held_before),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
