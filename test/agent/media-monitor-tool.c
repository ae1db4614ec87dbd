/* SPDX-License-Identifier: MIT */
/* Test harness for the media pieces: runs the udev monitor and media workers on one sd-event loop, as the
 * daemon does, and prints one line per device read:
 *   DEVNODE OK SIZE
 *   DEVNODE ERROR ERRNO-NAME REASON
 * "READY" is printed once monitoring (and the coldplug enumeration) has started. With --dump=DIR the bytes
 * read from DEVNODE are written to DIR/BASENAME (e.g. DIR/loop3p1) for comparison.
 * --stop-workers freezes every worker with SIGSTOP (a hung mount), for the time budget test, and prints
 * "STOPPED DEVNODE PID".
 * --read=PATH reads PATH once with the synchronous media_read_auto_import() (the CLI's path) and exits.
 * Usage: media-monitor-tool [--any] [--stop-workers] [--dump=DIR] [--read=PATH]; runs until SIGTERM or
 * SIGINT. */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file-util.h"
#include "macros.h"
#include "media.h"
#include "udev-monitor.h"

#define WORKERS_MAX 64

typedef struct Harness {
        sd_event *event;
        UdevMonitor *monitor;
        const char *dump_dir;
        bool stop_workers;
        MediaWorker *workers[WORKERS_MAX];
} Harness;

static void dump(Harness *h, const char *devnode, const char *data, size_t size)
{
        _cleanup_free_ char *copy = strdup(devnode);
        _cleanup_free_ char *path = NULL;

        if (!h->dump_dir || !copy || asprintf(&path, "%s/%s", h->dump_dir, basename(copy)) < 0)
                return;
        if (write_file_atomic(AT_FDCWD, path, data, size, 0600, (uid_t) -1, (gid_t) -1) < 0)
                fprintf(stderr, "media-monitor-tool: cannot write %s\n", path);
}

static void on_read(MediaWorker *w, const char *devnode, int error, const char *data, size_t size,
                    const char *reason, void *userdata)
{
        Harness *h = userdata;

        if (error < 0)
                printf("%s ERROR %s %s\n", devnode, strerrorname_np(-error) ?: "?", reason);
        else {
                dump(h, devnode, data, size);
                printf("%s OK %zu\n", devnode, size);
        }
        fflush(stdout);

        (void) udev_monitor_release(h->monitor, devnode);
        for (size_t i = 0; i < WORKERS_MAX; i++)
                if (h->workers[i] == w) {
                        h->workers[i] = media_worker_free(w);
                        break;
                }
}

static int on_media_added(UdevMonitor *m, const char *devnode, const char *fs_type, void *userdata)
{
        Harness *h = userdata;
        int r;

        h->monitor = m; /* coldplug runs before udev_monitor_new() returns */
        for (size_t i = 0; i < WORKERS_MAX; i++) {
                if (h->workers[i])
                        continue;
                r = media_worker_start(h->event, devnode, on_read, h, &h->workers[i]);
                /* --stop-workers: a worker that hangs (as in a mount on a dying medium), to prove the
                 * time budget kills it. */
                if (r >= 0 && h->stop_workers) {
                        (void) kill(media_worker_pid(h->workers[i]), SIGSTOP);
                        printf("STOPPED %s %d\n", devnode, (int) media_worker_pid(h->workers[i]));
                        fflush(stdout);
                }
                if (r < 0) {
                        printf("%s ERROR %s cannot start worker\n", devnode, strerrorname_np(-r) ?: "?");
                        fflush(stdout);
                }
                return r;
        }
        return -EBUSY;
}

/* --read=PATH: the synchronous media_read_auto_import() the CLI uses, same output line. */
static int read_sync(Harness *h, const char *path)
{
        _cleanup_free_ char *data = NULL, *error = NULL;
        size_t size = 0;
        int r;

        r = media_read_auto_import(path, &data, &size, &error);
        if (r < 0) {
                printf("%s ERROR %s %s\n", path, strerrorname_np(-r) ?: "?", error ?: "?");
                return 1;
        }
        dump(h, path, data, size);
        printf("%s OK %zu\n", path, size);
        return 0;
}

int main(int argc, char **argv)
{
        Harness h = {};
        const char *read_path = NULL;
        bool any = false;
        sigset_t mask;
        int r;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--any") == 0)
                        any = true;
                else if (strcmp(argv[i], "--stop-workers") == 0)
                        h.stop_workers = true;
                else if (strncmp(argv[i], "--dump=", 7) == 0)
                        h.dump_dir = argv[i] + 7;
                else if (strncmp(argv[i], "--read=", 7) == 0)
                        read_path = argv[i] + 7;
                else {
                        fprintf(stderr, "usage: media-monitor-tool [--any] [--stop-workers] [--dump=DIR] "
                                        "[--read=PATH]\n");
                        return 2;
                }
        }
        if (read_path)
                return read_sync(&h, read_path);

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return 1;

        r = sd_event_default(&h.event);
        if (r >= 0)
                r = sd_event_add_signal(h.event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(h.event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = udev_monitor_new(h.event, any, on_media_added, &h, &h.monitor);
        if (r < 0) {
                fprintf(stderr, "media-monitor-tool: %s\n", strerror(-r));
                return 1;
        }
        printf("READY\n");
        fflush(stdout);

        r = sd_event_loop(h.event);

        for (size_t i = 0; i < WORKERS_MAX; i++)
                media_worker_free(h.workers[i]);
        udev_monitor_free(h.monitor);
        sd_event_unref(h.event);
        if (r < 0) {
                fprintf(stderr, "media-monitor-tool: event loop: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
