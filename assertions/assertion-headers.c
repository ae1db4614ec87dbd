/* SPDX-License-Identifier: MIT */
/* The header grammar of assertions, as snapd's parseHeaders() reads it (asserts/headers.go):
 *
 *   header    = NAME ":" " " SCALAR                 one-line value (may be empty)
 *             | NAME ":" NL nested                   multi-line text, list or map
 *   text      = (INDENT+4 spaces) LINE, repeated      lines joined by "\n"
 *   list      = (INDENT+2 spaces) "-" entry, repeated  each entry parsed like a header value at INDENT+2
 *   map       = (INDENT+2 spaces) KEY ":" entry, ...   keys follow the header-name rule, at INDENT+2
 *
 * The parser is recursive over nested lists and maps, bounded by ASSERTION_NESTING_MAX so hostile input
 * cannot exhaust the stack, and by ASSERTION_LIST_MAX entries per list or map. */
#include <errno.h>
#include <string.h>

#include "assertion-internal.h"

typedef struct Line {
        const char *text;
        size_t size;
} Line;

typedef struct HeaderParser {
        const Line *lines;
        size_t n_lines;
        unsigned first_line;
        AssertionError *err;
} HeaderParser;

static unsigned parser_line(const HeaderParser *p, size_t i)
{
        return p->first_line + (unsigned) i;
}

static bool line_has_indent(const Line *l, size_t indent)
{
        if (l->size < indent)
                return false;
        for (size_t i = 0; i < indent; i++)
                if (l->text[i] != ' ')
                        return false;
        return true;
}

static int parse_value(HeaderParser *p, size_t consumed, size_t *i, size_t indent, unsigned depth,
                       json_t **ret);

static int parse_text(HeaderParser *p, size_t *i, size_t indent, json_t **ret)
{
        size_t prefix = indent + 4, first = *i + 1, end = first, size = 0, o = 0;
        _cleanup_free_ char *text = NULL;
        char q[160];
        json_t *v;

        while (end < p->n_lines && line_has_indent(&p->lines[end], prefix)) {
                size += p->lines[end].size - prefix + 1;
                end++;
        }
        if (end == first) {
                const Line *intro = &p->lines[*i];

                if (first >= p->n_lines)
                        return assertion_codec_error(
                                p->err, -EBADMSG, parser_line(p, *i),
                                "expected %zu chars nesting prefix after multiline introduction %s: EOF",
                                prefix, assertion_codec_quote(intro->text, intro->size, q, sizeof(q)));
                char q2[160];
                return assertion_codec_error(
                        p->err, -EBADMSG, parser_line(p, first),
                        "expected %zu chars nesting prefix after multiline introduction %s: %s", prefix,
                        assertion_codec_quote(intro->text, intro->size, q, sizeof(q)),
                        assertion_codec_quote(p->lines[first].text, p->lines[first].size, q2, sizeof(q2)));
        }

        text = malloc(size);
        if (!text)
                return -ENOMEM;
        for (size_t j = first; j < end; j++) {
                if (j > first)
                        text[o++] = '\n';
                memcpy(text + o, p->lines[j].text + prefix, p->lines[j].size - prefix);
                o += p->lines[j].size - prefix;
        }
        v = json_stringn_nocheck(text, o);
        if (!v)
                return -ENOMEM;
        *i = end;
        *ret = v;
        return 0;
}

static int check_depth(HeaderParser *p, size_t i, unsigned depth)
{
        /* Each level is one recursion: the bound keeps hostile nesting from exhausting the stack. */
        if (depth > ASSERTION_NESTING_MAX)
                return assertion_codec_error(p->err, -E2BIG, parser_line(p, i),
                                             "lists and maps nested deeper than %d levels",
                                             ASSERTION_NESTING_MAX);
        return 0;
}

