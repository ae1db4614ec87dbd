/* SPDX-License-Identifier: MIT */
#pragma once

/* The storage backend interface behind home.c. Only directory storage exists so far; subvolume (btrfs)
 * and luks (LUKS2 with the systemd-homed token) fit the same five operations. Paths are already joined
 * with the root prefix. Internal to libhomes. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "home.h"

typedef struct HomeLayout {
        const char *user_name;
        uid_t uid;
        gid_t gid;
        mode_t access_mode;
        unsigned long mount_flags; /* MS_NOSUID|MS_NODEV[|MS_NOEXEC] */
        char *image_path;          /* $ROOT/home/<user>.homedir */
        char *home_directory;      /* $ROOT/home/<user> */
        char *skeleton;            /* $ROOT/<skeletonDirectory or /etc/skel> */
} HomeLayout;

typedef struct HomeStorage {
        const char *name; /* the record's "storage" value */
        /* Builds the home under a temporary name and renames it into place; removes its own leftovers on
         * failure. embedded: the ~/.identity text. */
        int (*create)(Home *h, const HomeLayout *l, const char *embedded, size_t size, RecordError *err);
        /* Rewrites ~/.identity of an existing home. */
        int (*update_identity)(Home *h, const HomeLayout *l, const char *embedded, size_t size);
        int (*activate)(Home *h, const HomeLayout *l, RecordError *err);
        int (*deactivate)(Home *h, const HomeLayout *l, RecordError *err);
        /* Freezes (read_only) or thaws an active home. */
        int (*set_read_only)(Home *h, const HomeLayout *l, bool read_only);
        /* Deletes the home (inactive). */
        int (*remove)(Home *h, const HomeLayout *l, RecordError *err);
        /* > 0 present, 0 absent. */
        int (*probe)(Home *h, const HomeLayout *l);
} HomeStorage;

extern const HomeStorage home_storage_directory;

/* Is path a mount point? (> 0 yes, 0 no, -errno.) */
int home_path_is_mount_point(const char *path);

/* Fills err with a message unless err is NULL; returns r. */
int home_error(RecordError *err, int r, const char *format, ...) _printf_(3, 4);
