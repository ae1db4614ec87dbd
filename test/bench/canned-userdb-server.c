/* SPDX-License-Identifier: MIT */
/* Bench helper for bench-userdb-homed.sh: the fastest userdb service there can be, to measure the bound the
 * client sets on the lookup ratio. It answers every connection's first call with prepared bytes and
 * nothing else: no event loop, no parsing, no credentials, no second call (nss-systemd makes one call per
 * connection). A lookup through it costs what glibc, nss-systemd and the kernel cost, so its figure
 * against homed's is about the highest ratio any service can reach in that run (the machine moves every
 * figure, so one round of a real service may pass it).
 *
 *   canned-userdb-server fetch SOCKET USER FILE   asks SOCKET for USER's record, stores the answer in FILE
 *   canned-userdb-server serve SOCKET FILE        binds SOCKET and answers every call with FILE's bytes
 *
 * fetch takes the answer from the real service, so both are measured with the same bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "file-util.h"
#include "macros.h"

#define CANNED_MESSAGE_MAX (64U * 1024U)

static int socket_address(const char *path, struct sockaddr_un *ret)
{
        *ret = (struct sockaddr_un){ .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(ret->sun_path))
                return -ENAMETOOLONG;
        strcpy(ret->sun_path, path);
        return 0;
}

/* Reads one NUL-terminated Varlink message into buf; returns its size with the NUL, 0 at EOF. */
static ssize_t read_message(int fd, char *buf, size_t size)
{
        size_t got = 0;

        while (got == 0 || buf[got - 1] != '\0') {
                ssize_t k;

                if (got == size)
                        return -EMSGSIZE;
                k = read(fd, buf + got, size - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return got == 0 ? 0 : -EPIPE;
                got += (size_t) k;
        }
        return (ssize_t) got;
}

static int fetch(const char *path, const char *user, const char *out)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *answer = NULL;
        struct sockaddr_un address;
        char call[512];
        const char *service = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        ssize_t n;
        int len, r;

        r = socket_address(path, &address);
        if (r < 0)
                return r;
        len = snprintf(call, sizeof(call),
                       "{\"method\":\"io.systemd.UserDatabase.GetUserRecord\","
                       "\"parameters\":{\"userName\":\"%s\",\"service\":\"%s\"}}",
                       user, service);
        if (len < 0 || (size_t) len >= sizeof(call))
                return -ENAMETOOLONG;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &address, sizeof(address)) < 0)
                return -errno;
        r = write_all(fd, call, (size_t) len + 1); /* with the NUL that ends a message */
        if (r < 0)
                return r;
        answer = malloc(CANNED_MESSAGE_MAX);
        if (!answer)
                return -ENOMEM;
        n = read_message(fd, answer, CANNED_MESSAGE_MAX);
        if (n <= 0)
                return n < 0 ? (int) n : -EPIPE;
        if (!strstr(answer, "\"record\""))
                return -ENOENT; /* an error answer: nothing worth serving */
        return write_file_atomic(AT_FDCWD, out, answer, (size_t) n, 0644, (uid_t) -1, (gid_t) -1);
}

static int serve(const char *path, const char *file)
{
        _cleanup_close_ int listener = -1;
        _cleanup_free_ char *answer = NULL, *call = NULL;
        struct sockaddr_un address;
        size_t answer_size = 0;
        int r;

        r = read_file_bounded(AT_FDCWD, file, CANNED_MESSAGE_MAX, &answer, &answer_size);
        if (r < 0)
                return r;
        call = malloc(CANNED_MESSAGE_MAX);
        if (!call)
                return -ENOMEM;
        r = socket_address(path, &address);
        if (r < 0)
                return r;
        listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listener < 0)
                return -errno;
        (void) unlink(path);
        if (bind(listener, (struct sockaddr *) &address, sizeof(address)) < 0 ||
            listen(listener, SOMAXCONN) < 0)
                return -errno;
        for (;;) {
                _cleanup_close_ int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);

                if (fd < 0)
                        continue; /* a client that left before its turn */
                if (read_message(fd, call, CANNED_MESSAGE_MAX) > 0)
                        (void) write_all(fd, answer, answer_size);
        }
}

int main(int argc, char **argv)
{
        int r;

        if (argc == 5 && strcmp(argv[1], "fetch") == 0)
                r = fetch(argv[2], argv[3], argv[4]);
        else if (argc == 4 && strcmp(argv[1], "serve") == 0)
                r = serve(argv[2], argv[3]);
        else {
                fprintf(stderr, "usage: canned-userdb-server fetch SOCKET USER FILE | serve SOCKET FILE\n");
                return 2;
        }
        if (r < 0) {
                fprintf(stderr, "canned-userdb-server %s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        return 0;
}
