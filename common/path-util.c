/* SPDX-License-Identifier: MIT */
#include "path-util.h"

#include <limits.h>
#include <string.h>

bool path_is_absolute_normalized(const char *p)
{
        size_t n;

        if (!p || p[0] != '/')
                return false;
        n = strlen(p);
        /* "/" alone is refused: as a home, image or skeleton it would hand the whole file system over. */
        if (n < 2 || n >= PATH_MAX || p[n - 1] == '/')
                return false;
        for (const char *c = p; *c;) {
                const char *next = strchr(c + 1, '/');
                size_t len = next ? (size_t) (next - c - 1) : strlen(c + 1);

                /* c points at a '/', the component follows it. */
                if (len == 0)
                        return false;
                if ((len == 1 && c[1] == '.') || (len == 2 && c[1] == '.' && c[2] == '.'))
                        return false;
                if (!next)
                        break;
                c = next;
        }
        return true;
}
