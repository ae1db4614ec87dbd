/* SPDX-License-Identifier: MIT */
/* Splitting a byte stream into assertions exactly as snapd's asserts.Decoder does (asserts.go):
 *
 *   HEADERS "\n\n"                      headers end at the first blank line (within ASSERTION_HEADERS_MAX)
 *   [BODY "\n\n"]                       exactly body-length bytes, then a blank line
 *   ["\n\n"]                            with no body, one extra blank line is tolerated (and signed)
 *   SIGNATURE ("\n\n" | "\n" EOF | EOF) up to the next blank line (within ASSERTION_SIGNATURE_MAX)
 *
 * The next assertion starts right after the blank line that ends a signature; an empty rest ends the
 * stream. The whole stream is parsed once from memory and accepted or refused whole. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "assertion-internal.h"

typedef struct StreamReader {
        const char *data;
        size_t size;
        size_t pos;
        unsigned line; /* 1-based line at pos */
} StreamReader;

static unsigned count_newlines(const char *s, size_t size)
{
        unsigned n = 0;

        for (const char *c = s; (c = memchr(c, '\n', size - (size_t) (c - s))); c++)
                n++;
        return n;
}

/* The last line of the input, as an editor numbers it: where "unexpected end of input" happened. */
static unsigned reader_last_line(const StreamReader *r)
{
        size_t rest = r->size - r->pos;
        unsigned n = count_newlines(r->data + r->pos, rest);

        if (rest > 0 && r->data[r->size - 1] == '\n')
                n--;
        return r->line + n;
}

static void reader_advance(StreamReader *r, size_t n)
{
        r->line += count_newlines(r->data + r->pos, n);
        r->pos += n;
}

/* Finds the first "\n\n" in the rest, looking no further than max bytes (delimiter included) as snapd's
 * readUntil() does. Returns the offset of the delimiter from pos, -ENOENT when the input ends first (shorter
 * than max), -E2BIG when max bytes hold no delimiter. */
static ssize_t reader_find_blank_line(const StreamReader *r, size_t max)
{
        size_t rest = r->size - r->pos, window = rest < max ? rest : max;
        const char *s = r->data + r->pos;

        for (const char *c = s; window >= 2 && (c = memchr(c, '\n', window - 1 - (size_t) (c - s))); c++)
                if (c[1] == '\n')
                        return c - s;
        return rest < max ? -ENOENT : -E2BIG;
}

static int decode_headers(StreamReader *sr, Assertion *a, size_t *ret_head_size, AssertionError *err)
{
        const char *head = sr->data + sr->pos;
        ssize_t end;
        size_t bad;
        int r;

        end = reader_find_blank_line(sr, ASSERTION_HEADERS_MAX);
        if (end == -E2BIG)
                return assertion_codec_error(err, -E2BIG, sr->line,
                                             "headers (with their closing blank line) longer than %d bytes",
                                             ASSERTION_HEADERS_MAX);
        if (end < 0)
                return assertion_codec_error(err, -EBADMSG, reader_last_line(sr),
                                             "unexpected end of input: headers not ended by a blank line");

        if (!assertion_utf8_valid((const uint8_t *) head, (size_t) end, &bad))
                return assertion_codec_error(err, -EBADMSG, sr->line + count_newlines(head, bad),
                                             "header is not utf8");
        /* snapd would accept NUL; C consumers would silently truncate the value at it. */
        if (memchr(head, '\0', (size_t) end)) {
                const char *nul = memchr(head, '\0', (size_t) end);
                return assertion_codec_error(err, -EBADMSG,
                                             sr->line + count_newlines(head, (size_t) (nul - head)),
                                             "header contains a NUL byte");
        }

        r = assertion_headers_parse(head, (size_t) end, sr->line, &a->headers, err);
        if (r < 0)
                return r;
        *ret_head_size = (size_t) end;
        reader_advance(sr, (size_t) end + 2);
        return 0;
}

/* head: the header block, for the line of body-length in messages (the content is not assembled yet). */
static int body_length(const Assertion *a, const char *head, size_t head_size, int64_t *ret,
                       AssertionError *err)
{
        json_t *v = json_object_get(a->headers, "body-length");
        unsigned line = assertion_header_line_in(head, head_size, a->first_line, "body-length");
        int64_t length = 0;
        char q[160];
        int r;

        if (!v) {
                *ret = 0;
                return 0;
        }
        if (!json_is_string(v))
                return assertion_codec_error(err, -EBADMSG, line,
                                             "\"body-length\" header is not an integer: %s",
                                             json_is_array(v) ? "a list" : "a map");
        r = assertion_parse_int(json_string_value(v), json_string_length(v), &length);
        if (r == -ERANGE)
                return assertion_codec_error(
                        err, -EBADMSG, line, "\"body-length\" header is out of range: %s",
                        assertion_codec_quote(json_string_value(v), json_string_length(v), q, sizeof(q)));
        if (r == -EDOM)
                return assertion_codec_error(
                        err, -EBADMSG, line, "\"body-length\" header has invalid prefix zeros: %s",
                        assertion_codec_quote(json_string_value(v), json_string_length(v), q, sizeof(q)));
        if (r < 0)
                return assertion_codec_error(
                        err, -EBADMSG, line, "\"body-length\" header is not an integer: %s",
                        assertion_codec_quote(json_string_value(v), json_string_length(v), q, sizeof(q)));
        if (length > ASSERTION_BODY_MAX)
                return assertion_codec_error(
                        err, -E2BIG, line, "assertion body length %" PRIi64 " exceeds maximum body size %d",
                        length, ASSERTION_BODY_MAX);
        *ret = length;
        return 0;
}

