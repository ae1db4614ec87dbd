/* SPDX-License-Identifier: MIT */
/* Fuzzes what a fleet server (the network) hands to a batch: fleet_feed_add() with a plain assertion
 * stream or a framed feed (FLEET_FEED_MAGIC), twice into one batch so the limits of the whole import are
 * reached too. Checks, besides no crash, leak or out-of-bounds read:
 *   - a body is taken whole or not at all: a refused one leaves the batch as it was, and says why, naming
 *     the body;
 *   - what was taken is what was sent: the parts of a plain body are the body, the parts of a framed feed
 *     framed again are the feed, byte for byte;
 *   - every assertion points at a part, and the batch stays within FLEET_FEED_ASSERTIONS_MAX.
 * Input: two bytes (big-endian) giving the first body's length, the first body, the second body. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The feed made again from parts [first, last) of b: what a correct reader must have taken apart. */
static char *feed_of_parts(const AssertionBatch *b, size_t first, size_t last, size_t *ret_size)
{
        size_t size = strlen(FLEET_FEED_MAGIC), off;
        char *feed;

        for (size_t i = first; i < last; i++)
                size += 21 + b->streams[i].size + 1;
        feed = malloc(size);
        if (!feed)
                abort();
        off = (size_t) sprintf(feed, "%s", FLEET_FEED_MAGIC);
        for (size_t i = first; i < last; i++) {
                off += (size_t) sprintf(feed + off, "%zu\n", b->streams[i].size);
                memcpy(feed + off, b->streams[i].data, b->streams[i].size);
                off += b->streams[i].size;
                feed[off++] = '\n';
        }
        *ret_size = off;
        return feed;
}

static void check_add(AssertionBatch *b, const char *name, const char *body, size_t size)
{
        size_t streams_before = b->n_streams, assertions_before = b->list.n;
        char *error = NULL;
        int r = fleet_feed_add(b, name, body, size, &error);

        if (r < 0) {
                if (b->n_streams != streams_before || b->list.n != assertions_before)
                        abort();
                if (r != -ENOMEM && (!error || strncmp(error, name, strlen(name)) != 0))
                        abort();
                if (r != -EBADMSG && r != -E2BIG && r != -ENODATA && r != -ENOMEM)
                        abort();
                free(error);
                return;
        }
        free(error);
        if (b->n_streams <= streams_before || b->list.n <= assertions_before ||
            b->list.n > FLEET_FEED_ASSERTIONS_MAX)
                abort();
        for (size_t i = 0; i < b->list.n; i++)
                if (b->stream_of[i] >= b->n_streams || !b->list.items[i])
                        abort();
        for (size_t i = streams_before; i < b->n_streams; i++)
                if (strcmp(b->streams[i].origin, name) != 0 ||
                    b->streams[i].data[b->streams[i].size] != '\0')
                        abort();
        if (size >= strlen(FLEET_FEED_MAGIC) &&
            memcmp(body, FLEET_FEED_MAGIC, strlen(FLEET_FEED_MAGIC)) == 0) {
                size_t again_size;
                char *again = feed_of_parts(b, streams_before, b->n_streams, &again_size);

                if (again_size != size || memcmp(again, body, size) != 0)
                        abort();
                free(again);
        } else if (b->n_streams != streams_before + 1 || b->streams[streams_before].size != size ||
                   memcmp(b->streams[streams_before].data, body, size) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        AssertionBatch b = {};
        size_t first;

        if (size < 2 || size > 1024 * 1024)
                return 0;
        first = ((size_t) data[0] << 8 | data[1]) % (size - 1);
        check_add(&b, "https://fleet.example/one", (const char *) data + 2, first);
        check_add(&b, "https://fleet.example/two", (const char *) data + 2 + first, size - 2 - first);
        assertion_batch_done(&b);
        return 0;
}
