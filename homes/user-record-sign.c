/* SPDX-License-Identifier: MIT */
/* Ed25519 signatures over the canonical text, in the "signature" array systemd-homed reads: each entry is
 * {"data": base64(signature), "key": PEM public key}. */
#include <errno.h>
#include <openssl/err.h>
#include <string.h>

#include "base64.h"
#include "ed25519-key.h"
#include "user-record-internal.h"

#define ED25519_SIGNATURE_SIZE 64U

static inline void evp_md_ctx_freep(EVP_MD_CTX **c)
{
        if (*c)
                EVP_MD_CTX_free(*c);
}

int user_record_sign(json_t *record, EVP_PKEY *key, json_t **ret)
{
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        _cleanup_free_ char *text = NULL, *pem = NULL, *data = NULL;
        _cleanup_json_ json_t *copy = NULL, *signature = NULL;
        uint8_t sig[ED25519_SIGNATURE_SIZE];
        size_t sig_size = sizeof(sig);
        int r;

        if (!record || !key || !ret || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
                return -EINVAL;
        /* We never put our name under a record we would refuse to load. */
        r = user_record_validate(record, NULL);
        if (r < 0)
                return r;
        r = user_record_canonical_text(record, &text);
        if (r < 0)
                return r;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        /* Ed25519 is "pure": no separate digest, the whole text goes in at once. */
        if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
            EVP_DigestSign(ctx, sig, &sig_size, (const uint8_t *) text, strlen(text)) != 1) {
                ERR_clear_error();
                return -EIO;
        }
        r = base64_encode(sig, sig_size, &data);
        if (r < 0)
                return r;
        r = ed25519_key_public_pem(key, &pem);
        if (r < 0)
                return r;

        signature = json_pack("[{s:s,s:s}]", "data", data, "key", pem);
        copy = json_deep_copy(record);
        if (!signature || !copy)
                return -ENOMEM;
        if (json_object_set(copy, "signature", signature) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(copy);
        return 0;
}

/* 1 if data is a valid signature of text by key, 0 if not. */
static int signature_check(EVP_PKEY *key, const uint8_t *sig, size_t sig_size, const char *text)
{
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ok;

        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1) {
                ERR_clear_error();
                return -EIO;
        }
        ok = EVP_DigestVerify(ctx, sig, sig_size, (const uint8_t *) text, strlen(text)) == 1;
        ERR_clear_error();
        return ok;
}

int user_record_verify(json_t *record, EVP_PKEY *key, UserRecordSignatureState *ret)
{
        _cleanup_free_ char *text = NULL;
        unsigned n_good = 0, n_bad = 0;
        json_t *array, *e;
        size_t i;
        int r;

        if (!json_is_object(record) || !key || !ret || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
                return -EINVAL;

        array = json_object_get(record, "signature");
        if (!array || (json_is_array(array) && json_array_size(array) == 0)) {
                *ret = USER_RECORD_UNSIGNED;
                return 0;
        }
        if (!json_is_array(array))
                return -EBADMSG;

        r = user_record_canonical_text(record, &text);
        if (r < 0)
                return r;

        json_array_foreach (array, i, e) {
                _cleanup_free_ uint8_t *sig = NULL;
                const char *data;
                size_t sig_size;

                data = json_string_value(json_object_get(e, "data"));
                if (!json_is_object(e) || !data)
                        return -EBADMSG;
                r = base64_decode(data, strlen(data), &sig, &sig_size);
                if (r < 0)
                        return -EBADMSG;
                /* As systemd does, an entry that does not verify with this key counts as someone else's
                 * signature rather than as an error: records may carry several signers. */
                r = sig_size == ED25519_SIGNATURE_SIZE ? signature_check(key, sig, sig_size, text) : 0;
                if (r < 0)
                        return r;
                if (r > 0)
                        n_good++;
                else
                        n_bad++;
        }

        if (n_good > 0)
                *ret = n_bad == 0 ? USER_RECORD_SIGNED_EXCLUSIVE : USER_RECORD_SIGNED;
        else
                *ret = n_bad == 0 ? USER_RECORD_UNSIGNED : USER_RECORD_FOREIGN;
        return 0;
}
