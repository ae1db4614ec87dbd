/* SPDX-License-Identifier: MIT */
/* Ed25519 record signatures: systemd's own vectors verify with our code, our signatures verify with the
 * vectors' rules, and every forgery (tampered field, other key, permuted array, bad encoding) fails. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/rsa.h>

#include "ed25519-key.h"
#include "test-user-record-util.h"

static EVP_PKEY *load_public(const char *name)
{
        _cleanup_free_ char *pem = NULL;
        EVP_PKEY *key = NULL;
        size_t size;

        pem = test_read("INTEROP_DIR", name, &size);
        assert_int_equal(ed25519_key_load_public_pem(pem, size, &key), 0);
        return key;
}

static UserRecordSignatureState verify(json_t *record, EVP_PKEY *key)
{
        UserRecordSignatureState s = (UserRecordSignatureState) -1;

        assert_int_equal(user_record_verify(record, key, &s), 0);
        return s;
}

static void test_verify_systemd_signtest_vector(void **state)
{
        _cleanup_evp_pkey_ EVP_PKEY *key = load_public("systemd/signtest.public");
        _cleanup_evp_pkey_ EVP_PKEY *other = load_public("systemd/homed-local.public");
        _cleanup_json_ json_t *record = test_load("INTEROP_DIR", "systemd/signtest.json");

        assert_int_equal(verify(record, key), USER_RECORD_SIGNED_EXCLUSIVE);
        assert_int_equal(verify(record, other), USER_RECORD_FOREIGN);
}

static void test_verify_homed_written_vectors(void **state)
{
        static const char *const files[] = { "systemd/vecuser.host.identity",
                                             "systemd/vecuser.embedded.identity",
                                             "systemd/vecswap.embedded.identity" };
        _cleanup_evp_pkey_ EVP_PKEY *key = load_public("systemd/homed-local.public");

        for (size_t i = 0; i < 3; i++) {
                _cleanup_json_ json_t *record = test_load("INTEROP_DIR", files[i]);
                assert_int_equal(verify(record, key), USER_RECORD_SIGNED_EXCLUSIVE);
        }
}

static void test_verify_vecswap_host_fails(void **state)
{
        /* homed stored the perMachine array permuted; the signature covers the original order. */
        _cleanup_evp_pkey_ EVP_PKEY *key = load_public("systemd/homed-local.public");
        _cleanup_json_ json_t *record = test_load("INTEROP_DIR", "systemd/vecswap.host.identity");

        assert_int_equal(verify(record, key), USER_RECORD_FOREIGN);
}

static void test_verify_ignores_unsigned_sections(void **state)
{
        /* binding, status and secret are outside the signature: changing them keeps it valid. */
        _cleanup_evp_pkey_ EVP_PKEY *key = load_public("systemd/homed-local.public");
        _cleanup_json_ json_t *record = test_load("INTEROP_DIR", "systemd/vecuser.host.identity");

        assert_int_equal(user_record_set_binding(record, "3d1219c7c4c5404aaa1f6d2a48adfda4", 60001, 60001,
                                                 "/home/elsewhere.homedir", "directory"),
                         0);
        json_object_set_new(record, "secret", json_pack("{s:[s]}", "password", "x"));
        assert_int_equal(verify(record, key), USER_RECORD_SIGNED_EXCLUSIVE);
}

static void test_verify_tampered_record_fails(void **state)
{
        static const char *const edits[] = { "realName", "lastChangeUSec", "memberOf", "privileged" };
        _cleanup_evp_pkey_ EVP_PKEY *key = load_public("systemd/homed-local.public");

        for (size_t i = 0; i < 4; i++) {
                _cleanup_json_ json_t *record =
                        test_load("INTEROP_DIR", "systemd/vecuser.embedded.identity");

                if (streq(edits[i], "lastChangeUSec"))
                        json_object_set_new(record, edits[i], json_integer(1795566788820504));
                else if (streq(edits[i], "memberOf"))
                        json_array_append_new(json_object_get(record, edits[i]), json_string("sudo"));
                else if (streq(edits[i], "privileged"))
                        json_object_del(record, edits[i]);
                else
                        json_object_set_new(record, edits[i], json_string("Mallory"));
                assert_int_equal(verify(record, key), USER_RECORD_FOREIGN);
        }
}

