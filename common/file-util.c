/* SPDX-License-Identifier: MIT */
#include "file-util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macros.h"

int read_fd_bounded(int fd, size_t max_size, char **ret_data, size_t *ret_size)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        for (;;) {
                if (allocated - size < 4096 + 1) {
                        size_t want = allocated ? allocated * 2 : 16384;
                        if (want > max_size + 4096 + 1)
                                want = max_size + 4096 + 1;
                        char *n = realloc(buf, want);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        allocated = want;
                }
                ssize_t k = read(fd, buf + size, allocated - size - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                size += (size_t) k;
                if (size > max_size)
                        return -E2BIG;
        }

        buf[size] = '\0';
        *ret_data = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

int open_regular_file(int dir_fd, const char *path, int *ret_fd, struct stat *ret_stat)
{
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = openat(dir_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (ret_stat)
                *ret_stat = st;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int read_file_bounded(int dir_fd, const char *path, size_t max_size, char **ret_data, size_t *ret_size)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        r = open_regular_file(dir_fd, path, &fd, &st);
        if (r < 0)
                return r;
        if ((uint64_t) st.st_size > max_size)
                return -E2BIG;

        /* The size check above is advisory (the file may grow); read_fd_bounded() enforces the bound. */
        return read_fd_bounded(fd, max_size, ret_data, ret_size);
}

int write_all(int fd, const void *data, size_t size)
{
        const char *p = data;

        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

/* Opens a new, unique temporary file "DIR/.#NAME.XXXXXXXXXXXXXXXX" relative to dir_fd. */
static int open_tmpfile_beside(int dir_fd, const char *dir, const char *name, char **ret_path)
{
        for (unsigned attempt = 0; attempt < 16; attempt++) {
                _cleanup_free_ char *tmp = NULL;
                uint64_t nonce;

                if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
                        return -EIO;
                if (asprintf(&tmp, "%s/.#%s.%016llx", dir, name, (unsigned long long) nonce) < 0)
                        return -ENOMEM;
                int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd >= 0) {
                        *ret_path = TAKE_PTR(tmp);
                        return fd;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

static int write_file_atomic_internal(int dir_fd, const char *path, const void *data, size_t size,
                                      mode_t mode, uid_t uid, gid_t gid, bool sync)
{
        _cleanup_free_ char *dir = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1, parent_fd = -1;
        const char *slash = strrchr(path, '/');
        int r;

        if (slash)
                dir = strndup(path, slash == path ? 1 : (size_t) (slash - path));
        else
                dir = strdup(".");
        if (!dir)
                return -ENOMEM;

        fd = open_tmpfile_beside(dir_fd, dir, slash ? slash + 1 : path, &tmp);
        if (fd < 0)
                return fd;

        r = write_all(fd, data, size);
        if (r >= 0 && (uid != (uid_t) -1 || gid != (gid_t) -1) && fchown(fd, uid, gid) < 0)
                r = -errno;
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r >= 0 && sync && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }

        if (!sync)
                return 0;
        /* The rename is durable only once the directory entry itself is on disk. */
        parent_fd = openat(dir_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent_fd >= 0)
                (void) fsync(parent_fd);
        return 0;
}

int write_file_atomic(int dir_fd, const char *path, const void *data, size_t size, mode_t mode, uid_t uid,
                      gid_t gid)
{
        return write_file_atomic_internal(dir_fd, path, data, size, mode, uid, gid, true);
}

int write_file_atomic_unsynced(int dir_fd, const char *path, const void *data, size_t size, mode_t mode,
                               uid_t uid, gid_t gid)
{
        return write_file_atomic_internal(dir_fd, path, data, size, mode, uid, gid, false);
}

int mkdir_parents_and_self(const char *path, mode_t mode)
{
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        /* Usually everything but the last part, or all of it, exists: one call instead of one per part. */
        if (mkdir(copy, mode) >= 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return -errno;
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int path_join_root(const char *root, const char *path, char **ret)
{
        char *joined;

        if (!path || path[0] != '/')
                return -EINVAL;
        if (!root || streq(root, "") || streq(root, "/"))
                joined = strdup(path);
        else {
                size_t l = strlen(root);
                while (l > 1 && root[l - 1] == '/')
                        l--;
                if (asprintf(&joined, "%.*s%s", (int) l, root, path) < 0)
                        joined = NULL;
        }
        if (!joined)
                return -ENOMEM;
        *ret = joined;
        return 0;
}
