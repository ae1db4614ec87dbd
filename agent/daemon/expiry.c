/* SPDX-License-Identifier: MIT */
#include "expiry.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/timerfd.h>

struct ExpiryTimer {
        int fd;
        sd_event_source *source;
        usec_t deadline;
        ExpiryHandler cb;
        void *userdata;
};

static int on_timer(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ExpiryTimer *t = userdata;
        uint64_t expirations;
        bool clock_changed = false;

        if (read(fd, &expirations, sizeof(expirations)) < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                if (errno != ECANCELED)
                        return -errno;
                clock_changed = true;
        }
        t->deadline = USEC_INFINITY;
        (void) expiry_timer_arm(t, USEC_INFINITY);
        t->cb(t, clock_changed, t->userdata);
        return 0;
}

int expiry_timer_new(sd_event *e, ExpiryHandler cb, void *userdata, ExpiryTimer **ret)
{
        ExpiryTimer *t = calloc(1, sizeof(ExpiryTimer));
        int r;

        if (!t)
                return -ENOMEM;
        t->deadline = USEC_INFINITY;
        t->cb = cb;
        t->userdata = userdata;
        t->fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        if (t->fd < 0) {
                r = -errno;
                free(t);
                return r;
        }
        r = sd_event_add_io(e, &t->source, t->fd, EPOLLIN, on_timer, t);
        if (r < 0) {
                expiry_timer_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

ExpiryTimer *expiry_timer_free(ExpiryTimer *t)
{
        if (!t)
                return NULL;
        sd_event_source_disable_unref(t->source);
        safe_close(t->fd);
        free(t);
        return NULL;
}

int expiry_timer_arm(ExpiryTimer *t, usec_t when)
{
        struct itimerspec its = {};

        if (when != USEC_INFINITY) {
                /* An all-zero it_value would disarm: the epoch itself is "now or earlier" anyway. */
                if (when == 0)
                        when = 1;
                its.it_value.tv_sec = (time_t) (when / USEC_PER_SEC);
                its.it_value.tv_nsec = (long) (when % USEC_PER_SEC) * 1000L;
        }
        if (timerfd_settime(t->fd, TFD_TIMER_ABSTIME | (when != USEC_INFINITY ? TFD_TIMER_CANCEL_ON_SET : 0),
                            &its, NULL) < 0)
                return -errno;
        t->deadline = when;
        return 0;
}

usec_t expiry_timer_deadline(const ExpiryTimer *t)
{
        return t->deadline;
}
