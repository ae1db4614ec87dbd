/* SPDX-License-Identifier: MIT */
/* The LUKS2 volume as libhomes formats it, read back by cryptsetup(8) and by hand: header (label,
 * subsystem, UUID, cipher, key size, 4 MiB metadata), one keyslot with the record's PBKDF, the
 * systemd-homed token byte for byte (decrypted here with OpenSSL, independently of home-luks-token.c), the
 * keyslot policy after a password change, and the cryptographic erase. Plain image files: no loop device,
 * no device-mapper, no root needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "base64.h"
#include "home-luks-settings.h"
#include "home-luks-token.h"
#include "home-luks-volume.h"
#include "luks-test-util.h"
#include "user-record.h"

#define IMAGE_SIZE (32ULL * 1024 * 1024)
#define LUKS_UUID  "6a3f2d5e-1b4c-4d8e-9f70-123456789abc"

static HomeLuksSettings settings_of(json_t *record)
{
        HomeLuksSettings s;
        RecordError err = {};

        if (home_luks_settings_from_record(record, TEST_MACHINE_ID, &s, &err) < 0)
                fail_msg("settings: %s", err.message);
        return s;
}

/* A volume formatted from record with password, on a fresh image file. */
static HomeLuksVolume *format_new(json_t *record, const char *password, char **ret_path)
{
        HomeLuksSettings s = settings_of(record);
        HomeLuksVolume *v = NULL;
        RecordError err = {};
        int fd = test_image_new(IMAGE_SIZE, ret_path);

        close(fd);
        if (home_luks_volume_format(*ret_path, &s, LUKS_UUID, user_record_user_name(record), password,
                                    record, &v, &err) < 0)
                fail_msg("format: %s", err.message);
        return v;
}

static void header_is_homeds(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD), *meta = NULL;
        _cleanup_free_ char *path = NULL, *dump = NULL;
        HomeLuksVolume *v = format_new(rec, TEST_PASSWORD, &path);
        json_t *segment, *config;

        dump = test_output("cryptsetup luksDump '%s'", path);
        assert_non_null(strstr(dump, "Version:       \t2\n"));
        assert_non_null(strstr(dump, "UUID:          \t" LUKS_UUID "\n"));
        assert_non_null(strstr(dump, "Label:         \talice\n"));
        assert_non_null(strstr(dump, "Subsystem:     \tsystemd-home\n"));
        assert_non_null(strstr(dump, "Metadata area: \t4194304 [bytes]\n"));

        meta = test_luks_metadata(path);
        segment = json_object_get(json_object_get(meta, "segments"), "0");
        assert_string_equal(json_string_value(json_object_get(segment, "encryption")), "aes-xts-plain64");
        assert_int_equal(json_integer_value(json_object_get(segment, "sector_size")), 512);
        config = json_object_get(meta, "config");
        assert_string_equal(json_string_value(json_object_get(config, "json_size")), "4190208");
        /* homed's default: a 32 byte volume key (AES-128-XTS). */
        assert_int_equal(crypt_get_volume_key_size(v->cd), 32);
        home_luks_volume_free(v);
        unlink(path);
}

static void keyslot_holds_the_password_with_the_records_pbkdf(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD), *meta = NULL;
        _cleanup_free_ char *path = NULL;
        HomeLuksVolume *v = NULL;
        json_t *kdf, *keyslots;

        /* argon2id with a small memory cost and two threads, as a test record may ask. */
        assert_int_equal(json_object_set_new(rec, "luksPbkdfType", json_string("argon2id")), 0);
        assert_int_equal(json_object_set_new(rec, "luksPbkdfMemoryCost", json_integer(256 * 1024)), 0);
        assert_int_equal(json_object_set_new(rec, "luksPbkdfParallelThreads", json_integer(2)), 0);
        v = format_new(rec, TEST_PASSWORD, &path);
        assert_int_equal(home_luks_volume_keyslots(v), 1);

        meta = test_luks_metadata(path);
        keyslots = json_object_get(meta, "keyslots");
        assert_int_equal(json_object_size(keyslots), 1);
        kdf = json_object_get(json_object_get(keyslots, "0"), "kdf");
        assert_string_equal(json_string_value(json_object_get(kdf, "type")), "argon2id");
        assert_true(json_integer_value(json_object_get(kdf, "memory")) <= 256);
        assert_int_equal(json_integer_value(json_object_get(kdf, "cpus")), 2);

        assert_true(test_password_opens(path, TEST_PASSWORD));
        assert_false(test_password_opens(path, TEST_PASSWORD_NEW));
        home_luks_volume_free(v);
        unlink(path);
}

