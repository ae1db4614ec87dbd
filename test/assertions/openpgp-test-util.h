/* SPDX-License-Identifier: MIT */
#pragma once

/* Test helpers for the OpenPGP layer: cut assertions of an interop vector into signed content and signature
 * text by hand (headers, "body-length", blank lines), without the codec, so the signature layer is tested on
 * its own. Header-only: each test program includes it once. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "macros.h"

typedef struct VectorPart {
        char *content; /* headers [+ "\n\n" + body] */
        size_t content_size;
        char *signature; /* base64 text with line breaks, no final newline */
        size_t signature_size;
        char *body; /* NULL when body-length is absent or 0 */
        size_t body_size;
        char *headers; /* the header block alone */
} VectorPart;

typedef struct Vector {
        VectorPart parts[16];
        size_t n;
} Vector;

static inline void vector_free(Vector *v)
{
        for (size_t i = 0; i < v->n; i++) {
                free(v->parts[i].content);
                free(v->parts[i].signature);
                free(v->parts[i].body);
                free(v->parts[i].headers);
        }
        v->n = 0;
}

/* The value of a top-level scalar header in a header block, newly allocated, or NULL. */
static inline char *vector_header(const char *headers, const char *name)
{
        size_t l = strlen(name);

        for (const char *p = headers; p && *p;) {
                const char *eol = strchr(p, '\n');
                size_t line = eol ? (size_t) (eol - p) : strlen(p);

                if (line > l + 1 && strneq(p, name, l) && p[l] == ':' && p[l + 1] == ' ')
                        return strndup(p + l + 2, line - l - 2);
                p = eol ? eol + 1 : NULL;
        }
        return NULL;
}

static inline int vector_split(const char *data, size_t size, Vector *ret)
{
        const char *p = data, *end = data + size;

        memset(ret, 0, sizeof(*ret));
        while (p < end && ret->n < ELEMENTSOF(ret->parts)) {
                VectorPart *part = &ret->parts[ret->n];
                const char *hdr_end = memmem(p, (size_t) (end - p), "\n\n", 2), *sig, *sig_end;
                _cleanup_free_ char *bl = NULL;
                size_t body = 0;

                if (!hdr_end)
                        return -1;
                part->headers = strndup(p, (size_t) (hdr_end - p));
                bl = vector_header(part->headers, "body-length");
                if (bl)
                        body = strtoul(bl, NULL, 10);
                sig = hdr_end + 2;
                if (body > 0) {
                        part->body = strndup(sig, body);
                        part->body_size = body;
                        sig += body + 2;
                }
                part->content_size = (size_t) (sig - 2 - p);
                part->content = strndup(p, part->content_size);
                sig_end = memmem(sig, (size_t) (end - sig), "\n\n", 2);
                if (!sig_end)
                        sig_end = end;
                part->signature_size = (size_t) (sig_end - sig);
                while (part->signature_size > 0 && sig[part->signature_size - 1] == '\n')
                        part->signature_size--;
                part->signature = strndup(sig, part->signature_size);
                ret->n++;
                p = sig_end;
                while (p < end && *p == '\n')
                        p++;
        }
        return ret->n > 0 ? 0 : -1;
}

/* Reads $INTEROP_DIR/snapd/NAME and splits it; aborts the test program when it cannot. */
static inline void vector_load(const char *name, Vector *ret)
{
        const char *dir = getenv("INTEROP_DIR");
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t size;

        if (!dir || asprintf(&path, "%s/snapd/%s", dir, name) < 0 ||
            read_file_bounded(AT_FDCWD, path, 1024 * 1024, &data, &size) < 0 ||
            vector_split(data, size, ret) < 0) {
                fprintf(stderr, "cannot load vector %s (INTEROP_DIR=%s)\n", name, strempty(dir));
                abort();
        }
}
