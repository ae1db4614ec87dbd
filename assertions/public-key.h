/* SPDX-License-Identifier: MIT */
#pragma once

/* An assertion signing key: an RSA public key as snapd knows it (asserts/crypto.go), with its key id and a
 * ready OpenSSL verification context.
 *
 * The key id is base64url-nopad(SHA3-384(0x01 || P)) where P is the key re-serialized the way snapd does it
 * (Go's packet.NewRSAPublicKey(2016-01-01, key).Serialize): a v4 RSA public-key packet with a new-format
 * header, creation time 2016-01-01T00:00:00Z and minimal MPIs, whatever creation time or header form the
 * input used. For keys made by `snap create-key` (and every key in the interop vectors) P is byte-for-byte
 * the body's packet. */

#include <openssl/evp.h>
#include <stdint.h>

#include "assertion.h"
#include "macros.h"

/* base64url-nopad of a 48-byte SHA3-384 digest. */
#define PUBLIC_KEY_ID_LENGTH 64

typedef struct PublicKey {
        char id[PUBLIC_KEY_ID_LENGTH + 1];
        unsigned bits;
        uint32_t creation_time; /* as found in the input packet, for information */
        uint8_t *packet;        /* the canonical packet P (see above); owned */
        size_t packet_size;
        size_t modulus_size; /* bytes: signatures are left-padded to this */
        EVP_PKEY *pkey;
        /* Verification state prepared once, so a verification costs one hash and one RSA operation. It
         * makes a PublicKey unfit for concurrent use from several threads. */
        EVP_PKEY_CTX *verify_ctx; /* RSA PKCS#1 v1.5, SHA-512 */
        EVP_MD *sha512;
        EVP_MD_CTX *md_ctx;
} PublicKey;

PublicKey *public_key_free(PublicKey *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(PublicKey *, public_key_free)
#define _cleanup_public_key_ _cleanup_(public_key_freep)

/* From one OpenPGP public-key packet (no 0x01 prefix). -EBADMSG with err filled for a refused shape. */
int public_key_from_packet(const uint8_t *packet, size_t size, PublicKey **ret, AssertionError *err);

/* From snapd's text form: base64 of 0x01 || packet, with line breaks (an account-key body). */
int public_key_from_text(const char *text, size_t length, PublicKey **ret, AssertionError *err);

/* From an account-key or account-key-request assertion: parses the body and checks that the key hashes to
 * the public-key-sha3-384 header, so a key can never be filed under another key's id. */
int public_key_from_assertion(const Assertion *a, PublicKey **ret, AssertionError *err);

/* The body snapd writes for this key (account-key, `snap export-key`): v1 text of P, 76-column lines. */
int public_key_encode_text(const PublicKey *k, char **ret);
