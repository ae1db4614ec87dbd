/* SPDX-License-Identifier: MIT */
/* corehomed: serves the users provisioned from system-user assertions (io.systemd.UserDatabase), the
 * control interface (io.corehomed.Manager), reads sticks as they are plugged and removes users whose grants
 * run out. docs/daemon.md describes sockets, methods, log fields and units. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "macros.h"

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
               "  -h, --help             show this help\n\n"
               "Sockets passed by systemd (FileDescriptorName=userdb / manager) take precedence over the\n"
               "paths.\n",
               DAEMON_USERDB_SOCKET_DEFAULT, MANAGER_SOCKET_DEFAULT);
}

int main(int argc, char **argv)
{
        enum { ARG_ROOT = 0x100, ARG_USERDB_SOCKET, ARG_MANAGER_SOCKET, ARG_ALLOW_ANY_MEDIA };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "root", required_argument, NULL, ARG_ROOT },
                { "userdb-socket", required_argument, NULL, ARG_USERDB_SOCKET },
                { "manager-socket", required_argument, NULL, ARG_MANAGER_SOCKET },
                { "allow-any-media", no_argument, NULL, ARG_ALLOW_ANY_MEDIA },
                {},
        };
        DaemonOptions o = {
                .userdb_socket = DAEMON_USERDB_SOCKET_DEFAULT,
                .manager_socket = MANAGER_SOCKET_DEFAULT,
        };
        _cleanup_daemon_ Daemon *d = NULL;
        _cleanup_free_ char *error = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
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

        r = daemon_new(&o, &d, &error);
        if (r < 0) {
                fprintf(stderr, "corehomed: cannot start: %s\n", error ? error : strerror(-r));
                return EXIT_FAILURE;
        }
        return daemon_run(d);
}
