/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Microseconds since the Unix epoch, as systemd counts time in user records (…USec fields). */
typedef uint64_t usec_t;
#define USEC_PER_SEC  ((usec_t) 1000000ULL)
#define USEC_INFINITY ((usec_t) UINT64_MAX)

/* Smallest size that holds "YYYY-MM-DDTHH:MM:SS.ffffffZ" plus NUL. */
#define RFC3339_MAX 32

/* Parses an RFC 3339 timestamp as Go's time.Parse(time.RFC3339, …) accepts it, which is what snapd uses for
 * since/until/timestamp headers: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)". The fraction is kept to the
 * microsecond (finer digits are truncated). Returns -EINVAL for anything else or a time before 1970. */
int time_parse_rfc3339(const char *s, usec_t *ret);

/* Formats t in UTC as "YYYY-MM-DDTHH:MM:SSZ" (or with ".ffffff" when t has a sub-second part). */
int time_format_rfc3339(usec_t t, char buf[static RFC3339_MAX]);

/* The real clock. Callers take the time from their context so tests can inject it (--now). */
usec_t time_now_realtime(void);

/* The monotonic clock (CLOCK_MONOTONIC, as sd-event's timers count): for deadlines, which a wall-clock
 * jump must not stretch or cut short. */
usec_t time_now_monotonic(void);
