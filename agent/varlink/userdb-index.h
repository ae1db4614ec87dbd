/* SPDX-License-Identifier: MIT */
#pragma once

/* The records io.systemd.UserDatabase serves, each read and verified once, found by user name and by uid,
 * with their answers prepared as text (an answer is then a copy).
 *
 * One entry per host record file ($ROOT/var/lib/systemd/home/<user>.identity). A scan lists that directory
 * and stats every file: a file that is new, or whose identity (device, inode, size, mtime, ctime) is not
 * the one its entry was read from, makes its entry stale; a file gone takes its entry away. Writers
 * replace host records whole (a temporary file renamed over the old one), so a new version is a new inode
 * while the old one still exists; an edit in place shows in the size or the times. (Blind spot: a file
 * replaced more than once between two scans, by one of the same size that reuses the inode of the version
 * the entry was read from, within one tick of the file system's clock, looks unchanged until it changes
 * again. corehomed's writers change a record at most a few times per operation and the daemon scans after
 * each operation.)
 *
 * A stale entry is read when it is first needed: a lookup of its name reads it; a lookup by uid and an
 * enumeration read every stale entry first. userdb_index_load_some() reads some ahead of need, so that
 * the daemon, calling it when idle, has the index whole soon after it starts without making a lookup wait
 * for all of it. Reading opens the file once (no symlinks, a regular file, bounded), validates the record,
 * keeps it only when it is ours (userdb_record_is_ours()) and renders the answers.
 *
 * The index does not look at the clock: whether a grant ran out (not_after) is the service's to check at
 * answer time, so an expired user vanishes at its until whenever the index was made. Nor does it take the
 * root's lock: it reads as every reader does (see root-lock.h); its owner scans again when the root
 * changed. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "home.h"
#include "macros.h"
#include "time-util.h"

typedef struct UserdbIndex UserdbIndex;

/* The compact JSON text of an object, NUL-terminated (size without the NUL). */
typedef struct UserdbText {
        char *data;
        size_t size;
} UserdbText;

/* A served record, as the answers need it. */
typedef struct UserdbRecord {
        const char *key;       /* the file's name without .identity: what lookups by name find */
        const char *user_name; /* the record's userName */
        uid_t uid;             /* from this machine's binding; also the per-user group's gid */
        usec_t not_after;      /* the grant's end (userdb_record_end()); USEC_INFINITY without one */
        char **member_of;      /* the string entries of memberOf, NULL-terminated */
        /* Parameters of GetUserRecord ({"record": ..., "incomplete": ...}) for root and the user itself,
         * and for anybody else (without the privileged section; the same text when it has none). */
        UserdbText user_privileged;
        UserdbText user_other;
        UserdbText group; /* parameters of GetGroupRecord for the per-user group */
} UserdbRecord;

/* An empty index of the homes of home (borrowed: must outlive the index); its answers name service_name
 * (copied) as the record's service. Nothing is read before the first scan. */
int userdb_index_new(Home *home, const char *service_name, UserdbIndex **ret);
UserdbIndex *userdb_index_free(UserdbIndex *x);
DEFINE_TRIVIAL_CLEANUP_FUNC(UserdbIndex *, userdb_index_free)
#define _cleanup_userdb_index_ _cleanup_(userdb_index_freep)

const char *userdb_index_service_name(const UserdbIndex *x);

/* Lists the directory and stats every host record (reads none): see above. A missing directory is an
 * empty index. */
int userdb_index_scan(UserdbIndex *x);

/* The same for the one host record of user_name (a name that is not valid syntax changes nothing). */
int userdb_index_scan_name(UserdbIndex *x, const char *user_name);

/* Reads up to max stale entries; returns how many are still stale afterwards. */
size_t userdb_index_load_some(UserdbIndex *x, size_t max);

/* Entries still to be read (0: the index is whole). */
size_t userdb_index_stale(const UserdbIndex *x);

/* The served record of key user_name (reading its entry when stale). -ENOENT when there is none. */
int userdb_index_get_name(UserdbIndex *x, const char *user_name, const UserdbRecord **ret);

/* The served records whose uid is uid, sorted by key (normally one, none is 0), after reading every stale
 * entry. *ret is a new array (free() it; NULL when none) of pointers into the index. */
int userdb_index_get_uid(UserdbIndex *x, uid_t uid, const UserdbRecord ***ret, size_t *ret_n);

/* Every served record sorted by key, after reading every stale entry. The array belongs to the index and
 * stays valid until the next scan or read. */
int userdb_index_list(UserdbIndex *x, const UserdbRecord *const **ret, size_t *ret_n);

/* The keys (user names) of the entries read so far whose record carries our grant extension but no binding
 * for this machine: homes made on an image before its first boot (home_bind() is theirs; it checks the
 * signature). Stale entries are not looked at. *ret: NULL-terminated (NULL when none; strv_free() it);
 * returns how many. ret may be NULL: only counts them. */
int userdb_index_unbound(UserdbIndex *x, char ***ret);

/* The earliest not_after of the served records (USEC_INFINITY when none ends), after reading every stale
 * entry. */
int userdb_index_next_expiry(UserdbIndex *x, usec_t *ret);
