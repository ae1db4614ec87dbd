/* SPDX-License-Identifier: MIT */
#pragma once

/* Helpers shared by the user-record*.c files; not part of the public API. */

#include <stdarg.h>
#include <stdbool.h>

#include "user-record.h"

/* Fills err (if not NULL) with field and a formatted message; returns r so callers can write
 * `return record_error(err, "uid", -EBADMSG, "...")`. */
int record_error(RecordError *err, const char *field, int r, const char *fmt, ...) _printf_(4, 5);

/* Walks value and refuses what no canonical text can carry: reals (systemd signs them as "%.21Le", which
 * no integer-only encoder reproduces), strings or keys with NUL bytes, and nesting deeper than
 * USER_RECORD_DEPTH_MAX (recursion over untrusted input must be bounded). depth is value's own depth. */
int record_check_encodable(json_t *value, unsigned depth, const char *path, RecordError *err);

/* Field paths for messages: out = parent + "." + key (no dot when parent is empty), or parent + "[i]";
 * cut to fit size, never overflowing. Return out. */
char *record_path_key(char *out, size_t size, const char *parent, const char *key);
char *record_path_index(char *out, size_t size, const char *parent, size_t i);
