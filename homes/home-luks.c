/* SPDX-License-Identifier: MIT */
/* LUKS storage in systemd-homed 252's format: /home/<user>.home is a sparse image file holding a GPT with
 * one "user home" partition named after the user; in it a LUKS2 volume labelled with the user name whose
 * systemd-homed token carries the record; in that a file system (ext4 or btrfs, labelled with the user name)
 * whose directory /<user> is the home. While active, /dev/mapper/home-<user> sits on a loop device over the
 * partition and /<user> is bind-mounted on /home/<user>.
 *
 * Unlike homed, the home is not made when the record arrives (it carries only a hash): it stays absent until
 * realize brings the password. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <linux/btrfs.h>

#include "crash-point.h"
#include "file-util.h"
#include "home-gpt.h"
#include "home-loop.h"
#include "home-luks-settings.h"
#include "home-luks-volume.h"
#include "home-mkfs.h"
#include "home-storage.h"
#include "id128.h"

#define DM_NAME_PREFIX "home-"
/* A dm device may stay busy for a moment after its file system is unmounted (udev probing it). */
#define DM_CLOSE_ATTEMPTS   50
#define DM_CLOSE_DELAY_USEC (100 * 1000)

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

/* Everything an operation has set up, undone in reverse order unless handed over. */
typedef struct LuksSetup {
        int image_fd;
        HomeLoop *loop;
        HomeLuksVolume *volume;
        char dm_name[64];
        char dm_node[96];
        bool dm_open;
        const char *staging; /* mounted when not NULL */
} LuksSetup;

static int dm_close_retrying(const char *dm_name)
{
        int r = 0;

        for (unsigned i = 0; i < DM_CLOSE_ATTEMPTS; i++) {
                r = home_luks_dm_close(dm_name);
                if (r != -EBUSY)
                        return r;
                usleep(DM_CLOSE_DELAY_USEC);
        }
        return r;
}

static void luks_setup_undo(LuksSetup *s)
{
        if (s->staging) {
                (void) umount2(s->staging, UMOUNT_NOFOLLOW);
                (void) rmdir(s->staging);
        }
        s->volume = home_luks_volume_free(s->volume);
        if (s->dm_open)
                (void) dm_close_retrying(s->dm_name);
        s->dm_open = false;
        s->loop = home_loop_free(s->loop);
        s->image_fd = safe_close(s->image_fd);
}

static int luks_setup_init(LuksSetup *s, const HomeLayout *l)
{
        *s = (LuksSetup){ .image_fd = -1 };
        if (snprintf(s->dm_name, sizeof(s->dm_name), DM_NAME_PREFIX "%s", l->user_name) >=
            (int) sizeof(s->dm_name))
                return -ENAMETOOLONG;
        snprintf(s->dm_node, sizeof(s->dm_node), "/dev/mapper/%s", s->dm_name);
        return 0;
}

static const char *binding_string(json_t *binding, const char *key)
{
        const char *v = json_string_value(json_object_get(binding, key));

        return v && id128_is_uuid(v) ? v : NULL;
}

/* Best effort, and only possible while the file is empty: on a copy-on-write host file system (btrfs) an
 * overwrite goes elsewhere, so the erase at removal would leave the old header behind (homed does the
 * same). */
static void set_nocow(int fd)
{
        unsigned attr = 0;

        if (ioctl(fd, FS_IOC_GETFLAGS, &attr) < 0)
                return;
        attr |= FS_NOCOW_FL;
        (void) ioctl(fd, FS_IOC_SETFLAGS, &attr);
}

/* Erases and deletes one image file (a home, or a leftover of an interrupted realize or remove): the LUKS
 * header of its home partition is wiped (home-luks-volume.h) before the file goes, so that no copy of the
 * blocks (backup, a disk image, blocks the file system reuses) opens with the password. */
