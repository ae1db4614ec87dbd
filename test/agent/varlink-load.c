/* SPDX-License-Identifier: MIT */
/* Drives a Varlink server as hostile and as ordinary local clients do, for the fairness tests
 * (test-userdb-flood.sh) and the flood benchmark (bench-userdb-flood.sh). Run it as the uid it should
 * appear as (setpriv / runuser): the server sees the peer's uid with SO_PEERCRED.
 *
 *   varlink-load flood SOCKET CALL CONNECTIONS
 *        keeps CONNECTIONS connections full of pipelined copies of CALL (a JSON call), reading and
 *        dropping the replies, reconnecting when the server closes one; until SIGTERM. Prints
 *        "flood: N replies" on exit.
 *   varlink-load probe SOCKET CALL COUNT [TIMEOUT_MS]
 *        COUNT calls one after another, each on a new connection (as nss-systemd asks), and prints
 *        "probe: count=N failures=N p50_ms=X p99_ms=X max_ms=X" (failures: no reply, or an error reply).
 *        A call without a reply within TIMEOUT_MS (default 60 s) ends the probe: count is then how many
 *        calls were made.
 *   varlink-load hold SOCKET CONNECTIONS
 *        opens up to CONNECTIONS connections, prints "hold: N" (how many the server kept: those that
 *        answer a GetInfo call) and keeps them, silent, until SIGTERM.
 *   varlink-load trickle SOCKET CALL INTERVAL_MS MAX_MS
 *        sends CALL one byte every INTERVAL_MS (never its NUL) and prints "trickle: closed after N ms"
 *        when the server closes the connection, or "trickle: open after N ms" at MAX_MS. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "json-util.h"
#include "macros.h"
#include "varlink.h"

#define FLOOD_CONNECTIONS_MAX 1024
#define PROBE_TIMEOUT_MS      60000U

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
        stop = 1;
}

static usec_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000U;
}

static int connect_to(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int usage(void)
{
        fprintf(stderr, "usage: varlink-load flood SOCKET CALL CONNECTIONS\n"
                        "       varlink-load probe SOCKET CALL COUNT [TIMEOUT_MS]\n"
                        "       varlink-load hold SOCKET CONNECTIONS\n"
                        "       varlink-load trickle SOCKET CALL INTERVAL_MS MAX_MS\n");
        return 2;
}

/* The call as bytes on the wire: its text and the NUL. */
static char *call_wire(const char *call, size_t *ret_size)
{
        _cleanup_json_ json_t *m = json_loads(call, 0, NULL);
        char *text;

        if (!json_is_object(m))
                return NULL;
        text = json_dumps(m, JSON_COMPACT);
        if (text)
                *ret_size = strlen(text) + 1;
        return text;
}

typedef struct Flooder {
        int fd;
        size_t offset; /* into the block of pipelined calls */
} Flooder;

static int run_flood(const char *path, const char *call, unsigned n)
{
        _cleanup_free_ char *one = NULL, *block = NULL;
        Flooder f[FLOOD_CONNECTIONS_MAX];
        struct pollfd p[FLOOD_CONNECTIONS_MAX];
        size_t one_size, block_size;
        unsigned long long replies = 0;
        char sink[65536];

        one = call_wire(call, &one_size);
        if (!one || n == 0 || n > FLOOD_CONNECTIONS_MAX)
                return usage();
        /* 64 KiB of back-to-back calls, written again and again. */
        block_size = (65536 / one_size) * one_size;
        block = malloc(block_size);
        if (!block)
                return 1;
        for (size_t off = 0; off < block_size; off += one_size)
                memcpy(block + off, one, one_size);
        for (unsigned i = 0; i < n; i++)
                f[i] = (Flooder){ .fd = -1 };

        while (!stop) {
                for (unsigned i = 0; i < n; i++) {
                        if (f[i].fd < 0) {
                                f[i].fd = connect_to(path);
                                f[i].offset = 0;
                        }
                        p[i] = (struct pollfd){ .fd = f[i].fd, .events = POLLIN | POLLOUT };
                }
                if (poll(p, n, 100) < 0 && errno != EINTR)
                        return 1;
                for (unsigned i = 0; i < n; i++) {
                        if (f[i].fd < 0)
                                continue;
                        if (p[i].revents & POLLIN) {
                                ssize_t k = recv(f[i].fd, sink, sizeof(sink), MSG_DONTWAIT);
                                if (k > 0)
                                        for (ssize_t j = 0; j < k; j++)
                                                replies += sink[j] == 0;
                                else if (k == 0 || (errno != EAGAIN && errno != EINTR))
                                        f[i].fd = safe_close(f[i].fd);
                        }
                        if (f[i].fd >= 0 && (p[i].revents & POLLOUT)) {
                                ssize_t k = send(f[i].fd, block + f[i].offset, block_size - f[i].offset,
                                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                                if (k > 0)
                                        f[i].offset = (f[i].offset + (size_t) k) % block_size;
                                else if (k < 0 && errno != EAGAIN && errno != EINTR)
                                        f[i].fd = safe_close(f[i].fd);
                        }
                        if (f[i].fd >= 0 && (p[i].revents & (POLLHUP | POLLERR)) && !(p[i].revents & POLLIN))
                                f[i].fd = safe_close(f[i].fd);
                }
                /* A server that refuses us: do not spin on connect(). */
                for (unsigned i = 0; i < n; i++)
                        if (f[i].fd < 0) {
                                usleep(10000);
                                break;
                        }
        }
        printf("flood: %llu replies\n", replies);
        return 0;
}

static int cmp_usec(const void *a, const void *b)
{
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;

        return x < y ? -1 : x > y;
}

static int run_probe(const char *path, const char *call, unsigned count, unsigned timeout_ms)
{
        _cleanup_json_ json_t *m = json_loads(call, 0, NULL);
        json_t *method = json_object_get(m, "method"), *parameters = json_object_get(m, "parameters");
        _cleanup_free_ usec_t *t = calloc(count ? count : 1, sizeof(usec_t));
        unsigned failures = 0;

        if (!json_is_string(method) || count == 0 || !t)
                return usage();
        for (unsigned i = 0; i < count; i++) {
                _cleanup_json_ json_t *reply = NULL;
                _cleanup_free_ char *error = NULL;
                usec_t start = now_usec();
                int r = varlink_client_call(path, json_string_value(method), parameters,
                                            (usec_t) timeout_ms * 1000U, &reply, &error);

                t[i] = now_usec() - start;
                if (r < 0 || error) {
                        failures++;
                        fprintf(stderr, "probe: call %u: %s\n", i, r < 0 ? strerror(-r) : error);
                }
                if (r == -ETIMEDOUT) {
                        count = i + 1;
                        break;
                }
        }
        qsort(t, count, sizeof(usec_t), cmp_usec);
        /* The p99 of fewer than 100 samples is the largest but (count / 100) of them. */
        printf("probe: count=%u failures=%u p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", count, failures,
               (double) t[count / 2] / 1000.0, (double) t[count - 1 - count / 100] / 1000.0,
               (double) t[count - 1] / 1000.0);
        return 0;
}

/* Whether the server kept fd: it answers a GetInfo call on it (a connection it refused was accepted and
 * closed at once: EOF). 1 kept, 0 refused, -ETIMEDOUT when neither happened in time. */
static int connection_kept(int fd, usec_t deadline)
{
        static const char get_info[] = "{\"method\":\"org.varlink.service.GetInfo\"}";
        char buf[4096];

        if (send(fd, get_info, sizeof(get_info), MSG_NOSIGNAL) != (ssize_t) sizeof(get_info))
                return 0;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                usec_t now = now_usec();
                ssize_t n;

                if (now >= deadline)
                        return -ETIMEDOUT;
                if (poll(&p, 1, (int) ((deadline - now) / 1000U) + 1) <= 0)
                        continue;
                n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n > 0 && memchr(buf, 0, (size_t) n))
                        return 1;
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        return 0;
        }
}

