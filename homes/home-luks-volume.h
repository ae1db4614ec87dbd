/* SPDX-License-Identifier: MIT */
#pragma once

/* One LUKS2 volume of a home, through libcryptsetup, laid out as systemd-homed 252 formats it: 4 MiB of
 * metadata, label = user name, subsystem "systemd-home", a volume key we generate ourselves (homed keeps
 * it to encrypt the token), keyslot 0 = the password with the record's PBKDF, the systemd-homed token.
 * Everything here except activation, suspend and resume works on any block device or image file, without
 * device-mapper. Internal to libhomes. */

#include <jansson.h>
#include <libcryptsetup.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "home-luks-settings.h"
#include "macros.h"

/* Metadata area homed asks for (the largest LUKS2 allows), so the token has room for a large record. */
#define HOME_LUKS_METADATA_SIZE (4U * 1024U * 1024U)
#define HOME_LUKS_SUBSYSTEM     "systemd-home"
/* What is wiped when a header no longer loads: the largest LUKS2 header area (2 x 4 MiB metadata and
 * 128 MiB of keyslots), so that no keyslot survives whatever the header claimed. */
#define HOME_LUKS_HEADER_WIPE_FALLBACK (136ULL * 1024 * 1024)

typedef struct HomeLuksVolume {
        struct crypt_device *cd;
        uint8_t *volume_key; /* wiped on free */
        size_t volume_key_size;
        int keyslot;   /* the keyslot that opened the volume (or was made by format) */
        char log[256]; /* libcryptsetup's last error message, for the caller's error text */
} HomeLuksVolume;

HomeLuksVolume *home_luks_volume_free(HomeLuksVolume *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(HomeLuksVolume *, home_luks_volume_free)

/* Formats node: uuid for the header, label (the user name), s for cipher, key size, sector size and PBKDF,
 * one keyslot for password, and the token carrying record (the embedded record: no binding, status, secret).
 */
int home_luks_volume_format(const char *node, const HomeLuksSettings *s, const char *uuid, const char *label,
                            const char *password, json_t *record, HomeLuksVolume **ret, RecordError *err);

/* Loads node's LUKS2 header; refuses (-EMEDIUMTYPE) one whose UUID is not uuid (unless NULL), whose label is
 * not label, or whose cipher and key size are not s's: the binding says what the volume must be. */
int home_luks_volume_load(const char *node, const char *uuid, const char *label, const HomeLuksSettings *s,
                          HomeLuksVolume **ret);

/* Gets the volume key with the first of passwords (NULL-terminated) that opens a keyslot; sets v->keyslot.
 * Returns that password's index, -ENOKEY when none opens any. */
int home_luks_volume_unlock(HomeLuksVolume *v, char *const *passwords);

/* The keyslot policy (docs/homes.md): afterwards exactly one keyslot exists, and it holds password (which
 * the caller checked against the record). When v was unlocked by password's own keyslot, every other
 * keyslot is destroyed; otherwise a new keyslot for password is added first (s's PBKDF), then all others
 * are destroyed, so a crash in between leaves a volume both passwords open, never one neither does.
 * Returns the number of keyslots destroyed. */
int home_luks_volume_rekey(HomeLuksVolume *v, const HomeLuksSettings *s, const char *password);

/* Number of active keyslots. */
int home_luks_volume_keyslots(HomeLuksVolume *v);

/* The token: write record / read it back (home-luks-token.h) with v's volume key. */
int home_luks_volume_store_record(HomeLuksVolume *v, json_t *record);
int home_luks_volume_read_record(HomeLuksVolume *v, json_t **ret);

/* device-mapper: opens v as /dev/mapper/<dm_name> with its volume key. */
int home_luks_volume_activate(HomeLuksVolume *v, const char *dm_name, bool discard);

/* Is /dev/mapper/<dm_name> there? > 0 yes, 0 no (also when this kernel has no device-mapper). */
int home_luks_dm_exists(const char *dm_name);
/* Closes /dev/mapper/<dm_name>; 0 when it was not there. -EBUSY while mounted. */
int home_luks_dm_close(const char *dm_name);
/* Closes it even while in use or suspended (removal of a locked home): users get I/O errors. */
int home_luks_dm_close_force(const char *dm_name);
/* Suspends it and drops the key from the kernel (crypt_suspend), and resumes with the first password of
 * passwords that opens a keyslot (-ENOKEY when none does). */
int home_luks_dm_suspend(const char *dm_name);
int home_luks_dm_resume(const char *dm_name, char *const *passwords);

/* Cryptographic erase of the LUKS2 volume on node: every keyslot destroyed, then the whole header area
 * (up to the data offset; HOME_LUKS_HEADER_WIPE_FALLBACK when no header loads) overwritten with zeros and
 * synced. Afterwards no password opens anything and the data is noise. */
int home_luks_volume_erase(const char *node);
