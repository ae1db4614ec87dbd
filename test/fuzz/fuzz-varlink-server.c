/* SPDX-License-Identifier: MIT */
/* Fuzzes the Varlink server from a client's side of a connection, the bytes any local user may send to
 * /run/systemd/userdb/io.corehomed: a server on its own event loop gets one end of a socketpair
 * (varlink_server_add_connection()), the input is written to the other end in slices while the loop runs,
 * and every answer is read back. Checks, besides no crash, leak or out-of-bounds read:
 *   - every message the server sends is a NUL-terminated JSON object: an error (a name, parameters) or
 *     parameters, "continues" only as true;
 *   - no call gets more than one final answer (there are at most as many as NUL bytes sent);
 *   - once the client has gone, the server lets go of the connection, and every async call is orphaned
 *     cleanly.
 * Methods: org.test.Echo (synchronous; with "more", two "continues" and a final reply), org.test.Later
 * (answered from the loop, an iteration later, also after the client left), org.test.Fail (fails
 * without answering). Small limits, so the input reaches them.
 * Input: one byte choosing the slice size (2^(byte % 13): 1 byte to 4 KiB, but at most 256 slices, so an
 * input costs milliseconds), then the bytes of the connection; when the byte is odd the client shuts down
 * its side after the last slice and reads what is left. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "json-util.h"
#include "macros.h"
#include "varlink.h"

#define FUZZ_INPUT_MAX   (16U * 1024U) /* several messages at the limit; larger inputs add nothing */
#define FUZZ_MESSAGE_MAX 4096U
#define FUZZ_OUTPUT_MAX  (32U * 1024U)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Fuzz {
        sd_event *e;
        unsigned later_pending; /* org.test.Later calls not answered yet */
        size_t finals;          /* final answers the client received */
        char *in;               /* what the client received and has not checked yet */
        size_t in_size;
} Fuzz;

typedef struct Later {
        Fuzz *f;
        VarlinkCall *call;
        json_t *parameters;
        sd_event_source *source;
} Later;

static int method_echo(VarlinkCall *call, json_t *parameters, void *userdata)
{
        /* A failed "continues" reply leaves the call open: it still gets its final answer (dropped). */
        for (int i = 0; varlink_call_wants_more(call) && i < 2; i++)
                if (varlink_call_reply_more(call, parameters) < 0)
                        break;
        (void) varlink_call_reply(call, parameters);
        return 0;
}

static int later_fire(sd_event_source *source, uint64_t usec, void *userdata)
{
        Later *l = userdata;

        /* The client may have gone meanwhile: then the call is an orphan and answering it frees it. */
        if (varlink_call_wants_more(l->call))
                (void) varlink_call_reply_more(l->call, l->parameters);
        (void) varlink_call_reply(l->call, l->parameters);
        l->f->later_pending--;
        json_decref(l->parameters);
        sd_event_source_disable_unref(l->source);
        free(l);
        return 0;
}

static int method_later(VarlinkCall *call, json_t *parameters, void *userdata)
{
        Fuzz *f = userdata;
        Later *l = calloc(1, sizeof(Later));

        if (!l)
                return -ENOMEM;
        *l = (Later){ .f = f, .call = call, .parameters = json_incref(parameters) };
        /* Due at once: answered at the loop's next iteration. */
        if (sd_event_add_time(f->e, &l->source, CLOCK_MONOTONIC, 0, 1, later_fire, l) < 0) {
                json_decref(l->parameters);
                free(l);
                return -ENOMEM;
        }
        f->later_pending++;
        return 0;
}

static int method_fail(VarlinkCall *call, json_t *parameters, void *userdata)
{
        return -ENOENT;
}

