/* SPDX-License-Identifier: MIT */
#pragma once

/* The "systemd-homed" LUKS2 token: the embedded user record, encrypted with the volume key, in the header,
 * so that a home can be checked (whose it is, signed by whom) before its file system is mounted: kernel
 * file systems are not hardened against hostile images. Exactly as systemd-homed 252 writes it:
 *
 *   {"type":"systemd-homed","keyslots":[],"record":"<base64>","iv":"<base64>"}
 *
 * record = the record (no binding, status, secret; compact JSON, keys sorted) encrypted with OpenSSL's
 * cipher named after the volume's: "<cipher>-<key bits>-<mode up to '-'>", key bits halved for XTS
 * (aes-xts-plain64 with a 32 byte key: aes-128-xts); key = the volume key; iv = random, of the cipher's IV
 * length. Internal to libhomes. */

#include <jansson.h>
#include <libcryptsetup.h>
#include <stddef.h>

#define HOME_LUKS_TOKEN_TYPE "systemd-homed"

/* The token JSON text for record, encrypted with volume_key (the key of cd's volume). */
int home_luks_token_format(struct crypt_device *cd, json_t *record, const void *volume_key,
                           size_t volume_key_size, char **ret);

/* Writes text as cd's systemd-homed token: replaces the first one, drops any further ones (as homed does),
 * adds one when there is none. */
int home_luks_token_store(struct crypt_device *cd, const char *text);

/* Decrypts the first systemd-homed token of cd with volume_key and loads the record strictly
 * (user_record_load()). -ENOENT without such a token, -EBADMSG for a token that is malformed, does not
 * decrypt with this key or holds no valid record. */
int home_luks_token_read(struct crypt_device *cd, const void *volume_key, size_t volume_key_size,
                         json_t **ret);
