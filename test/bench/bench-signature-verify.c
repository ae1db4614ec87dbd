/* SPDX-License-Identifier: MIT */
/* RSA-4096 signature verification throughput, single core, in one run:
 *   ours:          assertion_verify_signature() on a real assertion (key id check, base64, packet parse,
 *                  SHA-512 over the content, RSA) in-process;
 *   openssl-speed: `openssl speed -seconds 3 rsa4096`, the bare RSA verify of this machine;
 *   gpgme:         the same assertion verified by GnuPG through gpgme (wall clock: the work happens in the
 *                  gpg process gpgme starts for each verification).
 * Target: ours >= 80% of openssl's figure. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../assertions/gpgme-test-util.h"
#include "file-util.h"
#include "public-key.h"
#include "signature-verify.h"

#define BENCH_SECONDS 3.0

static double now_seconds(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* `openssl speed` divides by the CPU time its process spent in user mode (unless -elapsed), so a loaded
 * machine does not lower its figure; ours is measured the same way to be comparable. */
static double user_cpu_seconds(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6;
}

static Assertion *load(const char *name, size_t index)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_assertion_list_ AssertionList *l = NULL;
        size_t size;

        if (asprintf(&path, "%s/snapd/%s", getenv("INTEROP_DIR"), name) < 0 ||
            read_file_bounded(AT_FDCWD, path, 1024 * 1024, &data, &size) < 0 ||
            assertion_stream_decode(data, size, &l, NULL) < 0 || index >= l->n) {
                fprintf(stderr, "cannot load %s\n", name);
                exit(1);
        }
        return TAKE_PTR(l->items[index]);
}

static double bench_ours(const Assertion *a, const PublicKey *key)
{
        double start = user_cpu_seconds(), elapsed;
        unsigned long n = 0;

        do {
                for (int i = 0; i < 100; i++)
                        if (assertion_verify_signature(a, key, NULL) != 0) {
                                fprintf(stderr, "verification failed\n");
                                exit(1);
                        }
                n += 100;
                elapsed = user_cpu_seconds() - start;
        } while (elapsed < BENCH_SECONDS);
        return (double) n / elapsed;
}

static double bench_openssl_speed(void)
{
        char line[512];
        double verify = -1;
        FILE *p = popen("openssl speed -seconds 3 rsa4096 2>/dev/null", "r");

        if (!p)
                return -1;
        /* "rsa 4096 bits 0.003846s 0.000057s    260.0  17464.0": the last figure is verify/s */
        while (fgets(line, sizeof(line), p))
                if (startswith(line, "rsa 4096 bits")) {
                        char *last = strrchr(line, ' ');
                        if (last)
                                verify = strtod(last + 1, NULL);
                }
        pclose(p);
        return verify;
}

static double bench_gpgme(const Assertion *a, const Assertion *key_assertion)
{
        _cleanup_free_ uint8_t *packet = NULL, *sig = NULL;
        uint8_t keyid[8];
        size_t size, sig_size;
        GpgHome h = {};
        double start, elapsed;
        unsigned long n = 0;

        if (gpg_home_open(&h) < 0 ||
            openpgp_v1_decode((const char *) key_assertion->body, key_assertion->body_size, "key", &packet,
                              &size, NULL) < 0 ||
            gpg_key_import(&h, packet, size, keyid) < 0 ||
            gpg_signature_with_issuer(a->signature, a->signature_size, keyid, &sig, &sig_size) < 0) {
                gpg_home_close(&h);
                return -1;
        }
        start = now_seconds();
        do {
                if (gpg_verify(&h, a->content, a->content_size, sig, sig_size) != 1) {
                        gpg_home_close(&h);
                        return -1;
                }
                n++;
                elapsed = now_seconds() - start;
        } while (elapsed < BENCH_SECONDS);
        gpg_home_close(&h);
        return (double) n / elapsed;
}

int main(void)
{
        _cleanup_assertion_ Assertion *key_assertion = load("developer1.account-key", 0);
        _cleanup_assertion_ Assertion *model = load("developer1-22-signed.model", 0);
        _cleanup_public_key_ PublicKey *key = NULL;
        AssertionError err = {};
        double ours, speed, gpg;

        if (public_key_from_assertion(key_assertion, &key, &err) < 0) {
                fprintf(stderr, "key: %s\n", err.message);
                return 1;
        }
        ours = bench_ours(model, key);
        speed = bench_openssl_speed();
        gpg = bench_gpgme(model, key_assertion);

        printf("rsa4096-verify-ours: %.0f verifications/s\n", ours);
        if (speed > 0)
                printf("rsa4096-verify-openssl-speed: %.0f verifications/s\n", speed);
        else
                printf("rsa4096-verify-openssl-speed: unavailable verifications/s\n");
        if (gpg > 0)
                printf("rsa4096-verify-gpgme: %.0f verifications/s\n", gpg);
        else
                printf("rsa4096-verify-gpgme: unavailable verifications/s\n");
        if (speed > 0)
                printf("rsa4096-verify-ours-vs-openssl: %.2f ratio\n", ours / speed);
        /* the target: a failing figure fails `make bench` */
        return speed > 0 && ours < 0.8 * speed ? 1 : 0;
}
