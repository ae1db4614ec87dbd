/* SPDX-License-Identifier: MIT */
#pragma once

/* A newly allocated formatted string, or NULL when out of memory: for error messages handed to callers,
 * where a failed allocation can only mean a message less. */
char *strprintf(const char *format, ...) __attribute__((format(printf, 1, 2)));
