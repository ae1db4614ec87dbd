/* SPDX-License-Identifier: MIT */
#include "assertion-batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "string-util.h"

void assertion_batch_done(AssertionBatch *b)
{
        for (size_t i = 0; i < b->n_streams; i++) {
                free(b->streams[i].origin);
                free(b->streams[i].data);
        }
        free(b->streams);
        for (size_t i = 0; i < b->list.n; i++)
                assertion_free(b->list.items[i]);
        free(b->list.items);
        free(b->stream_of);
        *b = (AssertionBatch){};
}

/* The streams decoded, nothing added to the batch yet. */
typedef struct Decoded {
        AssertionList **lists;
        size_t n;
} Decoded;

static void decoded_done(Decoded *d)
{
        for (size_t i = 0; i < d->n; i++)
                assertion_list_free(d->lists[i]);
        free(d->lists);
}

static int decode_all(const AssertionBatch *b, const AssertionStreamView *streams, size_t n, Decoded *d,
                      char **ret_error)
{
        size_t total = b->list.n;

        d->lists = calloc(n, sizeof(AssertionList *));
        if (!d->lists)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const AssertionStreamView *s = &streams[i];
                const char *where = s->where ? s->where : s->origin;
                AssertionError aerr = {};
                char reason[300];
                int r;

                r = assertion_stream_decode(s->data, s->size, &d->lists[i], &aerr);
                if (r < 0)
                        return error_set(ret_error, r, "%s: %s", where,
                                         aerr.message[0]
                                                 ? assertion_error_format(&aerr, reason, sizeof(reason))
                                                 : strerror(-r));
                d->n = i + 1;
                if (d->lists[i]->n == 0)
                        return error_set(ret_error, -ENODATA, "%s: holds no assertions", where);
                total += d->lists[i]->n;
                /* Bounded as a whole, not per stream: each assertion costs a signature check. */
                if (total > ASSERTION_BATCH_MAX)
                        return error_set(ret_error, -E2BIG,
                                         "%s: too many assertions in one import (more than %d)", s->origin,
                                         ASSERTION_BATCH_MAX);
        }
        return 0;
}

int assertion_batch_add_streams(AssertionBatch *b, const AssertionStreamView *streams, size_t n,
                                char **ret_error)
{
        _cleanup_(decoded_done) Decoded d = {};
        size_t n_new = 0;
        int r;

        if (n == 0)
                return error_set(ret_error, -ENODATA, "no assertions given");
        r = decode_all(b, streams, n, &d, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < d.n; i++)
                n_new += d.lists[i]->n;

        /* Every allocation first, so that nothing below can fail half-way. */
        Assertion **items = reallocarray(b->list.items, b->list.n + n_new, sizeof(Assertion *));
        if (!items)
                return -ENOMEM;
        b->list.items = items;
        size_t *stream_of = reallocarray(b->stream_of, b->list.n + n_new, sizeof(size_t));
        if (!stream_of)
                return -ENOMEM;
        b->stream_of = stream_of;
        AssertionStream *all = reallocarray(b->streams, b->n_streams + n, sizeof(AssertionStream));
        if (!all)
                return -ENOMEM;
        b->streams = all;
        AssertionStream added[n];
        for (size_t i = 0; i < n; i++) {
                added[i] = (AssertionStream){ .origin = strdup(streams[i].origin),
                                              .data = memdup_suffix0(streams[i].data, streams[i].size),
                                              .size = streams[i].size };
                if (!added[i].origin || !added[i].data) {
                        for (size_t j = 0; j <= i; j++) {
                                free(added[j].origin);
                                free(added[j].data);
                        }
                        return -ENOMEM;
                }
        }

        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < d.lists[i]->n; j++) {
                        b->stream_of[b->list.n] = b->n_streams;
                        b->list.items[b->list.n++] = TAKE_PTR(d.lists[i]->items[j]);
                }
                d.lists[i]->n = 0;
                b->streams[b->n_streams++] = added[i];
        }
        return 0;
}

int assertion_batch_add(AssertionBatch *b, const char *origin, const char *data, size_t size,
                        char **ret_error)
{
        const AssertionStreamView s = { .origin = origin, .data = data, .size = size };

        return assertion_batch_add_streams(b, &s, 1, ret_error);
}

char **assertion_batch_origins(const AssertionBatch *b)
{
        char **origins = calloc(b->list.n + 1, sizeof(char *));

        for (size_t i = 0; origins && i < b->list.n; i++)
                origins[i] = b->streams[b->stream_of[i]].origin;
        return origins;
}
