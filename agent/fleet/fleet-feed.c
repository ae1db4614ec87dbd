/* SPDX-License-Identifier: MIT */
/* A response body as assertion streams: a plain stream, or a framed feed of several (FLEET_FEED_MAGIC),
 * added to an import's batch whole or not at all. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "macros.h"
#include "string-util.h"

/* "DIGITS\n" with no leading zero, within rest. */
static int frame_length(const char *s, size_t rest, size_t *ret_length, size_t *ret_consumed)
{
        size_t i = 0, length = 0;

        while (i < rest && i < 10 && s[i] >= '0' && s[i] <= '9') {
                length = length * 10 + (size_t) (s[i] - '0');
                i++;
        }
        if (i == 0 || i >= rest || s[i] != '\n' || (s[0] == '0'))
                return -EBADMSG;
        *ret_length = length;
        *ret_consumed = i + 1;
        return 0;
}

typedef struct FeedStreams {
        AssertionStreamView views[FLEET_FEED_STREAMS_MAX];
        char *where[FLEET_FEED_STREAMS_MAX];
        size_t n;
} FeedStreams;

static void feed_streams_done(FeedStreams *f)
{
        for (size_t i = 0; i < f->n; i++)
                free(f->where[i]);
}

static int feed_streams_add(FeedStreams *f, const char *name, const char *data, size_t size,
                            char **ret_error)
{
        if (f->n >= FLEET_FEED_STREAMS_MAX)
                return error_set(ret_error, -E2BIG, "%s: more than %d streams in one feed", name,
                                 FLEET_FEED_STREAMS_MAX);
        /* Messages name the stream by its number, also for a plain body (its only stream). */
        f->where[f->n] = strprintf("%s: stream %zu", name, f->n + 1);
        if (!f->where[f->n])
                return -ENOMEM;
        f->views[f->n] =
                (AssertionStreamView){ .origin = name, .where = f->where[f->n], .data = data, .size = size };
        f->n++;
        return 0;
}

static int feed_split(FeedStreams *f, const char *name, const char *data, size_t size, char **ret_error)
{
        size_t pos = strlen(FLEET_FEED_MAGIC);
        int r;

        while (pos < size) {
                size_t length, consumed;
                if (frame_length(data + pos, size - pos, &length, &consumed) < 0)
                        return error_set(
                                ret_error, -EBADMSG,
                                "%s: byte %zu: expected a stream length (decimal, no leading zero, then "
                                "a newline)",
                                name, pos);
                pos += consumed;
                if (length > size - pos || size - pos - length < 1 || data[pos + length] != '\n')
                        return error_set(ret_error, -EBADMSG,
                                         "%s: byte %zu: stream of %zu bytes not followed by a newline", name,
                                         pos, length);
                r = feed_streams_add(f, name, data + pos, length, ret_error);
                if (r < 0)
                        return r;
                pos += length + 1;
        }
        if (f->n == 0)
                return error_set(ret_error, -ENODATA, "%s: holds no assertions", name);
        return 0;
}

int fleet_feed_add(AssertionBatch *b, const char *name, const char *data, size_t size, char **ret_error)
{
        _cleanup_(feed_streams_done) FeedStreams f = {};
        int r;

        if (size >= strlen(FLEET_FEED_MAGIC) &&
            memcmp(data, FLEET_FEED_MAGIC, strlen(FLEET_FEED_MAGIC)) == 0)
                r = feed_split(&f, name, data, size, ret_error);
        else
                r = feed_streams_add(&f, name, data, size, ret_error);
        if (r < 0)
                return r;
        return assertion_batch_add_streams(b, f.views, f.n, ret_error);
}

/* One stream: the wire forms separated by one empty line, as assertion_stream_encode() writes them. */
static int stream_encode(const FleetWire *const *items, size_t n, FleetBuffer *out)
{
        for (size_t i = 0; i < n; i++) {
                int r;
                if (i > 0) {
                        r = fleet_buffer_append(out, "\n", 1);
                        if (r < 0)
                                return r;
                }
                r = fleet_buffer_append(out, items[i]->data, items[i]->size);
                if (r < 0)
                        return r;
        }
        return 0;
}

static size_t stream_size(const FleetWire *const *items, size_t n)
{
        size_t size = n - 1;

        for (size_t i = 0; i < n; i++)
                size += items[i]->size;
        return size;
}

int fleet_feed_encode(const FleetWire *const *items, size_t n, FleetBuffer *out)
{
        char length[32];
        int r;

        if (n == 0)
                return -ENODATA;
        if (n > FLEET_FEED_ASSERTIONS_MAX)
                return -E2BIG;
        if (n <= ASSERTION_STREAM_MAX)
                return stream_encode(items, n, out);

        r = fleet_buffer_append(out, FLEET_FEED_MAGIC, strlen(FLEET_FEED_MAGIC));
        for (size_t i = 0; i < n && r >= 0; i += ASSERTION_STREAM_MAX) {
                size_t chunk = n - i < ASSERTION_STREAM_MAX ? n - i : ASSERTION_STREAM_MAX;
                int l = snprintf(length, sizeof(length), "%zu\n", stream_size(items + i, chunk));

                r = fleet_buffer_append(out, length, (size_t) l);
                if (r >= 0)
                        r = stream_encode(items + i, chunk, out);
                if (r >= 0)
                        r = fleet_buffer_append(out, "\n", 1);
        }
        return r < 0 ? r : 0;
}