static int parse_list(HeaderParser *p, size_t *i, size_t indent, unsigned depth, json_t **ret)
{
        _cleanup_json_ json_t *list = NULL;
        size_t j = *i + 1, prefix = indent + 3; /* INDENT + "  -" */
        int r;

        r = check_depth(p, j, depth);
        if (r < 0)
                return r;
        list = json_array();
        if (!list)
                return -ENOMEM;
        while (j < p->n_lines) {
                const Line *l = &p->lines[j];
                json_t *v = NULL;

                if (!line_has_indent(l, indent + 2) || l->size < prefix || l->text[indent + 2] != '-')
                        break;
                if (json_array_size(list) >= ASSERTION_LIST_MAX)
                        return assertion_codec_error(p->err, -E2BIG, parser_line(p, j),
                                                     "list with more than %d entries", ASSERTION_LIST_MAX);
                r = parse_value(p, prefix, &j, indent + 2, depth, &v);
                if (r < 0)
                        return r;
                if (json_array_append_new(list, v) < 0)
                        return -ENOMEM;
        }
        *i = j;
        *ret = TAKE_PTR(list);
        return 0;
}

static int parse_map(HeaderParser *p, size_t *i, size_t indent, unsigned depth, json_t **ret)
{
        _cleanup_json_ json_t *map = NULL;
        size_t j = *i + 1, prefix = indent + 2;
        char q[160];
        int r;

        r = check_depth(p, j, depth);
        if (r < 0)
                return r;
        map = json_object();
        if (!map)
                return -ENOMEM;
        while (j < p->n_lines) {
                const Line *l = &p->lines[j];
                const char *entry, *colon;
                size_t entry_size, key_line = j;
                _cleanup_free_ char *key = NULL;
                json_t *v = NULL;

                if (!line_has_indent(l, prefix))
                        break;
                entry = l->text + prefix;
                entry_size = l->size - prefix;
                colon = memchr(entry, ':', entry_size);
                if (!colon)
                        return assertion_codec_error(p->err, -EBADMSG, parser_line(p, j),
                                                     "map entry missing ':' separator: %s",
                                                     assertion_codec_quote(entry, entry_size, q, sizeof(q)));
                if (!assertion_header_name_valid(entry, (size_t) (colon - entry)))
                        return assertion_codec_error(
                                p->err, -EBADMSG, parser_line(p, j), "invalid map entry key: %s",
                                assertion_codec_quote(entry, (size_t) (colon - entry), q, sizeof(q)));
                if (json_object_size(map) >= ASSERTION_LIST_MAX)
                        return assertion_codec_error(p->err, -E2BIG, parser_line(p, j),
                                                     "map with more than %d entries", ASSERTION_LIST_MAX);
                key = strndup(entry, (size_t) (colon - entry));
                if (!key)
                        return -ENOMEM;
                r = parse_value(p, prefix + (size_t) (colon - entry) + 1, &j, prefix, depth, &v);
                if (r < 0)
                        return r;
                if (json_object_get(map, key)) {
                        json_decref(v);
                        return assertion_codec_error(p->err, -EBADMSG, parser_line(p, key_line),
                                                     "repeated map entry: %s",
                                                     assertion_codec_quote(key, strlen(key), q, sizeof(q)));
                }
                if (json_object_set_new(map, key, v) < 0)
                        return -ENOMEM;
        }
        *i = j;
        *ret = TAKE_PTR(map);
        return 0;
}

/* The value after "NAME:" on line *i, where consumed bytes of the line are the introduction. indent is the
 * indentation of the entry's own level; depth the number of lists/maps around it. */
