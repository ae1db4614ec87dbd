/* SPDX-License-Identifier: MIT */
/* Fuzzes the decoder of the fleet worker's answer (the daemon reads it from a process that talks to the
 * network): any bytes must decode or be refused with a message, never crash, leak or read out of bounds;
 * whatever is accepted keeps its invariants and encodes back to bytes that decode to the same outcome. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "json-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_invariants(const FleetReceived *r)
{
        if (r->error < 0) {
                if (!r->message || r->batch.list.n > 0 || r->etag)
                        __builtin_trap();
                return;
        }
        if (r->error > 0 || (r->status != 200 && r->status != 304) ||
            (r->status == 200) != (r->batch.list.n > 0) ||
            json_array_size(r->prerequisites) > FLEET_PREREQUISITES_MAX ||
            r->batch.list.n > FLEET_FEED_ASSERTIONS_MAX)
                __builtin_trap();
        for (size_t i = 0; i < r->batch.n_streams; i++)
                if (!fleet_url_is_valid(r->batch.streams[i].origin))
                        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(fleet_received_done) FleetReceived r = {}, again = {};
        _cleanup_free_ char *error = NULL, *encoded = NULL;
        size_t encoded_size;
        int k;

        k = fleet_received_decode((const char *) data, size, &r, &error);
        if (k < 0) {
                if (k != -ENOMEM && (k != -EBADMSG || !error))
                        __builtin_trap();
                return 0;
        }
        check_invariants(&r);
        if (fleet_received_encode(&r, &encoded, &encoded_size) < 0)
                __builtin_trap();
        if (fleet_received_decode(encoded, encoded_size, &again, NULL) < 0)
                __builtin_trap();
        if (again.error != r.error || again.status != r.status || again.batch.list.n != r.batch.list.n ||
            again.batch.n_streams != r.batch.n_streams || !again.etag != !r.etag ||
            (r.etag && strcmp(again.etag, r.etag) != 0) ||
            !json_equal(again.prerequisites ? again.prerequisites : json_null(),
                        r.prerequisites ? r.prerequisites : json_null()))
                __builtin_trap();
        return 0;
}