static void pbkdf2_keyslot_uses_the_records_hash(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD), *meta = NULL;
        _cleanup_free_ char *path = NULL;
        HomeLuksVolume *v = NULL;
        json_t *kdf;

        assert_int_equal(json_object_set_new(rec, "luksPbkdfHashAlgorithm", json_string("sha256")), 0);
        v = format_new(rec, TEST_PASSWORD, &path);
        meta = test_luks_metadata(path);
        kdf = json_object_get(json_object_get(json_object_get(meta, "keyslots"), "0"), "kdf");
        assert_string_equal(json_string_value(json_object_get(kdf, "type")), "pbkdf2");
        assert_string_equal(json_string_value(json_object_get(kdf, "hash")), "sha256");
        home_luks_volume_free(v);
        unlink(path);
}

/* Decrypts a token the way homed's luks_validate_home_record() does, with OpenSSL only. */
static char *decrypt_like_homed(json_t *token, const uint8_t *key, size_t key_size)
{
        _cleanup_free_ uint8_t *enc = NULL, *iv = NULL;
        size_t enc_size, iv_size;
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        const EVP_CIPHER *c = EVP_get_cipherbyname(key_size == 32 ? "aes-128-xts" : "aes-256-xts");
        char *out;
        int n1 = 0, n2 = 0;

        assert_non_null(c);
        assert_int_equal(base64_decode(json_string_value(json_object_get(token, "record")),
                                       strlen(json_string_value(json_object_get(token, "record"))), &enc,
                                       &enc_size),
                         0);
        assert_int_equal(base64_decode(json_string_value(json_object_get(token, "iv")),
                                       strlen(json_string_value(json_object_get(token, "iv"))), &iv,
                                       &iv_size),
                         0);
        assert_int_equal(iv_size, 16);
        out = calloc(1, enc_size + 64);
        assert_non_null(out);
        assert_int_equal(EVP_DecryptInit_ex(ctx, c, NULL, key, iv), 1);
        assert_int_equal(EVP_DecryptUpdate(ctx, (uint8_t *) out, &n1, enc, (int) enc_size), 1);
        assert_int_equal(EVP_DecryptFinal_ex(ctx, (uint8_t *) out + n1, &n2), 1);
        EVP_CIPHER_CTX_free(ctx);
        assert_int_equal((size_t) (n1 + n2), enc_size);
        return out;
}

static void check_token(size_t key_size)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD), *meta = NULL,
                              *read_back = NULL;
        _cleanup_free_ char *path = NULL, *plain = NULL, *expected = NULL;
        HomeLuksVolume *v = NULL;
        json_t *tokens, *token;
        const char *key;
        void *iter;

        assert_int_equal(json_object_set_new(rec, "luksVolumeKeySize", json_integer((json_int_t) key_size)),
                         0);
        v = format_new(rec, TEST_PASSWORD, &path);
        meta = test_luks_metadata(path);
        tokens = json_object_get(meta, "tokens");
        assert_int_equal(json_object_size(tokens), 1);
        token = json_object_get(tokens, "0");
        /* homed's fields, in homed's order, nothing else. */
        iter = json_object_iter(token);
        const char *order[] = { "type", "keyslots", "record", "iv" };
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                assert_non_null(iter);
                key = json_object_iter_key(iter);
                assert_string_equal(key, order[i]);
                iter = json_object_iter_next(token, iter);
        }
        assert_null(iter);
        assert_string_equal(json_string_value(json_object_get(token, "type")), "systemd-homed");
        assert_int_equal(json_array_size(json_object_get(token, "keyslots")), 0);

        /* The plaintext is exactly the record (compact, keys sorted) homed would have written. */
        plain = decrypt_like_homed(token, v->volume_key, v->volume_key_size);
        assert_int_equal(user_record_format_compact(rec, &expected), 0);
        assert_string_equal(plain, expected);

        assert_int_equal(home_luks_volume_read_record(v, &read_back), 0);
        assert_true(json_equal(read_back, rec));
        home_luks_volume_free(v);
        unlink(path);
}

static void token_is_homeds_aes_128_xts(void **state)
{
        check_token(32);
}

