/* SPDX-License-Identifier: MIT */
#pragma once

/* Fleet pulls (docs/fleet.md): a device behind NAT fetches GET <url>/assertions over HTTPS and imports what
 * arrives through the same pipeline as a file or a stick (decode -> trust database -> optionally users).
 * When a batch is refused only because a signer is unknown, the missing account-key and account are fetched
 * once from <url>/assertions/account-key/<key-id> and <url>/assertions/account/<account-id>, and the import
 * is retried once; nothing is ever fetched in a loop.
 *
 * A poll has two halves: receiving (the network: the feed and its prerequisites, under one deadline, with
 * the trust database only read) and applying (no network: one import, users, the state file). The daemon
 * receives in a worker process (agent/fleet-worker.h) and applies in its loop; the CLI does both in turn.
 *
 * The network is untrusted even with TLS (a compromised or misconfigured server): every response is bounded
 * in time and size, every path component we put into a URL is validated first, and whatever arrives still
 * has to pass the signature chain of the trust database. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assertion-batch.h"
#include "assertion.h"
#include "config.h"
#include "macros.h"
#include "provisioner.h"
#include "report.h"
#include "time-util.h"
#include "trust-db.h"

/* Limits on what a fleet server may send or make us do; each is tested at N and N+1. */
#define FLEET_BODY_MAX            (16 * 1024 * 1024)  /* bytes of one response body */
#define FLEET_FEED_STREAMS_MAX    16                  /* streams in one framed feed */
#define FLEET_FEED_ASSERTIONS_MAX ASSERTION_BATCH_MAX /* per import: the one bound of every import */
#define FLEET_PREREQUISITES_MAX   16   /* extra requests for missing keys/accounts, per import */
#define FLEET_URL_MAX             2048 /* bytes of a URL we build or accept */
#define FLEET_ETAG_MAX            256  /* bytes of an ETag we store and send back */
#define FLEET_CONNECT_TIMEOUT     (10 * USEC_PER_SEC)
#define FLEET_TOTAL_TIMEOUT       (120 * USEC_PER_SEC) /* one request, connect to last byte */
/* A whole poll (feed and prerequisites together) ends within fleet.timeout (agent/config.h). */
#define FLEET_POLL_REQUESTS_MAX (1 + FLEET_PREREQUISITES_MAX) /* the feed and its prerequisites */
#define FLEET_MESSAGE_MAX       1024 /* bytes of one error or request result carried by a poll's outcome */
#define FLEET_BACKOFF_MIN       (30 * USEC_PER_SEC) /* first retry after a failed poll */
#define FLEET_BACKOFF_MAX       (6 * 3600 * USEC_PER_SEC)

/* A framed feed holds several assertion streams (a stream holds at most ASSERTION_STREAM_MAX assertions):
 *   "corehomed-feed 1\n" then, per stream, DECIMAL-LENGTH "\n" STREAM-BYTES "\n". */
#define FLEET_FEED_MAGIC "corehomed-feed 1\n"

#define FLEET_STATE_DIR  "/var/lib/corehomed/fleet"
#define FLEET_STATE_FILE "state.json"

/* --- URLs --- */

/* Whether url is an absolute https URL we are willing to talk to: "https://HOST[:PORT][/PATH]", no user
 * information, query or fragment, no whitespace, control bytes, backslashes or "." / ".." path segments,
 * at most FLEET_URL_MAX bytes. */
bool fleet_url_is_valid(const char *url);

/* Whether s can be one path segment of a URL we accept, as it is (no escaping): path characters but '/',
 * not "." or "..". A fleet publisher names device directories so (agent/fleet/fleet-publish.h). */
bool fleet_url_segment_is_valid(const char *s);

/* A key id as snapd writes sign-key-sha3-384: 64 characters of base64url without padding. */
bool fleet_key_id_is_valid(const char *s);

/* <base>/assertions for a configured base URL (one trailing "/" of base is ignored). -EINVAL for a base
 * fleet_url_is_valid() refuses, -E2BIG beyond FLEET_URL_MAX. */
int fleet_url_feed(const char *base, char **ret);

/* <base>/assertions/<type>/<key> for a prerequisite: type is "account-key" (key: a key id) or "account"
 * (key: an account-id by snapd's rule). Anything else is -EINVAL: a value from the network never shapes
 * a path. */
