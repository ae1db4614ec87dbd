/* SPDX-License-Identifier: MIT */
/* A password against the record's privileged.hashedPassword, as homed checks it (crypt_r). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "luks-test-util.h"
#include "user-record-password.h"

static json_t *record_with(const char *hash1, const char *hash2)
{
        json_t *j = test_record("alice", TEST_NOW), *list = json_array();

        json_array_append_new(list, json_string(hash1));
        if (hash2)
                json_array_append_new(list, json_string(hash2));
        assert_int_equal(json_object_set_new(j, "privileged", json_pack("{s:o}", "hashedPassword", list)),
                         0);
        return j;
}

static void matches_sha512crypt_and_yescrypt(void **state)
{
        _cleanup_free_ char *sha = test_hash(TEST_PASSWORD);
        struct crypt_data *cd = calloc(1, sizeof(*cd));
        _cleanup_json_ json_t *a = NULL, *b = NULL;
        _cleanup_free_ char *yes = NULL;

        char salt[CRYPT_GENSALT_OUTPUT_SIZE];

        assert_non_null(cd);
        assert_non_null(crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)));
        yes = strdup(crypt_rn(TEST_PASSWORD_NEW, salt, cd, (int) sizeof(*cd)));
        free(cd);
        a = record_with(sha, NULL);
        b = record_with(yes, NULL);
        assert_int_equal(user_record_test_password(a, TEST_PASSWORD), 1);
        assert_int_equal(user_record_test_password(a, TEST_PASSWORD_NEW), 0);
        assert_int_equal(user_record_test_password(a, ""), 0);
        assert_int_equal(user_record_test_password(b, TEST_PASSWORD_NEW), 1);
        assert_int_equal(user_record_test_password(b, TEST_PASSWORD), 0);
}

static void any_hash_of_the_list_matches(void **state)
{
        _cleanup_free_ char *h1 = test_hash(TEST_PASSWORD), *h2 = test_hash(TEST_PASSWORD_NEW);
        _cleanup_json_ json_t *j = record_with(h1, h2);

        assert_int_equal(user_record_test_password(j, TEST_PASSWORD), 1);
        assert_int_equal(user_record_test_password(j, TEST_PASSWORD_NEW), 1);
        assert_int_equal(
                user_record_find_password(j, (char *[]){ (char *) "x", (char *) TEST_PASSWORD_NEW, NULL }),
                1);
        assert_int_equal(user_record_find_password(j, (char *[]){ (char *) "x", NULL }), -EKEYREJECTED);
}

static void no_hash_is_enokey(void **state)
{
        _cleanup_json_ json_t *j = test_record("alice", TEST_NOW);

        assert_int_equal(user_record_test_password(j, TEST_PASSWORD), -ENOKEY);
        assert_int_equal(user_record_find_password(j, (char *[]){ (char *) TEST_PASSWORD, NULL }), -ENOKEY);
        assert_int_equal(json_object_set_new(j, "privileged", json_pack("{s:[]}", "hashedPassword")), 0);
        assert_int_equal(user_record_test_password(j, TEST_PASSWORD), -ENOKEY);
}

static void locked_and_unparsable_hashes_never_match(void **state)
{
        _cleanup_json_ json_t *a = record_with("!", NULL), *b = record_with("*", NULL),
                              *c = record_with("", NULL);

        assert_int_equal(user_record_test_password(a, "!"), 0);
        assert_int_equal(user_record_test_password(b, "*"), 0);
        assert_int_equal(user_record_test_password(c, ""), 0);
}

static void password_length_limit_at_n_and_n_plus_1(void **state)
{
        char *at = malloc(USER_RECORD_PASSWORD_MAX + 2);
        _cleanup_free_ char *hash_at = NULL;
        _cleanup_json_ json_t *a = NULL;

        assert_non_null(at);
        memset(at, 'p', USER_RECORD_PASSWORD_MAX + 1);
        at[USER_RECORD_PASSWORD_MAX] = '\0';
        hash_at = test_hash(at);
        a = record_with(hash_at, NULL);
        assert_int_equal(user_record_test_password(a, at), 1);
        /* One byte over: refused, never hashed (no hash of it can exist). */
        at[USER_RECORD_PASSWORD_MAX] = 'p';
        at[USER_RECORD_PASSWORD_MAX + 1] = '\0';
        assert_int_equal(user_record_test_password(a, at), 0);
        free(at);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(matches_sha512crypt_and_yescrypt),
                cmocka_unit_test(any_hash_of_the_list_matches),
                cmocka_unit_test(no_hash_is_enokey),
                cmocka_unit_test(locked_and_unparsable_hashes_never_match),
                cmocka_unit_test(password_length_limit_at_n_and_n_plus_1),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
