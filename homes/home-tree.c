/* SPDX-License-Identifier: MIT */
#include "home-tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"
#include "macros.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

/* A directory stream of our own over fd (the caller keeps fd), from its first entry. */
static int dir_stream_open(int fd, DIR **ret)
{
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        DIR *d;

        if (copy < 0)
                return -errno;
        d = fdopendir(copy);
        if (!d) {
                safe_close(copy);
                return -errno;
        }
        rewinddir(d);
        *ret = d;
        return 0;
}

/* The next entry other than "." and "..": 1 with *ret set, 0 at the end, or -errno. */
static int dir_stream_next(DIR *d, struct dirent **ret)
{
        for (;;) {
                struct dirent *de = NULL;

                errno = 0;
                de = readdir(d);
                if (!de)
                        return errno != 0 ? -errno : 0;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                *ret = de;
                return 1;
        }
}

static int copy_bytes(int in_fd, int out_fd)
{
        char buf[64 * 1024];

        for (;;) {
                ssize_t n = read(in_fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return 0;
                for (ssize_t done = 0; done < n;) {
                        ssize_t k = write(out_fd, buf + done, (size_t) (n - done));
                        if (k < 0) {
                                if (errno == EINTR)
                                        continue;
                                return -errno;
                        }
                        done += k;
                }
        }
}

static int copy_regular(int src_dir, int dst_dir, const char *name, uid_t uid, gid_t gid, bool sync)
{
        _cleanup_close_ int in = -1, out = -1;
        struct stat st;
        int r;

        /* O_NOFOLLOW: the entry was a regular file when listed; if it was swapped for a symlink since, we
         * refuse instead of copying whatever it points to. */
        r = open_regular_file(src_dir, name, &in, &st);
        if (r < 0)
                return r;
        out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        r = copy_bytes(in, out);
        if (r < 0)
                return r;
        if (fchown(out, uid, gid) < 0 || fchmod(out, st.st_mode & 01777) < 0 || (sync && fsync(out) < 0))
                return -errno;
        return 0;
}

static int copy_symlink(int src_dir, int dst_dir, const char *name, uid_t uid, gid_t gid)
{
        char target[PATH_MAX];
        ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);

        if (n < 0)
                return -errno;
        target[n] = '\0';
        if (symlinkat(target, dst_dir, name) < 0)
                return -errno;
        if (fchownat(dst_dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

static int copy_dir_contents(int src_fd, int dst_fd, uid_t uid, gid_t gid, bool sync, unsigned depth);

static int copy_subdir(int src_dir, int dst_dir, const char *name, uid_t uid, gid_t gid, bool sync,
                       unsigned depth)
{
        _cleanup_close_ int in = -1, out = -1;
        struct stat st;
        int r;

        in = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return -errno;
        if (fstat(in, &st) < 0)
                return -errno;
        if (mkdirat(dst_dir, name, 0700) < 0)
                return -errno;
        out = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (out < 0)
                return -errno;
        r = copy_dir_contents(in, out, uid, gid, sync, depth + 1);
        if (r < 0)
                return r;
        /* Permissions last, so a read-only skeleton directory can still be filled. */
        if (fchown(out, uid, gid) < 0 || fchmod(out, st.st_mode & 01777) < 0 || (sync && fsync(out) < 0))
                return -errno;
        return 0;
}

static int copy_dir_contents(int src_fd, int dst_fd, uid_t uid, gid_t gid, bool sync, unsigned depth)
{
        _cleanup_(closedirp) DIR *d = NULL;
        int r;

        if (depth > HOME_TREE_DEPTH_MAX)
                return -ELOOP;
        r = dir_stream_open(src_fd, &d);
        if (r < 0)
                return r;

        for (;;) {
                struct dirent *de = NULL;
                struct stat st;

                r = dir_stream_next(d, &de);
                if (r <= 0)
                        return r;
                if (fstatat(src_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;

                if (S_ISREG(st.st_mode))
                        r = copy_regular(src_fd, dst_fd, de->d_name, uid, gid, sync);
                else if (S_ISDIR(st.st_mode))
                        r = copy_subdir(src_fd, dst_fd, de->d_name, uid, gid, sync, depth);
                else if (S_ISLNK(st.st_mode))
                        r = copy_symlink(src_fd, dst_fd, de->d_name, uid, gid);
                else
                        r = 0; /* device nodes, FIFOs, sockets have no place in a home */
                if (r < 0)
                        return r;
        }
}

int home_tree_copy(int src_fd, int dst_fd, uid_t uid, gid_t gid, bool sync)
{
        return copy_dir_contents(src_fd, dst_fd, uid, gid, sync, 0);
}

/* A bind mount of another directory of the same file system has the same st_dev; only the kernel's
 * mount-root attribute tells it apart. Descending into it would delete data that is not the home's. */
static bool is_mount_root(int dir_fd, const char *name)
{
        struct statx stx;

        if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) < 0)
                return true; /* cannot tell: refuse rather than risk it */
        return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
               (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

typedef struct RemoveState {
        int top_fd;       /* the directory being removed */
        dev_t dev;        /* its file system */
        uint64_t renamed; /* counter for names of subtrees moved up */
        bool moved;       /* something was moved to the top during this pass */
} RemoveState;

/* Removes the contents of dir_fd. A home is the user's to shape, so its depth is unbounded: a subdirectory
 * at HOME_TREE_DEPTH_MAX is not descended into but renamed to the top of the tree and removed by a later
 * pass. That keeps both our stack and our open descriptors bounded, and a user cannot make their home
 * impossible to remove by nesting directories deeply. */
static int remove_dir_contents(RemoveState *rs, int dir_fd, unsigned depth)
{
        _cleanup_(closedirp) DIR *d = NULL;
        int r;

        r = dir_stream_open(dir_fd, &d);
        if (r < 0)
                return r;

        for (;;) {
                struct dirent *de = NULL;
                struct stat st;

                r = dir_stream_next(d, &de);
                if (r <= 0)
                        return r;
                if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (unlinkat(dir_fd, de->d_name, 0) < 0 && errno != ENOENT)
                                return -errno;
                        continue;
                }
                if (st.st_dev != rs->dev || is_mount_root(dir_fd, de->d_name))
                        return -EXDEV;
                if (depth >= HOME_TREE_DEPTH_MAX) {
                        char name[64];

                        snprintf(name, sizeof(name), ".#deep-%" PRIu64, rs->renamed++);
                        if (renameat(dir_fd, de->d_name, rs->top_fd, name) < 0)
                                return -errno;
                        rs->moved = true;
                        continue;
                }

                _cleanup_close_ int sub =
                        openat(dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return -errno;
                r = remove_dir_contents(rs, sub, depth + 1);
                if (r < 0)
                        return r;
                /* EBUSY: a mount point on the same device (a bind mount) is still there. */
                if (unlinkat(dir_fd, de->d_name, AT_REMOVEDIR) < 0)
                        return errno == EBUSY ? -EXDEV : -errno;
        }
}

int home_tree_remove(const char *path)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;

        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        RemoveState rs = { .top_fd = fd, .dev = st.st_dev };
        do {
                rs.moved = false;
                r = remove_dir_contents(&rs, fd, 1);
                if (r < 0)
                        return r;
        } while (rs.moved);
        if (rmdir(path) < 0)
                return errno == EBUSY ? -EXDEV : -errno;
        return 0;
}
