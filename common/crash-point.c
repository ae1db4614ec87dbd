/* SPDX-License-Identifier: MIT */
#include "crash-point.h"

#ifdef COREHOMED_CRASH_POINTS
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void crash_point(const char *name)
{
        const char *at = getenv("COREHOMED_CRASH_AT");
        size_t l = strlen(name);
        char next[256];
        unsigned long n;
        char *end;

        if (!at || strncmp(at, name, l) != 0)
                return;
        if (at[l] == '\0')
                (void) kill(getpid(), SIGKILL);
        /* "NAME#N": the N-th time NAME is reached (a step in the middle of a batch). The count lives in the
         * environment, so the code keeps no state of its own. */
        if (at[l] != '#')
                return;
        errno = 0;
        n = strtoul(at + l + 1, &end, 10);
        if (errno != 0 || *end != '\0' || n == 0)
                return;
        if (n == 1)
                (void) kill(getpid(), SIGKILL);
        if (snprintf(next, sizeof(next), "%s#%lu", name, n - 1) < (int) sizeof(next))
                (void) setenv("COREHOMED_CRASH_AT", next, 1);
}
#endif
