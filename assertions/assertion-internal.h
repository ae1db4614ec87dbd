/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared between the codec's files (decode, headers, stream, encode); not part of the library's API. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assertion.h"

/* jansson >= 2.11 defines json_decrefp() for GCC/clang; common/json-util.h redefines it, so we use
 * jansson's own. */
#ifndef _cleanup_json_
#define _cleanup_json_ _cleanup_(json_decrefp)
#endif

/* Sets err (when not NULL) and returns r, so a failure is one line: return assertion_codec_error(err, ...).
 */
int assertion_codec_error(AssertionError *err, int r, unsigned line, const char *format, ...) _printf_(4, 5);

/* Writes s as a quoted, escaped, possibly shortened string ("ab\x1b..." style) into buf; returns buf.
 * Untrusted bytes end up in messages a terminal shows: control characters are escaped. */
const char *assertion_codec_quote(const char *s, size_t size, char *buf, size_t buf_size);

/* Go's utf8.Valid(): refuses overlong forms, surrogates and code points above U+10FFFF. On failure
 * *ret_bad (optional) is the offset of the first invalid byte. */
bool assertion_utf8_valid(const uint8_t *s, size_t size, size_t *ret_bad);

/* Parses a header block (no trailing blank line; valid UTF-8 without NUL) into a JSON object in wire order.
 * first_line is the stream line of the block's first line (for messages). */
int assertion_headers_parse(const char *head, size_t size, unsigned first_line, json_t **ret_headers,
                            AssertionError *err);

/* The stream line of top-level header name in text, the content of an assertion (or its header block)
 * starting at first_line; first_line when it is not there. */
unsigned assertion_header_line_in(const char *text, size_t size, unsigned first_line, const char *name);

/* The checks snapd's assemble() makes once the wire pieces are split: body-length against the body,
 * UTF-8 body, sign-key-sha3-384, type, authority, format, primary keys, revision, signature. Fills
 * a->type, a->format, a->revision; may add a defaulted optional primary key to a->headers. */
int assertion_codec_check(Assertion *a, AssertionError *err);
