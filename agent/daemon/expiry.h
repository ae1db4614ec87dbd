/* SPDX-License-Identifier: MIT */
#pragma once

/* The expiry timer: one CLOCK_REALTIME timer at the exact earliest grant end (until) of the users corehomed
 * manages. It is a timerfd with TFD_TIMER_CANCEL_ON_SET, so a jump of the wall clock (settimeofday, NTP
 * stepping the clock, an RTC-less device learning the time) wakes it too: a grant must end at its `until`
 * by the wall clock, not after a monotonic interval computed before the clock moved. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "home.h"
#include "macros.h"
#include "time-util.h"

typedef struct ExpiryTimer ExpiryTimer;

/* Called when the deadline has come (clock_changed false) or the wall clock jumped (true). Either way the
 * timer is disarmed until expiry_timer_arm() is called again. */
typedef void (*ExpiryHandler)(ExpiryTimer *t, bool clock_changed, void *userdata);

int expiry_timer_new(sd_event *e, ExpiryHandler cb, void *userdata, ExpiryTimer **ret);
ExpiryTimer *expiry_timer_free(ExpiryTimer *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExpiryTimer *, expiry_timer_free)
#define _cleanup_expiry_timer_ _cleanup_(expiry_timer_freep)

/* Arms the timer at the wall-clock time when (a time already past fires at once); USEC_INFINITY disarms. */
int expiry_timer_arm(ExpiryTimer *t, usec_t when);
/* The armed deadline, USEC_INFINITY when disarmed. */
usec_t expiry_timer_deadline(const ExpiryTimer *t);