static int erase_image(const char *path, const char *user_name, RecordError *err)
{
        _cleanup_(home_loop_freep) HomeLoop *loop = NULL;
        _cleanup_close_ int fd = -1;
        HomeGptPartition part;
        struct stat st;
        int r;

        fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : home_error(err, -errno, "%s: cannot open: %m", path);
        if (fstat(fd, &st) < 0)
                return home_error(err, -errno, "%s: %m", path);
        if (!S_ISREG(st.st_mode))
                return home_error(err, -EBADFD, "%s: not a regular file", path);

        r = home_gpt_find(fd, user_name, NULL, &part);
        if (r >= 0) {
                r = home_loop_attach(fd, part.offset, part.size, 512, &loop);
                if (r >= 0)
                        r = home_luks_volume_erase(loop->node);
                if (r < 0)
                        return home_error(err, r, "%s: cannot erase the LUKS header: %s", path,
                                          strerror(-r));
        } else {
                /* No partition table we recognise (an interrupted realize may not have written it yet):
                 * wipe where a header could be. */
                static const uint8_t zeros[64 * 1024];
                uint64_t end = (uint64_t) st.st_size;

                if (end > HOME_LUKS_HEADER_WIPE_FALLBACK + 1024 * 1024)
                        end = HOME_LUKS_HEADER_WIPE_FALLBACK + 1024 * 1024;
                for (uint64_t off = 0; off < end; off += sizeof(zeros)) {
                        size_t n = end - off < sizeof(zeros) ? (size_t) (end - off) : sizeof(zeros);
                        if (pwrite(fd, zeros, n, (off_t) off) != (ssize_t) n)
                                return home_error(err, -EIO, "%s: cannot wipe: %m", path);
                }
                if (fsync(fd) < 0)
                        return home_error(err, -errno, "%s: cannot sync: %m", path);
        }
        loop = home_loop_free(loop);
        if (unlink(path) < 0 && errno != ENOENT)
                return home_error(err, -errno, "%s: cannot delete: %m", path);
        return 0;
}

static bool is_leftover(const char *name, const char *user_name)
{
        static const char *const prefixes[] = { ".#homework", ".#removing" };

        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
                size_t pl = strlen(prefixes[i]), ul = strlen(user_name);
                const char *rest;

                if (!strneq(name, prefixes[i], pl) || !strneq(name + pl, user_name, ul) ||
                    !strneq(name + pl + ul, ".home", 5))
                        continue;
                rest = name + pl + ul + 5;
                if (strlen(rest) == 16 && strspn(rest, "0123456789abcdef") == 16)
                        return true;
        }
        return false;
}

/* Recovery: images a crash left under temporary names (realize before its rename, remove between rename
 * and erase) still hold a keyslot for the user's password; they are erased like the home itself. */
