/* SPDX-License-Identifier: MIT */
#include "time-util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int parse_digits(const char **p, unsigned n, int *ret)
{
        int v = 0;

        for (unsigned i = 0; i < n; i++) {
                char c = (*p)[i];
                if (c < '0' || c > '9')
                        return -EINVAL;
                v = v * 10 + (c - '0');
        }
        *p += n;
        *ret = v;
        return 0;
}

static int expect_char(const char **p, char c)
{
        if (**p != c)
                return -EINVAL;
        (*p)++;
        return 0;
}

static bool is_leap_year(int y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int year, int month)
{
        static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian), without timegm()'s dependence on TZ.
 */
static int64_t days_from_civil(int y, int m, int d)
{
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

int time_parse_rfc3339(const char *s, usec_t *ret)
{
        int year, month, day, hour, minute, second, offset = 0;
        usec_t fraction = 0;
        const char *p = s;

        if (!s)
                return -EINVAL;
        if (parse_digits(&p, 4, &year) < 0 || expect_char(&p, '-') < 0 || parse_digits(&p, 2, &month) < 0 ||
            expect_char(&p, '-') < 0 || parse_digits(&p, 2, &day) < 0 || expect_char(&p, 'T') < 0 ||
            parse_digits(&p, 2, &hour) < 0 || expect_char(&p, ':') < 0 || parse_digits(&p, 2, &minute) < 0 ||
            expect_char(&p, ':') < 0 || parse_digits(&p, 2, &second) < 0)
                return -EINVAL;

        if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
            minute > 59 || second > 59)
                return -EINVAL;

        if (*p == '.') {
                usec_t scale = 100000;
                p++;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++) {
                        fraction += (usec_t) (*p - '0') * scale;
                        scale /= 10;
                }
        }

        if (*p == 'Z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int sign = *p == '-' ? -1 : 1, oh, om;
                p++;
                if (parse_digits(&p, 2, &oh) < 0 || expect_char(&p, ':') < 0 || parse_digits(&p, 2, &om) < 0)
                        return -EINVAL;
                if (oh > 23 || om > 59)
                        return -EINVAL;
                offset = sign * (oh * 3600 + om * 60);
        } else
                return -EINVAL;

        if (*p != '\0')
                return -EINVAL;

        int64_t seconds =
                days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
        if (seconds < 0)
                return -EINVAL;

        *ret = (usec_t) seconds * USEC_PER_SEC + fraction;
        return 0;
}

int time_format_rfc3339(usec_t t, char buf[static RFC3339_MAX])
{
        time_t seconds = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&seconds, &tm))
                return -EOVERFLOW;
        size_t n = strftime(buf, RFC3339_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
        if (n == 0)
                return -EOVERFLOW;
        if (t % USEC_PER_SEC)
                snprintf(buf + n, RFC3339_MAX - n, ".%06llu", (unsigned long long) (t % USEC_PER_SEC));
        strcat(buf, "Z");
        return 0;
}

usec_t time_now_realtime(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

usec_t time_now_monotonic(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}
