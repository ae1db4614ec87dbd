/* SPDX-License-Identifier: MIT */
/* Homes created per second: directory storage, empty skeleton, offline (no mounts), in a temporary root.
 * Each create includes the UID choice (reading passwd/group and every existing home), signing, both
 * record files and the rename into place. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file-util.h"
#include "home.h"

#define HOMES 200

static double now_seconds(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int write_root_file(const char *root, const char *path, const char *content)
{
        _cleanup_free_ char *full = NULL, *dir = NULL;

        if (path_join_root(root, path, &full) < 0 || !(dir = strdup(full)))
                return -1;
        *strrchr(dir, '/') = '\0';
        if (mkdir_parents_and_self(dir, 0755) < 0)
                return -1;
        return write_file_atomic(AT_FDCWD, full, content, strlen(content), 0644, -1, -1);
}

int main(void)
{
        char root[] = "/tmp/bench-home-create.XXXXXX";
        _cleanup_free_ char *cmd = NULL;
        Home *h = NULL;
        RecordError err = {};
        double start, elapsed;
        int status = 0;

        if (!mkdtemp(root) ||
            write_root_file(root, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n") < 0 ||
            write_root_file(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n") < 0 ||
            write_root_file(root, "/etc/group", "root:x:0:\n") < 0) {
                fprintf(stderr, "bench-home-create: cannot set up %s\n", root);
                return 1;
        }
        /* An empty skeleton. */
        _cleanup_free_ char *skel = NULL;
        if (path_join_root(root, "/etc/skel", &skel) < 0 || mkdir(skel, 0755) < 0)
                return 1;
        if (home_new(root, 0, &h, &err) < 0) {
                fprintf(stderr, "bench-home-create: %s\n", err.message);
                return 1;
        }

        start = now_seconds();
        for (unsigned i = 0; i < HOMES; i++) {
                char name[32];
                json_t *rec;

                snprintf(name, sizeof(name), "bench%u", i);
                rec = json_pack("{s:s, s:s, s:I}", "userName", name, "disposition", "regular",
                                "lastChangeUSec", (json_int_t) 1700000000000000LL);
                if (!rec || home_create(h, rec, NULL, &err) < 0) {
                        fprintf(stderr, "bench-home-create: %s: %s\n", name, err.message);
                        status = 1;
                        json_decref(rec);
                        break;
                }
                json_decref(rec);
        }
        elapsed = now_seconds() - start;
        if (status == 0)
                printf("home-create: %.0f homes/s\n", HOMES / elapsed);

        home_free(h);
        if (asprintf(&cmd, "rm -rf '%s'", root) > 0)
                status = system(cmd) == 0 ? status : 1;
        return status;
}
