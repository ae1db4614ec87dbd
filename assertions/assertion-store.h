/* SPDX-License-Identifier: MIT */
#pragma once

/* The on-disk side of the trust database:
 *
 *   $ROOT/etc/corehomed/trusted/NAME.assert            trusted roots (streams), read-only for us
 *   $ROOT/var/lib/corehomed/assertions/F-L.pack        stored assertions: packs (assertion-pack.h), F and L
 *                                                      the first and last batch each holds (16 hex digits)
 *
 * Commit: each batch the trust database accepts gets the next sequence number and becomes one new pack,
 * written to a temporary file, fsync'ed, renamed into place without replacing anything, then the directory
 * fsync'ed: one durable commit per batch, whatever its size, and the rename is the whole commit (a batch
 * is on disk whole or not at all). A pack never changes afterwards; for one key a newer pack wins.
 *
 * Merge: so that a lookup asks few packs, when the four newest packs are of one size tier (floor(log4 of
 * their assertion count)), a commit merges them into one, which may complete four of the next tier. A
 * commit merges once in about three, an assertion is rewritten about log4(n) times, and a store of n
 * assertions has at most three packs per tier. The merged pack F-L covers the packs it replaces; it is
 * renamed into place first, and they are deleted after.
 *
 * Readers take no lock. They list the directory, keep the packs no wider pack covers, open them and check
 * that together they hold batches 1..L without a gap; a pack deleted between the listing and the open, or
 * a gap (both mean a merge ran meanwhile), makes them list again. The mapped packs are the snapshot:
 * it stays one committed state, whole, as long as the reader keeps it.
 *
 * Leftovers of an interrupted writer (temporary files, covered packs not deleted yet) are invisible to
 * readers and removed by assertion_store_recover(), which only a writer holding the root's lock runs.
 *
 * The store was once one file per assertion, TYPE/KEY.assert, beside a time-floor file. Readers see such
 * files as the oldest layer; a writer's recovery or first commit moves them into a pack and deletes them. */

#include <stdbool.h>
#include <stdint.h>

#include "assertion.h"
#include "time-util.h"

#define ASSERTION_STORE_TRUSTED_DIR "/etc/corehomed/trusted"
#define ASSERTION_STORE_DIR         "/var/lib/corehomed/assertions"

typedef struct AssertionStore AssertionStore;

/* The store's key of an assertion: its type and primary-key values joined by ',', every byte of a value
 * outside [A-Za-z0-9_@+.-] (and a leading '.') percent-escaped, so no two identities share a key. */
int assertion_store_key(const Assertion *a, char **ret);
int assertion_store_key_from_values(const char *type, const char *const *values, char **ret);

/* Opens a snapshot of the store below root (NULL or "/": the running system). Changes nothing on disk.
 * A store that does not exist yet is an empty one. */
int assertion_store_open(const char *root, AssertionStore **ret, char **ret_error);
AssertionStore *assertion_store_free(AssertionStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(AssertionStore *, assertion_store_free)
#define _cleanup_assertion_store_ _cleanup_(assertion_store_freep)

/* Where one stored assertion lies in the snapshot. */
typedef struct AssertionStoreEntry {
        size_t layer; /* which pack (or the old per-file layer) */
        uint64_t offset, size;
} AssertionStoreEntry;

/* Finds key: 1 with *ret (when not NULL) filled, 0 when not stored, < 0 when the store is damaged. */
int assertion_store_find(AssertionStore *s, const char *key, AssertionStoreEntry *ret);

/* Reads and decodes one entry, and checks that it is the assertion its key names. -EBADMSG (with
 * *ret_error) when the store is damaged. */
int assertion_store_load(AssertionStore *s, const AssertionStoreEntry *e, const char *key, Assertion **ret,
                         char **ret_error);

/* Calls f for every stored assertion whose key starts with prefix ("" for all; "system-user," for one
 * type), in key order, once per key (the newest). Stops when f returns non-zero (returned unless it is
 * positive). */
int assertion_store_foreach(AssertionStore *s, const char *prefix,
                            int (*f)(const char *key, const AssertionStoreEntry *e, void *userdata),
                            void *userdata);

/* The newest signed timestamp the store has accepted (0: none), and the last committed batch. */
usec_t assertion_store_time_floor(const AssertionStore *s);
uint64_t assertion_store_sequence(const AssertionStore *s);
/* Assertions in the snapshot, counted per pack (a key updated in a newer pack counts in both until the
 * packs are merged). */
uint64_t assertion_store_size(const AssertionStore *s);

/* Commits items (distinct keys) as the next batch, with the store's time floor raised to time_floor, then
 * merges packs, and moves the snapshot to the new state. Only with the root's lock held. -EBUSY when the
 * store on disk is no longer the snapshot (another writer committed since it was opened). */
int assertion_store_commit(AssertionStore *s, Assertion *const *items, size_t n, usec_t time_floor);

/* Removes what an interrupted writer left (temporary files, covered packs) and moves files of the old
 * per-file layout into a pack, then moves the snapshot to what is on disk. Only with the root's lock held:
 * the temporary file of a live writer is not ours to delete. Returns how many leftovers it removed. */
int assertion_store_recover(AssertionStore *s);

/* Reads every *.assert stream in dir (missing dir: empty list), with the bounds of any untrusted input.
 * On error, *ret_error names the file and the line. (The trusted roots.) */
int assertion_store_load_dir(const char *dir, AssertionList **ret, char **ret_error);

/* Stores one assertion below root as a batch of its own, unchecked: for tests and tools that build a
 * device tree. Only with the root's lock held (or on a tree nobody else uses). */
int assertion_store_save(const char *root, const Assertion *a);

/* The store's time floor below root (0 when none). */
int assertion_store_read_time_floor(const char *root, usec_t *ret);
