/* SPDX-License-Identifier: MIT */
#include "root-lock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"
#include "string-util.h"

/* "%020" PRIu64 "\n": a fixed width, so an update is one in-place write of the same length. */
#define GENERATION_TEXT_SIZE 21

static int open_state_file(const char *root, const char *path, int flags, int *ret_fd, char **ret_path)
{
        _cleanup_free_ char *full = NULL, *dir = NULL;
        int fd, r;

        r = path_join_root(root, path, &full);
        if (r < 0)
                return r;
        if (flags & O_CREAT) {
                dir = strdup(full);
                if (!dir)
                        return -ENOMEM;
                *strrchr(dir, '/') = 0;
                r = mkdir_parents_and_self(dir, 0700);
                if (r < 0)
                        return r;
        }
        /* Root-only directory, but still no symlink games: the lock must be the file we think it is. */
        fd = open(full, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        if (ret_path)
                *ret_path = TAKE_PTR(full);
        return 0;
}

static int generation_parse(const char *text, size_t size, uint64_t *ret)
{
        char buf[GENERATION_TEXT_SIZE + 1];
        char *end;

        if (size == 0) {
                *ret = 0;
                return 0;
        }
        if (size != GENERATION_TEXT_SIZE || text[GENERATION_TEXT_SIZE - 1] != '\n')
                return -EBADMSG;
        memcpy(buf, text, size);
        buf[size - 1] = 0;
        errno = 0;
        *ret = strtoull(buf, &end, 10);
        return errno != 0 || *end != 0 ? -EBADMSG : 0;
}

static int generation_read_fd(int fd, uint64_t *ret)
{
        char text[GENERATION_TEXT_SIZE + 1];
        ssize_t n = pread(fd, text, sizeof(text), 0);

        if (n < 0)
                return -errno;
        return generation_parse(text, (size_t) n, ret);
}

int root_generation_read(const char *root, uint64_t *ret)
{
        _cleanup_close_ int fd = -1;
        int r;

        r = open_state_file(root, ROOT_GENERATION_PATH, O_RDONLY, &fd, NULL);
        if (r == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (r < 0)
                return r;
        r = generation_read_fd(fd, ret);
        /* Unreadable garbage counts as a change: the reader reloads, which is always safe. */
        if (r == -EBADMSG)
                *ret = UINT64_MAX;
        return r == -EBADMSG ? 0 : r;
}

static void read_holder(int fd, char *buf, size_t size)
{
        ssize_t n = pread(fd, buf, size - 1, 0);

        buf[n > 0 ? n : 0] = 0;
        buf[strcspn(buf, "\n")] = 0;
        for (char *p = buf; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = '?';
}

static void write_holder(int fd)
{
        char text[ROOT_LOCK_HOLDER_MAX], comm[32] = "";
        _cleanup_fclose_ FILE *f = fopen("/proc/self/comm", "re");

        if (f && fgets(comm, sizeof(comm), f))
                comm[strcspn(comm, "\n")] = 0;
        int n = snprintf(text, sizeof(text), "%s (pid %d)\n", comm[0] ? comm : "?", (int) getpid());
        /* Only a message depends on it: a failure here must not fail the writer. */
        if (ftruncate(fd, 0) >= 0 && n > 0)
                (void) !pwrite(fd, text, (size_t) n < sizeof(text) ? (size_t) n : sizeof(text) - 1, 0);
}

int root_lock_acquire(const char *root, bool wait, RootLockWaitNotify notify, void *userdata, RootLock **ret)
{
        _cleanup_close_ int fd = -1, generation_fd = -1;
        _cleanup_free_ char *lock_path = NULL, *generation_path = NULL;
        uint64_t generation;
        int r;

        r = open_state_file(root, ROOT_LOCK_PATH, O_RDWR | O_CREAT, &fd, &lock_path);
        if (r < 0)
                return r;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return -errno;
                if (notify) {
                        char holder[ROOT_LOCK_HOLDER_MAX];
                        read_holder(fd, holder, sizeof(holder));
                        notify(lock_path, holder, userdata);
                }
                if (!wait)
                        return -EWOULDBLOCK;
                while (flock(fd, LOCK_EX) < 0)
                        if (errno != EINTR)
                                return -errno;
        }
        write_holder(fd);

        r = open_state_file(root, ROOT_GENERATION_PATH, O_RDWR | O_CREAT, &generation_fd, &generation_path);
        if (r < 0)
                return r;
        r = generation_read_fd(generation_fd, &generation);
        /* A damaged counter (a crash while it was first written) starts over from a value no reader has. */
        if (r == -EBADMSG)
                generation = UINT64_MAX / 2;
        else if (r < 0)
                return r;

        RootLock *l = calloc(1, sizeof(RootLock));
        if (!l)
                return -ENOMEM;
        *l = (RootLock){
                .fd = TAKE_FD(fd),
                .generation_path = TAKE_PTR(generation_path),
                .generation = generation,
                .changed = r == -EBADMSG,
        };
        *ret = l;
        return 0;
}

void root_lock_mark_changed(RootLock *l)
{
        l->changed = true;
}

static int generation_write(const char *path, uint64_t generation)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        char text[GENERATION_TEXT_SIZE + 1];

        if (fd < 0)
                return -errno;
        snprintf(text, sizeof(text), "%020" PRIu64 "\n", generation);
        /* One write of a fixed length in place: no new block is needed, so a full disk cannot stop it. */
        ssize_t n = pwrite(fd, text, GENERATION_TEXT_SIZE, 0);
        if (n < 0)
                return -errno;
        return n == GENERATION_TEXT_SIZE ? 0 : -EIO;
}

RootLock *root_lock_release(RootLock *l, uint64_t *ret_generation)
{
        if (!l)
                return NULL;
        uint64_t generation = l->generation;
        if (l->changed) {
                generation = l->generation + 1;
                /* Should the write fail, readers keep their state until the next change: the state itself
                 * is complete and durable either way. */
                (void) generation_write(l->generation_path, generation);
        }
        if (ret_generation)
                *ret_generation = generation;
        /* The holder's name goes with it: a later holder that does not write one (flock(1) by an
         * administrator) must not be reported under ours. */
        (void) !ftruncate(l->fd, 0);
        safe_close(l->fd); /* drops the lock */
        free(l->generation_path);
        free(l);
        return NULL;
}
