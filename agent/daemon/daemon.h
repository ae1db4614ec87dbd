/* SPDX-License-Identifier: MIT */
#pragma once

/* corehomed's core: the event loop, the state below the root (one Provisioner, kept current with what other
 * processes write), the writer queue every change goes through, homes at run time and the expiry timer. The
 * services — the media queue (daemon-media.h), the fleet timer (daemon-fleet.h), the Manager (manager.h),
 * the userdb service — include this core and call it; the core calls none of them. Only the assembly
 * (corehomed.c) knows them all and wires them together. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "daemon-log.h"
#include "expiry.h"
#include "operations.h"
#include "provisioner.h"
#include "writer-queue.h"

typedef struct DaemonOptions {
        const char *root;          /* NULL for the running system */
        const char *userdb_socket; /* bound when not passed by socket activation */
        const char *manager_socket;
        bool allow_any_media; /* also loop devices etc., whatever media.devices says (tests) */
} DaemonOptions;

typedef struct Daemon Daemon;

/* After users were created, updated or removed (report: what happened, NULL when unknown, e.g. another
 * process changed the root): the assembly hands this to the services that keep something per user. */
typedef void (*DaemonUsersChanged)(Daemon *d, const ProvisionReport *report, void *userdata);

struct Daemon {
        sd_event *event;
        DaemonOptions options;
        DaemonLog log;
        Provisioner *provisioner;
        WriterQueue *writers;              /* every change, one at a time, under the root's lock */
        uint64_t generation;               /* the root's generation our in-memory state was loaded at */
        sd_event_source *generation_watch; /* another process wrote below the root: refresh */
        ExpiryTimer *expiry;
        usec_t started;
        size_t media_waiting; /* media read or waiting to be (told by the media queue; for the status) */
        /* Set by the home1 service when a running systemd-homed owns activation and logins (docs/home1.md,
         * Mode 2): the core then never mounts a home itself. */
        bool homes_handed_over;
        DaemonUsersChanged users_changed;
        void *users_changed_userdata;
};

/* Opens the state under the root's lock (recovering interrupted operations), starts the writer queue, the
 * watch on the root's generation and the expiry timer, and queues the first job: sweep expired users,
 * activate the homes of the valid ones, arm the timer. SIGTERM and SIGINT stop the loop. */
int daemon_new(const DaemonOptions *options, Daemon **ret, char **ret_error);
Daemon *daemon_free(Daemon *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Daemon *, daemon_free)
#define _cleanup_daemon_ _cleanup_(daemon_freep)

/* Runs until SIGTERM or SIGINT; tells systemd READY=1 and STOPPING=1. Returns the exit status. */
int daemon_run(Daemon *d);

/* Moves the provisioner to the current wall-clock time: every operation runs at the time it happens. */
void daemon_clock_sync(Daemon *d);

/* An operation for the Manager or the media queue, at the current time, with the daemon's state. */
void daemon_operation_context(Daemon *d, OperationContext *ret, char *state_buf, size_t state_size);

/* Queues a writer job (writer-queue.h); when it cannot be queued, free_func runs at once and the error is
 * returned. */
int daemon_write(Daemon *d, WriterJobRun run, WriterJobFree free_func, void *userdata, bool coalesce);

/* Inside a writer job whose work goes on after its run function returns (a worker process): keeps the
 * root's lock until daemon_write_done() (writer-queue.h). */
int daemon_write_continue(Daemon *d);
void daemon_write_done(Daemon *d);

/* Queues the expiry sweep (users whose grants ran out are removed, the other homes made usable) as a
 * writer job, as the expiry timer does. */
int daemon_queue_expiry_sweep(Daemon *d);

/* After users may have changed (in a writer job): activates the homes of valid users, re-arms the expiry
 * timer and tells the users_changed hook (report: what changed, NULL when not known). */
void daemon_users_changed(Daemon *d, const ProvisionReport *report);

/* Homes at run time (daemon-homes.c), in writer jobs. Which homes are mounted without a login: those
 * of valid users whose storage opens without a password (not luks), when users.activation is "start" and
 * no systemd-homed took the homes over. */
void daemon_homes_activate(Daemon *d);
int daemon_home_deactivate(Daemon *d, const char *user_name);
void daemon_homes_deactivate_expired(Daemon *d);
void daemon_homes_deactivate_all(Daemon *d);