static int remove_leftovers(const HomeLayout *l, RecordError *err)
{
        _cleanup_free_ char *parent = strdup(l->image_path);
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (!parent)
                return -ENOMEM;
        *strrchr(parent, '/') = '\0';
        d = opendir(parent);
        if (!d)
                return errno == ENOENT ? 0 : home_error(err, -errno, "%s: %m", parent);
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                int r;

                if (!is_leftover(de->d_name, l->user_name))
                        continue;
                if (asprintf(&p, "%s/%s", parent, de->d_name) < 0)
                        return -ENOMEM;
                r = erase_image(p, l->user_name, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Opens the volume as /dev/mapper/home-<user> and mounts its file system at the staging directory. */
static int open_and_mount(LuksSetup *s, const HomeLayout *l, const HomeLuksSettings *settings, bool make_fs,
                          const char *fs_uuid, RecordError *err)
{
        _cleanup_free_ char *staging_parent = NULL;
        int r;

        r = home_luks_volume_activate(s->volume, s->dm_name, settings->discard);
        if (r < 0)
                return home_error(err, r, "%s: cannot open the LUKS2 volume (device-mapper): %s", s->dm_node,
                                  s->volume->log[0] ? s->volume->log : strerror(-r));
        s->dm_open = true;

        if (make_fs) {
                r = home_mkfs(s->dm_node, settings->fs_type, l->user_name, fs_uuid, settings->discard);
                if (r < 0)
                        return home_error(err, r, "%s: mkfs.%s failed: %s", s->dm_node, settings->fs_type,
                                          strerror(-r));
        } else {
                r = home_fsck(s->dm_node);
                if (r < 0)
                        return home_error(err, r, "%s: the file system has errors fsck cannot repair",
                                          s->dm_node);
        }

        staging_parent = strdup(l->staging);
        if (!staging_parent)
                return -ENOMEM;
        *strrchr(staging_parent, '/') = '\0';
        r = mkdir_parents_and_self(staging_parent, 0700);
        if (r < 0)
                return home_error(err, r, "%s: cannot create: %s", staging_parent, strerror(-r));
        if (mkdir(l->staging, 0700) < 0 && errno != EEXIST)
                return home_error(err, -errno, "%s: cannot create: %m", l->staging);
        if (mount(s->dm_node, l->staging, settings->fs_type,
                  MS_NOSUID | MS_NODEV | MS_RELATIME | l->mount_flags,
                  home_mount_options(settings->fs_type, settings->discard)) < 0)
                return home_error(err, -errno, "%s: cannot mount %s: %m", l->staging, s->dm_node);
        s->staging = l->staging;
        return 0;
}

/* Ends an operation that mounted the volume: with activate the home directory home_fd is bind-mounted on
 * /home/<user> and the kernel keeps dm and loop device (the loop detaches itself once dm closes);
 * without, everything is closed. home_fd is closed either way (an open descriptor would keep the staging
 * mount busy). */
static int finish_mount(LuksSetup *s, const HomeLayout *l, int *home_fd, const char *home_path,
                        bool activate, RecordError *err)
{
        int r = 0;

        if (activate)
                r = home_bind_mount(l, *home_fd, home_path, err);
        *home_fd = safe_close(*home_fd);
        if (r < 0)
                return r;
        if (umount2(s->staging, UMOUNT_NOFOLLOW) < 0) {
                r = -errno;
                if (activate)
                        (void) umount2(l->home_directory, UMOUNT_NOFOLLOW);
                return home_error(err, r, "%s: cannot unmount: %s", s->staging, strerror(-r));
        }
        (void) rmdir(s->staging);
        s->staging = NULL;
        if (!activate)
                return 0;
        r = home_loop_relinquish(s->loop);
        if (r < 0) {
                (void) umount2(l->home_directory, UMOUNT_NOFOLLOW);
                return home_error(err, r, "%s: cannot hand the loop device to the kernel: %s", s->loop->node,
                                  strerror(-r));
        }
        s->volume = home_luks_volume_free(s->volume);
        s->dm_open = false; /* stays open: it is the active home now */
        return 0;
}

static int set_binding_string(json_t *binding, const char *key, const char *value)
{
        json_t *old = json_object_get(binding, key);

        if (json_is_string(old) && streq(json_string_value(old), value))
                return 0;
        return json_object_set_new(binding, key, json_string(value)) < 0 ? -ENOMEM : 1;
}

/* homed's binding of a LUKS home: where the volume is and what it is. NULL values are left alone. */
static int update_binding(json_t *binding, const HomeLuksSettings *settings, const char *partition_uuid,
                          const char *luks_uuid, const char *fs_uuid)
{
        const char *keys[] = { "partitionUuid", "luksUuid",       "fileSystemUuid",
                               "luksCipher",    "luksCipherMode", "fileSystemType" };
        const char *values[] = { partition_uuid,        luks_uuid,        fs_uuid, settings->cipher,
                                 settings->cipher_mode, settings->fs_type };
        int changed = 0;

        if (!binding)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                int r = values[i] ? set_binding_string(binding, keys[i], values[i]) : 0;

                if (r < 0)
                        return r;
                changed |= r;
        }
        if (json_integer_value(json_object_get(binding, "luksVolumeKeySize")) !=
            (json_int_t) settings->volume_key_size) {
                if (json_object_set_new(binding, "luksVolumeKeySize",
                                        json_integer((json_int_t) settings->volume_key_size)) < 0)
                        return -ENOMEM;
                changed = 1;
        }
        return changed;
}

static int make_home_directory(const char *staging, const char *user_name, bool btrfs, int *ret_fd,
                               char **ret_path)
{
        _cleanup_close_ int root_fd = -1, fd = -1;
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", staging, user_name) < 0)
                return -ENOMEM;
        root_fd = open(staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;
        /* homed prefers a subvolume on btrfs (snapshots of just the home); a directory otherwise. */
        if (btrfs) {
                struct btrfs_ioctl_vol_args args = {};

                snprintf(args.name, sizeof(args.name), "%s", user_name);
                if (ioctl(root_fd, BTRFS_IOC_SUBVOL_CREATE, &args) < 0)
                        return -errno;
        } else if (mkdirat(root_fd, user_name, 0700) < 0)
                return -errno;
        fd = openat(root_fd, user_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        *ret_path = TAKE_PTR(path);
        return 0;
}

static int luks_realize(Home *h, const HomeLayout *l, const char *password, bool activate, json_t *binding,
                        RecordError *err)
{
        _cleanup_(luks_setup_undo) LuksSetup s = { .image_fd = -1 };
        _cleanup_free_ char *tmp = NULL, *parent = NULL, *embedded_text = NULL, *home_path = NULL;
        _cleanup_json_ json_t *embedded = NULL;
        _cleanup_close_ int home_fd = -1, parent_fd = -1;
        char partition_uuid[ID128_UUID_STRING_MAX], luks_uuid[ID128_UUID_STRING_MAX],
                fs_uuid[ID128_UUID_STRING_MAX];
        HomeLuksSettings settings;
        HomeGptPartition part;
        struct statvfs sv;
        uint64_t size;
        int r;

        r = luks_setup_init(&s, l);
        if (r < 0)
                return home_error(err, r, "%s: user name too long for a device-mapper name", l->user_name);
        r = home_luks_settings_from_record(l->record, l->machine_id, &settings, err);
        if (r < 0)
                return r;
        r = home_embedded_record(l->record, &embedded);
        if (r >= 0)
                r = home_format_embedded(l->record, &embedded_text);
        if (r < 0)
                return r;
        if (home_luks_dm_exists(s.dm_name) > 0)
                return home_error(err, -EBUSY, "%s: already exists", s.dm_node);

        r = path_join_root(h->root, HOME_DIR, &parent);
        if (r < 0)
                return r;
        r = mkdir_parents_and_self(parent, 0755);
        if (r < 0)
                return home_error(err, r, "%s: cannot create: %s", parent, strerror(-r));
        r = remove_leftovers(l, err);
        if (r < 0)
                return r;
        if (statvfs(parent, &sv) < 0)
                return home_error(err, -errno, "%s: %m", parent);
        r = home_luks_image_size(&settings, (uint64_t) sv.f_bavail * sv.f_frsize, &size);
        if (r < 0)
                return home_error(err, r, "%s: %s", parent,
                                  r == -ERANGE ? "not enough free space for the smallest home"
                                               : strerror(-r));

        r = home_sibling_temp_path(l->image_path, "homework", &tmp);
        if (r < 0)
                return r;
        s.image_fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (s.image_fd < 0)
                return home_error(err, -errno, "%s: cannot create: %m", tmp);
        set_nocow(s.image_fd);
        /* Sparse: blocks are allocated as the home fills (docs/homes.md says what that costs). */
        if (ftruncate(s.image_fd, (off_t) size) < 0) {
                r = home_error(err, -errno, "%s: cannot size to %llu bytes: %m", tmp,
                               (unsigned long long) size);
                goto fail;
        }
        if ((r = id128_random_uuid(partition_uuid)) < 0 || (r = id128_random_uuid(luks_uuid)) < 0 ||
            (r = id128_random_uuid(fs_uuid)) < 0)
                goto fail;
        r = home_gpt_make(s.image_fd, l->user_name, partition_uuid, &part);
        if (r < 0) {
                r = home_error(err, r, "%s: cannot write the partition table: %s", tmp, strerror(-r));
                goto fail;
        }
        r = home_loop_attach(s.image_fd, part.offset, part.size, settings.sector_size, &s.loop);
        if (r < 0) {
                r = home_error(err, r, "%s: cannot attach a loop device: %s", tmp, strerror(-r));
                goto fail;
        }
        r = home_luks_volume_format(s.loop->node, &settings, luks_uuid, l->user_name, password, embedded,
                                    &s.volume, err);
        if (r < 0)
                goto fail;
        crash_point("home-realize:formatted");

        r = open_and_mount(&s, l, &settings, true, fs_uuid, err);
        if (r < 0)
                goto fail;
        r = make_home_directory(l->staging, l->user_name, streq(settings.fs_type, "btrfs"), &home_fd,
                                &home_path);
        if (r < 0) {
                r = home_error(err, r, "%s/%s: cannot create the home directory: %s", l->staging,
                               l->user_name, strerror(-r));
                goto fail;
        }
        r = home_populate(h, l, home_fd, home_path, embedded_text, strlen(embedded_text), err);
        if (r < 0)
                goto fail;
        if (syncfs(home_fd) < 0) {
                r = home_error(err, -errno, "%s: cannot sync: %m", home_path);
                goto fail;
        }
        r = finish_mount(&s, l, &home_fd, home_path, activate, err);
        if (r < 0)
                goto fail;
        if (!activate) {
                r = dm_close_retrying(s.dm_name);
                if (r < 0) {
                        r = home_error(err, r, "%s: cannot close: %s", s.dm_node, strerror(-r));
                        goto fail;
                }
                s.dm_open = false;
        }

        if (fsync(s.image_fd) < 0) {
                r = home_error(err, -errno, "%s: cannot sync: %m", tmp);
                goto fail_active;
        }
        /* NOREPLACE: an image that appeared meanwhile is someone else's; never swap it for ours. */
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, l->image_path, RENAME_NOREPLACE) < 0) {
                r = home_error(err, -errno, "%s: cannot rename into place: %m", l->image_path);
                goto fail_active;
        }
        parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent_fd >= 0)
                (void) fsync(parent_fd);
        crash_point("home-realize:renamed");
        return update_binding(binding, &settings, partition_uuid, luks_uuid, fs_uuid);

fail_active:
        if (activate) {
                (void) umount2(l->home_directory, UMOUNT_NOFOLLOW);
                (void) dm_close_retrying(s.dm_name);
        }
fail:
        luks_setup_undo(&s);
        (void) erase_image(tmp, l->user_name, NULL);
        return r;
}

