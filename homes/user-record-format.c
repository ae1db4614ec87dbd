/* SPDX-License-Identifier: MIT */
/* Our own JSON encoder for user records. jansson's dumper escapes differently from systemd (it writes
 * "\u001f" in upper case, may escape '/', and cannot sort nested keys the way systemd's normaliser does),
 * and a signature only verifies over the exact bytes systemd formats, so we write them ourselves. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user-record-internal.h"

int record_error(RecordError *err, const char *field, int r, const char *fmt, ...)
{
        va_list ap;

        if (!err)
                return r;
        snprintf(err->field, sizeof(err->field), "%s", strempty(field));
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        return r;
}

static char *path_concat(char *out, size_t size, const char *a, const char *b, const char *c)
{
        const char *parts[] = { a, b, c };
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                for (const char *p = parts[i]; *p && n + 1 < size; p++)
                        out[n++] = *p;
        out[n] = '\0';
        return out;
}

char *record_path_key(char *out, size_t size, const char *parent, const char *key)
{
        return path_concat(out, size, parent, parent[0] ? "." : "", key);
}

char *record_path_index(char *out, size_t size, const char *parent, size_t i)
{
        char index[32];

        snprintf(index, sizeof(index), "[%zu]", i);
        return path_concat(out, size, parent, "", index);
}

int record_check_encodable(json_t *value, unsigned depth, const char *path, RecordError *err)
{
        char sub[sizeof(((RecordError *) NULL)->field)];
        const char *key;
        size_t key_len, i;
        json_t *e;
        int r;

        switch (json_typeof(value)) {
        case JSON_REAL:
                return record_error(
                        err, path, -EBADMSG,
                        "is a real number; only integers are accepted (systemd would sign a real "
                        "as %%.21e text that no canonical encoder reproduces)");
        case JSON_STRING:
                if (strlen(json_string_value(value)) != json_string_length(value))
                        return record_error(err, path, -EBADMSG, "contains a NUL byte");
                return 0;
        case JSON_ARRAY:
        case JSON_OBJECT:
                break;
        default:
                return 0;
        }

        if (depth > USER_RECORD_DEPTH_MAX)
                return record_error(err, path, -E2BIG, "nests deeper than %u levels", USER_RECORD_DEPTH_MAX);

        if (json_is_array(value)) {
                json_array_foreach (value, i, e) {
                        record_path_index(sub, sizeof(sub), path, i);
                        r = record_check_encodable(e, depth + 1, sub, err);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        json_object_keylen_foreach(value, key, key_len, e)
        {
                if (strlen(key) != key_len)
                        return record_error(err, path, -EBADMSG, "has a key with a NUL byte");
                record_path_key(sub, sizeof(sub), path, key);
                r = record_check_encodable(e, depth + 1, sub, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void format_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\b':
                        fputs("\\b", f);
                        break;
                case '\f':
                        fputs("\\f", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        /* Only C0 controls are escaped; DEL and every UTF-8 byte go out raw, as systemd
                         * writes them. */
                        if (*p < 0x20)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
}

static int compare_keys(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Object keys in byte order (strcmp compares as unsigned char), as json_variant_normalize() sorts them. */
static int sorted_keys(json_t *object, const char ***ret)
{
        size_t n = json_object_size(object), i = 0;
        const char **keys;
        const char *key;
        json_t *v;

        keys = calloc(n ? n : 1, sizeof(char *));
        if (!keys)
                return -ENOMEM;
        json_object_foreach (object, key, v)
                keys[i++] = key;
        qsort(keys, n, sizeof(char *), compare_keys);
        *ret = keys;
        return 0;
}

static void indent(FILE *f, unsigned level)
{
        for (unsigned i = 0; i < level; i++)
                fputc('\t', f);
}

static int format_value(FILE *f, json_t *v, bool pretty, unsigned depth)
{
        _cleanup_free_ const char **keys = NULL;
        size_t n, i;
        int r;

        switch (json_typeof(v)) {
        case JSON_NULL:
                fputs("null", f);
                return 0;
        case JSON_TRUE:
                fputs("true", f);
                return 0;
        case JSON_FALSE:
                fputs("false", f);
                return 0;
        case JSON_INTEGER:
                fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return 0;
        case JSON_STRING:
                if (strlen(json_string_value(v)) != json_string_length(v))
                        return -EBADMSG;
                format_string(f, json_string_value(v));
                return 0;
        case JSON_REAL:
                return -EBADMSG;
        case JSON_ARRAY:
        case JSON_OBJECT:
                break;
        }

        if (depth > USER_RECORD_DEPTH_MAX)
                return -E2BIG;

        if (json_is_array(v)) {
                n = json_array_size(v);
                if (n == 0) {
                        fputs("[]", f);
                        return 0;
                }
                fputs(pretty ? "[\n" : "[", f);
                for (i = 0; i < n; i++) {
                        if (i > 0)
                                fputs(pretty ? ",\n" : ",", f);
                        if (pretty)
                                indent(f, depth);
                        r = format_value(f, json_array_get(v, i), pretty, depth + 1);
                        if (r < 0)
                                return r;
                }
                if (pretty) {
                        fputc('\n', f);
                        indent(f, depth - 1);
                }
                fputc(']', f);
                return 0;
        }

        n = json_object_size(v);
        if (n == 0) {
                fputs("{}", f);
                return 0;
        }
        r = sorted_keys(v, &keys);
        if (r < 0)
                return r;
        fputs(pretty ? "{\n" : "{", f);
        for (i = 0; i < n; i++) {
                json_t *e = json_object_get(v, keys[i]);

                if (i > 0)
                        fputs(pretty ? ",\n" : ",", f);
                if (pretty)
                        indent(f, depth);
                if (!e || strlen(keys[i]) != json_object_iter_key_len(json_object_key_to_iter(keys[i])))
                        return -EBADMSG; /* a key with a NUL byte cannot be written */
                format_string(f, keys[i]);
                fputs(pretty ? " : " : ":", f);
                r = format_value(f, e, pretty, depth + 1);
                if (r < 0)
                        return r;
        }
        if (pretty) {
                fputc('\n', f);
                indent(f, depth - 1);
        }
        fputc('}', f);
        return 0;
}

static int format_record(json_t *record, bool pretty, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        if (!json_is_object(record))
                return -EBADMSG;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        r = format_value(f, record, pretty, 1);
        if (r >= 0 && pretty)
                fputc('\n', f);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}

int user_record_canonical_text(json_t *record, char **ret)
{
        static const char *const unsigned_sections[] = { "secret", "binding", "status", "signature" };
        _cleanup_json_ json_t *reduced = NULL;

        if (!json_is_object(record))
                return -EBADMSG;
        /* A shallow copy is enough: only top-level members are dropped, nothing below is touched. */
        reduced = json_copy(record);
        if (!reduced)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(unsigned_sections); i++)
                (void) json_object_del(reduced, unsigned_sections[i]);
        return format_record(reduced, false, ret);
}

int user_record_format_pretty(json_t *record, char **ret)
{
        return format_record(record, true, ret);
}

int user_record_format_compact(json_t *record, char **ret)
{
        return format_record(record, false, ret);
}
