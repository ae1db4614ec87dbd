/* SPDX-License-Identifier: MIT */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "json-util.h"
#include "macros.h"
#include "string-util.h"
#include "userdb.h"

#define USERDB_SOCKET_MODE                                                                                 \
        0666                     /* everybody resolves users (the privileged section is filtered per peer) \
                                  */
#define MANAGER_SOCKET_MODE 0600 /* root only; every call checks the peer too */

void daemon_clock_sync(Daemon *d)
{
        provisioner_set_now(d->provisioner, time_now_realtime());
}

void daemon_operation_context(Daemon *d, OperationContext *ret, char *state_buf, size_t state_size)
{
        char since[RFC3339_MAX] = "";

        daemon_clock_sync(d);
        (void) time_format_rfc3339(d->started / USEC_PER_SEC * USEC_PER_SEC, since);
        snprintf(state_buf, state_size, "running (pid %d, since %s, %zu media queued)", (int) getpid(),
                 since, media_queue_length(d->media));
        *ret = (OperationContext){
                .provisioner = d->provisioner,
                .db = d->provisioner->db,
                .root = d->options.root ? d->options.root : "/",
                .daemon_state = state_buf,
        };
}

static void expiry_rearm(Daemon *d)
{
        char when[RFC3339_MAX] = "never";
        usec_t next;
        int r;

        r = expiry_next_deadline(d->provisioner->home, &next);
        if (r < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot find the next expiry: %s", strerror(-r));
                return;
        }
        if (next == expiry_timer_deadline(d->expiry))
                return;
        r = expiry_timer_arm(d->expiry, next);
        if (r < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot arm the expiry timer: %s", strerror(-r));
                return;
        }
        if (next != USEC_INFINITY)
                (void) time_format_rfc3339(next, when);
        daemon_log(&d->log, LOG_DEBUG, "next expiry: %s", when);
}

void daemon_users_changed(Daemon *d)
{
        daemon_clock_sync(d);
        daemon_homes_activate(d);
        expiry_rearm(d);
}

void daemon_expire(Daemon *d, const char *why)
{
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        int r;

        daemon_clock_sync(d);
        daemon_homes_deactivate_expired(d);
        r = provision_expire(d->provisioner, &report);
        if (r < 0)
                daemon_log(&d->log, LOG_ERR, "expiry (%s) failed: %s", why, strerror(-r));
        else {
                _cleanup_json_ json_t *users = operation_provision_report_json(report);
                daemon_log_users(&d->log, d->provisioner->db, users, NULL);
        }
        expiry_rearm(d);
}

static void on_expiry(ExpiryTimer *t, bool clock_changed, void *userdata)
{
        Daemon *d = userdata;

        if (clock_changed)
                daemon_log(&d->log, LOG_INFO, "the wall clock jumped; checking grants against the new time");
        /* The timer is disarmed now; daemon_expire() arms it again at the next deadline. */
        daemon_expire(d, clock_changed ? "clock change" : "timer");
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Daemon *d = userdata;

        daemon_log(&d->log, LOG_INFO, "received %s, stopping", strsignal((int) si->ssi_signo));
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_media_added(UdevMonitor *m, const char *devnode, const char *fs_type, void *userdata)
{
        Daemon *d = userdata;
        int r;

        r = media_queue_push(d->media, devnode, true, NULL);
        if (r < 0) {
                LogDecision dec = { .priority = LOG_WARNING,
                                    .decision = "refused",
                                    .revision = -1,
                                    .reason = "too many media waiting",
                                    .device = devnode };
                daemon_log_decision(&d->log, &dec, "refused stick %s: too many media waiting (%d)", devnode,
                                    MEDIA_QUEUE_MAX);
        }
        return r;
}

/* Sockets passed by systemd (corehomed.socket), by name. */
static int take_listen_fds(int *ret_userdb, int *ret_manager)
{
        _cleanup_strv_free_ char **names = NULL;
        int n = sd_listen_fds_with_names(true, &names);

        *ret_userdb = *ret_manager = -1;
        if (n < 0)
                return n;
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "";

                if (streq(name, "userdb") && *ret_userdb < 0)
                        *ret_userdb = fd;
                else if (streq(name, "manager") && *ret_manager < 0)
                        *ret_manager = fd;
                else
                        safe_close(fd); /* not ours: holding it would keep a socket alive for nobody */
        }
        return 0;
}

