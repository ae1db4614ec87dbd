/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's fleet worker: the receiving half of a poll (fleet_poll_receive(), agent/fleet.h) in a child
 * process, so that the event loop goes on serving lookups, calls and signals while a fleet server is slow,
 * stalled or trickling bytes.
 *
 * The child is forked from the daemon, so it sees the trust database as it is at that moment (it only
 * reads it, to learn which prerequisites are missing). It drops every capability before it talks to the
 * network, fetches with every request ending by the poll's deadline, writes its outcome to a pipe as
 * fleet_received_encode() makes it, and exits. The parent reads at most FLEET_RECEIVED_MAX bytes from
 * sd-event and decodes them as untrusted input. A worker still running at the deadline is killed
 * (SIGKILL), as is one whose daemon goes away (PR_SET_PDEATHSIG). */

#include <sys/types.h>

#include <systemd/sd-event.h>

#include "fleet.h"
#include "macros.h"
#include "time-util.h"

/* The child's requests end this much before the deadline (at most a quarter of the timeout), so that its
 * answer, not the kill, normally ends the poll. */
#define FLEET_WORKER_MARGIN (1 * USEC_PER_SEC)

typedef struct FleetWorker FleetWorker;

/* Called exactly once per worker, from the event loop, when the receiving half is over. received is the
 * outcome; a failure has received->error < 0 with a message: whatever the child reported, or
 * -ETIMEDOUT (no answer by the deadline: the worker was killed), -ECHILD (it died without an answer),
 * -EBADMSG (its answer broke the format), -E2BIG (its answer exceeded FLEET_RECEIVED_MAX: killed).
 * The handler may take what received holds and may free w (the last thing the worker does). */
typedef void (*FleetWorkerHandler)(FleetWorker *w, FleetReceived *received, void *userdata);

/* Forks the worker for one poll of poll->config (poll->client's TLS settings apply; its deadline is set
 * from timeout) and watches it from e: an io source on its pipe, one on its pidfd, a CLOCK_MONOTONIC timer
 * at timeout. Does not block and needs no SIGCHLD setup. poll need not outlive the call. */
int fleet_worker_start(sd_event *e, const FleetPoll *poll, usec_t timeout, FleetWorkerHandler cb,
                       void *userdata, FleetWorker **ret);

/* Stops watching; a child still running is killed (SIGKILL) and reaped in the background by e, so a worker
 * stuck in the kernel never blocks the caller. The handler is not called after this. */
FleetWorker *fleet_worker_free(FleetWorker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(FleetWorker *, fleet_worker_free)

/* The worker child's pid (for logs and tests). */
pid_t fleet_worker_pid(const FleetWorker *w);
