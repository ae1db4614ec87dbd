/* SPDX-License-Identifier: MIT */
#pragma once

#include <openssl/evp.h>
#include <stddef.h>

#include "macros.h"

/* A PEM Ed25519 key is ~120 bytes; anything larger than this is refused before OpenSSL sees it. */
#define ED25519_PEM_MAX 4096U

static inline void evp_pkey_freep(EVP_PKEY **k)
{
        if (*k)
                EVP_PKEY_free(*k);
}
#define _cleanup_evp_pkey_ _cleanup_(evp_pkey_freep)

/* The public half as systemd writes it into a record's signature "key" and into *.public files:
 * "-----BEGIN PUBLIC KEY-----\n<base64 SPKI>\n-----END PUBLIC KEY-----\n". key may be private or public. */
int ed25519_key_public_pem(EVP_PKEY *key, char **ret);

/* Parses a PEM SubjectPublicKeyInfo (exactly size bytes); -EBADMSG unless it is an Ed25519 public key,
 * -E2BIG above ED25519_PEM_MAX. */
int ed25519_key_load_public_pem(const char *text, size_t size, EVP_PKEY **ret);

/* Parses a PEM PKCS#8 private key; -EBADMSG unless it is an Ed25519 private key. */
int ed25519_key_load_private_pem(const char *text, size_t size, EVP_PKEY **ret);

/* Do a and b hold the same public key? (Compares the raw 32 public bytes.) */
int ed25519_key_equal_public(EVP_PKEY *a, EVP_PKEY *b);
