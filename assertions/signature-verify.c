/* SPDX-License-Identifier: MIT */
#include "signature-verify.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "openpgp-packet.h"

#define SHA512_SIZE 64

/* SHA-512 over content || hashed part of the packet || v4 trailer (RFC 4880 5.2.4): what the RSA signature
 * covers. */
static int digest_compute(const PublicKey *key, const void *content, size_t content_size,
                          const OpenPGPSignature *sig, uint8_t digest[static SHA512_SIZE])
{
        uint8_t trailer[6] = { 4,
                               0xff,
                               (uint8_t) (sig->hashed_size >> 24),
                               (uint8_t) (sig->hashed_size >> 16),
                               (uint8_t) (sig->hashed_size >> 8),
                               (uint8_t) sig->hashed_size };
        unsigned size = 0;

        if (!EVP_DigestInit_ex2(key->md_ctx, key->sha512, NULL) ||
            !EVP_DigestUpdate(key->md_ctx, content, content_size) ||
            !EVP_DigestUpdate(key->md_ctx, sig->hashed, sig->hashed_size) ||
            !EVP_DigestUpdate(key->md_ctx, trailer, sizeof(trailer)) ||
            !EVP_DigestFinal_ex(key->md_ctx, digest, &size) || size != SHA512_SIZE)
                return -EIO;
        return 0;
}

int signature_verify(const PublicKey *key, const void *content, size_t content_size, const char *signature,
                     size_t signature_size, AssertionError *err)
{
        _cleanup_free_ uint8_t *packet = NULL;
        uint8_t digest[SHA512_SIZE];
        uint8_t padded[OPENPGP_RSA_BITS_MAX / 8];
        OpenPGPSignature sig;
        size_t packet_size;
        int r;

        r = openpgp_v1_decode(signature, signature_size, "signature", &packet, &packet_size, err);
        if (r < 0)
                return r;
        r = openpgp_signature_parse(packet, packet_size, &sig, err);
        if (r < 0)
                return r;

        r = digest_compute(key, content, content_size, &sig, digest);
        if (r < 0)
                return assertion_error_set(err, r, "signature: cannot compute SHA-512");
        /* The hash tag is not a security check (it is unsigned) but rejects altered content cheaply. */
        if (memcmp(digest, sig.hash_tag, 2) != 0)
                return assertion_error_set(err, -EKEYREJECTED,
                                           "failed signature verification: hash tag doesn't match");

        /* Shorter values are the same number with leading zeros dropped (RFC 4880 MPIs); OpenSSL wants
         * exactly the modulus size. A longer value cannot be below the modulus. */
        if (sig.mpi_size > key->modulus_size || key->modulus_size > sizeof(padded))
                return assertion_error_set(
                        err, -EKEYREJECTED,
                        "failed signature verification: signature value longer than the %u-bit key",
                        key->bits);
        memset(padded, 0, key->modulus_size - sig.mpi_size);
        memcpy(padded + key->modulus_size - sig.mpi_size, sig.mpi, sig.mpi_size);

        if (EVP_PKEY_verify(key->verify_ctx, padded, key->modulus_size, digest, sizeof(digest)) != 1) {
                ERR_clear_error();
                return assertion_error_set(err, -EKEYREJECTED,
                                           "failed signature verification: RSA verification failure");
        }
        return 0;
}

int assertion_verify_signature(const Assertion *a, const PublicKey *key, AssertionError *err)
{
        const char *sign_key = assertion_header_string(a, "sign-key-sha3-384");
        int r;

        if (!sign_key)
                return assertion_error_set(err, -EBADMSG, "\"sign-key-sha3-384\" header is mandatory");
        /* The id check comes before any crypto: a mismatch is a lookup error, and refusing it early keeps
         * an attacker from making us spend an RSA operation on a key the assertion never named. */
        if (!streq(sign_key, key->id))
                return assertion_error_set(err, -ENOKEY, "signed by key %s, not by %s", sign_key, key->id);

        r = signature_verify(key, a->content, a->content_size, a->signature, a->signature_size, err);
        if (err && r < 0)
                err->line = a->first_line;
        return r;
}