static void token_is_homeds_aes_256_xts(void **state)
{
        check_token(64);
}

static void token_store_replaces_and_reads_back(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD), *meta = NULL,
                              *newer = test_luks_record("alice", TEST_NOW + 1, TEST_PASSWORD_NEW),
                              *back = NULL;
        _cleanup_free_ char *path = NULL;
        HomeLuksVolume *v = format_new(rec, TEST_PASSWORD, &path);

        assert_int_equal(home_luks_volume_store_record(v, newer), 0);
        meta = test_luks_metadata(path);
        assert_int_equal(json_object_size(json_object_get(meta, "tokens")), 1);
        assert_int_equal(home_luks_volume_read_record(v, &back), 0);
        assert_true(json_equal(back, newer));
        home_luks_volume_free(v);
        unlink(path);
}

static void token_does_not_decrypt_with_another_key(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD), *back = NULL;
        _cleanup_free_ char *path = NULL;
        HomeLuksVolume *v = format_new(rec, TEST_PASSWORD, &path);

        v->volume_key[0] ^= 0x01;
        v->volume_key[20] ^= 0x80;
        assert_int_equal(home_luks_volume_read_record(v, &back), -EBADMSG);
        assert_null(back);
        home_luks_volume_free(v);
        unlink(path);
}

static HomeLuksVolume *load(const char *path, json_t *rec)
{
        HomeLuksSettings s = settings_of(rec);
        HomeLuksVolume *v = NULL;

        assert_int_equal(home_luks_volume_load(path, LUKS_UUID, "alice", &s, &v), 0);
        return v;
}

static void load_refuses_another_volume(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD);
        _cleanup_free_ char *path = NULL;
        HomeLuksSettings s = settings_of(rec);
        HomeLuksVolume *v = format_new(rec, TEST_PASSWORD, &path), *w = NULL;

        home_luks_volume_free(v);
        assert_int_equal(
                home_luks_volume_load(path, "00000000-1b4c-4d8e-9f70-123456789abc", "alice", &s, &w),
                -EMEDIUMTYPE);
        assert_int_equal(home_luks_volume_load(path, LUKS_UUID, "bob", &s, &w), -EMEDIUMTYPE);
        s.volume_key_size = 64;
        assert_int_equal(home_luks_volume_load(path, LUKS_UUID, "alice", &s, &w), -EMEDIUMTYPE);
        assert_null(w);
        unlink(path);
}

static void unlock_finds_the_password_that_opens(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD);
        _cleanup_free_ char *path = NULL;
        HomeLuksVolume *v = format_new(rec, TEST_PASSWORD, &path), *w;
        uint8_t key[32];

        memcpy(key, v->volume_key, sizeof(key));
        home_luks_volume_free(v);
        w = load(path, rec);
        assert_int_equal(home_luks_volume_unlock(w, (char *[]){ (char *) "nope", NULL }), -ENOKEY);
        assert_int_equal(
                home_luks_volume_unlock(w, (char *[]){ (char *) "nope", (char *) TEST_PASSWORD, NULL }), 1);
        assert_int_equal(w->keyslot, 0);
        assert_memory_equal(w->volume_key, key, sizeof(key));
        home_luks_volume_free(w);
        unlink(path);
}

/* The password-change policy: the old password opens the volume once, alongside the new one; afterwards
 * only the new password has a keyslot. */
static void rekey_replaces_the_old_keyslot(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD);
        _cleanup_free_ char *path = NULL;
        HomeLuksSettings s = settings_of(rec);
        HomeLuksVolume *v = format_new(rec, TEST_PASSWORD, &path), *w;

        home_luks_volume_free(v);
        w = load(path, rec);
        assert_int_equal(home_luks_volume_unlock(
                                 w, (char *[]){ (char *) TEST_PASSWORD_NEW, (char *) TEST_PASSWORD, NULL }),
                         1);
        assert_int_equal(home_luks_volume_rekey(w, &s, TEST_PASSWORD_NEW), 1);
        assert_int_equal(home_luks_volume_keyslots(w), 1);
        home_luks_volume_free(w);

        assert_true(test_password_opens(path, TEST_PASSWORD_NEW));
        assert_false(test_password_opens(path, TEST_PASSWORD));
        unlink(path);
}