static int probe_fs_uuid(const char *node, char ret[static ID128_UUID_STRING_MAX])
{
        blkid_probe b = blkid_new_probe_from_filename(node);
        const char *uuid = NULL;
        int r = -ENOENT;

        if (!b)
                return -errno ?: -EIO;
        (void) blkid_probe_enable_superblocks(b, 1);
        (void) blkid_probe_set_superblocks_flags(b, BLKID_SUBLKS_UUID);
        if (blkid_do_safeprobe(b) == 0 && blkid_probe_lookup_value(b, "UUID", &uuid, NULL) == 0 &&
            id128_is_uuid(uuid)) {
                snprintf(ret, ID128_UUID_STRING_MAX, "%s", uuid);
                r = 0;
        }
        blkid_free_probe(b);
        return r;
}

/* The record in the token must be this user's, and not newer than the host record: a newer one means
 * the image comes from elsewhere, and records here come only from our own signed grants. */
static int check_token_record(const HomeLayout *l, json_t *token_record, RecordError *err)
{
        uint64_t host_change = 0, token_change = 0;
        const char *name = user_record_user_name(token_record);

        if (!name || !streq(name, l->user_name))
                return home_error(err, -EREMCHG,
                                  "%s: the LUKS2 header holds the record of \"%s\", not of %s",
                                  l->image_path, strempty(name), l->user_name);
        (void) user_record_last_change_usec(l->record, &host_change);
        (void) user_record_last_change_usec(token_record, &token_change);
        if (token_change > host_change)
                return home_error(err, -ESTALE,
                                  "%s: the LUKS2 header holds a newer record than this machine's",
                                  l->image_path);
        return 0;
}

