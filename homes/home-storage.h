/* SPDX-License-Identifier: MIT */
#pragma once

/* The storage backend interface behind home.c: directory (home-directory.c), subvolume
 * (home-subvolume.c, btrfs) and luks (home-luks.c, LUKS2 in homed's format). Paths are already joined with
 * the root prefix. Internal to libhomes. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "home.h"

/* Where a backend mounts a file system before the home inside it is bind-mounted on /home/<user>: root
 * 0700, so nothing of the user's is reachable there (homed's /run/systemd/user-home-mount, which homed
 * hides in a private mount namespace instead). */
#define HOME_STAGING_DIR "/run/corehomed/mount"

typedef struct HomeLayout {
        const char *user_name;
        uid_t uid;
        gid_t gid;
        mode_t access_mode;
        unsigned long mount_flags; /* MS_NOSUID|MS_NODEV[|MS_NOEXEC] */
        char *image_path;          /* $ROOT/home/<user>.homedir, or .home for luks */
        char *home_directory;      /* $ROOT/home/<user> */
        char *skeleton;            /* $ROOT/<skeletonDirectory or /etc/skel> */
        char *staging;             /* $ROOT/run/corehomed/mount/<user> */
        json_t *record;            /* the host record (borrowed), with this machine's binding once created */
        const char *machine_id;
} HomeLayout;

typedef struct HomeStorage {
        const char *name;         /* the record's "storage" value */
        const char *image_suffix; /* ".homedir" or ".home" */
        /* luks: made only when a password arrives (realize), opened and unlocked only with one. */
        bool needs_password;
        /* Builds the home under a temporary name and renames it into place; removes its own leftovers on
         * failure. embedded: the ~/.identity text. NULL: the home stays absent until realize. */
        int (*create)(Home *h, const HomeLayout *l, const char *embedded, size_t size, RecordError *err);
        /* Makes an absent home with password, which the engine checked against the record. With activate it
         * is left mounted on /home/<user>. May add to binding (this machine's binding object of l->record):
         * returns > 0 then, and the engine writes the host record. */
        int (*realize)(Home *h, const HomeLayout *l, const char *password, bool activate, json_t *binding,
                       RecordError *err);
        /* Rewrites ~/.identity of an existing home (an inactive luks home: at its next activation). */
        int (*update_identity)(Home *h, const HomeLayout *l, const char *embedded, size_t size);
        /* password: the one of passwords that matches the record (NULL for backends without one); passwords:
         * everything the user gave (an older password may be among them). binding as for realize. */
        int (*activate)(Home *h, const HomeLayout *l, const char *password, char *const *passwords,
                        json_t *binding, RecordError *err);
        int (*deactivate)(Home *h, const HomeLayout *l, RecordError *err);
        int (*lock)(Home *h, const HomeLayout *l, RecordError *err);
        int (*unlock)(Home *h, const HomeLayout *l, char *const *passwords, RecordError *err);
        /* Deletes the home (inactive). */
        int (*remove)(Home *h, const HomeLayout *l, RecordError *err);
        /* > 0 present, 0 absent. */
        int (*probe)(Home *h, const HomeLayout *l);
} HomeStorage;

extern const HomeStorage home_storage_directory;
extern const HomeStorage home_storage_subvolume;
extern const HomeStorage home_storage_luks;

/* Is path a mount point? (> 0 yes, 0 no, -errno.) */
int home_path_is_mount_point(const char *path);

/* Fills err with a message unless err is NULL; returns r. */
int home_error(RecordError *err, int r, const char *format, ...) _printf_(3, 4);

/* Does the named step fail (tests: Home.fail_at)? */
bool home_fail_here(Home *h, const char *step);

/* "DIR/.#<prefix><name><16 hex>" next to path: a dot name homed ignores, unique. */
int home_sibling_temp_path(const char *path, const char *prefix, char **ret);

/* Fills the new, empty home directory home_fd (at path, for messages): the skeleton, ~/.identity
 * (embedded), everything owned by the user, the directory itself accessMode, synced. */
int home_populate(Home *h, const HomeLayout *l, int home_fd, const char *path, const char *embedded,
                  size_t size, RecordError *err);

/* Prepares /home/<user> as homed does: a root-owned 0700 directory; a symlink or a non-directory there is
 * refused (mounting onto it would put the home somewhere else). */
int home_mount_point_prepare(const HomeLayout *l, RecordError *err);

/* Bind-mounts the directory dir_fd (checked to be owned by the user) onto /home/<user> with the layout's
 * mount flags, through descriptors, so the mount lands on exactly what was checked. */
int home_bind_mount(const HomeLayout *l, int dir_fd, const char *what, RecordError *err);

/* The directory backend's operations that subvolume homes share (both are directories on /home). */
int home_directory_update_identity(Home *h, const HomeLayout *l, const char *embedded, size_t size);
int home_directory_activate(Home *h, const HomeLayout *l, const char *password, char *const *passwords,
                            json_t *binding, RecordError *err);
int home_directory_deactivate(Home *h, const HomeLayout *l, RecordError *err);
int home_directory_lock(Home *h, const HomeLayout *l, RecordError *err);
int home_directory_unlock(Home *h, const HomeLayout *l, char *const *passwords, RecordError *err);
int home_directory_probe(Home *h, const HomeLayout *l);

/* The text of ~/.identity for a signed host record: the same record without binding, status, secret. */
int home_embedded_record(json_t *host_record, json_t **ret);
int home_format_embedded(json_t *host_record, char **ret);
