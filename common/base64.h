/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Standard alphabet with '=' padding (RFC 4648 §4), as snapd writes signatures and public keys. */
int base64_encode(const void *data, size_t size, char **ret);

/* URL-safe alphabet without padding (RFC 4648 §5), as snapd writes key ids (sign-key-sha3-384). */
int base64url_nopad_encode(const void *data, size_t size, char **ret);

/* Strict decoding of the standard alphabet with mandatory padding: any other byte (including white space
 * and line breaks), a wrong length, or non-zero trailing bits gives -EBADMSG. Strictness matters because a
 * lenient decoder lets two different texts stand for the same signature. */
int base64_decode(const char *text, size_t length, uint8_t **ret, size_t *ret_size);
