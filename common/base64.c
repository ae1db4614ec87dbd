/* SPDX-License-Identifier: MIT */
#include "base64.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "macros.h"

static const char standard_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int encode(const uint8_t *in, size_t size, const char *alphabet, int pad, char **ret)
{
        if (size > (SIZE_MAX - 1) / 4 * 3 - 3)
                return -E2BIG;
        char *out = malloc((size + 2) / 3 * 4 + 1), *p = out;
        if (!out)
                return -ENOMEM;

        size_t i = 0;
        for (; i + 3 <= size; i += 3) {
                uint32_t v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
                *p++ = alphabet[v >> 18 & 63];
                *p++ = alphabet[v >> 12 & 63];
                *p++ = alphabet[v >> 6 & 63];
                *p++ = alphabet[v & 63];
        }
        if (size - i == 1) {
                uint32_t v = (uint32_t) in[i] << 16;
                *p++ = alphabet[v >> 18 & 63];
                *p++ = alphabet[v >> 12 & 63];
                if (pad) {
                        *p++ = '=';
                        *p++ = '=';
                }
        } else if (size - i == 2) {
                uint32_t v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8;
                *p++ = alphabet[v >> 18 & 63];
                *p++ = alphabet[v >> 12 & 63];
                *p++ = alphabet[v >> 6 & 63];
                if (pad)
                        *p++ = '=';
        }
        *p = '\0';
        *ret = out;
        return 0;
}

int base64_encode(const void *data, size_t size, char **ret)
{
        return encode(data, size, standard_alphabet, 1, ret);
}

int base64url_nopad_encode(const void *data, size_t size, char **ret)
{
        return encode(data, size, url_alphabet, 0, ret);
}

static int decode_char(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

int base64_decode(const char *text, size_t length, uint8_t **ret, size_t *ret_size)
{
        if (length % 4 != 0)
                return -EBADMSG;

        size_t padding = 0;
        if (length >= 1 && text[length - 1] == '=')
                padding++;
        if (length >= 2 && text[length - 2] == '=')
                padding++;

        _cleanup_free_ uint8_t *out = malloc(length / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;

        size_t n = 0;
        for (size_t i = 0; i < length; i += 4) {
                int v[4];
                bool last = i + 4 == length;
                for (int k = 0; k < 4; k++) {
                        bool is_pad = last && k >= 4 - (int) padding;
                        v[k] = is_pad ? 0 : decode_char(text[i + k]);
                        if (v[k] < 0)
                                return -EBADMSG;
                }
                uint32_t word = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 | (uint32_t) v[2] << 6 | v[3];
                out[n++] = word >> 16 & 0xff;
                if (last && padding == 2) {
                        if (word & 0xffff) /* non-canonical: unused bits set */
                                return -EBADMSG;
                        break;
                }
                out[n++] = word >> 8 & 0xff;
                if (last && padding == 1) {
                        if (word & 0xff)
                                return -EBADMSG;
                        break;
                }
                out[n++] = word & 0xff;
        }

        *ret = TAKE_PTR(out);
        *ret_size = n;
        return 0;
}
