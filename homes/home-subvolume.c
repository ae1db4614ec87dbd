/* SPDX-License-Identifier: MIT */
/* Subvolume storage, as systemd-homed 252's homework-directory.c makes it when /home is btrfs: the home is a
 * btrfs subvolume /home/<user>.homedir (so it can be snapshotted and limited on its own), with a qgroup
 * limit of diskSize on it when the record sets one; activated like a directory home (bind mount). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "crash-point.h"
#include "file-util.h"
#include "home-batch.h"
#include "home-luks-settings.h"
#include "home-storage.h"
#include "home-tree.h"

/* The inode number of every subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID). */
#define SUBVOLUME_ROOT_INO 256
/* A quota rescan may make the qgroup busy for a moment right after quota is enabled. */
#define QGROUP_LIMIT_ATTEMPTS 10

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

static int subvolume_id(int fd, uint64_t *ret)
{
        struct btrfs_ioctl_ino_lookup_args args = { .objectid = SUBVOLUME_ROOT_INO };

        if (ioctl(fd, BTRFS_IOC_INO_LOOKUP, &args) < 0)
                return -errno;
        *ret = args.treeid;
        return 0;
}

/* homed's home_update_quota_btrfs(): quota on for the file system, then the subvolume's own qgroup (0/id)
 * limited to diskSize of referenced data. homed ignores failures here; we refuse the home instead: a
 * limit the record asks for and nobody enforces is worse than no home. */
static int set_quota(int fd, uint64_t limit)
{
        struct btrfs_ioctl_quota_ctl_args ctl = { .cmd = BTRFS_QUOTA_CTL_ENABLE };
        struct btrfs_ioctl_qgroup_limit_args args = {
                .lim = { .flags = BTRFS_QGROUP_LIMIT_MAX_RFER, .max_rfer = limit },
        };
        int r;

        if (ioctl(fd, BTRFS_IOC_QUOTA_CTL, &ctl) < 0 && errno != EEXIST)
                return -errno;
        uint64_t id;

        r = subvolume_id(fd, &id);
        if (r < 0)
                return r;
        args.qgroupid = id; /* level 0: the subvolume's own qgroup */
        for (unsigned i = 0;; i++) {
                if (ioctl(fd, BTRFS_IOC_QGROUP_LIMIT, &args) >= 0)
                        return 0;
                if (errno != EBUSY || i + 1 >= QGROUP_LIMIT_ATTEMPTS)
                        return -errno;
                (void) ioctl(fd, BTRFS_IOC_QUOTA_RESCAN_WAIT, NULL);
        }
}

static int subvolume_make(int parent_fd, const char *name)
{
        struct btrfs_ioctl_vol_args args = {};

        if (strlen(name) >= sizeof(args.name))
                return -ENAMETOOLONG;
        snprintf(args.name, sizeof(args.name), "%s", name);
        return ioctl(parent_fd, BTRFS_IOC_SUBVOL_CREATE, &args) < 0 ? -errno : 0;
}

