/* SPDX-License-Identifier: MIT */
/* corehomed: serves the users provisioned from system-user assertions (io.systemd.UserDatabase), the
 * control interface (io.corehomed.Manager) and systemd-homed's org.freedesktop.home1 (or hands the homes to
 * a running systemd-homed), reads sticks as they are plugged and removes users whose grants run out.
 * docs/daemon.md describes sockets, methods, log fields and units, docs/home1.md the D-Bus side.
 *
 * This file is the assembly: it makes the core (daemon.h) and its services (the media queue, the fleet
 * timer, the Manager and the userdb service on their sockets) and wires them together. It is the only
 * place that knows them all. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "daemon-fleet.h"
#include "daemon-media.h"
#include "daemon-monitor.h"
#include "daemon.h"
#include "home1.h"
#include "macros.h"
#include "manager.h"
#include "string-util.h"
#include "userdb.h"
#include "varlink.h"

#define DAEMON_USERDB_SOCKET_DEFAULT USERDB_SOCKET_DIR "/" USERDB_SERVICE_NAME
/* Everybody resolves users (the privileged section is filtered per peer). */
#define USERDB_SOCKET_MODE 0666
/* Root only; every call checks the peer too. */
#define MANAGER_SOCKET_MODE 0600

typedef struct Corehomed {
        Daemon *core;
        MediaQueue *media;
        FleetTimer *fleet;
        MonitorHub *monitors;
        VarlinkServer *userdb;
        VarlinkServer *manager;
        Home1 *home1;              /* org.freedesktop.home1; NULL when not on a bus */
        int userdb_fd, manager_fd; /* passed by systemd until served; -1 when not */
        char *userdb_service;      /* the userdb service name: the socket's file name */
} Corehomed;