int fleet_url_prerequisite(const char *base, const char *type, const char *key, char **ret);

/* The base a one-off bundle URL fetches its prerequisites from: the URL without its last path segment, and
 * without a final "/assertions" segment after that ("https://h/d/SN/assertions" -> "https://h/d/SN",
 * "https://h/d/SN/assertions/today" -> "https://h/d/SN", "https://h/pub/bundle.assert" -> "https://h/pub").
 * -EINVAL for an invalid URL. */
int fleet_url_base_of(const char *bundle_url, char **ret);

/* --- retry timing --- */

/* The delay before the next poll. failures == 0: the interval with +-10% jitter (a fleet does not poll in
 * lockstep). failures >= 1: FLEET_BACKOFF_MIN doubled per further failure, capped at
 * max(interval, FLEET_BACKOFF_MIN) and FLEET_BACKOFF_MAX, with "equal jitter" (half fixed, half random).
 * random is any uniformly random 64-bit value; the function is pure. */
usec_t fleet_backoff_delay(unsigned failures, usec_t interval, uint64_t random);

/* --- HTTP --- */

typedef struct FleetClient {
        const char *ca_file; /* NULL: the system's CA store */
        const char *client_cert;
        const char *client_key;
        usec_t connect_timeout;
        usec_t total_timeout;
        usec_t deadline; /* CLOCK_MONOTONIC (time_now_monotonic()); 0: none. Every request ends by then. */
        size_t body_max;
        unsigned n_requests; /* requests made so far (for reports and tests) */
} FleetClient;

/* Defaults (limits above) plus the TLS settings of the configuration (config may be NULL). */
void fleet_client_init(FleetClient *c, const ConfigFleet *config);

typedef struct FleetResponse {
        long status; /* 200 or 304 */
        char *body;  /* NUL-terminated (the NUL is not counted in size); NULL for 304 */
        size_t size;
        char *etag; /* NULL when the server sent none (or an unusable one) */
} FleetResponse;

void fleet_response_done(FleetResponse *r);

/* A growing response body, refused as soon as it would exceed max. */
typedef struct FleetBuffer {
        char *data;
        size_t size;
        size_t allocated;
        size_t max;
        bool too_big;
} FleetBuffer;

/* Whether a body of size bytes (declared by Content-Length or received so far) is within max:
 * 0 or -E2BIG. */
int fleet_body_size_check(uint64_t size, size_t max);
/* Appends n bytes; -E2BIG (and too_big set) when the total would exceed b->max, nothing appended. */
int fleet_buffer_append(FleetBuffer *b, const void *data, size_t n);
void fleet_buffer_done(FleetBuffer *b);

/* GET url (If-None-Match: if_none_match when not NULL). TLS verification is always on, only https is
 * spoken and redirects are not followed. Returns 0 with a 200 or 304 response, or:
 * -ENOENT 404, -EPROTO another status, -ETIMEDOUT (also: c->deadline has passed, nothing was sent),
 * -ECONNREFUSED cannot connect, -EKEYREJECTED the server's
 * certificate is not trusted, -E2BIG the body exceeds c->body_max, -EIO other transfer errors;
 * *ret_error says what happened in words. */
int fleet_fetch(FleetClient *c, const char *url, const char *if_none_match, FleetResponse *ret,
                char **ret_error);

/* --- feeds and batches --- */

/* Adds a response body named name (its URL) to an import's batch: a plain assertion stream, or a framed
 * feed (FLEET_FEED_MAGIC) holding up to FLEET_FEED_STREAMS_MAX streams. The body is taken whole or not at
 * all; messages name the stream ("URL: stream 2: ..."). -EBADMSG malformed, -E2BIG beyond a limit
 * (including ASSERTION_BATCH_MAX for the whole batch), -ENODATA no assertion at all. */
int fleet_feed_add(AssertionBatch *b, const char *name, const char *data, size_t size, char **ret_error);

