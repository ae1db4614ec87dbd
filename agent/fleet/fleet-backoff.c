/* SPDX-License-Identifier: MIT */
/* When to poll next. A device that fails keeps retrying, but ever more slowly (a fleet server that is down
 * must not be hammered by every device at once), and every delay carries jitter so devices that booted
 * together do not poll together. */
#include "fleet.h"

usec_t fleet_backoff_delay(unsigned failures, usec_t interval, uint64_t random)
{
        if (failures == 0) {
                /* interval - 10% + [0, 20%] */
                usec_t spread = interval / 5;
                return interval - interval / 10 + (spread > 0 ? random % (spread + 1) : 0);
        }

        usec_t cap = interval > FLEET_BACKOFF_MIN ? interval : FLEET_BACKOFF_MIN;
        if (cap > FLEET_BACKOFF_MAX)
                cap = FLEET_BACKOFF_MAX;
        usec_t delay = FLEET_BACKOFF_MIN;
        for (unsigned i = 1; i < failures && delay < cap; i++)
                delay *= 2; /* no overflow: stops at cap <= FLEET_BACKOFF_MAX */
        if (delay > cap)
                delay = cap;
        /* Equal jitter: half of the delay is fixed, so retries never collapse to zero. */
        return delay / 2 + random % (delay / 2 + 1);
}
