/* SPDX-License-Identifier: MIT */
#pragma once

/* The fleet timer, a service of the daemon: GET <fleet.url>/assertions every fleet.interval (with backoff
 * after failures), imported through the one import pipeline (agent/fleet/fleet.h) as a writer job. */

#include "daemon.h"
#include "varlink.h"

typedef struct FleetTimer FleetTimer;

/* Schedules the polls when the configuration has a fleet section (else the timer only answers PollFleet
 * with "no fleet configured"). */
int fleet_timer_new(Daemon *d, FleetTimer **ret);
FleetTimer *fleet_timer_free(FleetTimer *t);

/* One poll now (PollFleet; call answered when it is over, may be NULL); the next timer poll is scheduled
 * from its outcome. */
int fleet_timer_poll(FleetTimer *t, VarlinkCall *call);
