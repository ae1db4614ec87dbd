/* SPDX-License-Identifier: MIT */
#pragma once

/* Random 128-bit ids in the lower-case UUID form systemd writes into bindings (luksUuid, partitionUuid,
 * fileSystemUuid): version 4, RFC 4122 variant, like sd_id128_randomize(). */

#include <stdbool.h>

#define ID128_UUID_STRING_MAX 37 /* 36 characters and the NUL */

int id128_random_uuid(char ret[static ID128_UUID_STRING_MAX]);

/* 32 lower-case hex digits, or (allow_uuid_form) the 8-4-4-4-12 UUID form, lower case only, as systemd
 * writes them. */
bool id128_is_valid(const char *s, bool allow_uuid_form);

/* Is s a UUID in that form (8-4-4-4-12 lower-case hex)? */
bool id128_is_uuid(const char *s);