static int parse_value(HeaderParser *p, size_t consumed, size_t *i, size_t indent, unsigned depth,
                       json_t **ret)
{
        const Line *entry = &p->lines[*i];
        char q[160];
        json_t *v;

        if (consumed == entry->size) {
                size_t next = *i + 1;

                if (next < p->n_lines && line_has_indent(&p->lines[next], indent + 2) &&
                    p->lines[next].size > indent + 2) {
                        char c = p->lines[next].text[indent + 2];

                        if (c == '-')
                                return parse_list(p, i, indent, depth + 1, ret);
                        if (c != ' ')
                                return parse_map(p, i, indent, depth + 1, ret);
                }
                return parse_text(p, i, indent, ret);
        }

        if (entry->text[consumed] != ' ')
                return assertion_codec_error(
                        p->err, -EBADMSG, parser_line(p, *i),
                        "header entry should have a space or newline (for multiline) before value: %s",
                        assertion_codec_quote(entry->text, entry->size, q, sizeof(q)));

        v = json_stringn_nocheck(entry->text + consumed + 1, entry->size - consumed - 1);
        if (!v)
                return -ENOMEM;
        (*i)++;
        *ret = v;
        return 0;
}

static int split_lines(const char *head, size_t size, Line **ret, size_t *ret_n)
{
        size_t n = 1, k = 0;
        const char *s = head, *end = head + size;
        Line *lines;

        for (const char *c = head; (c = memchr(c, '\n', (size_t) (end - c))); c++)
                n++;
        lines = calloc(n, sizeof(Line));
        if (!lines)
                return -ENOMEM;
        for (;;) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));

                lines[k].text = s;
                lines[k].size = nl ? (size_t) (nl - s) : (size_t) (end - s);
                k++;
                if (!nl)
                        break;
                s = nl + 1;
        }
        *ret = lines;
        *ret_n = n;
        return 0;
}

int assertion_headers_parse(const char *head, size_t size, unsigned first_line, json_t **ret_headers,
                            AssertionError *err)
{
        _cleanup_json_ json_t *headers = NULL;
        _cleanup_free_ Line *l = NULL;
        HeaderParser p = { .first_line = first_line, .err = err };
        char q[160];
        int r;

        r = split_lines(head, size, &l, &p.n_lines);
        if (r < 0)
                return r;
        p.lines = l;

        headers = json_object();
        if (!headers)
                return -ENOMEM;

        for (size_t i = 0; i < p.n_lines;) {
                const Line *entry = &l[i];
                const char *colon = memchr(entry->text, ':', entry->size), *name;
                _cleanup_free_ char *long_name = NULL;
                char short_name[64];
                unsigned line = parser_line(&p, i);
                json_t *v = NULL;

                if (!colon)
                        return assertion_codec_error(
                                err, -EBADMSG, line, "header entry missing ':' separator: %s",
                                assertion_codec_quote(entry->text, entry->size, q, sizeof(q)));
                if (!assertion_header_name_valid(entry->text, (size_t) (colon - entry->text)))
                        return assertion_codec_error(err, -EBADMSG, line, "invalid header name: %s",
                                                     assertion_codec_quote(entry->text,
                                                                           (size_t) (colon - entry->text), q,
                                                                           sizeof(q)));
                /* Most names are short: no allocation for them (a thousand grants are ten thousand names).
                 */
                size_t name_size = (size_t) (colon - entry->text);
                if (name_size < sizeof(short_name)) {
                        memcpy(short_name, entry->text, name_size);
                        short_name[name_size] = '\0';
                        name = short_name;
                } else {
                        long_name = strndup(entry->text, name_size);
                        if (!long_name)
                                return -ENOMEM;
                        name = long_name;
                }
                r = parse_value(&p, (size_t) (colon - entry->text) + 1, &i, 0, 0, &v);
                if (r < 0)
                        return r;
                /* A repeated header would let two readers of one assertion see two different values. */
                if (json_object_get(headers, name)) {
                        json_decref(v);
                        return assertion_codec_error(
                                err, -EBADMSG, line, "repeated header: %s",
                                assertion_codec_quote(name, strlen(name), q, sizeof(q)));
                }
                if (json_object_set_new(headers, name, v) < 0)
                        return -ENOMEM;
        }

        *ret_headers = TAKE_PTR(headers);
        return 0;
}