static void test_sign_then_verify_round_trip(void **state)
{
        _cleanup_evp_pkey_ EVP_PKEY *key = test_generate_key(), *other = test_generate_key();
        _cleanup_json_ json_t *record = test_load("FIXTURES_DIR", "records/full.json");
        _cleanup_json_ json_t *signed_record = NULL, *reloaded = NULL;
        _cleanup_free_ char *pretty = NULL, *pem = NULL;
        json_t *sig;

        assert_int_equal(verify(record, key), USER_RECORD_UNSIGNED);
        assert_int_equal(user_record_sign(record, key, &signed_record), 0);
        assert_null(json_object_get(record, "signature")); /* input untouched */
        assert_int_equal(verify(signed_record, key), USER_RECORD_SIGNED_EXCLUSIVE);
        assert_int_equal(verify(signed_record, other), USER_RECORD_FOREIGN);

        /* One entry, the key as PEM_write_PUBKEY writes it, the binding kept. */
        sig = json_object_get(signed_record, "signature");
        assert_int_equal(json_array_size(sig), 1);
        assert_int_equal(ed25519_key_public_pem(key, &pem), 0);
        assert_string_equal(json_string_value(json_object_get(json_array_get(sig, 0), "key")), pem);
        assert_int_equal(strlen(json_string_value(json_object_get(json_array_get(sig, 0), "data"))), 88);
        assert_non_null(json_object_get(signed_record, "binding"));

        /* Written in homed's format and read back, it still verifies. */
        assert_int_equal(user_record_format_pretty(signed_record, &pretty), 0);
        assert_int_equal(user_record_load(pretty, strlen(pretty), &reloaded, NULL), 0);
        assert_int_equal(verify(reloaded, key), USER_RECORD_SIGNED_EXCLUSIVE);
}

static void test_sign_replaces_existing_signatures(void **state)
{
        _cleanup_evp_pkey_ EVP_PKEY *key = test_generate_key();
        _cleanup_evp_pkey_ EVP_PKEY *homed = load_public("systemd/homed-local.public");
        _cleanup_json_ json_t *record = test_load("INTEROP_DIR", "systemd/vecuser.host.identity");
        _cleanup_json_ json_t *signed_record = NULL;

        assert_int_equal(user_record_sign(record, key, &signed_record), 0);
        assert_int_equal(json_array_size(json_object_get(signed_record, "signature")), 1);
        assert_int_equal(verify(signed_record, key), USER_RECORD_SIGNED_EXCLUSIVE);
        assert_int_equal(verify(signed_record, homed), USER_RECORD_FOREIGN);
}

static void test_verify_two_signers_is_signed(void **state)
{
        _cleanup_evp_pkey_ EVP_PKEY *a = test_generate_key(), *b = test_generate_key();
        _cleanup_json_ json_t *record = test_parse("{\"userName\":\"alice\",\"lastChangeUSec\":5}");
        _cleanup_json_ json_t *by_a = NULL, *by_b = NULL;

        assert_int_equal(user_record_sign(record, a, &by_a), 0);
        assert_int_equal(user_record_sign(record, b, &by_b), 0);
        json_array_append(json_object_get(by_a, "signature"),
                          json_array_get(json_object_get(by_b, "signature"), 0));
        assert_int_equal(verify(by_a, a), USER_RECORD_SIGNED);
        assert_int_equal(verify(by_a, b), USER_RECORD_SIGNED);
}

static void test_verify_unsigned_and_empty_signature(void **state)
{
        _cleanup_evp_pkey_ EVP_PKEY *key = test_generate_key();
        _cleanup_json_ json_t *none = test_parse("{\"userName\":\"alice\"}");
        _cleanup_json_ json_t *empty = test_parse("{\"userName\":\"alice\",\"signature\":[]}");

        assert_int_equal(verify(none, key), USER_RECORD_UNSIGNED);
        assert_int_equal(verify(empty, key), USER_RECORD_UNSIGNED);
}

