/* SPDX-License-Identifier: MIT */
/* The decoded assertion object: ownership, header access and the forms it is shown in. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "assertion-internal.h"

Assertion *assertion_free(Assertion *a)
{
        if (!a)
                return NULL;
        json_decref(a->headers);
        free(a->body);
        free(a->content);
        free(a->signature);
        return mfree(a);
}

AssertionList *assertion_list_free(AssertionList *l)
{
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n; i++)
                assertion_free(l->items[i]);
        free(l->items);
        return mfree(l);
}

json_t *assertion_header(const Assertion *a, const char *name)
{
        return a && a->headers ? json_object_get(a->headers, name) : NULL;
}

const char *assertion_header_string(const Assertion *a, const char *name)
{
        return json_string_value(assertion_header(a, name));
}

unsigned assertion_header_line_in(const char *text, size_t size, unsigned first_line, const char *name)
{
        const char *p = text, *end = memmem(text, size, "\n\n", 2);
        size_t l = strlen(name);
        unsigned line = first_line;

        /* A top-level header is the only line of the header block that starts with "NAME:" (nested
         * entries and text are indented). */
        if (!end)
                end = text + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                if (n > l && memcmp(p, name, l) == 0 && p[l] == ':')
                        return line;
                if (!nl)
                        break;
                p = nl + 1;
                line++;
        }
        return first_line;
}

unsigned assertion_header_line(const Assertion *a, const char *name)
{
        if (!a->content || !assertion_header(a, name))
                return a->first_line;
        return assertion_header_line_in(a->content, a->content_size, a->first_line, name);
}

int assertion_error_set(AssertionError *err, int r, const char *format, ...)
{
        va_list ap;

        if (!err)
                return r;
        err->line = 0;
        va_start(ap, format);
        (void) vsnprintf(err->message, sizeof(err->message), format, ap);
        va_end(ap);
        return r;
}

char *assertion_describe(const Assertion *a)
{
        const char *const *keys = assertion_type_primary_keys(a->type);
        _cleanup_free_ char *s = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&s, &size);
        if (!f)
                return NULL;
        fputs(strempty(a->type), f);
        for (const char *const *k = keys; k && *k; k++)
                fprintf(f, " %s=%s", *k, strempty(assertion_header_string(a, *k)));
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(s);
}

json_t *assertion_to_json(const Assertion *a)
{
        _cleanup_json_ json_t *o = NULL;

        o = json_object();
        if (!o)
                return NULL;
        if (json_object_set_new(o, "type", json_string(strempty(a->type))) < 0 ||
            json_object_set(o, "headers", a->headers) < 0 ||
            json_object_set_new(o, "body",
                                json_stringn((const char *) (a->body ? a->body : (const uint8_t *) ""),
                                             a->body_size)) < 0)
                return NULL;
        return TAKE_PTR(o);
}
