/* SPDX-License-Identifier: MIT */
#include "assertion-pack.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"

/* Decimal digits of a uint64_t, no sign, no leading zero (but "0"). */
static int parse_u64(const char *s, size_t size, uint64_t *ret)
{
        uint64_t v = 0;

        if (size == 0 || size > 20 || (size > 1 && s[0] == '0'))
                return -EBADMSG;
        for (size_t i = 0; i < size; i++) {
                unsigned d;
                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                d = (unsigned) (s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -EBADMSG;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

/* Reads "NAME: VALUE\n" at *p; moves *p past it. Returns 1 when found, 0 when the line is another one. */
static int header_line(const char **p, const char *end, const char *name, const char **ret_value,
                       size_t *ret_size)
{
        size_t l = strlen(name);
        const char *eol;

        if ((size_t) (end - *p) < l + 2 || memcmp(*p, name, l) != 0 || memcmp(*p + l, ": ", 2) != 0)
                return 0;
        eol = memchr(*p + l + 2, '\n', (size_t) (end - *p - (ptrdiff_t) l - 2));
        if (!eol)
                return -EBADMSG;
        *ret_value = *p + l + 2;
        *ret_size = (size_t) (eol - *ret_value);
        *p = eol + 1;
        return 1;
}

static int header_number(const char **p, const char *end, const char *name, uint64_t *ret)
{
        const char *v;
        size_t size;
        int r;

        r = header_line(p, end, name, &v, &size);
        if (r <= 0)
                return -EBADMSG;
        return parse_u64(v, size, ret);
}

int assertion_pack_header_parse(const char *data, size_t size, AssertionPackHeader *ret)
{
        size_t magic = strlen(ASSERTION_PACK_MAGIC);
        const char *p = data,
                   *end = data + (size < ASSERTION_PACK_HEADER_MAX ? size : ASSERTION_PACK_HEADER_MAX);
        AssertionPackHeader h = {};
        const char *v;
        size_t v_size;
        int r;

        if ((size_t) (end - p) < magic || memcmp(p, ASSERTION_PACK_MAGIC, magic) != 0)
                return -EBADMSG;
        p += magic;
        if (header_number(&p, end, "first", &h.first) < 0 || header_number(&p, end, "last", &h.last) < 0)
                return -EBADMSG;
        if (h.first == 0 || h.last < h.first)
                return -EBADMSG;
        r = header_line(&p, end, "time-floor", &v, &v_size);
        if (r < 0)
                return r;
        if (r > 0) {
                char text[RFC3339_MAX + 8];
                if (v_size >= sizeof(text))
                        return -EBADMSG;
                memcpy(text, v, v_size);
                text[v_size] = '\0';
                if (time_parse_rfc3339(text, &h.time_floor) < 0 || h.time_floor == 0)
                        return -EBADMSG;
        }
        if (header_number(&p, end, "count", &h.count) < 0 ||
            header_number(&p, end, "index-size", &h.index_size) < 0)
                return -EBADMSG;
        if (h.count > ASSERTION_PACK_ENTRIES_MAX || h.index_size > ASSERTION_PACK_INDEX_MAX)
                return -E2BIG;
        if (p >= end || *p != '\n')
                return -EBADMSG;
        h.header_size = (size_t) (p + 1 - data);
        *ret = h;
        return 0;
}

bool assertion_pack_key_valid(const char *s, size_t size)
{
        if (size == 0)
                return false;
        for (size_t i = 0; i < size; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '@' || c == '+' || c == '.' || c == '%' || c == ',' || c == '-'))
                        return false;
        }
        return true;
}

int assertion_pack_index_entry(const char *index, size_t index_size, size_t pos, AssertionPackEntry *ret)
{
        const char *p = index + pos, *end = index + index_size, *sp1, *sp2, *eol;
        uint64_t offset, size;

        if (pos >= index_size)
                return -EBADMSG;
        eol = memchr(p, '\n', (size_t) (end - p));
        if (!eol)
                return -EBADMSG;
        sp1 = memchr(p, ' ', (size_t) (eol - p));
        if (!sp1)
                return -EBADMSG;
        sp2 = memchr(sp1 + 1, ' ', (size_t) (eol - sp1 - 1));
        if (!sp2 || !assertion_pack_key_valid(p, (size_t) (sp1 - p)) ||
            parse_u64(sp1 + 1, (size_t) (sp2 - sp1 - 1), &offset) < 0 ||
            parse_u64(sp2 + 1, (size_t) (eol - sp2 - 1), &size) < 0 || size == 0)
                return -EBADMSG;
        *ret = (AssertionPackEntry){
                .key = p,
                .key_size = (size_t) (sp1 - p),
                .offset = offset,
                .size = size,
                .next = (size_t) (eol + 1 - index),
        };
        return 0;
}

static int compare_keys(const char *a, size_t a_size, const char *b, size_t b_size)
{
        int c = memcmp(a, b, a_size < b_size ? a_size : b_size);

        if (c != 0)
                return c;
        return a_size < b_size ? -1 : a_size > b_size ? 1 : 0;
}

int assertion_pack_index_lower_bound(const char *index, size_t index_size, const char *key, size_t key_size,
                                     size_t *ret_pos)
{
        /* Invariant: lo is the start of a line and every line before it sorts below key; hi is the start
         * of a line (or the end) and no line from it on sorts below key. */
        size_t lo = 0, hi = index_size;

        while (lo < hi) {
                size_t start = lo + (hi - lo) / 2;
                AssertionPackEntry e;
                int r;

                while (start > lo && index[start - 1] != '\n')
                        start--;
                r = assertion_pack_index_entry(index, index_size, start, &e);
                if (r < 0)
                        return r;
                if (e.next > hi)
                        return -EBADMSG; /* a line across a line start: not an index we wrote */
                if (compare_keys(e.key, e.key_size, key, key_size) < 0)
                        lo = e.next;
                else
                        hi = start;
        }
        *ret_pos = lo;
        return 0;
}

int assertion_pack_index_find(const char *index, size_t index_size, const char *key, AssertionPackEntry *ret)
{
        size_t key_size = strlen(key), pos;
        AssertionPackEntry e;
        int r;

        r = assertion_pack_index_lower_bound(index, index_size, key, key_size, &pos);
        if (r < 0)
                return r;
        if (pos >= index_size)
                return 0;
        r = assertion_pack_index_entry(index, index_size, pos, &e);
        if (r < 0)
                return r;
        if (compare_keys(e.key, e.key_size, key, key_size) != 0)
                return 0;
        *ret = e;
        return 1;
}

static char *append(char *p, const char *s, size_t size)
{
        memcpy(p, s, size);
        return p + size;
}

size_t assertion_pack_item_size(const AssertionPackItem *item)
{
        return item->wire_size + (item->signature ? 2 + item->signature_size + 1 : 0);
}

static char *append_item(char *p, const AssertionPackItem *item)
{
        p = append(p, item->wire, item->wire_size);
        if (item->signature) {
                p = append(p, "\n\n", 2);
                p = append(p, item->signature, item->signature_size);
                *p++ = '\n';
        }
        return p;
}

int assertion_pack_build(uint64_t first, uint64_t last, usec_t time_floor, const AssertionPackItem *items,
                         size_t n, char **ret, size_t *ret_size)
{
        char header[256], floor_line[RFC3339_MAX + 16] = "", line[64], *out, *p;
        size_t index_size = 0, stream_size = 0, header_size, total;
        uint64_t offset = 0;
        int k;

        if (first == 0 || last < first || n > ASSERTION_PACK_ENTRIES_MAX)
                return -EINVAL;
        /* The sizes first, so the pack is built in one allocation (a batch of a thousand grants is
         * 1.5 MB: growing a buffer would copy it over and over). */
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(items[i].key);
                size_t size = assertion_pack_item_size(&items[i]);
                if (!assertion_pack_key_valid(items[i].key, l) || size == 0 ||
                    (i > 0 && strcmp(items[i - 1].key, items[i].key) >= 0))
                        return -EINVAL;
                k = snprintf(line, sizeof(line), " %" PRIu64 " %zu\n", offset, size);
                index_size += l + (size_t) k;
                offset += size + 1; /* the "\n" between two assertions of a stream */
                stream_size += size + (i > 0);
        }
        if (index_size > ASSERTION_PACK_INDEX_MAX)
                return -E2BIG;
        if (time_floor > 0) {
                char text[RFC3339_MAX];
                if (time_format_rfc3339(time_floor, text) < 0)
                        return -EINVAL;
                snprintf(floor_line, sizeof(floor_line), "time-floor: %s\n", text);
        }
        k = snprintf(header, sizeof(header),
                     ASSERTION_PACK_MAGIC "first: %" PRIu64 "\nlast: %" PRIu64
                                          "\n%scount: %zu\nindex-size: %zu\n\n",
                     first, last, floor_line, n, index_size);
        if (k < 0 || (size_t) k >= sizeof(header))
                return -EINVAL;
        header_size = (size_t) k;
        total = header_size + index_size + stream_size;

        out = malloc(total + 1);
        if (!out)
                return -ENOMEM;
        p = append(out, header, header_size);
        offset = 0;
        for (size_t i = 0; i < n; i++) {
                size_t size = assertion_pack_item_size(&items[i]);
                p = append(p, items[i].key, strlen(items[i].key));
                k = snprintf(line, sizeof(line), " %" PRIu64 " %zu\n", offset, size);
                p = append(p, line, (size_t) k);
                offset += size + 1;
        }
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        *p++ = '\n';
                p = append_item(p, &items[i]);
        }
        *p = '\0';
        *ret = out;
        *ret_size = total;
        return 0;
}
