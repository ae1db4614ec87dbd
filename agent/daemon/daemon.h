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
#include "userdb-index.h"
#include "writer-queue.h"

typedef struct DaemonOptions {
        const char *root;          /* NULL for the running system */
        const char *userdb_socket; /* bound when not passed by socket activation */
        const char *manager_socket;
        const char *userdb_service; /* the name userdb clients ask for (the socket's file name) */
        bool allow_any_media;       /* also loop devices etc., whatever media.devices says (tests) */
} DaemonOptions;

/* Homes still to be activated (daemon-homes.c): many homes are activated a slice at a time, one writer job
 * per slice, so lookups never wait for all of them. */
typedef struct HomeActivation {
        char **names;   /* NULL when nothing is pending */
        size_t n, next; /* names; the first name not yet tried */
        size_t activated;
        usec_t started;          /* monotonic */
        sd_event_source *resume; /* idle: queues the next slice once nothing else is pending */
} HomeActivation;

/* The longest one activation job runs (~5 ms per home): what a lookup arriving meanwhile may wait. */
#define HOMES_ACTIVATE_SLICE_USEC (20 * USEC_PER_SEC / 1000)

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
        /* The records the userdb service answers from: scanned at start, after each writer job and when
         * another process moved the generation; stale entries are read a batch per turn of the loop
         * (index_loader). */
        UserdbIndex *userdb_index;
        sd_event_source *index_loader;
        bool start_pending;   /* the first job waits for the index to be whole */
        bool index_gave_up;   /* the index loader stopped short (out of memory): the start waits no longer */
        unsigned start_holds; /* and for the services that must say something first (daemon_hold_start) */
        HomeActivation activation;
        usec_t started;
        size_t media_waiting; /* media read or waiting to be (told by the media queue; for the status) */
        /* Set by the home1 service when a running systemd-homed owns activation and logins (docs/home1.md,
         * Mode 2): the core then never mounts a home itself. */
        bool homes_handed_over;
        DaemonUsersChanged users_changed;
        void *users_changed_userdata;
};

/* Opens the state under the root's lock (recovering interrupted operations), lists the host records into
 * the userdb index (reading them comes later, a batch per turn of the loop, or when asked for), starts the
 * writer queue, the watch on the root's generation and the expiry timer. Once the index is whole, the first
 * job runs: sweep expired users, activate the homes of the valid ones (a slice per job), arm the timer.
 * SIGTERM and SIGINT stop the loop. */
int daemon_new(const DaemonOptions *options, Daemon **ret, char **ret_error);
Daemon *daemon_free(Daemon *d);
/* A service that must be settled before the first job (whether a systemd-homed owns the homes) holds it,
 * and releases it once settled; the first job runs when no hold is left and the index is whole. */
void daemon_hold_start(Daemon *d);
void daemon_release_start(Daemon *d);
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

/* Brings the userdb index up to date with the host records now (a scan: what changed is read when asked
 * for); logs a failure. */
int daemon_index_current(Daemon *d);

/* Homes at run time (daemon-homes.c), in writer jobs. Which homes are mounted without a login: those
 * of valid users whose storage opens without a password (not luks), when users.activation is "start" and
 * no systemd-homed took the homes over. daemon_homes_activate() lists the homes that need activating,
 * activates them for HOMES_ACTIVATE_SLICE_USEC and queues a job for the rest (one user made by a Manager
 * call is active when the call returns); "home activation done" is logged when all are. daemon_homes_bind()
 * gives the homes made before the machine had its id (an image preseeded before its first boot) this
 * machine's binding. */
void daemon_homes_bind(Daemon *d);
void daemon_homes_activate(Daemon *d);
void daemon_homes_activation_done(Daemon *d); /* forgets what is pending */
void daemon_homes_free(Daemon *d);
int daemon_home_deactivate(Daemon *d, const char *user_name);
void daemon_homes_deactivate_expired(Daemon *d);
void daemon_homes_deactivate_all(Daemon *d);
