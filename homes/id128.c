/* SPDX-License-Identifier: MIT */
#include "id128.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int id128_random_uuid(char ret[static ID128_UUID_STRING_MAX])
{
        uint8_t b[16];

        if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b))
                return -EIO;
        b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
        b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
        snprintf(ret, ID128_UUID_STRING_MAX,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        return 0;
}

static bool char_is_lower_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool id128_is_valid(const char *s, bool allow_uuid_form)
{
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 32) {
                for (size_t i = 0; i < n; i++)
                        if (!char_is_lower_hex(s[i]))
                                return false;
                return true;
        }
        if (n != 36 || !allow_uuid_form)
                return false;
        for (size_t i = 0; i < n; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                if (dash ? s[i] != '-' : !char_is_lower_hex(s[i]))
                        return false;
        }
        return true;
}

bool id128_is_uuid(const char *s)
{
        return s && strlen(s) == 36 && id128_is_valid(s, true);
}
