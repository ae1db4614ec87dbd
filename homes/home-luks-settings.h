/* SPDX-License-Identifier: MIT */
#pragma once

/* How a LUKS home is (to be) built, read from its user record as systemd-homed 252 reads it: the regular
 * section, overridden by every perMachine entry whose matchMachineId names this machine (in order), and for
 * the properties of an existing volume (cipher, mode, key size, file system) by this machine's binding.
 * Defaults are homed's, except the file system (ext4 here, btrfs in homed: ext4 needs nothing beyond
 * e2fsprogs) and the image (sparse here; see docs/homes.md). Internal to libhomes. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "user-record.h"

#define HOME_LUKS_CIPHER_DEFAULT          "aes"
#define HOME_LUKS_CIPHER_MODE_DEFAULT     "xts-plain64"
#define HOME_LUKS_VOLUME_KEY_DEFAULT      32U /* bytes: AES-128-XTS, homed's default */
#define HOME_LUKS_PBKDF_DEFAULT           "argon2id"
#define HOME_LUKS_PBKDF_HASH_DEFAULT      "sha512"
#define HOME_LUKS_PBKDF_TIME_DEFAULT_USEC (500ULL * 1000ULL)    /* homed: 500 ms, not libcryptsetup's 2 s */
#define HOME_LUKS_PBKDF_MEMORY_DEFAULT    (64ULL * 1024 * 1024) /* bytes, argon2 only */
#define HOME_LUKS_FS_DEFAULT              "ext4"

/* Limits on what a record (which may come from a remote assertion) can ask for. Every login pays the PBKDF:
 * a record asking for an hour of it, or for more memory than the device has, would lock its user out (or
 * starve the device) at each attempt. libcryptsetup itself refuses argon2 memory above 4 GiB. */
#define HOME_LUKS_PBKDF_TIME_MAX_USEC (60ULL * 1000ULL * 1000ULL)
#define HOME_LUKS_PBKDF_MEMORY_MAX    (4ULL * 1024 * 1024 * 1024)
#define HOME_LUKS_PBKDF_THREADS_MAX   16U
/* homed's bounds on a home's size: below the minimum no file system fits beside GPT and LUKS2. */
#define HOME_LUKS_DISK_SIZE_MAX (5ULL * 1024 * 1024 * 1024 * 1024)
/* What GPT and the LUKS2 header (4 MiB metadata, as homed sets) take of the image (homed's measure). */
#define HOME_LUKS_OVERHEAD (18ULL * 1024 * 1024)
/* homed sizes a home without diskSize to this share of the backing file system's free space. */
#define HOME_LUKS_DISK_SIZE_DEFAULT_PERCENT 83U

typedef struct HomeLuksSettings {
        char cipher[16];
        char cipher_mode[32];
        size_t volume_key_size; /* bytes */
        char pbkdf_type[16];
        char pbkdf_hash[16];
        uint32_t pbkdf_time_ms;
        uint32_t pbkdf_memory_kb; /* 0 for pbkdf2 */
        uint32_t pbkdf_threads;   /* 0 for pbkdf2 */
        uint32_t sector_size;     /* 512..4096, a power of two */
        char fs_type[8];          /* ext4 | btrfs */
        bool discard;             /* luksDiscard: online discard (punches holes in the image) */
        uint64_t disk_size;       /* diskSize in bytes; 0 when the record has none */
} HomeLuksSettings;

/* Fills *ret from record (a validated record) for machine_id. -EINVAL with err naming the field for a
 * value outside the limits above or one we do not support (cipher other than aes-xts-plain64 with a 32 or
 * 64 byte key, PBKDF other than argon2id/argon2i/pbkdf2, hash other than sha256/sha512, file system other
 * than ext4/btrfs). */
int home_luks_settings_from_record(json_t *record, const char *machine_id, HomeLuksSettings *ret,
                                   RecordError *err);

/* The image size for s on a backing file system with available bytes free, as homed computes it: diskSize
 * (rounded down to 4 KiB), capped at what is available; without diskSize, 83% of it; never below the
 * minimum for the file system plus HOME_LUKS_OVERHEAD. -ERANGE when even the minimum is not available,
 * -EINVAL above HOME_LUKS_DISK_SIZE_MAX. */
int home_luks_image_size(const HomeLuksSettings *s, uint64_t available, uint64_t *ret);

/* The field of record that applies on machine_id (see above), or NULL. */
json_t *home_record_field(json_t *record, const char *machine_id, const char *key);
