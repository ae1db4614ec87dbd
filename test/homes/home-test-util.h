/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared helpers of the engine tests: a throw-away root with a machine-id, a skeleton and passwd/group. */

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"
#include "home.h"
#include "macros.h"

#define TEST_MACHINE_ID "0123456789abcdef0123456789abcdef"
#define TEST_NOW        ((usec_t) 1700000000000000ULL)

static inline void test_write(const char *root, const char *path, const char *content, mode_t mode)
{
        _cleanup_free_ char *full = NULL, *dir = NULL;

        assert_int_equal(path_join_root(root, path, &full), 0);
        dir = strdup(full);
        assert_non_null(dir);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_parents_and_self(dir, 0755), 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, full, content, strlen(content), mode, -1, -1), 0);
}

static inline char *test_root_new(void)
{
        char *root = strdup("/tmp/test-home-engine.XXXXXX");

        assert_non_null(root);
        assert_non_null(mkdtemp(root));
        assert_int_equal(chmod(root, 0755), 0);
        test_write(root, "/etc/machine-id", TEST_MACHINE_ID "\n", 0444);
        test_write(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0644);
        test_write(root, "/etc/group", "root:x:0:\n", 0644);
        return root;
}

static inline void test_root_free(char *root)
{
        _cleanup_free_ char *cmd = NULL;

        /* Nothing may still be mounted below the root: umount would be the test's job. */
        assert_true(asprintf(&cmd, "findmnt -rn -o TARGET | grep -q '^%s' && exit 1; rm -rf '%s'", root,
                             root) > 0);
        assert_int_equal(system(cmd), 0);
        free(root);
}

static inline Home *test_home_new(const char *root, unsigned flags)
{
        RecordError err = {};
        Home *h = NULL;

        if (home_new(root, flags, &h, &err) < 0)
                fail_msg("home_new: %s", err.message);
        h->now = TEST_NOW;
        return h;
}

/* A minimal valid record for name, changed at usec. */
static inline json_t *test_record(const char *name, usec_t last_change)
{
        json_t *j = json_pack("{s:s, s:s, s:I}", "userName", name, "disposition", "regular",
                              "lastChangeUSec", (json_int_t) last_change);
        assert_non_null(j);
        return j;
}

static inline char *test_path(const char *root, const char *path)
{
        char *full = NULL;

        assert_int_equal(path_join_root(root, path, &full), 0);
        return full;
}

static inline void test_assert_stat(const char *root, const char *path, mode_t type, mode_t mode, uid_t uid,
                                    gid_t gid)
{
        _cleanup_free_ char *full = test_path(root, path);
        struct stat st;

        if (lstat(full, &st) < 0)
                fail_msg("%s: %m", full);
        assert_int_equal(st.st_mode & S_IFMT, type);
        if (mode != (mode_t) -1)
                assert_int_equal(st.st_mode & 07777, mode);
        assert_int_equal(st.st_uid, uid);
        assert_int_equal(st.st_gid, gid);
}

static inline bool test_exists(const char *root, const char *path)
{
        _cleanup_free_ char *full = test_path(root, path);
        struct stat st;

        return lstat(full, &st) == 0;
}

/* Lists every entry below root (find), so a test can compare trees before and after. */
static inline char *test_tree_listing(const char *root)
{
        _cleanup_free_ char *cmd = NULL;
        char *out = NULL;
        size_t size = 0;
        FILE *f;

        assert_true(asprintf(&cmd, "cd '%s' && find . | sort", root) > 0);
        f = popen(cmd, "r");
        assert_non_null(f);
        FILE *m = open_memstream(&out, &size);
        assert_non_null(m);
        for (int c; (c = fgetc(f)) != EOF;)
                fputc(c, m);
        fclose(m);
        assert_int_equal(pclose(f), 0);
        return out;
}
