/* SPDX-License-Identifier: MIT */
#pragma once

/* The monitors, a service of the daemon: clients that follow every decision as it is taken (a kiosk
 * screen, an LED helper, `corehomectl monitor`) through io.corehomed.Manager.Monitor, a call with
 * "more": true that stays open. The first reply is {"ready": true} (from then on nothing is missed, as
 * systemd-resolved's monitor does); then one reply per decision, made from the same typed decision the
 * journal line is written from (daemon-log.h):
 *
 *   {"time", "decision", "message"[, "user"][, "grant"][, "brand", "email", "revision"][, "reason"]
 *    [, "device"]}
 *
 * The Manager serves root only, and so do monitors. What a monitor may cost is bounded: at most
 * MONITORS_MAX at once (the Manager's other callers keep their connections), and a monitor that does not
 * read is disconnected once MONITOR_BACKLOG_MAX bytes wait for it beyond what the kernel's socket buffer
 * holds: the daemon never buffers more for it, nor slows down for it; the client sees the connection
 * close and may connect again (it missed what was dropped). */

#include <stddef.h>

#include "daemon.h"
#include "operations.h"
#include "varlink.h"

#define MONITORS_MAX        MANAGER_MONITORS_MAX
#define MONITOR_BACKLOG_MAX MANAGER_MONITOR_BACKLOG_MAX

typedef struct MonitorHub MonitorHub;

int monitor_hub_new(Daemon *d, MonitorHub **ret);
/* Ends every monitor with io.corehomed.Manager.Failed ("corehomed is stopping"). */
MonitorHub *monitor_hub_free(MonitorHub *h);

/* Takes call (a Monitor call with "more") as a monitor and answers it {"ready": true}, or refuses it
 * (answered with the error) when MONITORS_MAX follow already. */
int monitor_hub_add(MonitorHub *h, VarlinkCall *call);

/* Sends one decision to every monitor (a DaemonLogObserver). */
void monitor_hub_publish(const LogDecision *d, const char *message, void *userdata);

/* Monitors following now. */
size_t monitor_hub_count(const MonitorHub *h);