static int decode_one(StreamReader *sr, Assertion **ret, AssertionError *err)
{
        _cleanup_assertion_ Assertion *a = NULL;
        size_t head_start = sr->pos, head_size = 0, content_size;
        int64_t length = 0;
        ssize_t sig_end;
        int r;

        a = calloc(1, sizeof(Assertion));
        if (!a)
                return -ENOMEM;
        a->first_line = sr->line;

        r = decode_headers(sr, a, &head_size, err);
        if (r < 0)
                return r;
        r = body_length(a, sr->data + head_start, head_size, &length, err);
        if (r < 0)
                return r;

        content_size = head_size;
        if (length > 0) {
                if ((uint64_t) (sr->size - sr->pos) < (uint64_t) length)
                        return assertion_codec_error(
                                err, -EBADMSG, reader_last_line(sr),
                                "unexpected end of input: body shorter than body-length %" PRIi64, length);
                a->body = malloc((size_t) length);
                if (!a->body)
                        return -ENOMEM;
                memcpy(a->body, sr->data + sr->pos, (size_t) length);
                a->body_size = (size_t) length;
                reader_advance(sr, (size_t) length);
                content_size = head_size + 2 + (size_t) length;
                /* The body is exactly body-length bytes: anything but a blank line after it is a lie. */
                if (sr->size - sr->pos < 2 || memcmp(sr->data + sr->pos, "\n\n", 2) != 0)
                        return assertion_codec_error(err, -EBADMSG, sr->line,
                                                     "missing content/signature separator");
                reader_advance(sr, 2);
        } else if (sr->size - sr->pos >= 2 && memcmp(sr->data + sr->pos, "\n\n", 2) == 0) {
                /* snapd's decoder accepts a second blank line after a body-less header block, and keeps it
                 * in the signed content. */
                content_size = head_size + 2;
                reader_advance(sr, 2);
        }

        sig_end = reader_find_blank_line(sr, ASSERTION_SIGNATURE_MAX);
        if (sig_end == -E2BIG)
                return assertion_codec_error(err, -E2BIG, sr->line,
                                             "signature (with its closing blank line) longer than %d bytes",
                                             ASSERTION_SIGNATURE_MAX);
        a->signature_size = sig_end >= 0 ? (size_t) sig_end : sr->size - sr->pos;
        /* Not strndup(): a NUL inside the signature must not shorten the copy below signature_size (the
         * signature check refuses the NUL afterwards; found by fuzz-assertion-stream). */
        a->signature = malloc(a->signature_size + 1);
        if (!a->signature)
                return -ENOMEM;
        memcpy(a->signature, sr->data + sr->pos, a->signature_size);
        a->signature[a->signature_size] = '\0';
        /* At the end of input the signature keeps its own last newline; not part of the signature text. */
        if (a->signature_size > 0 && a->signature[a->signature_size - 1] == '\n')
                a->signature[--a->signature_size] = '\0';
        reader_advance(sr, sig_end >= 0 ? (size_t) sig_end + 2 : sr->size - sr->pos);

        a->content = malloc(content_size + 1);
        if (!a->content)
                return -ENOMEM;
        memcpy(a->content, sr->data + head_start, content_size);
        a->content[content_size] = '\0';
        a->content_size = content_size;

        r = assertion_codec_check(a, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

int assertion_stream_decode(const void *data, size_t size, AssertionList **ret, AssertionError *err)
{
        _cleanup_assertion_list_ AssertionList *l = NULL;
        StreamReader sr = { .data = data, .size = size, .line = 1 };
        size_t allocated = 0;
        int r;

        l = calloc(1, sizeof(AssertionList));
        if (!l)
                return -ENOMEM;

        while (sr.pos < sr.size) {
                Assertion *a = NULL;

                /* Each assertion costs verification work later: a stream is bounded in count too. */
                if (l->n >= ASSERTION_STREAM_MAX)
                        return assertion_codec_error(err, -E2BIG, sr.line,
                                                     "more than %d assertions in one stream",
                                                     ASSERTION_STREAM_MAX);
                r = decode_one(&sr, &a, err);
                if (r < 0)
                        return r;
                if (l->n == allocated) {
                        /* Doubling: a stream of a thousand grants is not a thousand reallocations. */
                        size_t want = allocated ? allocated * 2 : 8;
                        Assertion **items = reallocarray(l->items, want, sizeof(Assertion *));
                        if (!items) {
                                assertion_free(a);
                                return -ENOMEM;
                        }
                        l->items = items;
                        allocated = want;
                }
                l->items[l->n++] = a;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

int assertion_decode(const void *data, size_t size, Assertion **ret, AssertionError *err)
{
        _cleanup_assertion_ Assertion *a = NULL;
        StreamReader sr = { .data = data, .size = size, .line = 1 };
        int r;

        if (size == 0)
                return assertion_codec_error(err, -EBADMSG, 1, "empty input, expected one assertion");
        r = decode_one(&sr, &a, err);
        if (r < 0)
                return r;
        if (sr.pos < sr.size)
                return assertion_codec_error(err, -EBADMSG, sr.line, "trailing data after the assertion");
        *ret = TAKE_PTR(a);
        return 0;
}
