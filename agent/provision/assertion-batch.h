/* SPDX-License-Identifier: MIT */
#pragma once

/* The assertions of one import, whatever brought them (files on a command line, a stick, a fleet feed and
 * the prerequisites fetched for it): the streams as received, each named by its origin, and their
 * assertions, decoded once. The trust database checks the batch whole and stores it whole or not at all;
 * each assertion keeps the stream it came from for messages, and the streams can be handed on as they are
 * (to the daemon's Import). */

#include <stddef.h>

#include "assertion.h"
#include "macros.h"

/* Assertions in one import: ASSERTION_BATCH_MAX (assertion-limits.h), the trust database's batch. Each
 * costs a signature check, so the whole import is bounded, not only each stream (docs/assertion-format.md).
 * Tested at N and N+1. */

typedef struct AssertionStream {
        char *origin; /* a file name, "DEVNODE/auto-import.assert", a URL */
        char *data;   /* the stream as received, NUL-terminated (the NUL not counted in size) */
        size_t size;
} AssertionStream;

typedef struct AssertionBatch {
        AssertionStream *streams;
        size_t n_streams;
        AssertionList list;
        size_t *stream_of; /* per assertion of list: index into streams */
} AssertionBatch;

void assertion_batch_done(AssertionBatch *b);

/* One stream to add: origin and bytes (borrowed: the batch copies what it keeps). */
typedef struct AssertionStreamView {
        const char *origin;
        const char *where; /* how messages name it ("URL: stream 2"); NULL: the origin */
        const char *data;
        size_t size;
} AssertionStreamView;

/* Decodes n streams and appends them all, or (on any error) none. An empty stream is refused: a source
 * that brings nothing is a mistake worth saying (-ENODATA). -EBADMSG malformed, -E2BIG beyond
 * ASSERTION_BATCH_MAX for the whole batch. *ret_error (optional) says why, starting with where the stream
 * is: "FILE: line 3: ...". */
int assertion_batch_add_streams(AssertionBatch *b, const AssertionStreamView *streams, size_t n,
                                char **ret_error);

/* The same for one stream. */
int assertion_batch_add(AssertionBatch *b, const char *origin, const char *data, size_t size,
                        char **ret_error);

/* The origin of every assertion of the batch, in batch order (borrowed pointers; NULL-terminated array
 * owned by the caller: free() it). NULL when out of memory. */
char **assertion_batch_origins(const AssertionBatch *b);
