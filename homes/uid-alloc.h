/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "macros.h"

/* The UID range systemd-homed 252 assigns to the homes it manages (HOME_UID_MIN..HOME_UID_MAX). A home's
 * UID is also its GID: every home has its own group with the same number. */
#define HOME_UID_MIN ((uid_t) 60001)
#define HOME_UID_MAX ((uid_t) 60513)

/* Largest passwd or group database we read. They belong to the image, not to an attacker, but a bound
 * keeps a corrupt or hostile tree from exhausting memory. */
#define UID_ALLOC_DB_MAX (16U * 1024U * 1024U)

/* homed's first candidate for user_name: SipHash-2-4 of the name's bytes under homed's fixed 16-byte key,
 * truncated to 32 bits, reduced into the range. Same name, same UID on every machine, as homed does. */
uid_t uid_alloc_first_candidate(const char *user_name);

/* The next candidate after uid, wrapping from HOME_UID_MAX to HOME_UID_MIN. Our fallback when the first
 * candidate is taken is this deterministic probe rather than homed's random retries, so that an image
 * built offline twice from the same input gets the same UIDs. */
uid_t uid_alloc_next_candidate(uid_t uid);

/* The users and groups a root already knows, read from the files of that tree (never from NSS, which
 * would describe the running system rather than the tree under --root). */
typedef struct UidUsage {
        uid_t *ids; /* sorted, may hold duplicates */
        size_t n;
} UidUsage;

UidUsage *uid_usage_free(UidUsage *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(UidUsage *, uid_usage_free)

/* Reads $ROOT/etc/passwd (uid field), $ROOT/etc/group (gid field) and, when present, Ubuntu Core's
 * $ROOT/var/lib/extrausers/{passwd,group}. A missing file counts as empty; lines that are not
 * NAME:PW:NUMBER:... are ignored as glibc's files module does. A symlink is refused (-ELOOP): under a
 * --root prefix it would lead outside the tree. extra_ids (n_extra of them) are added: the UIDs of the
 * other homes, which the caller knows. */
int uid_usage_load(const char *root, const uid_t *extra_ids, size_t n_extra, UidUsage **ret);

bool uid_usage_contains(const UidUsage *u, uid_t id);

/* Counts id as used from now on (kept sorted): a batch of homes picks each next UID against the ones it
 * already gave out, without reading the files again. */
int uid_usage_mark(UidUsage *u, uid_t id);

/* Picks the UID (and GID) for a new home of user_name: the first candidate, then the next ones, skipping
 * every number in use as a UID or GID. -EBUSY when the whole range is taken. */
int uid_alloc_pick(const UidUsage *used, const char *user_name, uid_t *ret);
