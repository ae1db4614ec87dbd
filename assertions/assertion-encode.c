/* SPDX-License-Identifier: MIT */
/* Writing assertions in snapd's canonical form (asserts.go assembleAndSign(), headers.go appendEntry()):
 * type, format (when > 0), authority-id (and a differing signatory-id), revision (when > 0), the type's
 * primary keys, every other header sorted byte-wise, body-length (when there is a body), sign-key-sha3-384.
 * Strings with a newline become 4-space indented text, lists "  - " entries, maps sorted "  key: " entries.
 * Only what the decoder reads back to the same value is written: anything else is -EINVAL. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "assertion-internal.h"

static void write_indent(FILE *f, size_t n)
{
        for (size_t i = 0; i < n; i++)
                fputc(' ', f);
}

static int check_string(json_t *v)
{
        const char *s = json_string_value(v);
        size_t size = json_string_length(v);

        if (memchr(s, '\0', size) || !assertion_utf8_valid((const uint8_t *) s, size, NULL))
                return -EINVAL;
        return 0;
}

static int write_entry(FILE *f, const char *intro, json_t *v, size_t indent, unsigned depth);

static int write_string(FILE *f, const char *intro, json_t *v, size_t indent)
{
        const char *s = json_string_value(v), *end;
        size_t size = json_string_length(v);

        if (check_string(v) < 0)
                return -EINVAL;
        fprintf(f, "\n%s", intro);
        if (!memchr(s, '\n', size)) {
                fputc(' ', f);
                fwrite(s, 1, size, f);
                return 0;
        }
        /* Multi-line text: every line indented by 4 more spaces than the entry. */
        end = s + size;
        for (;;) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));

                fputc('\n', f);
                write_indent(f, indent + 4);
                fwrite(s, 1, nl ? (size_t) (nl - s) : (size_t) (end - s), f);
                if (!nl)
                        break;
                s = nl + 1;
        }
        return 0;
}