/* Opens image, partition, loop device and LUKS2 header, and gets the volume key with passwords. */
static int open_volume(LuksSetup *s, const HomeLayout *l, const HomeLuksSettings *settings, json_t *binding,
                       char *const *passwords, HomeGptPartition *ret_part, int *ret_index, RecordError *err)
{
        HomeGptPartition part;
        struct stat st;
        int r;

        s->image_fd = open(l->image_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (s->image_fd < 0)
                return home_error(err, -errno, "%s: cannot open: %m", l->image_path);
        if (fstat(s->image_fd, &st) < 0)
                return home_error(err, -errno, "%s: %m", l->image_path);
        if (!S_ISREG(st.st_mode))
                return home_error(err, -EBADFD, "%s: not a regular file", l->image_path);
        r = home_gpt_find(s->image_fd, l->user_name, binding_string(binding, "partitionUuid"), &part);
        if (r < 0)
                return home_error(err, r, "%s: no single home partition named %s%s: %s", l->image_path,
                                  l->user_name,
                                  binding_string(binding, "partitionUuid") ? " with the bound UUID" : "",
                                  strerror(-r));
        r = home_loop_attach(s->image_fd, part.offset, part.size, settings->sector_size, &s->loop);
        if (r < 0)
                return home_error(err, r, "%s: cannot attach a loop device: %s", l->image_path,
                                  strerror(-r));
        r = home_luks_volume_load(s->loop->node, binding_string(binding, "luksUuid"), l->user_name, settings,
                                  &s->volume);
        if (r < 0)
                return home_error(err, r, "%s: %s", l->image_path,
                                  r == -EMEDIUMTYPE ? "the LUKS2 header is not the one bound to this user"
                                                    : "no LUKS2 header");
        r = home_luks_volume_unlock(s->volume, passwords);
        if (r == -ENOKEY)
                return home_error(err, r,
                                  "%s: no password given opens the volume (after a password change, the "
                                  "previous password is needed once as well)",
                                  l->image_path);
        if (r < 0)
                return home_error(err, r, "%s: cannot unlock: %s", l->image_path, strerror(-r));
        *ret_index = r;
        *ret_part = part;
        return 0;
}

static int luks_activate(Home *h, const HomeLayout *l, const char *password, char *const *passwords,
                         json_t *binding, RecordError *err)
{
        _cleanup_(luks_setup_undo) LuksSetup s = { .image_fd = -1 };
        _cleanup_json_ json_t *token_record = NULL, *embedded = NULL;
        _cleanup_free_ char *embedded_text = NULL, *home_path = NULL;
        _cleanup_close_ int home_fd = -1;
        char fs_uuid[ID128_UUID_STRING_MAX], luks_uuid[ID128_UUID_STRING_MAX];
        HomeLuksSettings settings;
        HomeGptPartition part;
        int r, index = -1;

        r = luks_setup_init(&s, l);
        if (r < 0)
                return home_error(err, r, "%s: user name too long for a device-mapper name", l->user_name);
        r = home_luks_settings_from_record(l->record, l->machine_id, &settings, err);
        if (r < 0)
                return r;
        r = home_embedded_record(l->record, &embedded);
        if (r >= 0)
                r = home_format_embedded(l->record, &embedded_text);
        if (r < 0)
                return r;
        /* Not mounted (the engine checked), yet open: left over by a crash during activation. */
        if (home_luks_dm_exists(s.dm_name) > 0 && dm_close_retrying(s.dm_name) < 0)
                return home_error(err, -EBUSY, "%s: open and cannot be closed", s.dm_node);

        r = open_volume(&s, l, &settings, binding, passwords, &part, &index, err);
        if (r < 0)
                return r;
        snprintf(luks_uuid, sizeof(luks_uuid), "%s", crypt_get_uuid(s.volume->cd) ?: "");
        r = home_luks_volume_read_record(s.volume, &token_record);
        if (r < 0)
                return home_error(err, r, "%s: the LUKS2 header has no readable systemd-homed token: %s",
                                  l->image_path, strerror(-r));
        r = check_token_record(l, token_record, err);
        if (r < 0)
                return r;

        /* The keyslot policy (docs/homes.md): one keyslot, holding the password the record accepts. */
        if (!streq(passwords[index], password) || home_luks_volume_keyslots(s.volume) > 1) {
                r = home_luks_volume_rekey(s.volume, &settings, password);
                if (r < 0)
                        return home_error(err, r, "%s: cannot replace the old keyslot: %s", l->image_path,
                                          s.volume->log[0] ? s.volume->log : strerror(-r));
                crash_point("home-activate:rekeyed");
        }
        if (!json_equal(token_record, embedded)) {
                r = home_luks_volume_store_record(s.volume, embedded);
                if (r < 0)
                        return home_error(err, r, "%s: cannot update the record in the LUKS2 header: %s",
                                          l->image_path, strerror(-r));
        }

        r = open_and_mount(&s, l, &settings, false, NULL, err);
        if (r < 0)
                return r;
        if (asprintf(&home_path, "%s/%s", l->staging, l->user_name) < 0)
                return -ENOMEM;
        home_fd = open(home_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (home_fd < 0)
                return home_error(err, -errno, "%s: no home directory in the file system: %m", home_path);
        r = write_file_atomic(home_fd, ".identity", embedded_text, strlen(embedded_text), 0600, l->uid,
                              l->gid);
        if (r < 0)
                return home_error(err, r, "%s/.identity: cannot update: %s", home_path, strerror(-r));
        if (probe_fs_uuid(s.dm_node, fs_uuid) < 0)
                fs_uuid[0] = '\0';
        r = finish_mount(&s, l, &home_fd, home_path, true, err);
        if (r < 0)
                return r;
        /* Fills in what a crash between realize's rename and its binding update left out. */
        return update_binding(binding, &settings, part.uuid, id128_is_uuid(luks_uuid) ? luks_uuid : NULL,
                              fs_uuid[0] ? fs_uuid : NULL);
}

static int luks_deactivate(Home *h, const HomeLayout *l, RecordError *err)
{
        char dm_name[64];
        int r;

        snprintf(dm_name, sizeof(dm_name), DM_NAME_PREFIX "%s", l->user_name);
        if (umount2(l->home_directory, UMOUNT_NOFOLLOW) < 0) {
                if (errno == EBUSY)
                        return home_error(err, -EBUSY, "%s: home is in use", l->home_directory);
                if (errno != EINVAL) /* EINVAL: not mounted; the volume may still be open */
                        return home_error(err, -errno, "%s: cannot unmount: %m", l->home_directory);
        }
        (void) rmdir(l->home_directory);
        /* The loop device below detaches itself once dm is closed (activation relinquished it). */
        r = dm_close_retrying(dm_name);
        if (r < 0)
                return home_error(err, r, "/dev/mapper/%s: cannot close: %s", dm_name, strerror(-r));
        return 0;
}

static int luks_lock(Home *h, const HomeLayout *l, RecordError *err)
{
        _cleanup_close_ int fd = -1;
        char dm_name[64];
        int r;

        snprintf(dm_name, sizeof(dm_name), DM_NAME_PREFIX "%s", l->user_name);
        /* What is written before the suspend must be on disk: after it, the key is gone from the kernel. */
        fd = open(l->home_directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || syncfs(fd) < 0)
                return home_error(err, -errno, "%s: cannot sync: %m", l->home_directory);
        r = home_luks_dm_suspend(dm_name);
        if (r < 0)
                return home_error(err, r, "/dev/mapper/%s: cannot suspend: %s", dm_name, strerror(-r));
        return 0;
}

static int luks_unlock(Home *h, const HomeLayout *l, char *const *passwords, RecordError *err)
{
        char dm_name[64];
        int r;

        snprintf(dm_name, sizeof(dm_name), DM_NAME_PREFIX "%s", l->user_name);
        r = home_luks_dm_resume(dm_name, passwords);
        if (r == -ENOKEY)
                return home_error(err, r, "/dev/mapper/%s: no password given opens the volume", dm_name);
        if (r < 0)
                return home_error(err, r, "/dev/mapper/%s: cannot resume: %s", dm_name, strerror(-r));
        return 0;
}

/* Inactive: the file system is closed, and .identity (and the token) are brought up to date at the next
 * activation, which has the key. Active (the engine calls this only then): written through the mount. */
static int luks_update_identity(Home *h, const HomeLayout *l, const char *embedded, size_t size)
{
        _cleanup_close_ int fd = -1;
        int r = home_path_is_mount_point(l->home_directory);

        if (r <= 0)
                return r;
        fd = open(l->home_directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return write_file_atomic(fd, ".identity", embedded, size, 0600, l->uid, l->gid);
}

static int luks_remove(Home *h, const HomeLayout *l, RecordError *err)
{
        _cleanup_free_ char *tmp = NULL;
        char dm_name[64];
        int r;

        /* A locked (suspended) home reaches here still mounted: unmounting it normally would block until
         * it is resumed, which needs a password we do not have at revocation. Its key is already gone from
         * the kernel; it is detached lazily and its device closed by force. */
        snprintf(dm_name, sizeof(dm_name), DM_NAME_PREFIX "%s", l->user_name);
        if (home_path_is_mount_point(l->home_directory) > 0 &&
            umount2(l->home_directory, UMOUNT_NOFOLLOW | MNT_DETACH) < 0)
                return home_error(err, -errno, "%s: cannot detach: %m", l->home_directory);
        if (home_luks_dm_exists(dm_name) > 0) {
                r = home_luks_dm_close_force(dm_name);
                if (r < 0)
                        return home_error(err, r, "/dev/mapper/%s: cannot close: %s", dm_name, strerror(-r));
        }

        r = home_sibling_temp_path(l->image_path, "removing", &tmp);
        if (r < 0)
                return r;
        /* First out of homed's sight, then erased and deleted; a crash in between leaves a leftover that
         * the next remove (or realize) erases. */
        if (rename(l->image_path, tmp) < 0) {
                if (errno != ENOENT)
                        return home_error(err, -errno, "%s: cannot remove: %m", l->image_path);
        } else {
                crash_point("home-remove:renamed");
                r = erase_image(tmp, l->user_name, err);
                if (r < 0)
                        return r;
        }
        r = remove_leftovers(l, err);
        if (r < 0)
                return r;
        (void) rmdir(l->home_directory);
        return 0;
}

static int luks_probe(Home *h, const HomeLayout *l)
{
        struct stat st;

        if (lstat(l->image_path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return S_ISREG(st.st_mode) ? 1 : 0;
}

const HomeStorage home_storage_luks = {
        .name = "luks",
        .image_suffix = ".home",
        .needs_password = true,
        .create = NULL,
        .realize = luks_realize,
        .update_identity = luks_update_identity,
        .activate = luks_activate,
        .deactivate = luks_deactivate,
        .lock = luks_lock,
        .unlock = luks_unlock,
        .remove = luks_remove,
        .probe = luks_probe,
};