/* The body a device reads as its feed (what fleet_feed_add() takes back): the wire forms of n assertions
 * (each as assertion_encode() writes it, ending in "\n") as one plain stream when n <= ASSERTION_STREAM_MAX
 * (what a device of this version decodes as one stream; a stream's bytes are bounded by the body's only),
 * otherwise a framed feed of streams of ASSERTION_STREAM_MAX each. Appended to out (out->max bounds it).
 * -ENODATA for none (a device refuses an empty feed), -E2BIG beyond FLEET_FEED_ASSERTIONS_MAX or out->max.
 */
typedef struct FleetWire {
        const char *data;
        size_t size;
} FleetWire;
int fleet_feed_encode(const FleetWire *const *items, size_t n, FleetBuffer *out);

typedef struct FleetPrerequisite {
        const char *type; /* "account-key" or "account" (static) */
        char *key;        /* validated key id or account-id */
} FleetPrerequisite;

/* What the batch lacks when report refuses it only for unknown signers or accounts (-ENOKEY): the
 * account-keys and accounts found neither in the database nor in the batch, each once. Returns the number
 * found (0 when a refusal has another reason, or nothing is missing), -E2BIG beyond FLEET_PREREQUISITES_MAX.
 * Malformed ids are not returned: they cannot name anything the server could give us. */
int fleet_missing_prerequisites(TrustDb *db, const AssertionBatch *b, const TrustReport *report,
                                FleetPrerequisite **ret, size_t *ret_n);
void fleet_prerequisites_free(FleetPrerequisite *p, size_t n);

/* The one prerequisite round: when report (b checked against db) refuses b only for missing
 * prerequisites, fetches each from base once and adds what arrived to b. fetched (optional) gets one
 * {"url", "result"} per request. Returns how many arrived (0: nothing missing, or nothing came). */
int fleet_fetch_prerequisites(FleetClient *c, TrustDb *db, const char *base, AssertionBatch *b,
                              const TrustReport *report, json_t *fetched);

/* Checks (store false) or imports (store true) the batch; when the result is refused only for missing
 * prerequisites, fetches each from base once, adds what arrived and checks/imports once more.
 * fetched (optional) gets one {"url", "result"} per extra request. Returns 0 with the final report, or a
 * negative errno when the check itself could not run. */
int fleet_import_batch(FleetClient *c, TrustDb *db, const char *base, AssertionBatch *b, bool store,
                       json_t *fetched, TrustReport **ret);

/* --- poll state --- */

typedef struct FleetState {
        char *url;        /* the feed URL the ETag belongs to */
        char *etag;       /* of the last committed feed */
        usec_t last_poll; /* 0: never */
        bool ok;
        char *result;      /* what the last poll did, in words */
        unsigned failures; /* consecutive failed polls (for backoff) */
} FleetState;

void fleet_state_done(FleetState *s);
/* Loads ROOT/var/lib/corehomed/fleet/state.json; a missing file is an empty state. */
int fleet_state_load(const char *root, FleetState *ret);
/* Writes it atomically (0600). */
int fleet_state_save(const char *root, const FleetState *s);
/* {"url", "last-poll" (RFC 3339), "ok", "result", "failures"}, or null when never polled. */
json_t *fleet_state_json(const FleetState *s);

/* --- one poll --- */

typedef struct FleetPoll {
        const char *root; /* NULL or "/" for the running system */
        usec_t now;
        const ConfigFleet *config;
        TrustDb *db;              /* required */
        Provisioner *provisioner; /* required for applying */
        FleetClient client;       /* receiving only; client.deadline 0: now + config->timeout */
} FleetPoll;

/* What the receiving half of a poll got from the server. Nothing of it is stored yet, and nothing of it is
 * trusted: the assertions still face the whole trust chain when applied. */
typedef struct FleetReceived {
        int error;     /* 0: the feed arrived (status 200 or 304); < 0: it could not be fetched or decoded */
        char *message; /* error < 0: why, in words (at most FLEET_MESSAGE_MAX bytes) */
        long status;   /* error == 0: 200 or 304 */
        char *etag;    /* status 200: the response's usable ETag, or NULL */
        AssertionBatch batch;  /* status 200: the feed's streams and the prerequisites that arrived */
        json_t *prerequisites; /* [{"url", "result"}], one per prerequisite request (NULL: none) */
} FleetReceived;

