/* SPDX-License-Identifier: MIT */
#pragma once

/* io.corehomed.Manager, a service of the daemon: the operations behind the CLI verbs (operations.h) for
 * root on this machine. Operations that change state run as writer jobs; what they decide is logged from
 * the typed report and answered in its JSON form. Three methods need other services (a medium is read by
 * the media queue, a fleet poll by the fleet timer, a monitor is kept by the monitors): the assembly hands
 * them in, so the Manager includes none of them. */

#include "daemon.h"
#include "varlink.h"

typedef struct ManagerServices {
        /* ImportMedia: queue path; the call is answered when its import is over. */
        int (*import_media)(const char *path, VarlinkCall *call, void *userdata);
        /* PollFleet: poll now; the call is answered when the poll is over. */
        int (*poll_fleet)(VarlinkCall *call, void *userdata);
        /* Monitor: follow decisions (daemon-monitor.h); the call stays open. */
        int (*monitor)(VarlinkCall *call, void *userdata);
        void *userdata;
} ManagerServices;

/* Registers every Manager method on s. */
int manager_add_methods(VarlinkServer *s, Daemon *d, const ManagerServices *services);
