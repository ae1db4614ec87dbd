/* SPDX-License-Identifier: MIT */
/* The engine key pair: created once with safe modes, reloaded unchanged, refused when exposed, and its
 * public half installed where systemd-homed trusts it. */
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

#include "engine-key.h"
#include "file-util.h"
#include "macros.h"

static char *make_root(void)
{
        char *root = strdup("/tmp/test-home-engine-key.XXXXXX");

        assert_non_null(root);
        assert_non_null(mkdtemp(root));
        return root;
}

static void remove_root(char *root)
{
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "rm -rf '%s'", root) > 0);
        assert_int_equal(system(cmd), 0);
        free(root);
}

static void stat_root_path(const char *root, const char *path, struct stat *st)
{
        _cleanup_free_ char *full = NULL;

        assert_int_equal(path_join_root(root, path, &full), 0);
        assert_int_equal(lstat(full, st), 0);
}

static void key_is_created_0600_and_reloaded_identical(void **state)
{
        char *root = make_root();
        _cleanup_engine_key_ EngineKey *a = NULL, *b = NULL;
        struct stat st;

        assert_int_equal(engine_key_load_or_create(root, &a), 0);
        assert_int_equal(EVP_PKEY_get_id(a->pkey), EVP_PKEY_ED25519);
        assert_non_null(strstr(a->public_pem, "-----BEGIN PUBLIC KEY-----\n"));
        stat_root_path(root, ENGINE_KEY_PRIVATE_PATH, &st);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_uid, geteuid());

        assert_int_equal(engine_key_load_or_create(root, &b), 0);
        assert_string_equal(a->public_pem, b->public_pem);
        remove_root(root);
}

static void key_readable_by_others_is_refused(void **state)
{
        char *root = make_root();
        _cleanup_engine_key_ EngineKey *a = NULL, *b = NULL;
        _cleanup_free_ char *path = NULL;

        assert_int_equal(engine_key_load_or_create(root, &a), 0);
        assert_int_equal(path_join_root(root, ENGINE_KEY_PRIVATE_PATH, &path), 0);
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(engine_key_load_or_create(root, &b), -EPERM);
        remove_root(root);
}

static void garbage_key_file_is_refused(void **state)
{
        char *root = make_root();
        _cleanup_engine_key_ EngineKey *a = NULL, *b = NULL;
        _cleanup_free_ char *path = NULL;

        assert_int_equal(engine_key_load_or_create(root, &a), 0);
        assert_int_equal(path_join_root(root, ENGINE_KEY_PRIVATE_PATH, &path), 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, path, "not a key\n", 10, 0600, -1, -1), 0);
        assert_int_equal(engine_key_load_or_create(root, &b), -EBADMSG);
        remove_root(root);
}

static void symlinked_key_file_is_refused(void **state)
{
        char *root = make_root();
        _cleanup_engine_key_ EngineKey *a = NULL;
        _cleanup_free_ char *dir = NULL, *path = NULL;

        assert_int_equal(path_join_root(root, ENGINE_KEY_DIR, &dir), 0);
        assert_int_equal(mkdir_parents_and_self(dir, 0700), 0);
        assert_int_equal(path_join_root(root, ENGINE_KEY_PRIVATE_PATH, &path), 0);
        assert_int_equal(symlink("/etc/hostname", path), 0);
        assert_int_equal(engine_key_load_or_create(root, &a), -ELOOP);
        remove_root(root);
}

static void public_key_installed_root_owned_0644_with_our_pem(void **state)
{
        char *root = make_root();
        _cleanup_engine_key_ EngineKey *k = NULL;
        _cleanup_free_ char *path = NULL, *data = NULL;
        struct stat st;
        size_t size;

        assert_int_equal(engine_key_load_or_create(root, &k), 0);
        assert_int_equal(engine_key_install_public(root, k), 0);
        assert_int_equal(path_join_root(root, ENGINE_KEY_PUBLIC_PATH, &path), 0);
        assert_int_equal(read_file_bounded(AT_FDCWD, path, 4096, &data, &size), 0);
        assert_string_equal(data, k->public_pem);
        stat_root_path(root, ENGINE_KEY_PUBLIC_PATH, &st);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(st.st_gid, 0);

        /* A tampered copy (wrong mode) is repaired by installing again. */
        assert_int_equal(chmod(path, 0666), 0);
        assert_int_equal(engine_key_install_public(root, k), 0);
        stat_root_path(root, ENGINE_KEY_PUBLIC_PATH, &st);
        assert_int_equal(st.st_mode & 07777, 0644);
        remove_root(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(key_is_created_0600_and_reloaded_identical),
                cmocka_unit_test(key_readable_by_others_is_refused),
                cmocka_unit_test(garbage_key_file_is_refused),
                cmocka_unit_test(symlinked_key_file_is_refused),
                cmocka_unit_test(public_key_installed_root_owned_0644_with_our_pem),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