/* Checks every complete message the client received. */
static void check_replies(Fuzz *f)
{
        char *nul;

        while ((nul = memchr(f->in, 0, f->in_size))) {
                size_t len = (size_t) (nul - f->in);
                json_t *m = json_loadb(f->in, len, JSON_REJECT_DUPLICATES, NULL);
                json_t *error, *parameters, *continues;

                if (!json_is_object(m))
                        abort();
                error = json_object_get(m, "error");
                parameters = json_object_get(m, "parameters");
                continues = json_object_get(m, "continues");
                if ((error && (!json_is_string(error) || json_string_length(error) == 0)) ||
                    !json_is_object(parameters) || (continues && (!json_is_true(continues) || error)))
                        abort();
                f->finals += !continues;
                json_decref(m);
                memmove(f->in, nul + 1, f->in_size - len - 1);
                f->in_size -= len + 1;
        }
}

static void client_read(Fuzz *f, int fd)
{
        for (;;) {
                char buf[16384];
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                char *p;

                if (n <= 0)
                        return;
                p = realloc(f->in, f->in_size + (size_t) n);
                if (!p)
                        abort();
                f->in = p;
                memcpy(f->in + f->in_size, buf, (size_t) n);
                f->in_size += (size_t) n;
                check_replies(f);
        }
}

/* Runs the loop until nothing is left to do, reading the client's side meanwhile. */
static void pump(Fuzz *f, int fd)
{
        for (unsigned idle = 0; idle < 2;) {
                int r;

                if (fd >= 0)
                        client_read(f, fd);
                r = sd_event_run(f->e, 0);
                if (r < 0)
                        abort();
                idle = r == 0 ? idle + 1 : 0;
        }
}

/* A listening socket in the abstract namespace: the server needs one, nothing ever connects to it. */
static int listen_socket(void)
{
        static unsigned counter;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int n;

        if (fd < 0)
                abort();
        n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "corehomed-fuzz-varlink-%d-%u", getpid(),
                     counter++);
        if (bind(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + n)) <
                    0 ||
            listen(fd, 1) < 0)
                abort();
        return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        VarlinkLimits limits = { .message_max = FUZZ_MESSAGE_MAX, .output_max = FUZZ_OUTPUT_MAX };
        Fuzz f = {};
        VarlinkServer *s = NULL;
        size_t slice, sent = 0, nuls = 0;
        unsigned stuck = 0;
        bool half_close;
        int pair[2];

        if (size < 1 || size > FUZZ_INPUT_MAX)
                return 0;
        slice = (size_t) 1 << (data[0] % 13);
        half_close = data[0] & 1;
        data++, size--;
        if (slice < size / 256 + 1)
                slice = size / 256 + 1;
        for (size_t i = 0; i < size; i++)
                nuls += data[i] == 0;

        if (sd_event_new(&f.e) < 0 || varlink_server_new(f.e, NULL, 0, listen_socket(), &s) < 0 ||
            varlink_server_set_limits(s, &limits) < 0 ||
            varlink_server_add_method(s, "org.test.Echo", method_echo, &f) < 0 ||
            varlink_server_add_method(s, "org.test.Later", method_later, &f) < 0 ||
            varlink_server_add_method(s, "org.test.Fail", method_fail, &f) < 0 ||
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0 ||
            varlink_server_add_connection(s, pair[1]) < 0)
                abort();

        while (sent < size && varlink_server_connections(s) > 0) {
                size_t n = size - sent < slice ? size - sent : slice;
                ssize_t k = send(pair[0], data + sent, n, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (k < 0 && errno != EAGAIN)
                        break; /* the server closed the connection */
                if (k > 0)
                        sent += (size_t) k;
                pump(&f, pair[0]);
                /* A server that neither reads nor closes while it has nothing left to do is stuck. */
                stuck = k > 0 ? 0 : stuck + 1;
                if (stuck > 1000)
                        abort();
        }
        if (half_close) {
                (void) shutdown(pair[0], SHUT_WR);
                pump(&f, pair[0]);
        }
        if (f.finals > nuls)
                abort();
        /* The client leaves: the server must let go of the connection, and of every call on it. */
        safe_close(pair[0]);
        pump(&f, -1);
        if (varlink_server_connections(s) != 0 || f.later_pending != 0)
                abort();

        varlink_server_free(s);
        sd_event_unref(f.e);
        free(f.in);
        return 0;
}
