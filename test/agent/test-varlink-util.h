/* SPDX-License-Identifier: MIT */
#pragma once

/* Helpers of the Varlink and userdb tests: the server runs on an sd-event loop in the test's own thread;
 * raw client sockets talk to it while the test pumps the loop, so every step is deterministic. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "json-util.h"
#include "macros.h"
#include "varlink.h"

static inline usec_t test_now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000U;
}

/* A fresh directory and a socket path in it. */
static inline char *test_socket_dir_new(char **ret_path)
{
        char *dir = strdup("/tmp/test-varlink.XXXXXX");

        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        /* Clients of other uids (test_client_new_as) must reach the socket. */
        assert_int_equal(chmod(dir, 0755), 0);
        assert_true(asprintf(ret_path, "%s/socket", dir) > 0);
        return dir;
}

static inline void test_socket_dir_free(char *dir, char *path)
{
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
        assert_int_equal(system(cmd), 0);
        free(dir);
        free(path);
}

static inline int test_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        assert_true(fd >= 0);
        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                fail_msg("connect %s: %m", path);
        return fd;
}

/* Sends size bytes (all of them: our messages are small enough for the socket buffer). */
static inline void test_send(int fd, const void *data, size_t size)
{
        assert_int_equal(send(fd, data, size, MSG_NOSIGNAL), (ssize_t) size);
}

/* Sends text plus its NUL terminator. */
static inline void test_send_message(int fd, const char *text)
{
        test_send(fd, text, strlen(text) + 1);
}

/* Runs the loop for up to ms milliseconds. */
static inline void test_pump(sd_event *e, unsigned ms)
{
        usec_t end = test_now_usec() + (usec_t) ms * 1000U;

        while (test_now_usec() < end)
                assert_true(sd_event_run(e, 1000) >= 0);
}

/* The client's view of one connection: bytes received so far. */
typedef struct TestClient {
        int fd;
        char buf[512 * 1024];
        size_t size;
        bool eof;
} TestClient;

static inline TestClient *test_client_new(const char *path)
{
        TestClient *c = calloc(1, sizeof(TestClient));

        assert_non_null(c);
        c->fd = test_connect(path);
        return c;
}

/* Tests with clients of other uids need root: call first, before anything is allocated (a cmocka skip
 * does not return). */
static inline void test_require_root(void)
{
        if (geteuid() != 0)
                skip();
}

/* A client connected as uid: the server sees the effective uid at connect() (SO_PEERCRED). Needs root. */
static inline TestClient *test_client_new_as(const char *path, uid_t uid)
{
        TestClient *c = calloc(1, sizeof(TestClient));

        assert_non_null(c);
        assert_int_equal(seteuid(uid), 0);
        c->fd = test_connect(path);
        assert_int_equal(seteuid(0), 0);
        return c;
}

static inline void test_client_free(TestClient *c)
{
        if (!c)
                return;
        safe_close(c->fd);
        free(c);
}

static inline void test_client_drain(TestClient *c)
{
        for (;;) {
                ssize_t n;

                if (c->size == sizeof(c->buf))
                        return;
                n = recv(c->fd, c->buf + c->size, sizeof(c->buf) - c->size, MSG_DONTWAIT);
                if (n > 0) {
                        c->size += (size_t) n;
                        continue;
                }
                if (n == 0 || (errno != EAGAIN && errno != EINTR))
                        c->eof = true;
                return;
        }
}

/* Pumps the loop until the client has a complete message (returned parsed), or the server closed the
 * connection (NULL), failing after ms milliseconds. */
static inline json_t *test_client_read(sd_event *e, TestClient *c, unsigned ms)
{
        usec_t end = test_now_usec() + (usec_t) ms * 1000U;

        for (;;) {
                char *nul;

                test_client_drain(c);
                nul = memchr(c->buf, 0, c->size);
                if (nul) {
                        size_t len = (size_t) (nul - c->buf);
                        json_error_t error;
                        json_t *m = json_loadb(c->buf, len, 0, &error);

                        if (!m)
                                fail_msg("reply is not JSON: %s", error.text);
                        memmove(c->buf, nul + 1, c->size - len - 1);
                        c->size -= len + 1;
                        return m;
                }
                if (c->eof)
                        return NULL;
                if (test_now_usec() >= end)
                        fail_msg("no reply within %u ms", ms);
                assert_true(sd_event_run(e, 1000) >= 0);
        }
}

/* Pumps until the server closed the connection; true when it did within ms. */
static inline bool test_client_wait_closed(sd_event *e, TestClient *c, unsigned ms)
{
        usec_t end = test_now_usec() + (usec_t) ms * 1000U;

        for (;;) {
                test_client_drain(c);
                if (c->eof)
                        return true;
                /* Replies that arrive meanwhile are dropped: the caller only cares about the close. */
                c->size = 0;
                if (test_now_usec() >= end)
                        return false;
                assert_true(sd_event_run(e, 1000) >= 0);
        }
}

static inline const char *test_reply_error(json_t *m)
{
        return json_string_value(json_object_get(m, "error"));
}

static inline json_t *test_reply_parameters(json_t *m)
{
        return json_object_get(m, "parameters");
}

static inline bool test_reply_continues(json_t *m)
{
        return json_is_true(json_object_get(m, "continues"));
}
