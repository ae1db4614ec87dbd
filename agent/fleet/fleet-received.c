/* SPDX-License-Identifier: MIT */
/* What the receiving half of a poll got, and its form as bytes. The daemon receives in a worker process
 * that talks to the network (agent/fleet-worker.c); its answer crosses a pipe as the records below and is
 * decoded as untrusted input: a worker subverted through TLS or HTTP parsing must not get more out of the
 * daemon than a hostile fleet server already could. So every field is bounded, text is printable, names
 * are URLs we would build, and every stream goes through the ordinary decoder again. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "json-util.h"
#include "macros.h"

#define RECORD_HEADER_SIZE 5 /* tag byte + uint32 length */

void fleet_received_done(FleetReceived *r)
{
        free(r->message);
        free(r->etag);
        assertion_batch_done(&r->batch);
        json_decref(r->prerequisites);
        *r = (FleetReceived){};
}

int fleet_received_fail(FleetReceived *r, int error, const char *message)
{
        fleet_received_done(r);
        r->error = error < 0 ? error : -EIO;
        r->message = message ? strdup(message) : NULL;
        return message && !r->message ? -ENOMEM : 0;
}

/* --- encoding --- */

static int put(FleetBuffer *b, const void *data, size_t n)
{
        return fleet_buffer_append(b, data, n);
}

static int put_u32(FleetBuffer *b, uint32_t v)
{
        unsigned char le[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff };

        return put(b, le, sizeof(le));
}

static int put_record_header(FleetBuffer *b, char tag, size_t length)
{
        int r;

        if (length > UINT32_MAX)
                return -E2BIG;
        r = put(b, &tag, 1);
        return r < 0 ? r : put_u32(b, (uint32_t) length);
}

