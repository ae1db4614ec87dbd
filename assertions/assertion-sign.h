/* SPDX-License-Identifier: MIT */
#pragma once

/* Signing assertions with a key held by GnuPG (the brand's tooling side), as `snap sign` does: the key is
 * found by its user ID in a GnuPG home, gpg makes a detached binary SHA-512 signature through gpgme, and
 * the result is stored in snapd's form (0x01 || the signature packet re-serialized as snapd's Go code does,
 * base64 in 76-column lines). Every signature is checked with our own verifier before it is handed out. */

#include <gpgme.h>
#include <jansson.h>
#include <stddef.h>

#include "assertion.h"
#include "public-key.h"

/* Brands sign with RSA keys of at least this size, as snapd's signing code requires. */
#define SIGNING_KEY_BITS_MIN 4096

typedef struct SigningKey {
        gpgme_ctx_t ctx;
        gpgme_key_t key;
        PublicKey *public_key; /* the key as assertions carry it; its id is the sign-key-sha3-384 */
        char *name;
} SigningKey;

SigningKey *signing_key_free(SigningKey *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(SigningKey *, signing_key_free)
#define _cleanup_signing_key_ _cleanup_(signing_key_freep)

/* Finds the secret key whose user ID is exactly name (snapd's rule) in gnupg_home (NULL: GnuPG's default,
 * $GNUPGHOME or ~/.gnupg). Refuses missing, ambiguous, revoked, expired, disabled, non-RSA and too small
 * keys with a reason in err: -ENOKEY not found, -EKEYREJECTED unusable, -EIO GnuPG failed. */
int signing_key_open(const char *gnupg_home, const char *name, SigningKey **ret, AssertionError *err);

/* Signs headers (+ body) and returns the full assertion text (content "\n\n" signature "\n"), exactly what
 * `snap sign` prints. headers must hold only strings, lists and maps (snapd's value space); its
 * sign-key-sha3-384 is set to the key's id (a different one given by the caller is refused). The content is
 * checked with the codec (snapd's assembly rules) before gpg is asked to sign, and the result is decoded
 * and verified before it is returned. -EBADMSG for headers snapd would refuse, -EKEYREJECTED when GnuPG
 * produced a signature that is not SHA-512 or does not verify, -EIO when GnuPG failed. */
int assertion_sign(SigningKey *k, json_t *headers, const void *body, size_t body_size, char **ret,
                   size_t *ret_size, AssertionError *err);

/* Signs already encoded content with k and returns the signature text in snapd's form (no final newline).
 * The signature is verified against k before it is returned. */
int signature_sign(SigningKey *k, const char *content, size_t content_size, char **ret, AssertionError *err);