static int write_list(FILE *f, const char *intro, json_t *v, size_t indent, unsigned depth)
{
        _cleanup_free_ char *prefix = NULL;
        size_t i;
        json_t *e;
        int r;

        if (json_array_size(v) == 0)
                return 0; /* snapd omits empty lists */
        if (depth > ASSERTION_NESTING_MAX || json_array_size(v) > ASSERTION_LIST_MAX)
                return -E2BIG;
        if (asprintf(&prefix, "%*s-", (int) (indent + 2), "") < 0)
                return -ENOMEM;
        fprintf(f, "\n%s", intro);
        json_array_foreach (v, i, e) {
                /* An empty list or map as an entry would vanish and change the list. */
                if ((json_is_array(e) && json_array_size(e) == 0) ||
                    (json_is_object(e) && json_object_size(e) == 0))
                        return -EINVAL;
                r = write_entry(f, prefix, e, indent + 2, depth);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int compare_keys(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The keys of object o, sorted byte-wise (Go's sort.Strings), skipping those in skip (may be NULL). */
static int sorted_keys(json_t *o, json_t *skip, const char ***ret, size_t *ret_n)
{
        _cleanup_free_ const char **keys = NULL;
        const char *k;
        size_t n = 0;
        json_t *v;

        keys = calloc(json_object_size(o) + 1, sizeof(char *));
        if (!keys)
                return -ENOMEM;
        json_object_foreach (o, k, v)
                if (!skip || !json_object_get(skip, k))
                        keys[n++] = k;
        qsort(keys, n, sizeof(char *), compare_keys);
        *ret = TAKE_PTR(keys);
        *ret_n = n;
        return 0;
}

static int write_map(FILE *f, const char *intro, json_t *v, size_t indent, unsigned depth)
{
        _cleanup_free_ const char **keys = NULL;
        size_t n;
        int r;

        if (json_object_size(v) == 0)
                return 0; /* snapd omits empty maps */
        if (depth > ASSERTION_NESTING_MAX || json_object_size(v) > ASSERTION_LIST_MAX)
                return -E2BIG;
        r = sorted_keys(v, NULL, &keys, &n);
        if (r < 0)
                return r;
        fprintf(f, "\n%s", intro);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *entry_intro = NULL;

                if (!assertion_header_name_valid(keys[i], strlen(keys[i])))
                        return -EINVAL;
                if (asprintf(&entry_intro, "%*s%s:", (int) (indent + 2), "", keys[i]) < 0)
                        return -ENOMEM;
                r = write_entry(f, entry_intro, json_object_get(v, keys[i]), indent + 2, depth);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_entry(FILE *f, const char *intro, json_t *v, size_t indent, unsigned depth)
{
        if (json_is_null(v))
                return 0; /* snapd omits nil values */
        if (json_is_string(v))
                return write_string(f, intro, v, indent);
        if (json_is_array(v))
                return write_list(f, intro, v, indent, depth + 1);
        if (json_is_object(v))
                return write_map(f, intro, v, indent, depth + 1);
        return -EINVAL; /* numbers, booleans: header values are strings */
}

static int write_header(FILE *f, json_t *headers, const char *name)
{
        _cleanup_free_ char *intro = NULL;

        if (!assertion_header_name_valid(name, strlen(name)))
                return -EINVAL;
        if (asprintf(&intro, "%s:", name) < 0)
                return -ENOMEM;
        return write_entry(f, intro, json_object_get(headers, name), 0, 0);
}

/* format and revision: written only when > 0, as snapd does. */
static int iteration(json_t *headers, const char *name, int64_t *ret)
{
        json_t *v = json_object_get(headers, name);

        *ret = 0;
        if (!v)
                return 0;
        if (!json_is_string(v))
                return -EINVAL;
        return assertion_parse_int(json_string_value(v), json_string_length(v), ret) < 0 ? -EINVAL : 0;
}

static int write_content(FILE *f, json_t *headers, const AssertionType *t, size_t body_size, json_t *written)
{
        const char *authority = json_string_value(json_object_get(headers, "authority-id"));
        const char *signatory = json_string_value(json_object_get(headers, "signatory-id"));
        _cleanup_free_ const char **others = NULL;
        int64_t format, revision;
        size_t n;
        int r;

        if (iteration(headers, "format", &format) < 0 || iteration(headers, "revision", &revision) < 0)
                return -EINVAL;

        fprintf(f, "type: %s", t->name);
        if (format > 0 && (r = write_header(f, headers, "format")) < 0)
                return r;
        if (!t->no_authority) {
                if (!authority || !*authority)
                        return -EINVAL;
                if ((r = write_header(f, headers, "authority-id")) < 0)
                        return r;
                if (signatory && !streq(signatory, authority) &&
                    (r = write_header(f, headers, "signatory-id")) < 0)
                        return r;
        } else if (authority || signatory)
                return -EINVAL;
        if (revision > 0 && (r = write_header(f, headers, "revision")) < 0)
                return r;

        for (const char *const *k = t->primary_keys; *k; k++) {
                json_t *v = json_object_get(headers, *k);
                bool optional = !k[1] && t->optional_key_default;

                json_object_set_new(written, *k, json_true());
                if (!v && optional)
                        continue;
                if (!json_is_string(v) || json_string_length(v) == 0 || strchr(json_string_value(v), '/'))
                        return -EINVAL;
                /* A defaulted optional primary key is left out, so both spellings sign the same bytes. */
                if (optional && streq(json_string_value(v), t->optional_key_default))
                        continue;
                if ((r = write_header(f, headers, *k)) < 0)
                        return r;
        }

        r = sorted_keys(headers, written, &others, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if ((r = write_header(f, headers, others[i])) < 0)
                        return r;

        if (body_size > 0)
                fprintf(f, "\nbody-length: %zu", body_size);
        if (!json_is_string(json_object_get(headers, "sign-key-sha3-384")))
                return -EINVAL;
        return write_header(f, headers, "sign-key-sha3-384");
}

int assertion_encode_content(json_t *headers, const void *body, size_t body_size, char **ret,
                             size_t *ret_size)
{
        static const char *const meta[] = { "type",     "format",      "authority-id",     "signatory-id",
                                            "revision", "body-length", "sign-key-sha3-384" };
        _cleanup_json_ json_t *written = NULL;
        _cleanup_free_ char *s = NULL;
        const AssertionType *t;
        json_t *length;
        size_t size = 0;
        FILE *f;
        int r;

        if (!json_is_object(headers))
                return -EINVAL;
        t = assertion_type_lookup(json_string_value(json_object_get(headers, "type")));
        if (!t)
                return -EINVAL;
        /* A body-length header (as decoded) must agree with the body that is written. */
        length = json_object_get(headers, "body-length");
        if (length) {
                int64_t l;

                if (!json_is_string(length) ||
                    assertion_parse_int(json_string_value(length), json_string_length(length), &l) < 0 ||
                    (uint64_t) l != body_size)
                        return -EINVAL;
        }
        if (body_size > ASSERTION_BODY_MAX)
                return -E2BIG;
        if (body_size > 0 && !assertion_utf8_valid(body, body_size, NULL))
                return -EINVAL;

        written = json_object();
        if (!written)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(meta); i++)
                if (json_object_set_new(written, meta[i], json_true()) < 0)
                        return -ENOMEM;

        f = open_memstream(&s, &size);
        if (!f)
                return -ENOMEM;
        r = write_content(f, headers, t, body_size, written);
        if (r >= 0 && body_size > 0) {
                fputs("\n\n", f);
                fwrite(body, 1, body_size, f);
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int assertion_encode(const Assertion *a, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *s = NULL;
        size_t size = a->content_size + 2 + a->signature_size + 1;

        if (!a->content || !a->signature || a->signature_size == 0)
                return -EINVAL;
        s = malloc(size + 1);
        if (!s)
                return -ENOMEM;
        memcpy(s, a->content, a->content_size);
        memcpy(s + a->content_size, "\n\n", 2);
        memcpy(s + a->content_size + 2, a->signature, a->signature_size);
        s[size - 1] = '\n';
        s[size] = '\0';
        *ret = TAKE_PTR(s);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int assertion_stream_encode(const AssertionList *l, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *s = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        f = open_memstream(&s, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < l->n && r >= 0; i++) {
                _cleanup_free_ char *one = NULL;
                size_t one_size;

                r = assertion_encode(l->items[i], &one, &one_size);
                if (r < 0)
                        break;
                if (i > 0)
                        fputc('\n', f);
                fwrite(one, 1, one_size, f);
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        if (ret_size)
                *ret_size = size;
        return 0;
}
