/* SPDX-License-Identifier: MIT */
#include "public-key.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "openpgp-packet.h"

PublicKey *public_key_free(PublicKey *k)
{
        if (!k)
                return NULL;
        EVP_MD_CTX_free(k->md_ctx);
        EVP_MD_free(k->sha512);
        EVP_PKEY_CTX_free(k->verify_ctx);
        EVP_PKEY_free(k->pkey);
        free(k->packet);
        return mfree(k);
}

static int key_id_compute(const uint8_t *packet, size_t size, char id[static PUBLIC_KEY_ID_LENGTH + 1])
{
        static const uint8_t v1 = OPENPGP_V1_FORMAT;
        _cleanup_free_ char *text = NULL;
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned digest_size = 0;
        EVP_MD_CTX *ctx;
        bool ok;
        int r;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestInit_ex2(ctx, EVP_sha3_384(), NULL) && EVP_DigestUpdate(ctx, &v1, 1) &&
             EVP_DigestUpdate(ctx, packet, size) && EVP_DigestFinal_ex(ctx, digest, &digest_size);
        EVP_MD_CTX_free(ctx);
        if (!ok || digest_size != 48)
                return -EIO;

        r = base64url_nopad_encode(digest, digest_size, &text);
        if (r < 0)
                return r;
        if (strlen(text) != PUBLIC_KEY_ID_LENGTH)
                return -EIO;
        memcpy(id, text, PUBLIC_KEY_ID_LENGTH + 1);
        return 0;
}

static int pkey_from_rsa(const OpenPGPPublicKey *key, EVP_PKEY **ret)
{
        EVP_PKEY_CTX *ctx = NULL;
        OSSL_PARAM params[3];
        EVP_PKEY *pkey = NULL;
        unsigned char *n_le = NULL, *e_le = NULL;
        int r = -EIO;

        /* OSSL_PARAM integers are native-endian; build little-endian copies (x86 and arm64 both). */
        n_le = malloc(key->n_size);
        e_le = malloc(key->e_size);
        if (!n_le || !e_le) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < key->n_size; i++)
                n_le[i] = key->n[key->n_size - 1 - i];
        for (size_t i = 0; i < key->e_size; i++)
                e_le[i] = key->e[key->e_size - 1 - i];
        params[0] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, n_le, key->n_size);
        params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, e_le, key->e_size);
        params[2] = OSSL_PARAM_construct_end();

        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
                goto finish;
        *ret = pkey;
        r = 0;
finish:
        EVP_PKEY_CTX_free(ctx);
        free(n_le);
        free(e_le);
        return r;
}

int public_key_from_packet(const uint8_t *packet, size_t size, PublicKey **ret, AssertionError *err)
{
        _cleanup_public_key_ PublicKey *k = NULL;
        OpenPGPPublicKey parsed;
        int r;

        r = openpgp_public_key_parse(packet, size, &parsed, err);
        if (r < 0)
                return r;

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->bits = parsed.bits;
        k->creation_time = parsed.creation_time;
        k->modulus_size = parsed.n_size;

        r = openpgp_public_key_serialize(&parsed, OPENPGP_SNAPD_KEY_TIME, &k->packet, &k->packet_size);
        if (r < 0)
                return r;
        r = key_id_compute(k->packet, k->packet_size, k->id);
        if (r < 0)
                return r;

        r = pkey_from_rsa(&parsed, &k->pkey);
        if (r < 0)
                return r;

        /* Fetch algorithms and set padding once: per-call setup would cost as much as a small RSA
         * verification does. */
        k->sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
        k->md_ctx = EVP_MD_CTX_new();
        k->verify_ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
        if (!k->sha512 || !k->md_ctx || !k->verify_ctx)
                return -ENOMEM;
        if (EVP_PKEY_verify_init(k->verify_ctx) <= 0 ||
            EVP_PKEY_CTX_set_rsa_padding(k->verify_ctx, RSA_PKCS1_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_signature_md(k->verify_ctx, k->sha512) <= 0)
                return -EIO;

        *ret = TAKE_PTR(k);
        return 0;
}

int public_key_from_text(const char *text, size_t length, PublicKey **ret, AssertionError *err)
{
        _cleanup_free_ uint8_t *packet = NULL;
        size_t size;
        int r;

        r = openpgp_v1_decode(text, length, "public key", &packet, &size, err);
        if (r < 0)
                return r;
        return public_key_from_packet(packet, size, ret, err);
}

int public_key_from_assertion(const Assertion *a, PublicKey **ret, AssertionError *err)
{
        _cleanup_public_key_ PublicKey *k = NULL;
        const char *declared;
        int r;

        if (!a->type || (!streq(a->type, "account-key") && !streq(a->type, "account-key-request"))) {
                if (err) {
                        err->line = a->first_line;
                        snprintf(err->message, sizeof(err->message), "assertion %s: carries no public key",
                                 strempty(a->type));
                }
                return -EBADMSG;
        }
        declared = assertion_header_string(a, "public-key-sha3-384");
        if (!declared || !a->body) {
                if (err) {
                        err->line = a->first_line;
                        snprintf(err->message, sizeof(err->message), "assertion %s: %s", a->type,
                                 !declared ? "\"public-key-sha3-384\" header is mandatory"
                                           : "body with the public key is missing");
                }
                return -EBADMSG;
        }

        r = public_key_from_text((const char *) a->body, a->body_size, &k, err);
        if (r < 0) {
                if (err && r == -EBADMSG) {
                        char m[sizeof(err->message)];
                        memcpy(m, err->message, sizeof(m));
                        err->line = a->first_line;
                        snprintf(err->message, sizeof(err->message), "assertion %.40s: %.200s", a->type, m);
                }
                return r;
        }
        /* A key filed under an id it does not hash to would let one key stand in for another. */
        if (!streq(k->id, declared)) {
                if (err) {
                        err->line = a->first_line;
                        snprintf(err->message, sizeof(err->message),
                                 "assertion %s: public key does not match provided key id", a->type);
                }
                return -EBADMSG;
        }
        *ret = TAKE_PTR(k);
        return 0;
}

int public_key_encode_text(const PublicKey *k, char **ret)
{
        return openpgp_v1_encode(k->packet, k->packet_size, ret);
}
