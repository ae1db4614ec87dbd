/* SPDX-License-Identifier: MIT */
/* What every storage backend needs: error messages, temporary names, filling a new home, the mount point
 * /home/<user> and the bind mount onto it. */
#include "home-storage.h"

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

#include "file-util.h"
#include "home-batch.h"
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

bool home_fail_here(Home *h, const char *step)
{
        return h->fail_at && streq(h->fail_at, step);
}

int home_sibling_temp_path(const char *path, const char *prefix, char **ret)
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

static int copy_skeleton(const HomeLayout *l, int home_fd, bool sync)
{
        _cleanup_close_ int skel_fd = -1;

        /* The skeleton is the image's own (or one the record names under the root); a missing one means an
         * empty home, as with homed. */
        skel_fd = open(l->skeleton, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (skel_fd < 0)
                return errno == ENOENT ? 0 : -errno;
        return home_tree_copy(skel_fd, home_fd, l->uid, l->gid, sync);
}

int home_populate(Home *h, const HomeLayout *l, int home_fd, const char *path, const char *embedded,
                  size_t size, RecordError *err)
{
        int r;

        r = home_fail_here(h, "skeleton") ? -EIO : copy_skeleton(l, home_fd, home_sync_each(h));
        if (r < 0)
                return home_error(err, r, "%s: cannot copy skeleton into home: %s", l->skeleton,
                                  strerror(-r));

        r = home_fail_here(h, "identity")
                    ? -EIO
                    : (home_sync_each(h) ? write_file_atomic : write_file_atomic_unsynced)(
                              home_fd, ".identity", embedded, size, 0600, l->uid, l->gid);
        if (r < 0)
                return home_error(err, r, "%s/.identity: cannot write: %s", path, strerror(-r));

        if (fchown(home_fd, l->uid, l->gid) < 0 || fchmod(home_fd, l->access_mode) < 0)
                return home_error(err, -errno, "%s: cannot set owner and mode: %m", path);
        /* Copied files and .identity were fsync'ed one by one; this makes the directory's entries durable
         * (cheaper than syncfs() of a whole, possibly busy, file system, for one home). In a batch, the
         * batch's end syncs everything at once. */
        if (home_sync_each(h) && fsync(home_fd) < 0)
                return home_error(err, -errno, "%s: cannot sync: %m", path);
        return 0;
}

int home_mount_point_prepare(const HomeLayout *l, RecordError *err)
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

int home_bind_mount(const HomeLayout *l, int dir_fd, const char *what, RecordError *err)
{
        _cleanup_close_ int dst = -1;
        char src_path[64], dst_path[64];
        struct stat st;
        int r;

        r = home_mount_point_prepare(l, err);
        if (r < 0)
                return r;
        if (fstat(dir_fd, &st) < 0)
                return home_error(err, -errno, "%s: %m", what);
        if (!S_ISDIR(st.st_mode))
                return home_error(err, -ENOTDIR, "%s: not a directory", what);
        /* A home owned by someone else is not this user's: mounting it would hand over their files. */
        if (st.st_uid != l->uid)
                return home_error(err, -EPERM, "%s: owned by uid %u, not by the user (%u)", what,
                                  (unsigned) st.st_uid, (unsigned) l->uid);
        /* Mount through O_PATH descriptors opened with O_NOFOLLOW: the mount lands on exactly the
         * directories we checked, even if a path component is swapped for a symlink meanwhile. */
        dst = open(l->home_directory, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dst < 0)
                return home_error(err, -errno, "%s: %m", l->home_directory);
        snprintf(src_path, sizeof(src_path), "/proc/self/fd/%d", dir_fd);
        snprintf(dst_path, sizeof(dst_path), "/proc/self/fd/%d", dst);

        if (mount(src_path, dst_path, NULL, MS_BIND, NULL) < 0)
                return home_error(err, -errno, "%s: cannot bind mount %s: %m", l->home_directory, what);
        /* A bind mount takes its flags only on a remount. */
        if (mount(NULL, l->home_directory, NULL, MS_BIND | MS_REMOUNT | l->mount_flags, NULL) < 0) {
                r = -errno;
                (void) umount2(l->home_directory, UMOUNT_NOFOLLOW);
                return home_error(err, r, "%s: cannot set mount flags: %s", l->home_directory, strerror(-r));
        }
        return 0;
}

int home_embedded_record(json_t *host_record, json_t **ret)
{
        return user_record_strip(
                host_record,
                USER_RECORD_SECTION_BINDING | USER_RECORD_SECTION_STATUS | USER_RECORD_SECTION_SECRET, ret);
}

int home_format_embedded(json_t *host_record, char **ret)
{
        _cleanup_json_ json_t *embedded = NULL;
        int r;

        r = home_embedded_record(host_record, &embedded);
        if (r < 0)
                return r;
        return user_record_format_pretty(embedded, ret);
}
