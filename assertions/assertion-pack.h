/* SPDX-License-Identifier: MIT */
#pragma once

/* A pack: one immutable file of the assertion store holding the assertions of one or more committed
 * batches, with a sorted index so that a reader finds one by its key without reading the others.
 *
 *   corehomed-assertion-pack 1\n
 *   first: F\n            the batches it holds: sequence numbers F..L of the store (1 <= F <= L)
 *   last: L\n
 *   time-floor: T\n       optional: the store's time floor (RFC 3339) once batch L was committed
 *   count: N\n            assertions in the pack
 *   index-size: B\n       bytes of the index
 *   \n
 *   INDEX                 N lines "KEY OFFSET SIZE\n", keys strictly increasing byte-wise
 *   STREAM                the N assertions as one snapd stream (one "\n" between them), in index order;
 *                         OFFSET and SIZE (decimal) locate an assertion's wire form from the start of STREAM
 *
 * KEY is the store's key of the assertion (assertion-store.h): "TYPE,VALUE,..." with every byte of a value
 * outside [A-Za-z0-9_@+.-] percent-escaped, so a key holds no space or newline, and the keys of one type
 * are one contiguous range of the index. The STREAM part is what snapd's decoder reads, so
 * `tail -c +N PACK | snap ack /dev/stdin` works on a pack as on any assertion file.
 *
 * Lookups binary-search the index text as look(1) searches a sorted file: pick the middle byte, go back to
 * the start of its line, compare. Opening a pack costs its header and index bytes, never a pass over them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

#define ASSERTION_PACK_MAGIC "corehomed-assertion-pack 1\n"

/* Bounds a reader applies to a pack. The store is root-only and every pack was written by us; the bounds
 * keep a damaged (or planted) file from making a reader allocate or loop without limit. */
#define ASSERTION_PACK_HEADER_MAX  512                 /* bytes of the header, blank line included */
#define ASSERTION_PACK_ENTRIES_MAX (1024 * 1024)       /* assertions in one pack (the whole store) */
#define ASSERTION_PACK_INDEX_MAX   (256 * 1024 * 1024) /* bytes of one index */

typedef struct AssertionPackHeader {
        uint64_t first, last;
        usec_t time_floor; /* 0 when the pack names none */
        uint64_t count;
        uint64_t index_size;
        size_t header_size; /* bytes before the index */
} AssertionPackHeader;

/* Parses the header at the start of data (size bytes; more may follow it). -EBADMSG when it is not a
 * pack header, -E2BIG beyond a bound. */
int assertion_pack_header_parse(const char *data, size_t size, AssertionPackHeader *ret);

/* One line of an index; key borrows from the index and is not NUL-terminated. */
typedef struct AssertionPackEntry {
        const char *key;
        size_t key_size;
        uint64_t offset; /* of the wire form, from the start of the stream part */
        uint64_t size;
        size_t next; /* position of the following line in the index */
} AssertionPackEntry;

/* Parses the index line that starts at pos (< index_size). -EBADMSG for a malformed line. */
int assertion_pack_index_entry(const char *index, size_t index_size, size_t pos, AssertionPackEntry *ret);

/* The position of the first line whose key is not below key (index_size when there is none). */
int assertion_pack_index_lower_bound(const char *index, size_t index_size, const char *key, size_t key_size,
                                     size_t *ret_pos);

/* Finds the line of key: 1 with *ret filled, 0 when absent. */
int assertion_pack_index_find(const char *index, size_t index_size, const char *key,
                              AssertionPackEntry *ret);

/* Whether s is a well-formed index key: non-empty, only [A-Za-z0-9_@+.%,-]. */
bool assertion_pack_key_valid(const char *s, size_t size);

/* One assertion to put into a pack: its key and its wire form (assertion_encode()), or, when signature is
 * set, its signed content in wire and its signature apart (the wire form is then WIRE "\n\n" SIGNATURE
 * "\n", written without assembling it first). */
typedef struct AssertionPackItem {
        const char *key;
        const char *wire;
        size_t wire_size;
        const char *signature;
        size_t signature_size;
} AssertionPackItem;

/* The size of the item's wire form. */
size_t assertion_pack_item_size(const AssertionPackItem *item);

/* Builds a whole pack in memory from items sorted by key (strictly increasing: -EINVAL otherwise).
 * time_floor 0 writes none. */
int assertion_pack_build(uint64_t first, uint64_t last, usec_t time_floor, const AssertionPackItem *items,
                         size_t n, char **ret, size_t *ret_size);
