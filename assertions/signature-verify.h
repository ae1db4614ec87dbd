/* SPDX-License-Identifier: MIT */
#pragma once

/* Checking an assertion's signature against one given key, in-process with OpenSSL: the chain of trust
 * (which key, valid when, signed by whom) is the trust database's job, not this one's. */

#include <stddef.h>

#include "assertion.h"
#include "public-key.h"

/* Verifies that a's signature is key's RSA PKCS#1 v1.5 SHA-512 signature over a->content.
 * First, before any crypto, a's sign-key-sha3-384 must equal key's id. Returns:
 *   0             the signature verifies;
 *   -ENOKEY       a names another signing key ("signed by X, not by Y");
 *   -EBADMSG      the signature text is not one of the accepted shapes (reason in err);
 *   -EKEYREJECTED the signature does not verify (forged or altered content, signature or key).
 * err (optional) says why in words. key's cached OpenSSL state is used: not for concurrent callers. */
int assertion_verify_signature(const Assertion *a, const PublicKey *key, AssertionError *err);

/* The same check on raw parts: content and the signature text as on the wire (v1 base64, line breaks
 * allowed). No key id check: the caller has done it. */
int signature_verify(const PublicKey *key, const void *content, size_t content_size, const char *signature,
                     size_t signature_size, AssertionError *err);
