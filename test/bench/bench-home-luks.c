/* SPDX-License-Identifier: MIT */
/* LUKS homes: the key-derivation part of a first login's realization and of a later login's unlock, with
 * the default PBKDF (argon2id, homed's defaults) and with the cheap one test records ask for (pbkdf2, 1 ms).
 * Measured on an image file: formatting the LUKS2 header with one keyslot and the systemd-homed token
 * (realize), and loading the header and opening the keyslot with the password (unlock). What needs
 * device-mapper (dm-crypt, mkfs inside it, the skeleton copy, the mount) cannot run on a kernel without it;
 * the VM test prints those end-to-end figures ("bench: ..." lines of home1-luks, docs/vmtest.md). */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "home-luks-settings.h"
#include "home-luks-volume.h"
#include "json-util.h"
#include "user-record.h"

#define RUNS       3
#define IMAGE_SIZE (64ULL * 1024 * 1024)
#define MACHINE_ID "0123456789abcdef0123456789abcdef"
#define PASSWORD   "bench-secret"
#define LUKS_UUID  "6f0c6f1e-1d57-4b1e-8d2e-3a7f1c9b2d41"

static double now_seconds(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* A LUKS record as a grant makes it; extra: the PBKDF fields (JSON object text, may be "{}"). */
static json_t *luks_record(const char *extra)
{
        json_t *rec = json_pack("{s:s, s:s, s:s, s:I, s:I}", "userName", "benchy", "disposition", "regular",
                                "storage", "luks", "diskSize", (json_int_t) IMAGE_SIZE, "lastChangeUSec",
                                (json_int_t) 1700000000000000LL);
        json_t *more = json_loads(extra, 0, NULL);

        if (!rec || !more || json_object_update(rec, more) < 0) {
                json_decref(rec);
                rec = NULL;
        }
        json_decref(more);
        return rec;
}

static int image_new(char *path)
{
        int fd = mkstemp(path);

        if (fd < 0)
                return -1;
        if (ftruncate(fd, (off_t) IMAGE_SIZE) < 0) {
                close(fd);
                return -1;
        }
        close(fd);
        return 0;
}

/* Prints the median of RUNS realizations and unlocks for one PBKDF profile. */
static int bench_profile(const char *name, const char *extra)
{
        _cleanup_json_ json_t *rec = luks_record(extra);
        HomeLuksSettings s;
        RecordError err = {};
        double realize[RUNS], unlock[RUNS];

        if (!rec || home_luks_settings_from_record(rec, MACHINE_ID, &s, &err) < 0) {
                fprintf(stderr, "bench-home-luks: %s: %s\n", name,
                        err.message[0] ? err.message : "no record");
                return -1;
        }
        for (int i = 0; i < RUNS; i++) {
                char path[] = "/var/tmp/bench-home-luks.XXXXXX";
                char *const passwords[] = { (char *) PASSWORD, NULL };
                HomeLuksVolume *v = NULL;
                double t;
                int r;

                if (image_new(path) < 0) {
                        perror("bench-home-luks: image");
                        return -1;
                }
                t = now_seconds();
                r = home_luks_volume_format(path, &s, LUKS_UUID, "benchy", PASSWORD, rec, &v, &err);
                realize[i] = now_seconds() - t;
                home_luks_volume_free(v);
                v = NULL;
                if (r >= 0) {
                        t = now_seconds();
                        r = home_luks_volume_load(path, LUKS_UUID, "benchy", &s, &v);
                        if (r >= 0)
                                r = home_luks_volume_unlock(v, passwords);
                        unlock[i] = now_seconds() - t;
                        home_luks_volume_free(v);
                }
                unlink(path);
                if (r < 0) {
                        fprintf(stderr, "bench-home-luks: %s: %s\n", name,
                                err.message[0] ? err.message : strerror(-r));
                        return -1;
                }
        }
        /* The median of three. */
        for (int i = 0; i < RUNS; i++)
                for (int j = i + 1; j < RUNS; j++) {
                        if (realize[j] < realize[i]) {
                                double x = realize[i];
                                realize[i] = realize[j];
                                realize[j] = x;
                        }
                        if (unlock[j] < unlock[i]) {
                                double x = unlock[i];
                                unlock[i] = unlock[j];
                                unlock[j] = x;
                        }
                }
        printf("luks-realize-keyslot-%s: %.3f s (LUKS2 header, keyslot, token on an image file; %s %u ms)\n",
               name, realize[RUNS / 2], s.pbkdf_type, s.pbkdf_time_ms);
        printf("luks-unlock-keyslot-%s: %.3f s (header loaded, keyslot opened with the password)\n", name,
               unlock[RUNS / 2]);
        return 0;
}

int main(void)
{
        int status = 0;

        if (geteuid() != 0) {
                printf("SKIP: bench-home-luks needs root (libcryptsetup locks)\n");
                return 0;
        }
        if (bench_profile("default", "{}") < 0)
                status = 1;
        if (bench_profile("test", "{\"luksPbkdfType\": \"pbkdf2\", \"luksPbkdfTimeCostUSec\": 1000}") < 0)
                status = 1;
        printf("luks-realize-unlock-note: mkfs, mount and dm-crypt are not here (no device-mapper); the VM "
               "prints them\n");
        return status;
}
