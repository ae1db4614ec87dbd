/* SPDX-License-Identifier: MIT */
#pragma once

/* The Ubuntu Core assertion wire format, decoded and encoded exactly as snapd (asserts/assertions.go) does:
 *
 *   HEADERS "\n\n" [BODY "\n\n"] SIGNATURE
 *
 * The signed content is HEADERS, plus "\n\n" BODY when body-length > 0. Headers are kept as a jansson
 * object in wire order: every value is a JSON string, an array (of strings, arrays or objects) or an object
 * (of the same), which is exactly the value space of snapd's header grammar. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assertion-limits.h"
#include "macros.h"

typedef struct Assertion {
        json_t *headers;     /* object, wire order; owned */
        uint8_t *body;       /* NULL when body-length is 0 or absent */
        size_t body_size;
        char *content;       /* the signed content bytes (NUL-terminated copy); owned */
        size_t content_size;
        char *signature;     /* the signature text as on the wire (base64, no trailing newline); owned */
        size_t signature_size;
        const char *type;    /* borrowed from headers["type"] */
        unsigned first_line; /* 1-based line in the stream where this assertion starts, for messages */
} Assertion;

/* Where and why decoding failed, for a message a person can act on: "line 7: header 'revision': ...". */
typedef struct AssertionError {
        unsigned line;    /* 1-based line in the input stream, 0 when not about a line */
        char message[256];
} AssertionError;

Assertion *assertion_free(Assertion *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Assertion *, assertion_free)
#define _cleanup_assertion_ _cleanup_(assertion_freep)

/* Decodes exactly one assertion occupying all of data (a trailing "\n" is allowed as snapd does).
 * -EBADMSG malformed, -E2BIG a limit exceeded; err (optional) says where and why. */
int assertion_decode(const void *data, size_t size, Assertion **ret, AssertionError *err);

/* A decoded stream of assertions as found in auto-import.assert or a fleet bundle: assertions separated by
 * blank lines, as snapd's asserts.NewDecoder reads them. */
typedef struct AssertionList {
        Assertion **items;
        size_t n;
} AssertionList;

AssertionList *assertion_list_free(AssertionList *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(AssertionList *, assertion_list_free)
#define _cleanup_assertion_list_ _cleanup_(assertion_list_freep)

/* Decodes every assertion of a stream; at most ASSERTION_STREAM_MAX of them. An empty stream is a valid,
 * empty list. On error nothing is returned (the stream is taken or refused whole). */
int assertion_stream_decode(const void *data, size_t size, AssertionList **ret, AssertionError *err);

/* Header accessors (NULL when absent or not of that shape). */
const char *assertion_header_string(const Assertion *a, const char *name);
json_t *assertion_header(const Assertion *a, const char *name);

/* The primary-key headers of a known type, in snapd's order (e.g. system-user: brand-id, email);
 * NULL for an unknown type. The returned array is static, NULL-terminated. */
const char *const *assertion_type_primary_keys(const char *type);

/* Encodes headers (+ body) into the signed content in snapd's canonical order: type, format, authority-id,
 * revision, the type's primary keys, the other headers sorted byte-wise, body-length (when body_size > 0),
 * sign-key-sha3-384. Lists, maps and multi-line strings are written as snapd writes them. The headers must
 * not contain body-length; sign-key-sha3-384 is taken from headers. */
int assertion_encode_content(json_t *headers, const void *body, size_t body_size, char **ret, size_t *ret_size);

/* The full wire form of an assertion: content + "\n\n" + signature + "\n". */
int assertion_encode(const Assertion *a, char **ret, size_t *ret_size);

/* "system-user brand-id=acme email=a@b.c" style one-line name for messages; newly allocated. */
char *assertion_describe(const Assertion *a);
