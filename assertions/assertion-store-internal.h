/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the assertion store's files (assertion-store.c: packs and reading; assertion-store-write.c:
 * commits, merges, recovery; assertion-store-legacy.c: the old per-file layout); not part of the API. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assertion-pack.h"
#include "assertion-store.h"

#define PACK_NAME_LENGTH  38 /* 16 hex digits, '-', 16 hex digits, ".pack" */
#define PACK_TMP_PREFIX   ".pack-"
#define LEGACY_TIME_FLOOR "time-floor"
/* Packs merged at once (assertion-store-write.c). */
#define STORE_MERGE_FAN_IN 4
/* A reader lists the directory again when a merge raced with its listing; a gap that stays is damage. */
#define SNAPSHOT_ATTEMPTS 16
/* The largest wire form of one assertion, and of one file of the old layout. */
#define ENTRY_MAX (ASSERTION_HEADERS_MAX + ASSERTION_BODY_MAX + ASSERTION_SIGNATURE_MAX + 16)

typedef struct PackName {
        uint64_t first, last;
        char name[PACK_NAME_LENGTH + 1];
} PackName;

/* An open pack, mapped read-only: packs never change once renamed into place (and stay mapped when a merge
 * deletes them), so opening one costs the same whatever it holds, and an assertion is decoded straight from
 * the mapping. */
typedef struct Pack {
        PackName name;
        AssertionPackHeader header;
        const char *map; /* the whole file */
        size_t map_size;
        const char *index; /* within map */
        uint64_t stream_offset;
} Pack;

typedef struct LegacyEntry {
        char *key;
        Assertion *assertion;
} LegacyEntry;

struct AssertionStore {
        char *dir;
        int dir_fd;  /* -1 while the directory does not exist */
        Pack *packs; /* oldest first */
        size_t n_packs;
        /* The old per-file layout, oldest layer (layer n_packs), sorted by key. */
        LegacyEntry *legacy;
        size_t n_legacy;
        char **legacy_files; /* "TYPE/NAME.assert", relative to dir, NULL-terminated */
        usec_t legacy_floor;
        bool legacy_floor_file;
};

/* A cursor over one layer's keys within [pos, end): the current key (not NUL-terminated for packs), NULL
 * at the end. */
typedef struct Cursor {
        size_t layer;
        size_t pos, end, next;
        const char *key;
        size_t key_size;
        uint64_t offset, size;
} Cursor;

/* Items of a pack being built, and the strings they point to. */
typedef struct ItemBuffer {
        /* Each owns its key; its wire form too when it is whole (no signature apart): read from a pack.
         * Content and signature apart are borrowed from an assertion that outlives the buffer. */
        AssertionPackItem *items;
        size_t n, allocated;
} ItemBuffer;

/* Packs (assertion-store.c). */
void store_format_pack_name(uint64_t first, uint64_t last, PackName *ret);
int store_pack_open(int dir_fd, const PackName *name, Pack *ret);
void store_pack_done(Pack *p);
void store_packs_free(Pack *packs, size_t n);
/* Every pack name in the directory, sorted (first ascending, the widest first), and (when ret_tmp is not
 * NULL) the temporary files. */
int store_list_dir(int dir_fd, PackName **ret, size_t *ret_n, char ***ret_tmp);
/* Splits sorted names into the live packs (in place, oldest first, *ret_n_live of them) and the covered
 * ones (moved behind them). -EAGAIN when the live ones do not hold batches 1..L without a gap or overlap:
 * a merge ran while the directory was listed, or the store is damaged. */
int store_split_live(PackName *names, size_t n, size_t *ret_n_live);
/* Moves the snapshot to a consistent listing of the directory (listing again after a racing merge). */
int store_snapshot_load(AssertionStore *s, char **ret_error);
/* The wire form of a pack entry, in the mapping (-EBADMSG when it lies outside the pack). */
int store_pack_entry(const Pack *p, uint64_t offset, uint64_t size, const char **ret);
int store_cursor_init(const AssertionStore *s, size_t layer, const char *prefix, Cursor *c);
/* Of the cursors, the one with the smallest key, the newest layer among equal keys; SIZE_MAX at the end. */
size_t store_cursors_pick(const Cursor *c, size_t n);
/* Moves every cursor that stands on the key of c[best] (c[best] included) to its next key. */
int store_cursors_advance_past(const AssertionStore *s, Cursor *c, size_t n, size_t best);

/* Writing (assertion-store-write.c). */
/* Writes a pack durably under its name, with crash points "WHAT:written", ":synced", ":renamed",
 * ":durable"; the rename is the commit and never replaces a file. */
int store_pack_write(AssertionStore *s, uint64_t first, uint64_t last, usec_t time_floor,
                     const AssertionPackItem *items, size_t n, const char *what, PackName *ret_name);
/* Adds a pack this process just wrote to the snapshot, as the newest; the packs it covers leave. */
int store_snapshot_add(AssertionStore *s, const PackName *name);
void store_item_buffer_done(ItemBuffer *b);
/* Takes key and wire (freed on failure too). */
int store_item_buffer_add(ItemBuffer *b, char *key, char *wire, size_t wire_size);
/* Takes key (freed on failure too); borrows the assertion's content and signature. */
int store_item_buffer_add_assertion(ItemBuffer *b, char *key, const Assertion *a);

/* The old per-file layout (assertion-store-legacy.c). */
/* Sorted names of the subdirectories (want_dir) or the *.assert files of the directory dir_fd/path;
 * none when it does not exist. */
int store_list_names(int dir_fd, const char *path, bool want_dir, char ***ret, size_t *ret_n);
/* Reads and decodes one stream file; -ENOENT when it vanished (a writer's migration deleted it). */
int store_read_stream_file(int dir_fd, const char *path, size_t max, AssertionList **ret, char **ret_error,
                           const char *dir_for_messages);
int store_legacy_load(AssertionStore *s, char **ret_error);
void store_legacy_clear(AssertionStore *s);
bool store_legacy_present(const AssertionStore *s);
const LegacyEntry *store_legacy_find(const AssertionStore *s, const char *key, size_t *ret_index);
/* Commits the assertions of the old layout that no pack holds as a batch, then deletes the old files.
 * Only with the root's lock held. */
int store_legacy_migrate(AssertionStore *s);
