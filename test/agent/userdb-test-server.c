/* SPDX-License-Identifier: MIT */
/* A stand-alone io.systemd.UserDatabase server for tests and benchmarks: serves the homes under --root on
 * --socket (mode 0666, as systemd's userdb sockets), as service --service (default: the socket's file name,
 * which is what userdb clients send). Prints "READY" on stdout once it accepts connections; exits cleanly
 * on SIGTERM or SIGINT.
 *
 *   userdb-test-server --root=DIR --socket=PATH [--service=NAME] */

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "home.h"
#include "macros.h"
#include "userdb.h"
#include "varlink.h"

static void sd_event_unrefp_local(sd_event **e)
{
        if (*e)
                sd_event_unref(*e);
}

int main(int argc, char *argv[])
{
        static const struct option options[] = {
                { "root", required_argument, NULL, 'r' },
                { "socket", required_argument, NULL, 's' },
                { "service", required_argument, NULL, 'n' },
                {},
        };
        const char *root = NULL, *socket_path = NULL, *service = NULL;
        __attribute__((cleanup(sd_event_unrefp_local))) sd_event *e = NULL;
        _cleanup_varlink_server_ VarlinkServer *s = NULL;
        _cleanup_home_ Home *home = NULL;
        RecordError err = {};
        sigset_t mask;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'r':
                        root = optarg;
                        break;
                case 's':
                        socket_path = optarg;
                        break;
                case 'n':
                        service = optarg;
                        break;
                default:
                        return 2;
                }
        }
        if (!root || !socket_path || optind != argc) {
                fprintf(stderr, "usage: %s --root=DIR --socket=PATH [--service=NAME]\n", argv[0]);
                return 2;
        }
        if (!service)
                service = strrchr(socket_path, '/') ? strrchr(socket_path, '/') + 1 : socket_path;

        r = home_new(root, 0, &home, &err);
        if (r < 0) {
                fprintf(stderr, "userdb-test-server: %s: %s\n", root, err.message);
                return 1;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_new(&e);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = varlink_server_new(e, socket_path, 0666, -1, &s);
        if (r >= 0)
                r = userdb_service_add(s, home, service);
        if (r < 0) {
                fprintf(stderr, "userdb-test-server: %s: %s\n", socket_path, strerror(-r));
                return 1;
        }
        printf("READY\n");
        fflush(stdout);
        r = sd_event_loop(e);
        if (r < 0) {
                fprintf(stderr, "userdb-test-server: event loop: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
