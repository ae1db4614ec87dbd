/* SPDX-License-Identifier: MIT */
#include "home-luks-token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base64.h"
#include "macros.h"
#include "user-record.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER *, EVP_CIPHER_free)

static int token_cipher(struct crypt_device *cd, size_t volume_key_size, EVP_CIPHER **ret)
{
        const char *cipher = crypt_get_cipher(cd), *mode = crypt_get_cipher_mode(cd), *dash;
        char name[64];
        size_t bits = volume_key_size * 8;
        int mode_len;
        EVP_CIPHER *c;

        if (!cipher || !mode)
                return -EINVAL;
        dash = strchr(mode, '-');
        mode_len = dash ? (int) (dash - mode) : (int) strlen(mode);
        if (mode_len == 3 && strneq(mode, "xts", 3))
                bits /= 2;
        if (snprintf(name, sizeof(name), "%s-%zu-%.*s", cipher, bits, mode_len, mode) >= (int) sizeof(name))
                return -EINVAL;
        c = EVP_CIPHER_fetch(NULL, name, NULL);
        if (!c)
                return -EOPNOTSUPP;
        /* Our idea of the key length must be OpenSSL's, or the record would be encrypted with a part of
         * the key only. */
        if ((size_t) EVP_CIPHER_get_key_length(c) != volume_key_size) {
                EVP_CIPHER_free(c);
                return -EINVAL;
        }
        *ret = c;
        return 0;
}

static int crypt_record(struct crypt_device *cd, const void *key, size_t key_size, const uint8_t *iv,
                        size_t iv_size, bool encrypt, const uint8_t *in, size_t in_size, uint8_t **ret,
                        size_t *ret_size)
{
        _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = NULL;
        _cleanup_(EVP_CIPHER_freep) EVP_CIPHER *c = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        int n1 = 0, n2 = 0, r;

        r = token_cipher(cd, key_size, &c);
        if (r < 0)
                return r;
        if ((size_t) EVP_CIPHER_get_iv_length(c) != iv_size || in_size > INT32_MAX / 2)
                return -EBADMSG;
        ctx = EVP_CIPHER_CTX_new();
        out = malloc(in_size + 2 * (size_t) EVP_CIPHER_get_block_size(c) + 1);
        if (!ctx || !out)
                return -ENOMEM;
        if (EVP_CipherInit_ex2(ctx, c, key, iv, encrypt ? 1 : 0, NULL) != 1 ||
            EVP_CipherUpdate(ctx, out, &n1, in, (int) in_size) != 1 ||
            EVP_CipherFinal_ex(ctx, out + n1, &n2) != 1)
                return -EBADMSG;
        *ret_size = (size_t) n1 + (size_t) n2;
        *ret = TAKE_PTR(out);
        return 0;
}

int home_luks_token_format(struct crypt_device *cd, json_t *record, const void *volume_key,
                           size_t volume_key_size, char **ret)
{
        _cleanup_(EVP_CIPHER_freep) EVP_CIPHER *c = NULL;
        _cleanup_free_ char *text = NULL, *record64 = NULL, *iv64 = NULL;
        _cleanup_free_ uint8_t *encrypted = NULL;
        _cleanup_json_ json_t *token = NULL;
        uint8_t iv[EVP_MAX_IV_LENGTH];
        size_t iv_size, encrypted_size;
        int r;

        r = token_cipher(cd, volume_key_size, &c);
        if (r < 0)
                return r;
        iv_size = (size_t) EVP_CIPHER_get_iv_length(c);
        if (iv_size > sizeof(iv))
                return -EINVAL;
        if (iv_size > 0 && RAND_bytes(iv, (int) iv_size) != 1)
                return -EIO;
        r = user_record_format_compact(record, &text);
        if (r < 0)
                return r;
        r = crypt_record(cd, volume_key, volume_key_size, iv, iv_size, true, (const uint8_t *) text,
                         strlen(text), &encrypted, &encrypted_size);
        explicit_bzero(text, strlen(text));
        if (r < 0)
                return r;
        r = base64_encode(encrypted, encrypted_size, &record64);
        if (r >= 0)
                r = base64_encode(iv, iv_size, &iv64);
        if (r < 0)
                return r;
        /* jansson keeps insertion order with JSON_PRESERVE_ORDER: homed's order. */
        token = json_pack("{s:s, s:[], s:s, s:s}", "type", HOME_LUKS_TOKEN_TYPE, "keyslots", "record",
                          record64, "iv", iv64);
        if (!token)
                return -ENOMEM;
        *ret = json_dumps(token, JSON_COMPACT | JSON_PRESERVE_ORDER);
        return *ret ? 0 : -ENOMEM;
}

/* The ids of cd's systemd-homed tokens, in order; -1 terminated. */
static void homed_tokens(struct crypt_device *cd, int ids[static 33])
{
        int n = 0, max = crypt_token_max(CRYPT_LUKS2);

        for (int t = 0; t < max && t < 32; t++) {
                const char *type = NULL;
                crypt_token_info s = crypt_token_status(cd, t, &type);

                if (s == CRYPT_TOKEN_INVALID || s == CRYPT_TOKEN_INACTIVE)
                        continue;
                if (type && streq(type, HOME_LUKS_TOKEN_TYPE))
                        ids[n++] = t;
        }
        ids[n] = -1;
}

int home_luks_token_store(struct crypt_device *cd, const char *text)
{
        int ids[33], r;

        homed_tokens(cd, ids);
        if (ids[0] < 0) {
                r = crypt_token_json_set(cd, CRYPT_ANY_TOKEN, text);
                return r < 0 ? r : 0;
        }
        r = crypt_token_json_set(cd, ids[0], text);
        if (r < 0)
                return r;
        for (int i = 1; ids[i] >= 0; i++) {
                r = crypt_token_json_set(cd, ids[i], NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int token_field(json_t *token, const char *key, uint8_t **ret, size_t *ret_size)
{
        json_t *v = json_object_get(token, key);

        if (!json_is_string(v))
                return -EBADMSG;
        return base64_decode(json_string_value(v), json_string_length(v), ret, ret_size);
}

int home_luks_token_read(struct crypt_device *cd, const void *volume_key, size_t volume_key_size,
                         json_t **ret)
{
        _cleanup_free_ uint8_t *encrypted = NULL, *iv = NULL, *plain = NULL;
        _cleanup_json_ json_t *token = NULL;
        size_t encrypted_size, iv_size, plain_size;
        const char *text = NULL;
        RecordError err = {};
        int ids[33], r;

        homed_tokens(cd, ids);
        if (ids[0] < 0)
                return -ENOENT;
        r = crypt_token_json_get(cd, ids[0], &text);
        if (r < 0)
                return r;
        token = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(token))
                return -EBADMSG;
        r = token_field(token, "record", &encrypted, &encrypted_size);
        if (r >= 0)
                r = token_field(token, "iv", &iv, &iv_size);
        if (r < 0)
                return -EBADMSG;
        r = crypt_record(cd, volume_key, volume_key_size, iv, iv_size, false, encrypted, encrypted_size,
                         &plain, &plain_size);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        r = user_record_load((const char *) plain, plain_size, ret, &err);
        explicit_bzero(plain, plain_size);
        return r < 0 ? -EBADMSG : 0;
}
