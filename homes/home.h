/* SPDX-License-Identifier: MIT */
#pragma once

/* The home engine: creates, updates, activates and removes homes exactly as systemd-homed 252 lays them
 * out, so that homed (and nss-systemd through our userdb service) accept them as their own.
 *
 *   $ROOT/var/lib/systemd/home/<user>.identity   host record, root 0600, with binding.<machine-id>
 *   $ROOT/home/<user>.homedir/                   the home (directory or btrfs subvolume storage),
 * user-owned, accessMode (0700) $ROOT/home/<user>.home                       the home (luks storage): GPT +
 * LUKS2 + ext4/btrfs image, root 0600, made at the first login (home_realize())
 *   $ROOT/home/<user>.homedir/.identity          embedded record, user-owned 0600, no binding
 *   $ROOT/home/<user>                            mount point while active (root 0700), bind mount of the
 * above $ROOT/var/lib/corehomed/homes/<user>.active  we mounted it and have not unmounted it yet (dirty if
 * stale) $ROOT/run/corehomed/homes/<user>.locked      locked (see home_lock())
 *
 * Every operation works under one root prefix. A context made without HOME_ALLOW_MOUNT (offline work on
 * an image with --root) never mounts or unmounts anything: activation is the daemon's job at run time. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "engine-key.h"
#include "macros.h"
#include "time-util.h"
#include "user-record.h"

#define HOME_HOST_RECORD_DIR   "/var/lib/systemd/home"
#define HOME_DIR               "/home"
#define HOME_ACTIVE_MARKER_DIR "/var/lib/corehomed/homes"
#define HOME_LOCKED_MARKER_DIR "/run/corehomed/homes"
#define HOME_DEFAULT_SKELETON  "/etc/skel"
#define HOME_MACHINE_ID_PATH   "/etc/machine-id"
/* What systemd's image tools write into /etc/machine-id for the first boot to fill in. */
#define HOME_MACHINE_ID_UNINITIALIZED "uninitialized"

/* homed's names for the states a home can be in (the subset directory storage can reach). */
typedef enum HomeState {
        HOME_STATE_ABSENT,   /* host record present, the home itself missing */
        HOME_STATE_INACTIVE, /* present, not mounted */
        HOME_STATE_DIRTY,  /* not mounted, but was not deactivated cleanly (crash or reboot while active) */
        HOME_STATE_ACTIVE, /* mounted on /home/<user> */
        HOME_STATE_LOCKED, /* mounted, locked */
        _HOME_STATE_MAX,
} HomeState;

const char *home_state_to_string(HomeState s);

typedef enum HomeFlags {
        HOME_ALLOW_MOUNT = 1U << 0, /* run time on the real system: activation may mount */
} HomeFlags;

/* The engine context: everything an operation needs, nothing global. */
typedef struct Home {
        char *root;          /* NULL for "/" */
        char machine_id[33]; /* from $ROOT/etc/machine-id, 32 lower-case hex digits; "" before the tree's
                                first boot (see home_new()) */
        EngineKey *key;
        usec_t now; /* fixed clock (--now, tests); 0 = the real clock */
        unsigned flags;
        const char *fail_at;     /* tests only: the named step of home_create() fails with -EIO */
        struct HomeBatch *batch; /* between home_batch_begin() and home_batch_end() (home-batch.h) */
} Home;

Home *home_free(Home *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Home *, home_free)
#define _cleanup_home_ _cleanup_(home_freep)

/* Makes a context for root (NULL or "/" for the running system): reads the machine-id (bindings are keyed
 * by it; -ENOMEDIUM when malformed), loads or creates the engine key and installs its public half where
 * homed trusts it (see engine-key.h).
 *
 * An image before its first boot has no machine-id yet: /etc/machine-id missing, empty or "uninitialized"
 * (what systemd's first boot fills in). Such a tree can still be preseeded: homes are made and their
 * records written without a binding (a home's uid is then its image's owner), and home_bind() adds this
 * machine's binding once the machine has its id, as homed does for a record without one. */
int home_new(const char *root, unsigned flags, Home **ret, RecordError *err);

/* Whether the tree has its machine-id (else records are made unbound). */
bool home_has_machine_id(const Home *h);
/* Reads the machine-id again (it appears at the first boot): 1 when there is one now, 0 when not yet. */
int home_reload_machine_id(Home *h);

/* Adds this machine's binding {gid, imagePath, storage, uid} to the host record of user_name when it has
 * none (a home made on an image before its first boot): the uid is the home image's owner, or one chosen as
 * home_create() does for a home without an image yet (luks before its first login). Returns 1 when it
 * bound the home, 0 when it was bound already; -ENOMEDIUM without a machine-id, -EPERM for a record we did
 * not sign (not ours to bind), -EEXIST when the image's owner is another user's uid here. *ret_uid
 * (optional): the home's uid. */
int home_bind(Home *h, const char *user_name, uid_t *ret_uid, RecordError *err);

usec_t home_now(const Home *h);

/* Creates the home for record (a validated user record; storage directory, subvolume or luks, -EOPNOTSUPP
 * otherwise):
 *  1. refuses a user that already has a host record or a home (-EEXIST), a record whose homeDirectory or
 *     imagePath differ from /home/<user>[.homedir] (-EINVAL);
 *  2. takes the record's uid when it has one (-EEXIST when in use), else picks one as homed does
 *     (uid-alloc.h), skipping other homes, passwd and group; gid = uid;
 *  3. sets lastChangeUSec to the context's clock when the record has none; drops secret, status, any old
 *     signature and binding; adds binding.<machine-id> {gid, imagePath, storage, uid} (none before the
 *     first boot: home_bind()); signs with the key;
 *  4. writes the host record FIRST (homed adopts a home only if its record is there when the home appears),
 *     then builds the home under a temporary name (/home/.#homework<user>.homedir<random>), copies the
 *     skeleton (skeletonDirectory, default /etc/skel; missing = empty), writes ~/.identity and renames it
 *     into place. A subvolume home is a btrfs subvolume there, with a qgroup limit of diskSize. A luks home
 *     is not built: its record carries only a password hash, so it stays "absent" until home_realize().
 * Any failure removes everything this call created. *ret_record (optional): the host record written. */
