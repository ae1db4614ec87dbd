/* SPDX-License-Identifier: MIT */
#pragma once

/* Crash points prove that an interrupted operation leaves either the old or the new state: in builds
 * configured with -Dcrash_points=true (the `make check` build), crash_point("NAME") kills the process with
 * SIGKILL when the environment variable COREHOMED_CRASH_AT equals NAME, or NAME#N the N-th time NAME is
 * reached (a step in the middle of a batch). Release builds compile them away,
 * so no environment variable can kill a production process. */

#ifdef COREHOMED_CRASH_POINTS
void crash_point(const char *name);
#else
static inline void crash_point(const char *name)
{
        (void) name;
}
#endif
