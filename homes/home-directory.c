/* SPDX-License-Identifier: MIT */
/* Directory storage: the home is a plain directory /home/<user>.homedir, bind-mounted on /home/<user>
 * while active, as systemd-homed's homework-directory.c lays it out. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash-point.h"
#include "file-util.h"
#include "home-storage.h"
#include "home-tree.h"

int home_error(RecordError *err, int r, const char *format, ...)
{
        va_list ap;

        if (!err)
                return r;
        err->field[0] = '\0';
        va_start(ap, format);
        (void) vsnprintf(err->message, sizeof(err->message), format, ap);
        va_end(ap);
        return r;
}

int home_path_is_mount_point(const char *path)
{
        struct statx stx;

        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
                return -EOPNOTSUPP;
        return !!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* "DIR/.#<prefix><name><16 hex>": a dot name homed ignores (it only looks at *.homedir), unique. */
static int sibling_temp_path(const char *path, const char *prefix, char **ret)
{
        const char *slash = strrchr(path, '/');
        uint64_t nonce;

        if (!slash)
                return -EINVAL;
        if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
                return -EIO;
        if (asprintf(ret, "%.*s/.#%s%s%016llx", (int) (slash - path), path, prefix, slash + 1,
                     (unsigned long long) nonce) < 0)
                return -ENOMEM;
        return 0;
}

static bool fail_here(Home *h, const char *step)
{
        return h->fail_at && streq(h->fail_at, step);
}

static int copy_skeleton(const HomeLayout *l, int home_fd)
{
        _cleanup_close_ int skel_fd = -1;

        /* The skeleton is the image's own (or one the record names under the root); a missing one means an
         * empty home, as with homed. */
        skel_fd = open(l->skeleton, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (skel_fd < 0)
                return errno == ENOENT ? 0 : -errno;
        return home_tree_copy(skel_fd, home_fd, l->uid, l->gid);
}

static int directory_fill(Home *h, const HomeLayout *l, const char *tmp, const char *embedded, size_t size,
                          RecordError *err)
{
        _cleanup_close_ int fd = -1;
        int r;

        fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return home_error(err, -errno, "%s: cannot open new home: %m", tmp);

        r = fail_here(h, "skeleton") ? -EIO : copy_skeleton(l, fd);
        if (r < 0)
                return home_error(err, r, "%s: cannot copy skeleton into home: %s", l->skeleton,
                                  strerror(-r));

        r = fail_here(h, "identity")
                    ? -EIO
                    : write_file_atomic(fd, ".identity", embedded, size, 0600, l->uid, l->gid);
        if (r < 0)
                return home_error(err, r, "%s/.identity: cannot write: %s", tmp, strerror(-r));

        if (fchown(fd, l->uid, l->gid) < 0 || fchmod(fd, l->access_mode) < 0)
                return home_error(err, -errno, "%s: cannot set owner and mode: %m", tmp);
        /* Copied files and .identity were fsync'ed one by one; this makes the directory's entries durable
         * (cheaper than syncfs() of a whole, possibly busy, file system). */
        if (fsync(fd) < 0)
                return home_error(err, -errno, "%s: cannot sync: %m", tmp);
        return 0;
}

static int directory_create(Home *h, const HomeLayout *l, const char *embedded, size_t size,
                            RecordError *err)
{
        _cleanup_free_ char *tmp = NULL, *parent = NULL;
        int r;

        r = path_join_root(h->root, HOME_DIR, &parent);
        if (r < 0)
                return r;
        r = mkdir_parents_and_self(parent, 0755);
        if (r < 0)
                return home_error(err, r, "%s: cannot create: %s", parent, strerror(-r));
        r = sibling_temp_path(l->image_path, "homework", &tmp);
        if (r < 0)
                return r;
        if (fail_here(h, "mkdir"))
                return home_error(err, -EIO, "%s: injected failure before mkdir", tmp);
        if (mkdir(tmp, 0700) < 0)
                return home_error(err, -errno, "%s: cannot create: %m", tmp);

        r = directory_fill(h, l, tmp, embedded, size, err);
        crash_point("home-create:filled");
        if (r >= 0 && fail_here(h, "rename"))
                r = home_error(err, -EIO, "%s: injected failure before rename", tmp);
        /* NOREPLACE: a home that appeared meanwhile is someone else's; never swap it for ours. */
        if (r >= 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, l->image_path, RENAME_NOREPLACE) < 0)
                r = home_error(err, -errno, "%s: cannot rename into place: %m", l->image_path);
        if (r < 0) {
                (void) home_tree_remove(tmp);
                return r;
        }

        /* The rename is durable only once the directory entry is on disk. */
        _cleanup_close_ int parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent_fd >= 0)
                (void) fsync(parent_fd);
        return 0;
}