static int run_hold(const char *path, unsigned n)
{
        _cleanup_free_ int *fds = calloc(n ? n : 1, sizeof(int));
        usec_t deadline = now_usec() + 60 * USEC_PER_SEC;
        unsigned held = 0;

        if (!fds || n == 0)
                return usage();
        for (unsigned i = 0; i < n; i++)
                fds[i] = connect_to(path);
        for (unsigned i = 0; i < n; i++) {
                int r = fds[i] < 0 ? 0 : connection_kept(fds[i], deadline);

                if (r < 0) {
                        fprintf(stderr, "hold: no answer on connection %u within 60 s\n", i);
                        return 1;
                }
                if (r > 0)
                        held++;
                else
                        fds[i] = safe_close(fds[i]);
        }
        printf("hold: %u\n", held);
        fflush(stdout);
        while (!stop)
                pause();
        for (unsigned i = 0; i < n; i++)
                safe_close(fds[i]);
        return 0;
}

static int run_trickle(const char *path, const char *call, unsigned interval_ms, unsigned max_ms)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        usec_t start = now_usec(), elapsed;
        size_t size, sent = 0;

        text = call_wire(call, &size);
        if (!text)
                return usage();
        fd = connect_to(path);
        if (fd < 0) {
                fprintf(stderr, "trickle: cannot connect to %s: %s\n", path, strerror(-fd));
                return 1;
        }
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char byte;

                elapsed = now_usec() - start;
                if (elapsed >= (usec_t) max_ms * 1000U) {
                        printf("trickle: open after %llu ms\n", (unsigned long long) (elapsed / 1000U));
                        return 0;
                }
                /* Never the NUL: the message stays incomplete however long this runs. */
                if (send(fd, text + sent % (size - 1), 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
                        sent++;
                else if (errno != EAGAIN)
                        break;
                if (poll(&p, 1, (int) interval_ms) > 0) {
                        ssize_t k = recv(fd, &byte, 1, MSG_DONTWAIT);
                        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
                                break;
                }
        }
        printf("trickle: closed after %llu ms\n", (unsigned long long) ((now_usec() - start) / 1000U));
        return 0;
}

int main(int argc, char *argv[])
{
        struct sigaction sa = { .sa_handler = on_signal };

        /* flood and hold stop cleanly at SIGTERM; probe and trickle just die of it. */
        if (argc > 1 && (streq(argv[1], "flood") || streq(argv[1], "hold"))) {
                sigaction(SIGTERM, &sa, NULL);
                sigaction(SIGINT, &sa, NULL);
        }
        signal(SIGPIPE, SIG_IGN);
        if (argc == 5 && streq(argv[1], "flood"))
                return run_flood(argv[2], argv[3], (unsigned) strtoul(argv[4], NULL, 10));
        if ((argc == 5 || argc == 6) && streq(argv[1], "probe"))
                return run_probe(argv[2], argv[3], (unsigned) strtoul(argv[4], NULL, 10),
                                 argc == 6 ? (unsigned) strtoul(argv[5], NULL, 10) : PROBE_TIMEOUT_MS);
        if (argc == 4 && streq(argv[1], "hold"))
                return run_hold(argv[2], (unsigned) strtoul(argv[3], NULL, 10));
        if (argc == 6 && streq(argv[1], "trickle"))
                return run_trickle(argv[2], argv[3], (unsigned) strtoul(argv[4], NULL, 10),
                                   (unsigned) strtoul(argv[5], NULL, 10));
        return usage();
}
