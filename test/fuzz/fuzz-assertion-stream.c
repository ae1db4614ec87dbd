/* SPDX-License-Identifier: MIT */
/* Fuzzes the stream decoder and checks the codec's round-trip properties on whatever it accepts:
 *   - the wire form of each assertion decodes back to the same content, signature and headers;
 *   - headers + body that the encoder accepts re-encode to content that decodes to the same headers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_wire_roundtrip(const Assertion *a)
{
        _cleanup_free_ char *wire = NULL;
        _cleanup_assertion_ Assertion *again = NULL;
        size_t wire_size;

        if (assertion_encode(a, &wire, &wire_size) < 0)
                abort();
        if (assertion_decode(wire, wire_size, &again, NULL) < 0)
                abort();
        if (again->content_size != a->content_size ||
            memcmp(again->content, a->content, a->content_size) != 0 ||
            !streq(again->signature, a->signature) || !json_equal(again->headers, a->headers))
                abort();
}

/* The headers as the canonical form keeps them: snapd's encoder leaves out format and revision "0", a
 * signatory-id equal to authority-id, and writes body-length itself. */
static json_t *canonical_headers(const Assertion *a)
{
        json_t *h = json_deep_copy(a->headers);
        const char *signatory;

        if (!h)
                abort();
        if (a->format == 0)
                json_object_del(h, "format");
        if (a->revision == 0)
                json_object_del(h, "revision");
        signatory = json_string_value(json_object_get(h, "signatory-id"));
        if (signatory && streq(signatory, strempty(json_string_value(json_object_get(h, "authority-id")))))
                json_object_del(h, "signatory-id");
        json_object_del(h, "body-length");
        return h;
}

static void check_content_roundtrip(const Assertion *a)
{
        _cleanup_free_ char *content = NULL, *wire = NULL;
        _cleanup_assertion_ Assertion *again = NULL;
        size_t content_size, wire_size;
        json_t *expected;

        /* Whatever the decoder accepted, the encoder must be able to write. */
        if (assertion_encode_content(a->headers, a->body, a->body_size, &content, &content_size) < 0)
                abort();
        /* Bytes, not "%s": a body may hold NUL (valid UTF-8, and snapd accepts it). */
        wire_size = content_size + 2 + a->signature_size + 1;
        wire = malloc(wire_size);
        if (!wire)
                abort();
        memcpy(wire, content, content_size);
        memcpy(wire + content_size, "\n\n", 2);
        memcpy(wire + content_size + 2, a->signature, a->signature_size);
        wire[wire_size - 1] = '\n';
        if (assertion_decode(wire, wire_size, &again, NULL) < 0)
                abort();
        expected = canonical_headers(a);
        json_object_del(again->headers, "body-length");
        if (!json_equal(again->headers, expected))
                abort();
        json_decref(expected);
        /* Canonical content is a fixed point. */
        if (again->content_size != content_size || memcmp(again->content, content, content_size) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_assertion_list_ AssertionList *l = NULL;
        AssertionError err = {};

        if (size > 1024 * 1024)
                return 0;
        if (assertion_stream_decode(data, size, &l, &err) < 0) {
                /* Every refusal carries a message. */
                if (err.message[0] == '\0')
                        abort();
                return 0;
        }
        for (size_t i = 0; i < l->n; i++) {
                check_wire_roundtrip(l->items[i]);
                check_content_roundtrip(l->items[i]);
        }
        return 0;
}
