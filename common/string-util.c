/* SPDX-License-Identifier: MIT */
#include "string-util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *strprintf(const char *format, ...)
{
        char *s;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

int error_set(char **ret_error, int r, const char *format, ...)
{
        char *s;
        va_list ap;

        if (!ret_error)
                return r;
        va_start(ap, format);
        if (vasprintf(&s, format, ap) < 0)
                s = NULL;
        va_end(ap);
        free(*ret_error);
        *ret_error = s;
        return r;
}

char *memdup_suffix0(const void *data, size_t size)
{
        char *copy = malloc(size + 1);

        if (!copy)
                return NULL;
        if (size > 0)
                memcpy(copy, data, size);
        copy[size] = 0;
        return copy;
}