static bool is_mount_root(int dir_fd, const char *name)
{
        struct statx stx;

        if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) < 0)
                return false;
        return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
               (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static int subvolume_destroy(int parent_fd, const char *name, unsigned depth);

/* Destroys the subvolumes nested anywhere below dir_fd (a user may make subvolumes in their home, and
 * btrfs refuses to destroy a subvolume that holds others). A mount below is refused (-EXDEV): destroying
 * through it would delete what is not the home's. */
static int destroy_nested(int dir_fd, unsigned depth)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd, r;

        if (depth >= HOME_TREE_DEPTH_MAX)
                return -ELOOP;
        fd = dup(dir_fd);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                _cleanup_close_ int child = -1;
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, "..") || de->d_type != DT_DIR)
                        continue;
                if (is_mount_root(dirfd(d), de->d_name))
                        return -EXDEV;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                if (st.st_ino == SUBVOLUME_ROOT_INO) {
                        r = subvolume_destroy(dirfd(d), de->d_name, depth + 1);
                        if (r < 0)
                                return r;
                        continue;
                }
                child = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (child < 0)
                        return -errno;
                r = destroy_nested(child, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int subvolume_destroy(int parent_fd, const char *name, unsigned depth)
{
        struct btrfs_ioctl_vol_args args = {};
        _cleanup_close_ int fd = -1;
        int r;

        snprintf(args.name, sizeof(args.name), "%s", name);
        if (ioctl(parent_fd, BTRFS_IOC_SNAP_DESTROY, &args) >= 0)
                return 0;
        if (errno != ENOTEMPTY)
                return -errno;
        fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = destroy_nested(fd, depth);
        if (r < 0)
                return r;
        fd = safe_close(fd);
        return ioctl(parent_fd, BTRFS_IOC_SNAP_DESTROY, &args) < 0 ? -errno : 0;
}

static int split_parent(const char *path, char **ret_parent, const char **ret_name)
{
        char *parent = strdup(path), *slash;

        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (!slash) {
                free(parent);
                return -EINVAL;
        }
        *slash = '\0';
        *ret_name = path + (slash - parent) + 1;
        *ret_parent = parent;
        return 0;
}

static int subvolume_create(Home *h, const HomeLayout *l, const char *embedded, size_t size,
                            RecordError *err)
{
        _cleanup_free_ char *tmp = NULL, *parent = NULL;
        _cleanup_close_ int parent_fd = -1, fd = -1;
        const char *tmp_name;
        struct statfs sfs;
        json_t *disk_size;
        int r;

        r = path_join_root(h->root, HOME_DIR, &parent);
        if (r < 0)
                return r;
        r = mkdir_parents_and_self(parent, 0755);
        if (r < 0)
                return home_error(err, r, "%s: cannot create: %s", parent, strerror(-r));
        parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent_fd < 0)
                return home_error(err, -errno, "%s: %m", parent);
        /* homed falls back to a plain directory here; a record that asks for a subvolume (and maybe a
         * quota on it) should get one or a clear refusal. */
        if (fstatfs(parent_fd, &sfs) < 0)
                return home_error(err, -errno, "%s: %m", parent);
        if (sfs.f_type != BTRFS_SUPER_MAGIC)
                return home_error(err, -EOPNOTSUPP, "%s: subvolume storage needs btrfs there", parent);
        disk_size = home_record_field(l->record, l->machine_id, "diskSize");

        r = home_sibling_temp_path(l->image_path, "homework", &tmp);
        if (r < 0)
                return r;
        tmp_name = strrchr(tmp, '/') + 1;
        r = subvolume_make(parent_fd, tmp_name);
        if (r < 0)
                return home_error(err, r, "%s: cannot create subvolume: %s", tmp, strerror(-r));
        fd = openat(parent_fd, tmp_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                r = home_error(err, -errno, "%s: %m", tmp);
                goto fail;
        }
        if (json_is_integer(disk_size) && json_integer_value(disk_size) > 0) {
                r = set_quota(fd, (uint64_t) json_integer_value(disk_size));
                if (r < 0) {
                        r = home_error(err, r,
                                       "%s: cannot limit the subvolume to diskSize (btrfs quota): %s", tmp,
                                       strerror(-r));
                        goto fail;
                }
        }
        r = home_populate(h, l, fd, tmp, embedded, size, err);
        fd = safe_close(fd);
        crash_point("home-create:filled");
        if (r >= 0 && home_fail_here(h, "rename"))
                r = home_error(err, -EIO, "%s: injected failure before rename", tmp);
        if (r >= 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, l->image_path, RENAME_NOREPLACE) < 0)
                r = home_error(err, -errno, "%s: cannot rename into place: %m", l->image_path);
        if (r < 0)
                goto fail;
        if (home_sync_each(h))
                (void) fsync(parent_fd);
        return 0;
fail:
        fd = safe_close(fd);
        (void) subvolume_destroy(parent_fd, tmp_name, 0);
        return r;
}

static int subvolume_remove(Home *h, const HomeLayout *l, RecordError *err)
{
        _cleanup_free_ char *tmp = NULL, *parent = NULL;
        _cleanup_close_ int parent_fd = -1;
        const char *name;
        struct stat st;
        int r;

        r = home_sibling_temp_path(l->image_path, "removing", &tmp);
        if (r >= 0)
                r = split_parent(tmp, &parent, &name);
        if (r < 0)
                return r;
        /* First out of homed's sight (a half-deleted home must never look like a home), then destroyed. */
        if (rename(l->image_path, tmp) < 0)
                return errno == ENOENT ? 0 : home_error(err, -errno, "%s: cannot remove: %m", l->image_path);
        crash_point("home-remove:renamed");
        parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent_fd < 0)
                return home_error(err, -errno, "%s: %m", parent);
        /* A home that is a plain directory after all (made by homed's fallback) is deleted as one. */
        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && st.st_ino != SUBVOLUME_ROOT_INO)
                r = home_tree_remove(tmp);
        else
                r = subvolume_destroy(parent_fd, name, 0);
        if (r < 0)
                return home_error(err, r, "%s: cannot delete: %s", tmp, strerror(-r));
        (void) rmdir(l->home_directory);
        return 0;
}

const HomeStorage home_storage_subvolume = {
        .name = "subvolume",
        .image_suffix = ".homedir",
        .create = subvolume_create,
        .update_identity = home_directory_update_identity,
        .activate = home_directory_activate,
        .deactivate = home_directory_deactivate,
        .lock = home_directory_lock,
        .unlock = home_directory_unlock,
        .remove = subvolume_remove,
        .probe = home_directory_probe,
};
