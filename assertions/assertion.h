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
        json_t *headers; /* object, wire order; owned */
        uint8_t *body;   /* NULL when body-length is 0 or absent */
        size_t body_size;
        char *content; /* the signed content bytes (NUL-terminated copy); owned */
        size_t content_size;
        char *signature; /* the signature text as on the wire (base64, no trailing newline); owned */
        size_t signature_size;
        const char *type;    /* borrowed from headers["type"] */
        unsigned first_line; /* 1-based line in the stream where this assertion starts, for messages */
        int64_t format;      /* the checked "format" header, 0 when absent */
        int64_t revision;    /* the checked "revision" header, 0 when absent */
} Assertion;

/* Where and why decoding failed, for a message a person can act on: "line 7: header 'revision': ...". */
typedef struct AssertionError {
        unsigned line; /* 1-based line in the input stream, 0 when not about a line */
        char message[256];
} AssertionError;

/* Fills err (when not NULL) with a message not about a line and returns r. */
int assertion_error_set(AssertionError *err, int r, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* Formats err as a person reads it: "line 7: reason" (or just "reason" when line is 0); returns buf. */
const char *assertion_error_format(const AssertionError *err, char *buf, size_t size);

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
/* The 1-based stream line of a top-level header, or the assertion's first line when the header is absent:
 * for messages of the typed views ("line 9: header 'until': ..."). Found in the content when asked (only
 * messages ask), rather than kept for every header of every assertion decoded. */
unsigned assertion_header_line(const Assertion *a, const char *name);

/* The primary-key headers of a known type, in snapd's order (e.g. system-user: brand-id, email);
 * NULL for an unknown type. The returned array is static, NULL-terminated. */
const char *const *assertion_type_primary_keys(const char *type);

/* snapd's table of assertion types (asserts/asserts.go typeRegistry, snapd 2.57.6). */
typedef struct AssertionType {
        const char *name;
        const char *const *primary_keys; /* NULL-terminated, snapd's order */
        /* snapd lets the last primary key be omitted and fills in this default (snap-revision's
         * provenance); NULL when every primary key is mandatory. */
        const char *optional_key_default;
        bool no_authority; /* requests signed by a device or key owner: no authority-id allowed */
        bool sequence_forming;
} AssertionType;

/* NULL for a type snapd does not know (snapd refuses those: "unknown assertion type"). */
const AssertionType *assertion_type_lookup(const char *name);

/* snapd's header-name rule ^[a-z](?:-?[a-z0-9])*$, also used for the keys of nested maps. */
bool assertion_header_name_valid(const char *name, size_t size);

/* snapd's integer rule for revision, format, body-length: decimal digits, no leading zeros (except "0"),
 * no sign, within int64. Returns 0, -EINVAL (not an integer), -EDOM (leading zeros), -ERANGE. */
int assertion_parse_int(const char *s, size_t size, int64_t *ret);

/* Encodes headers (+ body) into the signed content in snapd's canonical order: type, format, authority-id,
 * revision, the type's primary keys, the other headers sorted byte-wise, body-length (when body_size > 0),
 * sign-key-sha3-384. Lists, maps and multi-line strings are written as snapd writes them. sign-key-sha3-384
 * is taken from headers; body-length is written from body_size (a body-length header, as decoded headers
 * have, must agree with it). -EINVAL for anything the decoder would not read back to the same value
 * (non-string scalars, bad names, NUL, unknown type, missing authority...), -E2BIG beyond the limits. */
int assertion_encode_content(json_t *headers, const void *body, size_t body_size, char **ret,
                             size_t *ret_size);

/* The full wire form of an assertion: content + "\n\n" + signature + "\n". */
int assertion_encode(const Assertion *a, char **ret, size_t *ret_size);

/* A stream as snapd's Encoder writes it: the assertions' wire forms separated by one blank line. */
int assertion_stream_encode(const AssertionList *l, char **ret, size_t *ret_size);

/* {"type": ..., "headers": {...}, "body": "..."} as `corehomectl decode --json` prints it; body is "" when
 * there is none. NULL on allocation failure. */
json_t *assertion_to_json(const Assertion *a);

/* "system-user brand-id=acme email=a@b.c" style one-line name for messages; newly allocated. */
char *assertion_describe(const Assertion *a);
