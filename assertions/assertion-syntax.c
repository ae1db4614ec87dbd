/* SPDX-License-Identifier: MIT */
/* The lexical rules snapd applies to assertion text (header names, integers, UTF-8), and the error
 * reporting shared by the codec. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "assertion-internal.h"

int assertion_codec_error(AssertionError *err, int r, unsigned line, const char *format, ...)
{
        va_list ap;

        if (!err)
                return r;
        err->line = line;
        va_start(ap, format);
        (void) vsnprintf(err->message, sizeof(err->message), format, ap);
        va_end(ap);
        return r;
}

const char *assertion_error_format(const AssertionError *err, char *buf, size_t size)
{
        if (err->line > 0)
                (void) snprintf(buf, size, "line %u: %s", err->line, err->message);
        else
                (void) snprintf(buf, size, "%s", err->message);
        return buf;
}

/* Longest piece of untrusted text quoted in a message: enough to recognise the line. */
#define QUOTE_MAX 48

const char *assertion_codec_quote(const char *s, size_t size, char *buf, size_t buf_size)
{
        size_t o = 0, i;

        if (buf_size < 16) {
                if (buf_size > 0)
                        buf[0] = '\0';
                return buf;
        }
        buf[o++] = '"';
        for (i = 0; i < size && i < QUOTE_MAX; i++) {
                unsigned char c = (unsigned char) s[i];
                char tmp[8];
                size_t n;

                if (c == '"' || c == '\\')
                        n = (size_t) snprintf(tmp, sizeof(tmp), "\\%c", c);
                else if (c == '\t')
                        n = (size_t) snprintf(tmp, sizeof(tmp), "\\t");
                else if (c < 0x20 || c == 0x7f)
                        n = (size_t) snprintf(tmp, sizeof(tmp), "\\x%02x", c);
                else {
                        tmp[0] = (char) c;
                        n = 1;
                }
                if (o + n + 5 >= buf_size)
                        break;
                memcpy(buf + o, tmp, n);
                o += n;
        }
        buf[o++] = '"';
        if (i < size) {
                /* Shortened: back up over a partial UTF-8 sequence so the message stays valid UTF-8. */
                size_t q = o - 1;
                while (q > 1 && ((unsigned char) buf[q - 1] & 0xc0) == 0x80)
                        q--;
                if (q > 1 && ((unsigned char) buf[q - 1] & 0xc0) == 0xc0)
                        q--;
                o = q;
                buf[o++] = '"';
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[o] = '\0';
        return buf;
}

bool assertion_header_name_valid(const char *name, size_t size)
{
        if (size == 0 || name[0] < 'a' || name[0] > 'z')
                return false;
        for (size_t i = 1; i < size; i++) {
                char c = name[i];

                /* A dash only between two alphanumerics: no "--", no trailing "-". */
                if (c == '-') {
                        if (i + 1 >= size || name[i + 1] == '-')
                                return false;
                        continue;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
                        return false;
        }
        return true;
}

int assertion_parse_int(const char *s, size_t size, int64_t *ret)
{
        int64_t v = 0;

        if (size == 0)
                return -EINVAL;
        for (size_t i = 0; i < size; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
        for (size_t i = 0; i < size; i++) {
                int d = s[i] - '0';

                if (v > (INT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        /* Two spellings of one number would give two signed contents for one meaning. */
        if (size > 1 && s[0] == '0')
                return -EDOM;
        *ret = v;
        return 0;
}

bool assertion_utf8_valid(const uint8_t *s, size_t size, size_t *ret_bad)
{
        size_t i = 0;

        while (i < size) {
                uint8_t c = s[i];
                size_t n;
                uint32_t cp, min;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf) {
                        n = 2;
                        cp = c & 0x1f;
                        min = 0x80;
                } else if (c >= 0xe0 && c <= 0xef) {
                        n = 3;
                        cp = c & 0x0f;
                        min = 0x800;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 4;
                        cp = c & 0x07;
                        min = 0x10000;
                } else
                        goto bad;
                if (size - i < n)
                        goto bad;
                for (size_t k = 1; k < n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                goto bad;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        goto bad;
                i += n;
        }
        return true;
bad:
        if (ret_bad)
                *ret_bad = i;
        return false;
}
