/* SPDX-License-Identifier: MIT */
#pragma once

/* A newly allocated formatted string, or NULL when out of memory: for error messages handed to callers,
 * where a failed allocation can only mean a message less. */
char *strprintf(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Replaces *ret_error (when ret_error is not NULL) with a formatted message and returns r, so an error path
 * reads "return error_set(ret_error, -EINVAL, "why %s", x);". */
int error_set(char **ret_error, int r, const char *format, ...) __attribute__((format(printf, 3, 4)));

#include <stddef.h>

/* A copy of size bytes with a NUL after them (bytes that are text to their user, such as an assertion
 * stream read from a medium), or NULL when out of memory. */
char *memdup_suffix0(const void *data, size_t size);
