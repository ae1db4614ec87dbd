/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

#include "ed25519-key.h"

static inline void bio_freep(BIO **b)
{
        if (*b)
                BIO_free(*b);
}

int ed25519_key_public_pem(EVP_PKEY *key, char **ret)
{
        _cleanup_(bio_freep) BIO *b = NULL;
        char *mem, *s;
        long n;

        if (!key || !ret || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
                return -EINVAL;
        b = BIO_new(BIO_s_mem());
        if (!b)
                return -ENOMEM;
        /* The same writer systemd uses (PEM_write_PUBKEY), so the text matches what homed embeds. */
        if (PEM_write_bio_PUBKEY(b, key) != 1) {
                ERR_clear_error();
                return -EIO;
        }
        n = BIO_get_mem_data(b, &mem);
        if (n <= 0)
                return -EIO;
        s = strndup(mem, (size_t) n);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

typedef EVP_PKEY *(*PemReader)(BIO *b, EVP_PKEY **x, pem_password_cb *cb, void *u);

static int load_pem(const char *text, size_t size, PemReader reader, EVP_PKEY **ret)
{
        _cleanup_(bio_freep) BIO *b = NULL;
        EVP_PKEY *key;

        if (!text || !ret)
                return -EINVAL;
        if (size > ED25519_PEM_MAX)
                return -E2BIG;
        b = BIO_new_mem_buf(text, (int) size);
        if (!b)
                return -ENOMEM;
        /* No passphrase callback: an encrypted key must not make OpenSSL prompt on a terminal. */
        key = reader(b, NULL, NULL, (void *) "");
        if (!key) {
                ERR_clear_error();
                return -EBADMSG;
        }
        if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
                EVP_PKEY_free(key);
                return -EBADMSG;
        }
        *ret = key;
        return 0;
}

int ed25519_key_load_public_pem(const char *text, size_t size, EVP_PKEY **ret)
{
        return load_pem(text, size, PEM_read_bio_PUBKEY, ret);
}

int ed25519_key_load_private_pem(const char *text, size_t size, EVP_PKEY **ret)
{
        return load_pem(text, size, PEM_read_bio_PrivateKey, ret);
}

int ed25519_key_equal_public(EVP_PKEY *a, EVP_PKEY *b)
{
        uint8_t ra[32], rb[32];
        size_t la = sizeof(ra), lb = sizeof(rb);

        if (!a || !b)
                return -EINVAL;
        if (EVP_PKEY_get_raw_public_key(a, ra, &la) != 1 || EVP_PKEY_get_raw_public_key(b, rb, &lb) != 1) {
                ERR_clear_error();
                return -EINVAL;
        }
        return la == lb && memcmp(ra, rb, la) == 0;
}
