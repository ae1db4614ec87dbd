/* SPDX-License-Identifier: MIT */
/* Decode throughput on 1000 generated system-user assertions, cut into streams of 64 (each decoded whole and
 * freed): the codec's own cost. One stream of 1000 (a stream may hold BENCH_STREAM) costs about 3x
 * as much per assertion here, all of it in malloc and page faults: ten megabytes of fresh objects that
 * glibc returns to the kernel after each round. An import holds its whole batch in memory either way. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "assertion.h"

#define N_ASSERTIONS 1000
#define BENCH_STREAM 64
#define KEY          "Jv8_JiHiIzJVcO9M55pPdqSDWUvuhfDIBJUS-3VW7F_idjix7Ffn5qMxB21ZQuij"

typedef struct Stream {
        char *data;
        size_t size;
        size_t n;
} Stream;

static void write_system_user(FILE *f, unsigned i)
{
        fprintf(f,
                "type: system-user\nformat: 1\nauthority-id: acme\nrevision: %u\nbrand-id: acme\n"
                "email: user%u@example.com\nmodels:\n  - appliance-1\nname: User Number %u\n"
                "password: $6$rounds=5000$salt%04u$%086u\nserials:\n  - SN-%06u\nseries:\n  - 16\n"
                "since: 2024-01-01T00:00:00Z\nuntil: 2025-01-01T00:00:00Z\nusername: user%u\n"
                "sign-key-sha3-384: " KEY "\n\n",
                i % 7, i, i, i, i, i, i);
        /* A signature the size of an RSA-4096 one: 76-column base64 lines. */
        for (unsigned k = 0; k < 740; k++)
                fputc(k % 77 == 76 ? '\n' : "ABCDEFGHIJKLMNOP"[(k + i) % 16], f);
        fputc('\n', f);
}

static double now_seconds(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(void)
{
        Stream streams[(N_ASSERTIONS + BENCH_STREAM - 1) / BENCH_STREAM] = {};
        size_t n_streams = 0, total_bytes = 0, decoded = 0, rounds = 0;
        double start, elapsed;

        n_streams = ELEMENTSOF(streams);
        for (size_t k = 0; k < n_streams; k++) {
                FILE *f = open_memstream(&streams[k].data, &streams[k].size);

                if (!f)
                        return 1;
                for (unsigned i = (unsigned) k * BENCH_STREAM;
                     i < N_ASSERTIONS && i < (unsigned) (k + 1) * BENCH_STREAM; i++) {
                        if (i % BENCH_STREAM != 0)
                                fputc('\n', f);
                        write_system_user(f, i);
                        streams[k].n++;
                }
                fclose(f);
                total_bytes += streams[k].size;
        }

        start = now_seconds();
        do {
                for (size_t k = 0; k < n_streams; k++) {
                        _cleanup_assertion_list_ AssertionList *l = NULL;
                        AssertionError err = {};

                        if (assertion_stream_decode(streams[k].data, streams[k].size, &l, &err) < 0 ||
                            l->n != streams[k].n) {
                                fprintf(stderr, "bench-assertion-decode: stream %zu refused: line %u: %s\n",
                                        k, err.line, err.message);
                                return 1;
                        }
                        decoded += l->n;
                }
                rounds++;
                elapsed = now_seconds() - start;
        } while (elapsed < 1.0);

        printf("assertion-decode: %.0f assertions/s\n", (double) decoded / elapsed);
        printf("assertion-decode: %.1f MB/s\n", (double) (total_bytes * rounds) / elapsed / 1e6);
        for (size_t k = 0; k < n_streams; k++)
                free(streams[k].data);
        return 0;
}
