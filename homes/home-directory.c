/* SPDX-License-Identifier: MIT */
/* Directory storage: the home is a plain directory /home/<user>.homedir, bind-mounted on /home/<user>
 * while active, as systemd-homed's homework-directory.c lays it out. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash-point.h"
#include "file-util.h"
#include "home-batch.h"
#include "home-storage.h"
#include "home-tree.h"

static int directory_fill(Home *h, const HomeLayout *l, const char *tmp, const char *embedded, size_t size,
                          RecordError *err)
{
        _cleanup_close_ int fd = -1;

        fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return home_error(err, -errno, "%s: cannot open new home: %m", tmp);
        return home_populate(h, l, fd, tmp, embedded, size, err);
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
        r = home_sibling_temp_path(l->image_path, "homework", &tmp);
        if (r < 0)
                return r;
        if (home_fail_here(h, "mkdir"))
                return home_error(err, -EIO, "%s: injected failure before mkdir", tmp);
        if (mkdir(tmp, 0700) < 0)
                return home_error(err, -errno, "%s: cannot create: %m", tmp);

        r = directory_fill(h, l, tmp, embedded, size, err);
        crash_point("home-create:filled");
        if (r >= 0 && home_fail_here(h, "rename"))
                r = home_error(err, -EIO, "%s: injected failure before rename", tmp);
        /* NOREPLACE: a home that appeared meanwhile is someone else's; never swap it for ours. */
        if (r >= 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, l->image_path, RENAME_NOREPLACE) < 0)
                r = home_error(err, -errno, "%s: cannot rename into place: %m", l->image_path);
        if (r < 0) {
                (void) home_tree_remove(tmp);
                return r;
        }

        /* The rename is durable only once the directory entry is on disk (a batch: at its end). */
        if (!home_sync_each(h))
                return 0;
        _cleanup_close_ int parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent_fd >= 0)
                (void) fsync(parent_fd);
        return 0;
}

int home_directory_update_identity(Home *h, const HomeLayout *l, const char *embedded, size_t size)
{
        _cleanup_close_ int fd = -1;

        fd = open(l->image_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return write_file_atomic(fd, ".identity", embedded, size, 0600, l->uid, l->gid);
}

int home_directory_activate(Home *h, const HomeLayout *l, const char *password, char *const *passwords,
                            json_t *binding, RecordError *err)
{
        _cleanup_close_ int src = -1;

        src = open(l->image_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0)
                return home_error(err, -errno, "%s: %m", l->image_path);
        return home_bind_mount(l, src, l->image_path, err);
}

int home_directory_deactivate(Home *h, const HomeLayout *l, RecordError *err)
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

/* homed's Lock drops a LUKS home's key; a directory has none. The nearest we can do is to freeze the
 * content: a read-only remount (reads stay possible). */
static int set_read_only(const HomeLayout *l, bool read_only, RecordError *err)
{
        unsigned long flags = MS_BIND | MS_REMOUNT | l->mount_flags | (read_only ? MS_RDONLY : 0);

        if (mount(NULL, l->home_directory, NULL, flags, NULL) < 0)
                return home_error(err, -errno, "%s: cannot remount %s: %m", l->home_directory,
                                  read_only ? "read-only" : "read-write");
        return 0;
}

int home_directory_lock(Home *h, const HomeLayout *l, RecordError *err)
{
        return set_read_only(l, true, err);
}

int home_directory_unlock(Home *h, const HomeLayout *l, char *const *passwords, RecordError *err)
{
        return set_read_only(l, false, err);
}

static int directory_remove(Home *h, const HomeLayout *l, RecordError *err)
{
        _cleanup_free_ char *tmp = NULL;
        int r;

        r = home_sibling_temp_path(l->image_path, "removing", &tmp);
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

int home_directory_probe(Home *h, const HomeLayout *l)
{
        struct stat st;

        if (lstat(l->image_path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return S_ISDIR(st.st_mode) ? 1 : 0;
}

const HomeStorage home_storage_directory = {
        .name = "directory",
        .image_suffix = ".homedir",
        .create = directory_create,
        .update_identity = home_directory_update_identity,
        .activate = home_directory_activate,
        .deactivate = home_directory_deactivate,
        .lock = home_directory_lock,
        .unlock = home_directory_unlock,
        .remove = directory_remove,
        .probe = home_directory_probe,
};
