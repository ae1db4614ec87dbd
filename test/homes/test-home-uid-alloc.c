/* SPDX-License-Identifier: MIT */
/* homed-compatible UID choice: the observed first candidates, and the skipping of numbers in use. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "file-util.h"
#include "macros.h"
#include "uid-alloc.h"

static char *make_root(void)
{
        char *root = strdup("/tmp/test-home-uid-alloc.XXXXXX");

        assert_non_null(root);
        assert_non_null(mkdtemp(root));
        return root;
}

static void write_root_file(const char *root, const char *path, const char *content)
{
        _cleanup_free_ char *full = NULL, *dir = NULL;

        assert_int_equal(path_join_root(root, path, &full), 0);
        dir = strdup(full);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_parents_and_self(dir, 0755), 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, full, content, strlen(content), 0644, -1, -1), 0);
}

static void remove_root(char *root)
{
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "rm -rf '%s'", root) > 0);
        assert_int_equal(system(cmd), 0);
        free(root);
}

static void first_candidate_matches_homed_252_observations(void **state)
{
        assert_int_equal(uid_alloc_first_candidate("testuser"), 60155);
        assert_int_equal(uid_alloc_first_candidate("bar"), 60022);
        assert_int_equal(uid_alloc_first_candidate("alice"), 60456);
        assert_int_equal(uid_alloc_first_candidate("zed"), 60298);
        assert_int_equal(uid_alloc_first_candidate("pmtest"), 60211);
}

static void first_candidate_stays_in_range(void **state)
{
        char name[16];

        for (unsigned i = 0; i < 5000; i++) {
                snprintf(name, sizeof(name), "u%u", i);
                uid_t u = uid_alloc_first_candidate(name);
                assert_true(u >= HOME_UID_MIN && u <= HOME_UID_MAX);
        }
}

static void next_candidate_wraps_at_range_end(void **state)
{
        assert_int_equal(uid_alloc_next_candidate(60001), 60002);
        assert_int_equal(uid_alloc_next_candidate(60512), 60513);
        assert_int_equal(uid_alloc_next_candidate(60513), 60001);
}

static void pick_uses_first_candidate_in_empty_root(void **state)
{
        char *root = make_root();
        _cleanup_(uid_usage_freep) UidUsage *u = NULL;
        uid_t uid;

        assert_int_equal(uid_usage_load(root, NULL, 0, &u), 0);
        assert_int_equal(u->n, 0);
        assert_int_equal(uid_alloc_pick(u, "alice", &uid), 0);
        assert_int_equal(uid, 60456);
        remove_root(root);
}

static void pick_skips_uid_in_passwd_gid_in_group_and_other_homes(void **state)
{
        char *root = make_root();
        _cleanup_(uid_usage_freep) UidUsage *u = NULL;
        uid_t other_home = 60458, uid;

        /* alice's first candidate is taken as a UID, the next as a GID only, the third by another home. */
        write_root_file(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nsq:x:60456:100::/:/bin/sh\n");
        write_root_file(root, "/etc/group", "root:x:0:\ngrp:x:60457:\n");
        assert_int_equal(uid_usage_load(root, &other_home, 1, &u), 0);
        assert_true(uid_usage_contains(u, 60456));
        assert_true(uid_usage_contains(u, 60457));
        assert_true(uid_usage_contains(u, 60458));
        assert_false(uid_usage_contains(u, 60459));
        assert_int_equal(uid_alloc_pick(u, "alice", &uid), 0);
        assert_int_equal(uid, 60459);
        remove_root(root);
}

static void pick_reads_ubuntu_core_extrausers(void **state)
{
        char *root = make_root();
        _cleanup_(uid_usage_freep) UidUsage *u = NULL;
        uid_t uid;

        write_root_file(root, "/var/lib/extrausers/passwd", "ext:x:60155:60155::/home/ext:/bin/sh\n");
        assert_int_equal(uid_usage_load(root, NULL, 0, &u), 0);
        assert_int_equal(uid_alloc_pick(u, "testuser", &uid), 0);
        assert_int_equal(uid, 60156);
        remove_root(root);
}

static void malformed_passwd_lines_are_ignored(void **state)
{
        char *root = make_root();
        _cleanup_(uid_usage_freep) UidUsage *u = NULL;

        write_root_file(
                root, "/etc/passwd",
                "+nis\nbad:x:12a:0::/:/bin/sh\nhuge:x:99999999999:0::/:\nshort:x:7\n\nok:x:42:0::/:\n");
        assert_int_equal(uid_usage_load(root, NULL, 0, &u), 0);
        assert_int_equal(u->n, 1);
        assert_true(uid_usage_contains(u, 42));
        remove_root(root);
}

static void symlinked_passwd_is_refused(void **state)
{
        char *root = make_root();
        _cleanup_free_ char *etc = NULL, *link = NULL;
        _cleanup_(uid_usage_freep) UidUsage *u = NULL;

        assert_int_equal(path_join_root(root, "/etc", &etc), 0);
        assert_int_equal(mkdir(etc, 0755), 0);
        assert_int_equal(path_join_root(root, "/etc/passwd", &link), 0);
        assert_int_equal(symlink("/etc/passwd", link), 0);
        assert_int_equal(uid_usage_load(root, NULL, 0, &u), -ELOOP);
        remove_root(root);
}

static void pick_fails_when_range_is_full(void **state)
{
        uid_t *all = calloc(HOME_UID_MAX - HOME_UID_MIN + 1, sizeof(uid_t));
        _cleanup_(uid_usage_freep) UidUsage *u = NULL;
        char *root = make_root();
        uid_t uid;

        for (uid_t i = HOME_UID_MIN; i <= HOME_UID_MAX; i++)
                all[i - HOME_UID_MIN] = i;
        assert_int_equal(uid_usage_load(root, all, HOME_UID_MAX - HOME_UID_MIN, &u), 0);
        /* One number left (HOME_UID_MAX): the probe must find it wherever it starts. */
        assert_int_equal(uid_alloc_pick(u, "zed", &uid), 0);
        assert_int_equal(uid, HOME_UID_MAX);
        u = uid_usage_free(u);
        assert_int_equal(uid_usage_load(root, all, HOME_UID_MAX - HOME_UID_MIN + 1, &u), 0);
        assert_int_equal(uid_alloc_pick(u, "zed", &uid), -EBUSY);
        free(all);
        remove_root(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(first_candidate_matches_homed_252_observations),
                cmocka_unit_test(first_candidate_stays_in_range),
                cmocka_unit_test(next_candidate_wraps_at_range_end),
                cmocka_unit_test(pick_uses_first_candidate_in_empty_root),
                cmocka_unit_test(pick_skips_uid_in_passwd_gid_in_group_and_other_homes),
                cmocka_unit_test(pick_reads_ubuntu_core_extrausers),
                cmocka_unit_test(malformed_passwd_lines_are_ignored),
                cmocka_unit_test(symlinked_passwd_is_refused),
                cmocka_unit_test(pick_fails_when_range_is_full),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