/* Text for a person: cut to FLEET_MESSAGE_MAX, unprintable bytes masked (it ends up in logs and replies). */
static int put_text(FleetBuffer *b, const char *s)
{
        size_t n = strnlen(s, FLEET_MESSAGE_MAX);
        char masked[FLEET_MESSAGE_MAX];

        for (size_t i = 0; i < n; i++)
                masked[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
        return put(b, masked, n);
}

/* 'P' and 'Q': uint32 n + name (n bytes) + rest. */
static int put_named(FleetBuffer *b, char tag, const char *name, const char *rest, size_t rest_size,
                     bool rest_is_text)
{
        size_t name_size = strlen(name);
        size_t size = rest_is_text ? strnlen(rest, FLEET_MESSAGE_MAX) : rest_size;
        int r;

        if (name_size > FLEET_URL_MAX || (!rest_is_text && rest_size > FLEET_BODY_MAX))
                return -E2BIG;
        r = put_record_header(b, tag, 4 + name_size + size);
        if (r >= 0)
                r = put_u32(b, (uint32_t) name_size);
        if (r >= 0)
                r = put(b, name, name_size);
        if (r >= 0)
                r = rest_is_text ? put_text(b, rest) : put(b, rest, rest_size);
        return r;
}

static int put_int32_record(FleetBuffer *b, char tag, int32_t v, const char *text)
{
        size_t text_size = text ? strnlen(text, FLEET_MESSAGE_MAX) : 0;
        int r = put_record_header(b, tag, 4 + text_size);

        if (r >= 0)
                r = put_u32(b, (uint32_t) v);
        if (r >= 0 && text)
                r = put_text(b, text);
        return r;
}

static int encode_records(const FleetReceived *r, FleetBuffer *b)
{
        int k;

        k = put(b, FLEET_RECEIVED_MAGIC, strlen(FLEET_RECEIVED_MAGIC));
        if (k < 0)
                return k;
        if (r->error < 0) {
                k = put_int32_record(b, 'E', r->error, r->message ? r->message : "");
                return k < 0 ? k : put_record_header(b, 'Z', 0);
        }
        if (r->status != 200 && r->status != 304)
                return -EINVAL;
        k = put_int32_record(b, 'H', (int32_t) r->status, NULL);
        if (k >= 0 && r->etag) {
                if (strlen(r->etag) > FLEET_ETAG_MAX)
                        return -E2BIG;
                k = put_record_header(b, 'T', strlen(r->etag));
                if (k >= 0)
                        k = put_text(b, r->etag);
        }
        for (size_t i = 0; k >= 0 && r->status == 200 && i < r->batch.n_streams; i++)
                k = put_named(b, 'P', r->batch.streams[i].origin, r->batch.streams[i].data,
                              r->batch.streams[i].size, false);
        json_t *e;
        size_t i;
        json_array_foreach (r->prerequisites, i, e) {
                if (k < 0)
                        break;
                k = put_named(b, 'Q', strempty(json_string_value(json_object_get(e, "url"))),
                              strempty(json_string_value(json_object_get(e, "result"))), 0, true);
        }
        return k < 0 ? k : put_record_header(b, 'Z', 0);
}

int fleet_received_encode(const FleetReceived *r, char **ret, size_t *ret_size)
{
        FleetBuffer b = { .max = FLEET_RECEIVED_MAX };
        int k;

        k = encode_records(r, &b);
        if (k < 0) {
                fleet_buffer_done(&b);
                return k;
        }
        *ret = b.data;
        *ret_size = b.size;
        return 0;
}

/* --- decoding --- */

typedef struct Reader {
        const unsigned char *data;
        size_t size;
        size_t pos;
} Reader;

static uint32_t get_u32(const unsigned char *p)
{
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* The next record: its tag and payload, within the data. */
static int next_record(Reader *rd, char *ret_tag, const unsigned char **ret_payload, size_t *ret_size)
{
        if (rd->size - rd->pos < RECORD_HEADER_SIZE)
                return -EBADMSG;
        uint32_t length = get_u32(rd->data + rd->pos + 1);
        if (length > rd->size - rd->pos - RECORD_HEADER_SIZE)
                return -EBADMSG;
        *ret_tag = (char) rd->data[rd->pos];
        *ret_payload = rd->data + rd->pos + RECORD_HEADER_SIZE;
        *ret_size = length;
        rd->pos += RECORD_HEADER_SIZE + length;
        return 0;
}

static bool text_is_printable(const unsigned char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x20 || s[i] >= 0x7f)
                        return false;
        return true;
}

static char *text_dup(const unsigned char *s, size_t n, size_t max)
{
        if (n > max || !text_is_printable(s, n))
                return NULL;
        return strndup((const char *) s, n);
}

/* 'P' / 'Q' payload: a name that must be a URL we would fetch, and the rest. */
static int split_named(const unsigned char *payload, size_t size, char **ret_name,
                       const unsigned char **ret_rest, size_t *ret_rest_size)
{
        if (size < 4)
                return -EBADMSG;
        uint32_t n = get_u32(payload);
        if (n > size - 4 || n > FLEET_URL_MAX || !text_is_printable(payload + 4, n))
                return -EBADMSG;
        _cleanup_free_ char *name = strndup((const char *) payload + 4, n);
        if (!name)
                return -ENOMEM;
        if (!fleet_url_is_valid(name))
                return -EBADMSG;
        *ret_name = TAKE_PTR(name);
        *ret_rest = payload + 4 + n;
        *ret_rest_size = size - 4 - n;
        return 0;
}

static int decode_part(FleetReceived *r, const unsigned char *payload, size_t size, char **ret_error)
{
        _cleanup_free_ char *name = NULL, *error = NULL;
        const unsigned char *data;
        size_t data_size;
        int k;

        k = split_named(payload, size, &name, &data, &data_size);
        if (k < 0)
                return k;
        if (data_size > FLEET_BODY_MAX)
                return -EBADMSG;
        /* One stream per part, decoded again here: the worker's decoding is not trusted. */
        k = assertion_batch_add(&r->batch, name, (const char *) data, data_size, &error);
        if (k < 0 && ret_error && !*ret_error)
                *ret_error = TAKE_PTR(error);
        return k == -ENOMEM ? k : k < 0 ? -EBADMSG : 0;
}

static int decode_request(FleetReceived *r, const unsigned char *payload, size_t size)
{
        _cleanup_free_ char *url = NULL, *result = NULL;
        const unsigned char *text;
        size_t text_size;
        int k;

        k = split_named(payload, size, &url, &text, &text_size);
        if (k < 0)
                return k;
        result = text_dup(text, text_size, FLEET_MESSAGE_MAX);
        if (!result)
                return -EBADMSG;
        if (json_array_size(r->prerequisites) >= FLEET_PREREQUISITES_MAX)
                return -EBADMSG;
        json_t *o = json_pack("{s:s, s:s}", "url", url, "result", result);
        if (!o || json_array_append_new(r->prerequisites, o) < 0)
                return -ENOMEM;
        return 0;
}

static int decode_error(FleetReceived *r, const unsigned char *payload, size_t size)
{
        if (size < 4 || size - 4 > FLEET_MESSAGE_MAX)
                return -EBADMSG;
        int32_t error = (int32_t) get_u32(payload);
        /* A real errno: the worker cannot make a failure look like success, or like no errno at all. */
        if (error >= 0 || error < -4095)
                return -EBADMSG;
        r->message = text_dup(payload + 4, size - 4, FLEET_MESSAGE_MAX);
        if (!r->message)
                return -EBADMSG;
        r->error = error;
        return 0;
}

/* An ETag goes back to the server in a header: the same rule as for one from the server itself. */
static int decode_etag(FleetReceived *r, const unsigned char *payload, size_t size)
{
        if (size == 0 || size > FLEET_ETAG_MAX)
                return -EBADMSG;
        for (size_t i = 0; i < size; i++)
                if (payload[i] < 0x21 || payload[i] > 0x7e)
                        return -EBADMSG;
        r->etag = strndup((const char *) payload, size);
        return r->etag ? 0 : -ENOMEM;
}

/* After 'H': ['T'] 'P'... 'Q'... and the tag of the record that follows them in *tag. */
static int decode_response(Reader *rd, FleetReceived *r, const unsigned char *payload, size_t size,
                           char *tag, size_t *ret_size, char **ret_error)
{
        int k;

        if (size != 4)
                return -EBADMSG;
        r->status = (int32_t) get_u32(payload);
        if (r->status != 200 && r->status != 304)
                return -EBADMSG;
        r->prerequisites = json_array();
        if (!r->prerequisites)
                return -ENOMEM;

        k = next_record(rd, tag, &payload, &size);
        if (k >= 0 && *tag == 'T') {
                k = decode_etag(r, payload, size);
                if (k >= 0)
                        k = next_record(rd, tag, &payload, &size);
        }
        for (; k >= 0 && *tag == 'P'; k = next_record(rd, tag, &payload, &size)) {
                if (r->status != 200)
                        return -EBADMSG;
                k = decode_part(r, payload, size, ret_error);
                if (k < 0)
                        return k;
        }
        for (; k >= 0 && *tag == 'Q'; k = next_record(rd, tag, &payload, &size)) {
                k = decode_request(r, payload, size);
                if (k < 0)
                        return k;
        }
        if (k < 0)
                return k;
        /* A 200 brought a feed, or it would have been a failure. */
        if (r->status == 200 && r->batch.list.n == 0)
                return -EBADMSG;
        *ret_size = size;
        return 0;
}

/* The records after the magic, in their one allowed order, and nothing after the end. */
static int decode_records(Reader *rd, FleetReceived *r, char **ret_error)
{
        const unsigned char *payload;
        size_t size;
        char tag;
        int k;

        k = next_record(rd, &tag, &payload, &size);
        if (k < 0)
                return k;
        if (tag == 'E') {
                k = decode_error(r, payload, size);
                if (k >= 0)
                        k = next_record(rd, &tag, &payload, &size);
        } else if (tag == 'H')
                k = decode_response(rd, r, payload, size, &tag, &size, ret_error);
        else
                k = -EBADMSG;
        if (k < 0)
                return k;
        if (tag != 'Z' || size != 0 || rd->pos != rd->size)
                return -EBADMSG;
        return 0;
}

int fleet_received_decode(const char *data, size_t size, FleetReceived *ret, char **ret_error)
{
        _cleanup_(fleet_received_done) FleetReceived r = {};
        _cleanup_free_ char *why = NULL;
        size_t magic = strlen(FLEET_RECEIVED_MAGIC);
        int k;

        if (size > FLEET_RECEIVED_MAX || size < magic || memcmp(data, FLEET_RECEIVED_MAGIC, magic) != 0)
                k = -EBADMSG;
        else {
                Reader rd = { .data = (const unsigned char *) data, .size = size, .pos = magic };
                k = decode_records(&rd, &r, &why);
        }
        if (k < 0) {
                if (ret_error && asprintf(ret_error, "the fleet worker's answer is malformed%s%s",
                                          why ? ": " : "", strempty(why)) < 0)
                        *ret_error = NULL;
                return k == -ENOMEM ? k : -EBADMSG;
        }
        *ret = r;
        r = (FleetReceived){};
        return 0;
}