static void test_verify_refuses_malformed_signature_section(void **state)
{
        static const char *const texts[] = {
                "{\"userName\":\"alice\",\"signature\":{}}",
                "{\"userName\":\"alice\",\"signature\":[\"x\"]}",
                "{\"userName\":\"alice\",\"signature\":[{\"key\":\"k\"}]}",
                "{\"userName\":\"alice\",\"signature\":[{\"data\":\"not base64\"}]}",
                "{\"userName\":\"alice\",\"signature\":[{\"data\":\"QUJD\\n\"}]}",
        };
        _cleanup_evp_pkey_ EVP_PKEY *key = test_generate_key();

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                _cleanup_json_ json_t *record = test_parse(texts[i]);
                UserRecordSignatureState s = USER_RECORD_UNSIGNED;

                if (user_record_verify(record, key, &s) != -EBADMSG)
                        fail_msg("case %zu accepted", i);
        }
}

static void test_verify_wrong_length_signature_is_foreign(void **state)
{
        _cleanup_evp_pkey_ EVP_PKEY *key = test_generate_key();
        _cleanup_json_ json_t *record =
                test_parse("{\"userName\":\"alice\",\"signature\":[{\"data\":\"QUJD\"}]}");

        assert_int_equal(verify(record, key), USER_RECORD_FOREIGN);
}

static void test_sign_refuses_invalid_record_and_non_ed25519_key(void **state)
{
        _cleanup_evp_pkey_ EVP_PKEY *key = test_generate_key();
        _cleanup_evp_pkey_ EVP_PKEY *rsa = EVP_RSA_gen(1024);
        _cleanup_json_ json_t *bad = test_parse("{\"userName\":\"root\"}");
        _cleanup_json_ json_t *good = test_parse("{\"userName\":\"alice\"}");
        json_t *out = NULL;

        assert_int_equal(user_record_sign(bad, key, &out), -EBADMSG);
        assert_null(out);
        assert_non_null(rsa);
        assert_int_equal(user_record_sign(good, rsa, &out), -EINVAL);
        assert_null(out);
}

static void test_pem_helpers(void **state)
{
        static const char other_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                                        "MCowBQYDK2VwAyEA6uvVaP1vh7O6nIbiOcvyIHRl4ihYSs0R7ctxtz2Zu7E=\n"
                                        "-----END PUBLIC KEY-----\n";
        _cleanup_evp_pkey_ EVP_PKEY *homed = load_public("systemd/homed-local.public");
        _cleanup_evp_pkey_ EVP_PKEY *same = load_public("systemd/homed-local.public");
        _cleanup_evp_pkey_ EVP_PKEY *other = NULL, *bad = NULL;
        _cleanup_free_ char *file = NULL, *pem = NULL;
        size_t size;

        file = test_read("INTEROP_DIR", "systemd/homed-local.public", &size);
        assert_int_equal(ed25519_key_public_pem(homed, &pem), 0);
        assert_string_equal(pem, file);
        assert_int_equal(ed25519_key_load_public_pem(other_pem, strlen(other_pem), &other), 0);
        assert_int_equal(ed25519_key_equal_public(homed, same), 1);
        assert_int_equal(ed25519_key_equal_public(homed, other), 0);
        assert_int_equal(ed25519_key_load_public_pem("garbage", 7, &bad), -EBADMSG);
        assert_int_equal(ed25519_key_load_public_pem(other_pem, ED25519_PEM_MAX + 1, &bad), -E2BIG);
        assert_null(bad);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_verify_systemd_signtest_vector),
                cmocka_unit_test(test_verify_homed_written_vectors),
                cmocka_unit_test(test_verify_vecswap_host_fails),
                cmocka_unit_test(test_verify_ignores_unsigned_sections),
                cmocka_unit_test(test_verify_tampered_record_fails),
                cmocka_unit_test(test_sign_then_verify_round_trip),
                cmocka_unit_test(test_sign_replaces_existing_signatures),
                cmocka_unit_test(test_verify_two_signers_is_signed),
                cmocka_unit_test(test_verify_unsigned_and_empty_signature),
                cmocka_unit_test(test_verify_refuses_malformed_signature_section),
                cmocka_unit_test(test_verify_wrong_length_signature_is_foreign),
                cmocka_unit_test(test_sign_refuses_invalid_record_and_non_ed25519_key),
                cmocka_unit_test(test_pem_helpers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