static void rekey_with_the_current_password_drops_other_keyslots(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD);
        _cleanup_free_ char *path = NULL;
        HomeLuksSettings s = settings_of(rec);
        HomeLuksVolume *v = format_new(rec, TEST_PASSWORD, &path);

        /* As a crash between adding the new keyslot and destroying the old one leaves it. */
        assert_true(crypt_keyslot_add_by_volume_key(v->cd, CRYPT_ANY_SLOT, (const char *) v->volume_key,
                                                    v->volume_key_size, "stale", 5) > 0);
        assert_int_equal(home_luks_volume_keyslots(v), 2);
        assert_int_equal(home_luks_volume_rekey(v, &s, TEST_PASSWORD), 1);
        assert_int_equal(home_luks_volume_keyslots(v), 1);
        home_luks_volume_free(v);
        assert_true(test_password_opens(path, TEST_PASSWORD));
        assert_false(test_password_opens(path, "stale"));
        unlink(path);
}

static bool all_zero(const char *path, uint64_t length)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        uint8_t buf[65536];

        assert_true(fd >= 0);
        for (uint64_t off = 0; off < length; off += sizeof(buf)) {
                assert_int_equal(pread(fd, buf, sizeof(buf), (off_t) off), (ssize_t) sizeof(buf));
                for (size_t i = 0; i < sizeof(buf); i++)
                        if (buf[i])
                                return false;
        }
        return true;
}

static void erase_destroys_keyslots_and_header(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD);
        _cleanup_free_ char *path = NULL, *dump = NULL;
        HomeLuksVolume *v = format_new(rec, TEST_PASSWORD, &path);
        uint64_t data_offset = crypt_get_data_offset(v->cd) * 512;

        home_luks_volume_free(v);
        assert_false(all_zero(path, data_offset));
        assert_int_equal(home_luks_volume_erase(path), 0);
        assert_true(all_zero(path, data_offset));
        assert_false(test_password_opens(path, TEST_PASSWORD));
        dump = test_output("cryptsetup isLuks '%s' && echo luks", path);
        assert_string_equal(dump, "");
        unlink(path);
}

static void erase_without_a_header_wipes_the_fallback_area(void **state)
{
        _cleanup_free_ char *path = NULL;
        int fd = test_image_new(IMAGE_SIZE, &path);

        assert_int_equal(pwrite(fd, "junk", 4, 1024 * 1024), 4);
        close(fd);
        assert_int_equal(home_luks_volume_erase(path), 0);
        assert_true(all_zero(path, IMAGE_SIZE));
        unlink(path);
}

static void format_reports_libcryptsetups_refusal(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD);
        _cleanup_free_ char *path = NULL;
        HomeLuksSettings s;
        HomeLuksVolume *v = NULL;
        RecordError err = {};
        int fd;

        /* argon2 needs at least 32 KiB: libcryptsetup refuses, and says so. */
        assert_int_equal(json_object_set_new(rec, "luksPbkdfType", json_string("argon2id")), 0);
        assert_int_equal(json_object_set_new(rec, "luksPbkdfMemoryCost", json_integer(1024)), 0);
        s = settings_of(rec);
        fd = test_image_new(IMAGE_SIZE, &path);
        close(fd);
        assert_true(home_luks_volume_format(path, &s, LUKS_UUID, "alice", TEST_PASSWORD, rec, &v, &err) < 0);
        assert_null(v);
        assert_non_null(strstr(err.message, "cannot format LUKS2 volume"));
        unlink(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(header_is_homeds),
                cmocka_unit_test(keyslot_holds_the_password_with_the_records_pbkdf),
                cmocka_unit_test(pbkdf2_keyslot_uses_the_records_hash),
                cmocka_unit_test(token_is_homeds_aes_128_xts),
                cmocka_unit_test(token_is_homeds_aes_256_xts),
                cmocka_unit_test(token_store_replaces_and_reads_back),
                cmocka_unit_test(token_does_not_decrypt_with_another_key),
                cmocka_unit_test(load_refuses_another_volume),
                cmocka_unit_test(unlock_finds_the_password_that_opens),
                cmocka_unit_test(rekey_replaces_the_old_keyslot),
                cmocka_unit_test(rekey_with_the_current_password_drops_other_keyslots),
                cmocka_unit_test(erase_destroys_keyslots_and_header),
                cmocka_unit_test(erase_without_a_header_wipes_the_fallback_area),
                cmocka_unit_test(format_reports_libcryptsetups_refusal),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
