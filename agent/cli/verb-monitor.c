/* SPDX-License-Identifier: MIT */
/* corehomectl monitor [--json]: prints each decision of the daemon as it is taken (io.corehomed.Manager.
 * Monitor, daemon-monitor.h) until interrupted: SIGINT or SIGTERM end it with status 0. A line per
 * decision for people, a JSON object per line with --json (for a kiosk screen or an LED helper). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "cli-daemon.h"
#include "cli.h"
#include "file-util.h"
#include "json-util.h"
#include "macros.h"
#include "varlink.h"

static void help(void)
{
        printf("Usage: corehomectl [--json] monitor\n\n"
               "Follow corehomed's decisions as they are taken (sticks, fleet polls, imports, expiry):\n"
               "one line per decision (time, result, user, grant, reason), or one JSON object per line\n"
               "with --json. Runs until interrupted (Ctrl-C, SIGTERM: exit status 0). Needs the daemon\n"
               "(no --root) and root. corehomed serves %d monitors at once and disconnects one that\n"
               "leaves more than %u KiB of decisions unread (exit status 1).\n",
               MANAGER_MONITORS_MAX, MANAGER_MONITOR_BACKLOG_MAX / 1024U);
}

static const char *member(json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

typedef struct MonitorOutput {
        bool json;
        bool ready;
} MonitorOutput;

/* One decision: "TIME RESULT user USER, GRANT (revision N), from DEVICE: REASON". */
static void print_decision(json_t *e)
{
        const char *user = member(e, "user"), *grant = member(e, "grant"), *reason = member(e, "reason");
        const char *device = member(e, "device");
        json_t *revision = json_object_get(e, "revision");

        printf("%s %s", strempty(member(e, "time")), strempty(member(e, "decision")));
        if (user)
                printf(" user %s", user);
        if (grant)
                printf("%s %s", user ? "," : "", grant);
        if (json_is_integer(revision))
                printf(" (revision %" JSON_INTEGER_FORMAT ")", json_integer_value(revision));
        if (device)
                printf(", from %s", device);
        if (reason)
                printf(": %s", reason);
        putchar('\n');
}

static int on_reply(json_t *parameters, void *userdata)
{
        MonitorOutput *out = userdata;

        if (json_is_true(json_object_get(parameters, "ready"))) {
                /* On standard error: standard output carries decisions only. A script may wait for this
                 * line before it does what it wants to see decided. */
                if (!out->ready)
                        fprintf(stderr,
                                "corehomectl: following corehomed's decisions (interrupt to stop)\n");
                out->ready = true;
                return 0;
        }
        if (out->json) {
                json_dumpf(parameters, stdout, JSON_COMPACT);
                putchar('\n');
        } else
                print_decision(parameters);
        /* A reader at the other end of a pipe sees each decision when it happens. */
        if (fflush(stdout) != 0)
                return -errno;
        return 0;
}

/* SIGINT and SIGTERM as a descriptor: the call waits on it beside the socket. */
static int signals_fd(void)
{
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        fd = signalfd(-1, &mask, SFD_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int verb_monitor(const CliContext *ctx, int argc, char **argv)
{
        static const struct option options[] = { { "help", no_argument, NULL, 'h' }, {} };
        _cleanup_json_ json_t *final = NULL;
        _cleanup_free_ char *error_name = NULL;
        _cleanup_close_ int sfd = -1;
        MonitorOutput out = { .json = ctx->json };
        const char *path = getenv(CLI_MANAGER_SOCKET_ENV);
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c != 'h')
                        return EXIT_USAGE;
                help();
                return EXIT_OK;
        }
        if (optind < argc) {
                cli_error(argv[0], "takes no arguments");
                return EXIT_USAGE;
        }
        if (ctx->root) {
                cli_error(argv[0], "follows the running daemon's decisions; it has no --root mode");
                return EXIT_USAGE;
        }
        if (!path || !path[0])
                path = MANAGER_SOCKET_DEFAULT;
        sfd = signals_fd();
        if (sfd < 0) {
                cli_error(argv[0], "cannot watch for signals: %s", strerror(-sfd));
                return EXIT_REFUSED;
        }

        r = varlink_client_call_stream(path, MANAGER_INTERFACE ".Monitor", NULL, sfd, on_reply, &out, &final,
                                       &error_name);
        if (r == -ECANCELED)
                return EXIT_OK; /* interrupted: what we were asked to do until then */
        if (r == -ENOENT || r == -ECONNREFUSED) {
                cli_error(NULL, "corehomed is not running (cannot connect to %s)", path);
                return EXIT_REFUSED;
        }
        if (r == -EACCES || r == -EPERM) {
                cli_error(NULL, "cannot connect to %s: permission denied (io.corehomed.Manager is for root)",
                          path);
                return EXIT_REFUSED;
        }
        if (r == -ECONNRESET) {
                cli_error(
                        argv[0],
                        "corehomed closed the connection (it stopped, or this monitor fell more than %u KiB "
                        "of decisions behind)",
                        MANAGER_MONITOR_BACKLOG_MAX / 1024U);
                return EXIT_REFUSED;
        }
        if (r < 0) {
                cli_error(argv[0], "cannot follow corehomed at %s: %s", path, strerror(-r));
                return EXIT_REFUSED;
        }
        if (error_name && streq(error_name, VARLINK_ERROR_PERMISSION_DENIED))
                cli_error(
                        NULL,
                        "corehomed refused the call: permission denied (io.corehomed.Manager is for root)");
        else if (error_name) {
                const char *prefix = member(final, "prefix"), *message = member(final, "message");
                cli_error(prefix && prefix[0] ? prefix : NULL, "%s", message ? message : error_name);
        } else
                cli_error(argv[0], "corehomed ended the monitor");
        return EXIT_REFUSED;
}