static void corehomed_done(Corehomed *c)
{
        /* Services first (their sockets, readers and timers), the core last: the writer jobs still queued
         * only answer calls and free memory when they are dropped. The monitors are told before their
         * connections close. */
        if (c->core)
                daemon_log_set_observer(&c->core->log, NULL, NULL);
        monitor_hub_free(c->monitors);
        home1_free(c->home1);
        varlink_server_free(c->manager);
        varlink_server_free(c->userdb);
        fleet_timer_free(c->fleet);
        media_queue_free(c->media);
        daemon_free(c->core);
        safe_close(c->userdb_fd);
        safe_close(c->manager_fd);
        free(c->userdb_service);
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

static int import_media(const char *path, VarlinkCall *call, void *userdata)
{
        Corehomed *c = userdata;

        return media_queue_push(c->media, path, false, call);
}

static int poll_fleet(VarlinkCall *call, void *userdata)
{
        Corehomed *c = userdata;

        return fleet_timer_poll(c->fleet, call);
}

static int monitor(VarlinkCall *call, void *userdata)
{
        Corehomed *c = userdata;

        return monitor_hub_add(c->monitors, call);
}

static bool user_handed_over(const char *user_name, void *userdata)
{
        Corehomed *c = userdata;

        return home1_user_handed_over(c->home1, user_name);
}

static void users_changed(Daemon *d, const ProvisionReport *report, void *userdata)
{
        Corehomed *c = userdata;

        home1_users_changed(c->home1, report);
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

/* The sockets systemd passed, and the userdb service name that follows from them: what clients pass as
 * "service" is the socket's file name. */
static int take_sockets(Corehomed *c, DaemonOptions *o, char **ret_error)
{
        int r = take_listen_fds(&c->userdb_fd, &c->manager_fd);

        if (r < 0) {
                *ret_error = strprintf("cannot take the sockets passed by systemd: %s", strerror(-r));
                return r;
        }
        c->userdb_service = strdup(c->userdb_fd >= 0 ? USERDB_SERVICE_NAME : file_name(o->userdb_socket));
        if (!c->userdb_service)
                return -ENOMEM;
        o->userdb_service = c->userdb_service;
        return 0;
}

static int serve(Corehomed *c, char **ret_error)
{
        const DaemonOptions *o = &c->core->options;
        bool passed = c->userdb_fd >= 0;
        int r;

        r = varlink_server_new(c->core->event, passed ? NULL : o->userdb_socket, USERDB_SOCKET_MODE,
                               TAKE_FD(c->userdb_fd), &c->userdb);
        if (r >= 0)
                r = userdb_service_add_index(c->userdb, c->core->userdb_index, user_handed_over, c);
        if (r < 0) {
                *ret_error =
                        strprintf("cannot serve io.systemd.UserDatabase on %s: %s",
                                  passed ? "the socket passed by systemd" : o->userdb_socket, strerror(-r));
                return r;
        }

        const ManagerServices services = {
                .import_media = import_media, .poll_fleet = poll_fleet, .monitor = monitor, .userdata = c
        };
        passed = c->manager_fd >= 0;
        r = varlink_server_new(c->core->event, passed ? NULL : o->manager_socket, MANAGER_SOCKET_MODE,
                               TAKE_FD(c->manager_fd), &c->manager);
        if (r >= 0)
                r = varlink_server_set_limits(c->manager, &manager_limits);
        if (r >= 0)
                r = manager_add_methods(c->manager, c->core, &services);
        if (r < 0) {
                *ret_error =
                        strprintf("cannot serve io.corehomed.Manager on %s: %s",
                                  passed ? "the socket passed by systemd" : o->manager_socket, strerror(-r));
                return r;
        }
        (void) varlink_server_set_info(c->manager, "corehomed", "corehomed io.corehomed.Manager", NULL,
                                       NULL);
        return 0;
}

/* org.freedesktop.home1: started before the loop runs and settled while it runs (home1.h); the core's first
 * job waits until it knows whether a systemd-homed owns the homes. */
static int start_home1(Corehomed *c, Home1Mode mode, char **ret_error)
{
        _cleanup_free_ char *error = NULL;
        int r;

        r = home1_new(c->core, mode, NULL, &c->home1, &error);
        if (r < 0 && mode == HOME1_MODE_AUTO) {
                /* No system bus (a container, an early boot): users, logins through pam_unix and the Manager
                 * still work. */
                daemon_log(&c->core->log, LOG_WARNING, "not serving org.freedesktop.home1: %s",
                           error ? error : strerror(-r));
                return 0;
        }
        if (r < 0) {
                *ret_error = TAKE_PTR(error);
                return r;
        }
        c->core->users_changed = users_changed;
        c->core->users_changed_userdata = c;
        return 0;
}

static int corehomed_start(Corehomed *c, const DaemonOptions *options, Home1Mode home1_mode,
                           char **ret_error)
{
        DaemonOptions o = *options;
        int r;

        r = take_sockets(c, &o, ret_error);
        if (r < 0)
                return r;
        r = daemon_new(&o, &c->core, ret_error);
        if (r < 0)
                return r;
        r = start_home1(c, home1_mode, ret_error);
        if (r < 0)
                return r;
        r = media_queue_new(c->core, &c->media);
        if (r < 0)
                return r;
        r = monitor_hub_new(c->core, &c->monitors);
        if (r < 0)
                return r;
        /* Every decision the core and its services log reaches the monitors too. */
        daemon_log_set_observer(&c->core->log, monitor_hub_publish, c->monitors);
        r = fleet_timer_new(c->core, &c->fleet);
        if (r < 0)
                daemon_log(&c->core->log, LOG_WARNING, "cannot schedule fleet polls: %s", strerror(-r));
        r = serve(c, ret_error);
        if (r < 0)
                return r;
        bool allow_any = options->allow_any_media ||
                         c->core->provisioner->config->media.devices == CONFIG_MEDIA_DEVICES_ANY;
        r = media_queue_watch_udev(c->media, allow_any);
        if (r < 0)
                /* Users and the Manager still work without sticks (a container without udev). */
                daemon_log(&c->core->log, LOG_WARNING,
                           "cannot watch for media (udev): %s; sticks are not read", strerror(-r));
        daemon_log(&c->core->log, LOG_INFO, "corehomed started (userdb service %s, %s)", c->userdb_service,
                   media_queue_watches_udev(c->media) ? "watching for media" : "not watching for media");
        return 0;
}

static void help(void)
{
        printf("Usage: corehomed [OPTIONS]\n\n"
               "Provisions users from signed system-user assertions and serves them to the system.\n\n"
               "Options:\n"
               "  --root=DIR             keep all state below DIR (tests, images); homes mounted below DIR\n"
               "                         are unmounted again when the daemon stops\n"
               "  --userdb-socket=PATH   io.systemd.UserDatabase socket (default %s)\n"
               "  --manager-socket=PATH  io.corehomed.Manager socket (default %s)\n"
               "  --allow-any-media      read any block device with a file system, not only removable\n"
               "                         ones (overrides media.devices; for tests)\n"
               "  --home1=MODE           org.freedesktop.home1 on the system bus: auto (serve it, or hand\n"
               "                         the homes to a running systemd-homed), serve, handover or off;\n"
               "                         default auto, off with --root\n"
               "  -h, --help             show this help\n"
               "  --version              show the version\n\n"
               "Sockets passed by systemd (FileDescriptorName=userdb / manager) take precedence over the\n"
               "paths. See corehomed(8) and corehomed.yaml(5).\n",
               DAEMON_USERDB_SOCKET_DEFAULT, MANAGER_SOCKET_DEFAULT);
}

int main(int argc, char **argv)
{
        enum {
                ARG_ROOT = 0x100,
                ARG_USERDB_SOCKET,
                ARG_MANAGER_SOCKET,
                ARG_ALLOW_ANY_MEDIA,
                ARG_VERSION,
                ARG_HOME1
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "root", required_argument, NULL, ARG_ROOT },
                { "userdb-socket", required_argument, NULL, ARG_USERDB_SOCKET },
                { "manager-socket", required_argument, NULL, ARG_MANAGER_SOCKET },
                { "allow-any-media", no_argument, NULL, ARG_ALLOW_ANY_MEDIA },
                { "home1", required_argument, NULL, ARG_HOME1 },
                {},
        };
        DaemonOptions o = {
                .userdb_socket = DAEMON_USERDB_SOCKET_DEFAULT,
                .manager_socket = MANAGER_SOCKET_DEFAULT,
        };
        _cleanup_(corehomed_done) Corehomed corehomed = { .userdb_fd = -1, .manager_fd = -1 };
        _cleanup_free_ char *error = NULL;
        const char *home1 = NULL;
        Home1Mode home1_mode;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("corehomed %s\n", COREHOMED_VERSION);
                        return EXIT_SUCCESS;
                case ARG_ROOT:
                        o.root = optarg;
                        break;
                case ARG_USERDB_SOCKET:
                        o.userdb_socket = optarg;
                        break;
                case ARG_MANAGER_SOCKET:
                        o.manager_socket = optarg;
                        break;
                case ARG_ALLOW_ANY_MEDIA:
                        o.allow_any_media = true;
                        break;
                case ARG_HOME1:
                        home1 = optarg;
                        break;
                default:
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "corehomed: unexpected argument '%s'; see --help\n", argv[optind]);
                return 2;
        }
        if (o.userdb_socket[0] != '/' || o.manager_socket[0] != '/') {
                fprintf(stderr, "corehomed: socket paths must be absolute\n");
                return 2;
        }

        /* A tree below --root is not the system's: its homes stay off the system bus unless asked. */
        if (home1_mode_from_string(home1 ? home1 : o.root ? "off" : "auto", &home1_mode) < 0) {
                fprintf(stderr, "corehomed: --home1 must be auto, serve, handover or off\n");
                return 2;
        }

        r = corehomed_start(&corehomed, &o, home1_mode, &error);
        if (r < 0) {
                fprintf(stderr, "corehomed: cannot start: %s\n", error ? error : strerror(-r));
                return EXIT_FAILURE;
        }
        return daemon_run(corehomed.core);
}