int home_create(Home *h, json_t *record, json_t **ret_record, RecordError *err);

typedef enum HomeRealizeFlags {
        HOME_REALIZE_ACTIVATE = 1U << 0, /* leave the new home mounted on /home/<user> (first login) */
} HomeRealizeFlags;

/* Makes the absent luks home of user_name with password, which must match the record's hashedPassword
 * (crypt_r): sparse image /home/<user>.home sized from diskSize, GPT, LUKS2 keyed with password (PBKDF from
 * the record), the systemd-homed token, the file system, skeleton and ~/.identity; then this machine's
 * binding gets partitionUuid, luksUuid, fileSystemUuid, luksCipher, luksCipherMode, luksVolumeKeySize,
 * fileSystemType. Needs HOME_ALLOW_MOUNT (-EPERM) and device-mapper. -EOPNOTSUPP for other storage, -EEXIST
 * when the home is not absent, -ENOKEY when the record has no hashedPassword, -EKEYREJECTED for a wrong
 * password. A failure (or a crash, at the next realize or remove) erases what was made. */
int home_realize(Home *h, const char *user_name, const char *password, unsigned flags, RecordError *err);

/* Replaces the record of an existing home with a newer one (user_record_check_update(): same userName and
 * realm, newer lastChangeUSec; -ESTALE otherwise). The binding (uid, storage, paths) stays: a record
 * asking for another uid is refused (-EINVAL). Writes the host record, then ~/.identity when the home is
 * present. Returns USER_RECORD_UPDATE_SAME (and writes nothing) for an identical record. */
int home_update(Home *h, json_t *record, json_t **ret_record, RecordError *err);

/* Reads and validates the host record of user_name (-ENOENT without one). */
int home_load_record(Home *h, const char *user_name, json_t **ret, RecordError *err);

/* The state of user_name's home; -ENOENT when there is no host record. */
int home_state(Home *h, const char *user_name, HomeState *ret);

/* Mounts the home on /home/<user> (bind mount, always nosuid,nodev; noexec when the record's
 * mountNoExecute is true). -EPERM without HOME_ALLOW_MOUNT, -ENOENT without a record, -ENXIO when the
 * home is absent, -EALREADY when active or locked. A dirty home is activated (the mark is renewed).
 * A luks home needs home_activate_with_passwords() (-ENOKEY here). */
int home_activate(Home *h, const char *user_name, RecordError *err);

/* The same with the passwords a login brought (NULL-terminated, as homed's secret.password; directory and
 * subvolume homes ignore them). For a luks home one of them must match the record's hashedPassword
 * (-EKEYREJECTED otherwise, -ENOKEY when the record has none); the volume is unlocked with whichever of them
 * opens a keyslot (-ENOKEY when none does: after a password change the previous password is needed once,
 * next to the new one), then the keyslot policy of docs/homes.md applies: only the matching password keeps
 * a keyslot. The token and ~/.identity are brought up to date with the host record. */
int home_activate_with_passwords(Home *h, const char *user_name, char *const *passwords, RecordError *err);

/* Unmounts the home (-EBUSY while in use; a locked luks home too) and removes the mount point, closes a
 * luks home's volume; clears a dirty mark and a lock.
 * -EPERM without HOME_ALLOW_MOUNT (except for a dirty home, whose mark is simply cleared), -EALREADY when
 * inactive. */
int home_deactivate(Home *h, const char *user_name, RecordError *err);

/* homed's Lock suspends a LUKS home and drops its key, so any access blocks until Unlock: so does ours
 * (crypt_suspend; unlock = crypt_resume_by_passphrase, which needs home_unlock_with_passwords(), checked
 * against the record like activation). Directory and subvolume storage have no key to drop; the nearest
 * we can do is to freeze the content: lock remounts the active home read-only and records the locked state
 * (a runtime mark, gone after reboot like homed's); unlock remounts it read-write. Reads stay possible
 * while locked. -ENOTCONN when not active (homed refuses to lock an inactive home too), -EALREADY when
 * already locked/unlocked, -EPERM without HOME_ALLOW_MOUNT. */
int home_lock(Home *h, const char *user_name, RecordError *err);
int home_unlock(Home *h, const char *user_name, RecordError *err);
int home_unlock_with_passwords(Home *h, const char *user_name, char *const *passwords, RecordError *err);

/* Deactivates (when mounting is allowed; an active home without it is -EBUSY), then removes the home
 * (renamed out of homed's sight first, then deleted without following symlinks or crossing mounts; a
 * subvolume destroyed with nested subvolumes; a luks image cryptographically erased: every keyslot and the
 * header wiped, then the file deleted) and
 * finally the host record and marks: a crash in between leaves an "absent" home, never a home without a
 * record that homed would adopt. -ENOENT when there is neither record nor home. */
int home_remove(Home *h, const char *user_name, RecordError *err);

typedef struct HomeListEntry {
        char *user_name;
        uid_t uid; /* from this machine's binding, (uid_t) -1 when none */
        HomeState state;
        bool ours; /* the record verifies with our engine key */
} HomeListEntry;

void home_list_free(HomeListEntry *l, size_t n);

/* Every home with a host record under the root, sorted by user name. */
int home_list(Home *h, HomeListEntry **ret, size_t *ret_n);
