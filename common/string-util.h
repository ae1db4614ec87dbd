/* SPDX-License-Identifier: MIT */
#pragma once

/* A newly allocated formatted string, or NULL when out of memory: for error messages handed to callers,
 * where a failed allocation can only mean a message less. */
char *strprintf(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Replaces *ret_error (when ret_error is not NULL) with a formatted message and returns r, so an error path
 * reads "return error_set(ret_error, -EINVAL, "why %s", x);". */
int error_set(char **ret_error, int r, const char *format, ...) __attribute__((format(printf, 3, 4)));