static const char *file_name(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

/* io.corehomed.Manager serves root only (socket 0600, and a peer check on every call). Its messages may be
 * as large as the largest Import the documentation allows, and so may its replies (the report of such an
 * Import names each assertion's file); a few corehomectl processes at once need a few connections, and
 * another uid (past a widened socket mode) only ever gets PermissionDenied. A message of ~100 MiB takes
 * well under a second on a local socket; the minute is for a loop busy with another operation meanwhile.
 * The userdb socket keeps the Varlink defaults, which are sized for it. */
_Static_assert(VARLINK_CLIENT_MESSAGE_MAX >= MANAGER_MESSAGE_MAX,
               "corehomectl must take every Manager reply");
static const VarlinkLimits manager_limits = {
        .message_max = MANAGER_MESSAGE_MAX,
        .output_max = MANAGER_MESSAGE_MAX,
        .connections_max = 64,
        .connections_reserved_root = 60,
        .connections_per_uid_max = 1,
        .message_timeout = 60 * USEC_PER_SEC,
};

static int serve(Daemon *d, char **ret_error)
{
        int userdb_fd, manager_fd, r;

        r = take_listen_fds(&userdb_fd, &manager_fd);
        if (r < 0) {
                *ret_error = strprintf("cannot take the sockets passed by systemd: %s", strerror(-r));
                return r;
        }

        /* The userdb service name is the socket's file name: that is what clients pass as "service". */
        d->userdb_service =
                strdup(userdb_fd >= 0 ? USERDB_SERVICE_NAME : file_name(d->options.userdb_socket));
        if (!d->userdb_service)
                return -ENOMEM;
        r = varlink_server_new(d->event, userdb_fd >= 0 ? NULL : d->options.userdb_socket,
                               USERDB_SOCKET_MODE, userdb_fd, &d->userdb);
        if (r >= 0)
                r = userdb_service_add(d->userdb, d->provisioner->home, d->userdb_service);
        if (r < 0) {
                safe_close(manager_fd);
                *ret_error =
                        strprintf("cannot serve io.systemd.UserDatabase on %s: %s",
                                  userdb_fd >= 0 ? "the socket passed by systemd" : d->options.userdb_socket,
                                  strerror(-r));
                return r;
        }

        r = varlink_server_new(d->event, manager_fd >= 0 ? NULL : d->options.manager_socket,
                               MANAGER_SOCKET_MODE, manager_fd, &d->manager);
        if (r >= 0)
                r = varlink_server_set_limits(d->manager, &manager_limits);
        if (r >= 0)
                r = manager_add_methods(d->manager, d);
        if (r < 0) {
                *ret_error = strprintf("cannot serve io.corehomed.Manager on %s: %s",
                                       manager_fd >= 0 ? "the socket passed by systemd"
                                                       : d->options.manager_socket,
                                       strerror(-r));
                return r;
        }
        (void) varlink_server_set_info(d->manager, "corehomed", "corehomed io.corehomed.Manager", NULL,
                                       NULL);
        return 0;
}

int daemon_new(const DaemonOptions *options, Daemon **ret, char **ret_error)
{
        _cleanup_daemon_ Daemon *d = calloc(1, sizeof(Daemon));
        sigset_t mask;
        int r;

        if (!d)
                return -ENOMEM;
        d->options = *options;
        d->started = time_now_realtime();
        daemon_log_init(&d->log);

        r = sd_event_default(&d->event);
        if (r < 0)
                return r;
        /* Signals are handled by the loop: block them first, or the default action would kill us. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        r = sd_event_add_signal(d->event, NULL, SIGTERM, on_signal, d);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGINT, on_signal, d);
        if (r < 0)
                return r;

        r = provisioner_open(options->root, d->started, HOME_ALLOW_MOUNT, &d->provisioner, ret_error);
        if (r < 0)
                return r;
        if (!d->provisioner->device)
                daemon_log(&d->log, LOG_WARNING,
                           "this device has no usable identity; no users will be created: %s",
                           strempty(d->provisioner->device_error));

        r = media_queue_new(d, &d->media);
        if (r < 0)
                return r;
        r = expiry_timer_new(d->event, on_expiry, d, &d->expiry);
        if (r < 0) {
                *ret_error = strprintf("cannot create the expiry timer: %s", strerror(-r));
                return r;
        }

        /* Grants that ran out while we were not running go first, then the rest are made usable. */
        daemon_expire(d, "start");
        daemon_homes_activate(d);

        r = serve(d, ret_error);
        if (r < 0)
                return r;

        bool allow_any = options->allow_any_media ||
                         d->provisioner->config->media.devices == CONFIG_MEDIA_DEVICES_ANY;
        r = udev_monitor_new(d->event, allow_any, on_media_added, d, &d->udev);
        if (r < 0)
                /* Users and the Manager still work without sticks (a container without udev). */
                daemon_log(&d->log, LOG_WARNING, "cannot watch for media (udev): %s; sticks are not read",
                           strerror(-r));
        r = daemon_fleet_start(d);
        if (r < 0)
                daemon_log(&d->log, LOG_WARNING, "cannot schedule fleet polls: %s", strerror(-r));
        *ret = TAKE_PTR(d);
        return 0;
}

Daemon *daemon_free(Daemon *d)
{
        if (!d)
                return NULL;
        d->media = media_queue_free(d->media);
        daemon_fleet_stop(d);
        udev_monitor_free(d->udev);
        varlink_server_free(d->manager);
        varlink_server_free(d->userdb);
        expiry_timer_free(d->expiry);
        /* A tree given with --root (a test, an image) keeps nothing mounted once we are gone; on the
         * running system homes stay active across a restart of the daemon, as homed's do. */
        if (d->provisioner && d->options.root)
                daemon_homes_deactivate_all(d);
        provisioner_free(d->provisioner);
        free(d->userdb_service);
        sd_event_unref(d->event);
        free(d);
        return NULL;
}

int daemon_run(Daemon *d)
{
        int r;

        daemon_log(&d->log, LOG_INFO, "corehomed started (userdb service %s, %s)", d->userdb_service,
                   d->udev ? "watching for media" : "not watching for media");
        (void) sd_notify(false, "READY=1\nSTATUS=Serving users.");
        r = sd_event_loop(d->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping.");
        if (r < 0) {
                daemon_log(&d->log, LOG_ERR, "event loop failed: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
