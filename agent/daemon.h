/* SPDX-License-Identifier: MIT */
#pragma once

/* corehomed: one sd-event loop serving io.systemd.UserDatabase and io.corehomed.Manager, watching for
 * sticks, and removing users when their grants run out. All state changes happen on this one thread, one
 * at a time, through one Provisioner. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "daemon-log.h"
#include "expiry.h"
#include "operations.h"
#include "provision.h"
#include "udev-monitor.h"
#include "varlink.h"

#define DAEMON_USERDB_SOCKET_DEFAULT "/run/systemd/userdb/io.corehomed"

typedef struct MediaQueue MediaQueue;
typedef struct DaemonFleet DaemonFleet;

typedef struct DaemonOptions {
        const char *root;          /* NULL for the running system */
        const char *userdb_socket; /* bound when not passed by socket activation */
        const char *manager_socket;
        bool allow_any_media; /* also loop devices etc., whatever media.devices says (tests) */
} DaemonOptions;

typedef struct Daemon {
        sd_event *event;
        DaemonOptions options;
        DaemonLog log;
        Provisioner *provisioner;
        VarlinkServer *userdb;
        VarlinkServer *manager;
        UdevMonitor *udev;
        MediaQueue *media;
        ExpiryTimer *expiry;
        DaemonFleet *fleet;   /* NULL unless fleet.url is configured */
        char *userdb_service; /* the userdb service name: the socket's file name */
        usec_t started;
} Daemon;

/* Opens the state (recovering interrupted operations), sweeps expired users, activates the homes of the
 * valid ones, arms the expiry timer, and starts serving: sockets passed by systemd ("userdb", "manager")
 * or bound at the configured paths, the udev monitor. */
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

/* After users may have changed: activates the homes of valid users and re-arms the expiry timer. */
void daemon_users_changed(Daemon *d);

/* Removes the users whose grants ran out (deactivating their homes first), logs each, re-arms the timer. */
void daemon_expire(Daemon *d, const char *why);

/* Home activation at run time (daemon-homes.c). */
void daemon_homes_activate(Daemon *d);
int daemon_home_deactivate(Daemon *d, const char *user_name);
void daemon_homes_deactivate_expired(Daemon *d);
void daemon_homes_deactivate_all(Daemon *d);

/* The media queue (daemon-media.c): every import of a medium, from udev or from ImportMedia, one at a
 * time. call (may be NULL) is answered when the import is over. */
#define MEDIA_QUEUE_MAX 64
int media_queue_new(Daemon *d, MediaQueue **ret);
MediaQueue *media_queue_free(MediaQueue *q);
int media_queue_push(MediaQueue *q, const char *path, bool from_udev, VarlinkCall *call);
size_t media_queue_length(const MediaQueue *q);

/* Registers the io.corehomed.Manager methods (manager.c). */
int manager_add_methods(VarlinkServer *s, Daemon *d);

/* Schedules the fleet polls when the configuration has a fleet section (agent/daemon-fleet.c). */
int daemon_fleet_start(Daemon *d);
/* The Manager's PollFleet: call is answered (later) by a poll that starts after it, at once when none is
 * running. < 0 with *ret_error when refused (no fleet: -ENOENT, too many calls waiting: -EBUSY); call is
 * then not answered yet. */
int daemon_fleet_poll_request(Daemon *d, VarlinkCall *call, char **ret_error);
/* Kills a running poll's worker and answers the calls still waiting ("corehomed is stopping"). */
void daemon_fleet_stop(Daemon *d);
