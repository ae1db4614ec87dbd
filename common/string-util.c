/* SPDX-License-Identifier: MIT */
#include "string-util.h"

#include <stdarg.h>
#include <stdio.h>

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
