/* SPDX-License-Identifier: MIT */
#pragma once

/* Signs assertions in-process with OpenSSL, for benchmarks that need thousands of validly signed assertions:
 * through gpg (corehomectl sign, sign-many) an RSA-4096 signature costs ~50 ms here, with OpenSSL ~4 ms
 * (RSA-2048: ~0.3 ms). Keys are made on the spot, never stored. The signatures have the shape snapd's
 * signer produces (v4, binary document, RSA, SHA-512, one creation-time subpacket), and every one is checked
 * with the library's own verifier before it is used. Header-only: each bench program includes it once. */

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "macros.h"
#include "openpgp-packet.h"
#include "public-key.h"
#include "signature-verify.h"

typedef struct BenchKey {
        EVP_PKEY *pkey;
        PublicKey *public_key; /* id = the sign-key-sha3-384 */
        char *body;            /* the account-key body: v1 text of the key, with a final newline */
} BenchKey;

static inline void bench_key_done(BenchKey *k)
{
        EVP_PKEY_free(k->pkey);
        public_key_free(k->public_key);
        free(k->body);
        *k = (BenchKey){};
}

static inline uint8_t *bench_bn_bytes(EVP_PKEY *pkey, const char *name, size_t *ret_size)
{
        BIGNUM *bn = NULL;
        uint8_t *bytes;

        if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
                return NULL;
        *ret_size = (size_t) BN_num_bytes(bn);
        bytes = malloc(*ret_size + 1);
        if (bytes)
                BN_bn2bin(bn, bytes);
        BN_free(bn);
        return bytes;
}

static inline int bench_key_new(unsigned bits, BenchKey *ret)
{
        _cleanup_free_ uint8_t *n = NULL, *e = NULL, *packet = NULL;
        size_t n_size = 0, e_size = 0, packet_size;
        _cleanup_free_ char *text = NULL;
        BenchKey k = {};

        k.pkey = EVP_RSA_gen(bits);
        if (!k.pkey)
                return -EIO;
        n = bench_bn_bytes(k.pkey, OSSL_PKEY_PARAM_RSA_N, &n_size);
        e = bench_bn_bytes(k.pkey, OSSL_PKEY_PARAM_RSA_E, &e_size);
        OpenPGPPublicKey pk = { .creation_time = OPENPGP_SNAPD_KEY_TIME,
                                .n = n,
                                .n_size = n_size,
                                .e = e,
                                .e_size = e_size,
                                .bits = bits };
        if (!n || !e ||
            openpgp_public_key_serialize(&pk, OPENPGP_SNAPD_KEY_TIME, &packet, &packet_size) < 0 ||
            public_key_from_packet(packet, packet_size, &k.public_key, NULL) < 0 ||
            public_key_encode_text(k.public_key, &text) < 0 || asprintf(&k.body, "%s\n", text) < 0) {
                bench_key_done(&k);
                return -EIO;
        }
        *ret = k;
        return 0;
}

/* A new-format OpenPGP packet header (RFC 4880 4.2.2) for a body of size bytes. */
static inline size_t bench_packet_header(uint8_t tag, size_t size, uint8_t out[static 6])
{
        out[0] = 0xc0 | tag;
        if (size < 192) {
                out[1] = (uint8_t) size;
                return 2;
        }
        if (size < 8384) {
                out[1] = (uint8_t) (((size - 192) >> 8) + 192);
                out[2] = (uint8_t) ((size - 192) & 0xff);
                return 3;
        }
        out[1] = 0xff;
        for (int i = 0; i < 4; i++)
                out[2 + i] = (uint8_t) (size >> (24 - 8 * i));
        return 6;
}

/* The v1 signature text of content, as snapd's signer makes it. */
static inline int bench_signature(const BenchKey *k, const char *content, size_t content_size, char **ret)
{
        const uint32_t t = OPENPGP_SNAPD_KEY_TIME;
        const uint8_t hashed[] = { 4,
                                   OPENPGP_SIG_TYPE_BINARY,
                                   OPENPGP_ALGO_RSA,
                                   OPENPGP_HASH_SHA512,
                                   0,
                                   6,
                                   5,
                                   OPENPGP_SUBPACKET_CREATION_TIME,
                                   t >> 24,
                                   (t >> 16) & 0xff,
                                   (t >> 8) & 0xff,
                                   t & 0xff };
        const uint8_t trailer[] = { 4, 0xff, 0, 0, 0, sizeof(hashed) };
        uint8_t digest[64], sig[OPENPGP_RSA_BITS_MAX / 8],
                packet[16 + sizeof(hashed) + OPENPGP_RSA_BITS_MAX / 8];
        size_t sig_size = sizeof(sig), body, header, skip = 0, p;
        unsigned digest_size = 0;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
        bool ok;

        ok = md && ctx && EVP_DigestInit_ex2(md, EVP_sha512(), NULL) &&
             EVP_DigestUpdate(md, content, content_size) && EVP_DigestUpdate(md, hashed, sizeof(hashed)) &&
             EVP_DigestUpdate(md, trailer, sizeof(trailer)) &&
             EVP_DigestFinal_ex(md, digest, &digest_size) && EVP_PKEY_sign_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha512()) > 0 &&
             EVP_PKEY_sign(ctx, sig, &sig_size, digest, digest_size) > 0;
        EVP_MD_CTX_free(md);
        EVP_PKEY_CTX_free(ctx);
        if (!ok)
                return -EIO;
        while (skip < sig_size && sig[skip] == 0) /* an MPI has no leading zero bytes */
                skip++;
        unsigned bits = (unsigned) (sig_size - skip) * 8;
        for (uint8_t top = sig[skip]; !(top & 0x80); top <<= 1)
                bits--;

        body = sizeof(hashed) + 2 + 2 + 2 + (sig_size - skip);
        header = bench_packet_header(OPENPGP_TAG_SIGNATURE, body, packet);
        p = header;
        memcpy(packet + p, hashed, sizeof(hashed));
        p += sizeof(hashed);
        packet[p++] = 0; /* no unhashed subpackets */
        packet[p++] = 0;
        packet[p++] = digest[0];
        packet[p++] = digest[1];
        packet[p++] = (uint8_t) (bits >> 8);
        packet[p++] = (uint8_t) bits;
        memcpy(packet + p, sig + skip, sig_size - skip);
        p += sig_size - skip;
        return openpgp_v1_encode(packet, p, ret);
}

/* Signs headers (+ body) with k: the whole wire form, checked with our verifier. */
static inline int bench_sign(const BenchKey *k, json_t *headers, const char *body, char **ret,
                             size_t *ret_size)
{
        _cleanup_free_ char *content = NULL, *signature = NULL, *wire = NULL;
        _cleanup_assertion_ Assertion *a = NULL;
        size_t content_size, size;

        if (json_object_set_new(headers, "sign-key-sha3-384", json_string(k->public_key->id)) < 0 ||
            assertion_encode_content(headers, body, body ? strlen(body) : 0, &content, &content_size) < 0 ||
            bench_signature(k, content, content_size, &signature) < 0)
                return -EINVAL;
        size = content_size + 2 + strlen(signature) + 1;
        if (asprintf(&wire, "%s\n\n%s\n", content, signature) < 0)
                return -ENOMEM;
        if (assertion_decode(wire, size, &a, NULL) < 0 ||
            assertion_verify_signature(a, k->public_key, NULL) < 0)
                return -EKEYREJECTED;
        *ret = TAKE_PTR(wire);
        *ret_size = size;
        return 0;
}