static int directory_update_identity(Home *h, const HomeLayout *l, const char *embedded, size_t size)
{
        _cleanup_close_ int fd = -1;

        fd = open(l->image_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return write_file_atomic(fd, ".identity", embedded, size, 0600, l->uid, l->gid);
}

/* Prepares /home/<user> as homed does: a root-owned 0700 directory, so nothing of the user's is reachable
 * there while the home is inactive. A symlink or a non-directory there is refused: mounting onto it would
 * put the home somewhere else. */
static int prepare_mount_point(const HomeLayout *l, RecordError *err)
{
        struct stat st;

        if (mkdir(l->home_directory, 0700) < 0 && errno != EEXIST)
                return home_error(err, -errno, "%s: cannot create mount point: %m", l->home_directory);
        if (lstat(l->home_directory, &st) < 0)
                return home_error(err, -errno, "%s: %m", l->home_directory);
        if (!S_ISDIR(st.st_mode))
                return home_error(err, -ENOTDIR, "%s: mount point is not a directory", l->home_directory);
        if (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != 0700) {
                if (chown(l->home_directory, 0, 0) < 0 || chmod(l->home_directory, 0700) < 0)
                        return home_error(err, -errno, "%s: cannot make mount point root 0700: %m",
                                          l->home_directory);
        }
        return 0;
}

static int directory_activate(Home *h, const HomeLayout *l, RecordError *err)
{
        _cleanup_close_ int src = -1, dst = -1;
        char src_path[64], dst_path[64];
        struct stat st;
        int r;

        r = prepare_mount_point(l, err);
        if (r < 0)
                return r;

        /* Mount through O_PATH descriptors opened with O_NOFOLLOW: the mount lands on exactly the
         * directories we checked, even if a path component is swapped for a symlink meanwhile. */
        src = open(l->image_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0)
                return home_error(err, -errno, "%s: %m", l->image_path);
        if (fstat(src, &st) < 0)
                return home_error(err, -errno, "%s: %m", l->image_path);
        /* A home owned by someone else is not this user's: mounting it would hand over their files. */
        if (st.st_uid != l->uid)
                return home_error(err, -EPERM, "%s: owned by uid %u, not by the user (%u)", l->image_path,
                                  (unsigned) st.st_uid, (unsigned) l->uid);
        dst = open(l->home_directory, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dst < 0)
                return home_error(err, -errno, "%s: %m", l->home_directory);
        snprintf(src_path, sizeof(src_path), "/proc/self/fd/%d", src);
        snprintf(dst_path, sizeof(dst_path), "/proc/self/fd/%d", dst);

        if (mount(src_path, dst_path, NULL, MS_BIND, NULL) < 0)
                return home_error(err, -errno, "%s: cannot bind mount %s: %m", l->home_directory,
                                  l->image_path);
        /* A bind mount takes its flags only on a remount. */
        if (mount(NULL, l->home_directory, NULL, MS_BIND | MS_REMOUNT | l->mount_flags, NULL) < 0) {
                r = -errno;
                (void) umount2(l->home_directory, UMOUNT_NOFOLLOW);
                return home_error(err, r, "%s: cannot set mount flags: %s", l->home_directory, strerror(-r));
        }
        return 0;
}

static int directory_deactivate(Home *h, const HomeLayout *l, RecordError *err)
{
        if (umount2(l->home_directory, UMOUNT_NOFOLLOW) < 0) {
                if (errno == EBUSY)
                        return home_error(err, -EBUSY, "%s: home is in use", l->home_directory);
                return home_error(err, -errno, "%s: cannot unmount: %m", l->home_directory);
        }
        /* The empty mount point goes too, as the home is no longer reachable there. */
        (void) rmdir(l->home_directory);
        return 0;
}

static int directory_set_read_only(Home *h, const HomeLayout *l, bool read_only)
{
        unsigned long flags = MS_BIND | MS_REMOUNT | l->mount_flags | (read_only ? MS_RDONLY : 0);

        if (mount(NULL, l->home_directory, NULL, flags, NULL) < 0)
                return -errno;
        return 0;
}

static int directory_remove(Home *h, const HomeLayout *l, RecordError *err)
{
        _cleanup_free_ char *tmp = NULL;
        int r;

        r = sibling_temp_path(l->image_path, "removing", &tmp);
        if (r < 0)
                return r;
        /* First out of homed's sight (a half-deleted home must never look like a home), then deleted. */
        if (rename(l->image_path, tmp) < 0)
                return errno == ENOENT ? 0 : home_error(err, -errno, "%s: cannot remove: %m", l->image_path);
        crash_point("home-remove:renamed");
        r = home_tree_remove(tmp);
        if (r < 0)
                return home_error(err, r, "%s: cannot delete: %s", tmp, strerror(-r));
        (void) rmdir(l->home_directory);
        return 0;
}

static int directory_probe(Home *h, const HomeLayout *l)
{
        struct stat st;

        if (lstat(l->image_path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return S_ISDIR(st.st_mode) ? 1 : 0;
}

const HomeStorage home_storage_directory = {
        .name = "directory",
        .create = directory_create,
        .update_identity = directory_update_identity,
        .activate = directory_activate,
        .deactivate = directory_deactivate,
        .set_read_only = directory_set_read_only,
        .remove = directory_remove,
        .probe = directory_probe,
};