void fleet_received_done(FleetReceived *r);
/* Makes r a failed outcome (replacing what it held): error < 0, message in words. */
int fleet_received_fail(FleetReceived *r, int error, const char *message);

/* The receiving half: GET the feed of config->url with the ETag the state file holds for it, decode it,
 * and when a check against p->db (read only) says prerequisites are missing, fetch each once. Every
 * request ends by p->client.deadline. Changes nothing on disk or in p->db. Fills *ret (a failure is an
 * outcome too: ret->error); returns a negative errno only when even that cannot be said (-ENOMEM). */
int fleet_poll_receive(FleetPoll *p, FleetReceived *ret);

/* What a poll did: the typed report of its one import (kind PROVISION_REPORT_FLEET; NULL for a 304),
 * and the poll's own facts. */
typedef struct FleetPollResult {
        char *source;            /* the feed URL */
        long status;             /* 200 or 304 */
        ProvisionReport *report; /* status 200: the assertions' verdicts and the users */
        json_t *prerequisites;   /* [{"url", "result"}], one per prerequisite request */
        char *result;            /* what the poll did, in words (also in the state file) */
} FleetPollResult;

void fleet_poll_result_done(FleetPollResult *r);
/* {"source", "status", "assertions", "committed", "prerequisites"[, "users"], "result"}: the Manager's
 * PollFleet reply and what `import --fleet --json` prints. New reference, NULL when out of memory. */
json_t *fleet_poll_result_json(const FleetPollResult *r);
/* The inverse, for the CLI that got the reply from the daemon. -EBADMSG for another shape. */
int fleet_poll_result_from_json(json_t *o, FleetPollResult *ret);

/* The applying half, without network: imports received->batch as one batch through the one import
 * pipeline (provision_import(), users when fleet.create-users), and records the outcome (also a failed
 * one) in the state file with the new ETag. Returns 0 with *ret (refusals are part of it), or a negative
 * errno when the feed could not be fetched or decoded, or the import could not run (*ret_error says why).
 * Runs with the root's lock held; p->provisioner is required. */
int fleet_poll_apply(FleetPoll *p, FleetReceived *received, FleetPollResult *ret, char **ret_error);

/* Both halves in process, for the CLI (corehomectl --root import --fleet). */
int fleet_poll(FleetPoll *p, FleetPollResult *ret, char **ret_error);

/* --- the receiving half's outcome as bytes (the fleet worker's answer to the daemon) --- */

/* The encoded form is FLEET_RECEIVED_MAGIC, then records, each a tag byte, a 32-bit little-endian length and
 * the payload; every field has its bound (the limits above), and the decoder refuses anything else whole:
 *   'E' int32 error + message          a failed poll; then only 'Z'
 *   'H' int32 status (200 or 304)      then optionally 'T', then 'P'... (200 only), then 'Q'...
 *   'T' ETag                           printable, at most FLEET_ETAG_MAX bytes
 *   'P' uint32 n + name (n bytes, a valid https URL) + one assertion stream (at most FLEET_BODY_MAX)
 *   'Q' uint32 n + url (n bytes, a valid https URL) + result text (at most FLEET_MESSAGE_MAX)
 *   'Z' empty                          the end; nothing may follow */
#define FLEET_RECEIVED_MAGIC "corehomed-fleet-received 1\n"
/* Bytes of a whole encoded outcome: every response the poll may make, at the body limit, plus names. */
#define FLEET_RECEIVED_MAX                                   \
        ((size_t) FLEET_POLL_REQUESTS_MAX * FLEET_BODY_MAX + \
         (size_t) FLEET_FEED_ASSERTIONS_MAX * (FLEET_URL_MAX + 16) + 64 * 1024)

/* Encodes r (error, or status with its batch parts and prerequisite results). -E2BIG when a field is out of
 * its bound (a message is cut to FLEET_MESSAGE_MAX instead). */
int fleet_received_encode(const FleetReceived *r, char **ret, size_t *ret_size);
/* Decodes what fleet_received_encode() made, from an untrusted source: every stream is decoded again with
 * fleet_feed_add(), text is bounded and must be printable. -EBADMSG (and *ret_error) for anything else. */
int fleet_received_decode(const char *data, size_t size, FleetReceived *ret, char **ret_error);
