/* SPDX-License-Identifier: MIT */
/* Checking a batch against the trust database, and committing it. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "model.h"
#include "serial.h"
#include "signature-verify-many.h"
#include "signature-verify.h"
#include "string-util.h"
#include "system-user.h"
#include "trust-db-internal.h"

typedef enum CandidateState {
        CANDIDATE_PENDING,
        CANDIDATE_ACCEPTED,
        CANDIDATE_DONE, /* verdict final: refused, unchanged or skipped */
} CandidateState;

typedef enum TryResult {
        TRY_DECIDED,
        TRY_WAIT, /* a prerequisite in the same batch is not decided yet */
} TryResult;

/* One assertion of the batch being checked. */
typedef struct Candidate {
        const Assertion *assertion;
        char *key; /* the store's key */
        CandidateState state;
        bool replaces;       /* a lower revision is stored */
        bool same_as_stored; /* the stored one has this revision (other content): kept if this verifies */
        AccountKey *account_key; /* for account-keys */
        PublicKey *public_key;
        char *key_name; /* account-keys: trust_key_name() */
        unsigned accepted_order;
        /* The signature checked ahead (batch_verify_signatures()): its check, NULL when not checked. */
        const SignatureCheck *checked;
} Candidate;

typedef struct BatchCheck {
        TrustDb *db;
        Candidate *candidates;
        size_t n;
        TrustReport *report;
        unsigned n_accepted;
        StringMap *by_key;      /* store key -> the candidate kept for it */
        StringMap *by_key_id;   /* account-key id -> the candidate kept for it */
        StringMap *names;       /* account-key name (trust_key_name()) -> candidate accepted with it */
        SignatureCheck *checks; /* the signatures checked ahead, owned */
} BatchCheck;

static void candidate_done(Candidate *c)
{
        free(c->key);
        free(c->key_name);
        account_key_free(c->account_key);
        public_key_free(c->public_key);
}

static TrustVerdict *verdict_of(BatchCheck *b, const Candidate *c)
{
        return &b->report->verdicts[c - b->candidates];
}

static size_t position_of(BatchCheck *b, const Candidate *c)
{
        return (size_t) (c - b->candidates);
}

static void refuse(BatchCheck *b, Candidate *c, int error, const char *format, ...) _printf_(4, 5);
static void refuse(BatchCheck *b, Candidate *c, int error, const char *format, ...)
{
        TrustVerdict *v = verdict_of(b, c);
        va_list ap;

        va_start(ap, format);
        vsnprintf(v->reason, sizeof(v->reason), format, ap);
        va_end(ap);
        v->kind = TRUST_VERDICT_REFUSED;
        v->error = error;
        c->state = CANDIDATE_DONE;
        b->report->n_refused++;
}

/* kept is the candidate kept instead, or NULL for the stored assertion. */
static void skip(BatchCheck *b, Candidate *c, const Candidate *kept, const char *format, ...) _printf_(4, 5);
static void skip(BatchCheck *b, Candidate *c, const Candidate *kept, const char *format, ...)
{
        TrustVerdict *v = verdict_of(b, c);
        va_list ap;

        va_start(ap, format);
        vsnprintf(v->reason, sizeof(v->reason), format, ap);
        va_end(ap);
        v->kind = TRUST_VERDICT_SKIPPED;
        v->kept_index = kept ? position_of(b, kept) : TRUST_KEPT_STORED;
        c->state = CANDIDATE_DONE;
        b->report->n_skipped++;
}

static void accept_candidate(BatchCheck *b, Candidate *c)
{
        verdict_of(b, c)->kind = c->replaces ? TRUST_VERDICT_UPDATED : TRUST_VERDICT_ADDED;
        c->state = CANDIDATE_ACCEPTED;
        c->accepted_order = b->n_accepted++;
}

static void mark_unchanged(BatchCheck *b, Candidate *c)
{
        verdict_of(b, c)->kind = TRUST_VERDICT_UNCHANGED;
        c->state = CANDIDATE_DONE;
}

static bool assertions_identical(const Assertion *a, const Assertion *b)
{
        return a->content_size == b->content_size && memcmp(a->content, b->content, a->content_size) == 0 &&
               a->signature_size == b->signature_size &&
               memcmp(a->signature, b->signature, a->signature_size) == 0;
}

/* The typed rules of the types we understand; other types are checked for signature and chain only. */
static int check_typed(Candidate *c, AssertionError *err)
{
        const Assertion *a = c->assertion;
        int r = 0;

        if (streq(a->type, "account")) {
                _cleanup_account_ Account *acc = NULL;
                r = account_from_assertion(a, &acc, err);
        } else if (streq(a->type, "account-key")) {
                r = account_key_from_assertion(a, &c->account_key, err);
                if (r >= 0)
                        r = public_key_from_assertion(a, &c->public_key, err);
        } else if (streq(a->type, "model")) {
                _cleanup_model_ Model *m = NULL;
                r = model_from_assertion(a, &m, err);
        } else if (streq(a->type, "serial")) {
                _cleanup_(serial_freep) Serial *s = NULL;
                r = serial_from_assertion(a, &s, err);
        } else if (streq(a->type, "system-user")) {
                _cleanup_system_user_ SystemUser *u = NULL;
                r = system_user_from_assertion(a, &u, err);
        }
        return r;
}

/* What snapd's decoder refuses refuses the batch: a key, an authority, the typed rules. */
static void check_alone(BatchCheck *b, Candidate *c)
{
        const Assertion *a = c->assertion;
        AssertionError err = {};
        char reason[300];

        verdict_of(b, c)->assertion = a;
        if (assertion_store_key(a, &c->key) < 0) {
                refuse(b, c, -EBADMSG, "unknown type or missing primary key");
                return;
        }
        if (!assertion_header_string(a, "authority-id") ||
            !assertion_header_string(a, "sign-key-sha3-384")) {
                /* Requests (account-key-request, serial-request, ...) are self-signed and prove nothing
                 * about a brand: they have no place on a device. */
                refuse(b, c, -EBADMSG, "%s assertions cannot be imported on a device", a->type);
                return;
        }
        if (check_typed(c, &err) < 0)
                refuse(b, c, -EBADMSG, "%s", assertion_error_format(&err, reason, sizeof(reason)));
}

/* snapd's Batch.Add for two assertions with one key: the higher revision stays; of two with the same
 * revision the first stays (an identical copy changes nothing). The other is skipped, unchecked. */
static int keep_one_per_key(BatchCheck *b, Candidate *c)
{
        void *v = string_map_get(b->by_key, c->key);
        Candidate *o = v;
        int64_t mine = c->assertion->revision;

        if (!o)
                return string_map_put(b->by_key, c->key, c, NULL);
        if (assertions_identical(o->assertion, c->assertion))
                mark_unchanged(b, c);
        else if (mine > o->assertion->revision) {
                skip(b, o, c,
                     "revision %" PRId64 " is superseded by revision %" PRId64
                     " of the same %s at #%zu of this "
                     "batch, which is kept",
                     o->assertion->revision, mine, c->assertion->type, position_of(b, c) + 1);
                return string_map_put(b->by_key, c->key, c, NULL);
        } else if (mine == o->assertion->revision)
                skip(b, c, o,
                     "a different %s with the same key and revision %" PRId64 " comes first in this batch "
                     "(#%zu) and is kept, as snapd keeps the first",
                     c->assertion->type, mine, position_of(b, o) + 1);
        else
                skip(b, c, o,
                     "revision %" PRId64 " is older than revision %" PRId64
                     " of the same %s at #%zu of this "
                     "batch, which is kept",
                     mine, o->assertion->revision, c->assertion->type, position_of(b, o) + 1);
        return 0;
}

/* A kept candidate against what the database holds under its key. */
static void compare_with_stored(BatchCheck *b, Candidate *c)
{
        TrustEntry *e;
        int r;

        r = trust_db_get(b->db, c->key, &e);
        if (r < 0) {
                refuse(b, c, r, "cannot read the stored %s with this key: %s", c->assertion->type,
                       strerror(-r));
                return;
        }
        if (r == 0)
                return;
        if (assertions_identical(e->assertion, c->assertion)) {
                mark_unchanged(b, c);
                return;
        }
        if (e->trusted) {
                refuse(b, c, -EPERM, "clashes with a trusted assertion with the same key");
                return;
        }
        int64_t stored = e->assertion->revision, offered = c->assertion->revision;
        if (offered < stored)
                refuse(b, c, -ESTALE,
                       "revision %" PRId64 " is older than the stored revision %" PRId64 " (replay refused)",
                       offered, stored);
        else if (offered == stored)
                /* snapd's Database.Add checks it first (a forgery is an error), then keeps the stored one.
                 */
                c->same_as_stored = true;
        else
                c->replaces = true;
}

/* Classifies each candidate against the batch and the stored state before any signature is checked. */
static int batch_prepare(BatchCheck *b)
{
        int r;

        for (size_t i = 0; i < b->n; i++) {
                Candidate *c = &b->candidates[i];

                check_alone(b, c);
                if (c->state == CANDIDATE_DONE)
                        continue;
                r = keep_one_per_key(b, c);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < b->n; i++) {
                Candidate *c = &b->candidates[i];

                if (c->state != CANDIDATE_PENDING)
                        continue;
                compare_with_stored(b, c);
                if (c->state == CANDIDATE_PENDING && c->account_key) {
                        r = string_map_put(b->by_key_id, c->account_key->public_key_sha3_384, c, NULL);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Whether an assertion of type with one primary-key value exists: 1 stored or accepted, 0 absent, -EAGAIN
 * still pending in this batch. */
static int batch_has(BatchCheck *b, const char *type, const char *value)
{
        const char *values[] = { value, NULL };
        _cleanup_free_ char *key = NULL;
        Candidate *c;
        TrustEntry *e;
        int r;

        r = assertion_store_key_from_values(type, values, &key);
        if (r < 0)
                return r;
        c = string_map_get(b->by_key, key);
        if (c && c->state == CANDIDATE_ACCEPTED)
                return 1;
        if (c && c->state == CANDIDATE_PENDING)
                return -EAGAIN;
        r = trust_db_get(b->db, key, &e);
        return r < 0 ? r : r > 0;
}

/* The signing key of an assertion, from the database or from what this batch accepted so far. */
typedef struct Signer {
        AccountKey *account_key;
        PublicKey *public_key;
} Signer;

static int resolve_signer(BatchCheck *b, const char *key_id, Signer *ret)
{
        const char *values[] = { key_id, NULL };
        _cleanup_free_ char *key = NULL;
        Candidate *c = string_map_get(b->by_key_id, key_id);
        TrustEntry *e;
        int r;

        if (c && c->state == CANDIDATE_DONE)
                c = NULL; /* refused: as if it never came */
        if (c && c->state == CANDIDATE_ACCEPTED) {
                *ret = (Signer){ c->account_key, c->public_key };
                return 1;
        }
        if (c && !c->replaces)
                return -EAGAIN;

        r = assertion_store_key_from_values("account-key", values, &key);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        r = trust_db_get(b->db, key, &e);
        if (r < 0)
                return r;
        if (r == 0)
                return c ? -EAGAIN : 0;
        r = trust_entry_account_key(e);
        if (r < 0)
                return r;
        *ret = (Signer){ e->account_key, e->public_key };
        return 1;
}

/* The key a pending candidate will be checked against, if it can be named now: a stored key, or an
 * account-key of this batch still to be decided (if that is refused, the result goes unused). */
static const PublicKey *likely_signer(BatchCheck *b, const Candidate *c)
{
        const char *key_id = assertion_header_string(c->assertion, "sign-key-sha3-384");
        Signer s = {};
        Candidate *k;

        if (!key_id)
                return NULL;
        if (resolve_signer(b, key_id, &s) > 0)
                return s.public_key;
        k = string_map_get(b->by_key_id, key_id);
        return k && k->state == CANDIDATE_PENDING ? k->public_key : NULL;
}

/* Every signature whose key can be named is checked up front, on every CPU (signature-verify-many.h); the
 * chain is then decided one candidate at a time as before (try_candidate() takes these outcomes instead of
 * verifying again). Small batches are checked inline: threads would cost more than they save. */
static int batch_verify_signatures(BatchCheck *b)
{
        _cleanup_free_ size_t *which = NULL;
        SignatureCheck *checks;
        size_t n = 0;

        if (b->n < SIGNATURE_VERIFY_PARALLEL_MIN)
                return 0;
        checks = b->checks = calloc(b->n, sizeof(*checks));
        which = calloc(b->n, sizeof(*which));
        if (!checks || !which)
                return -ENOMEM;
        for (size_t i = 0; i < b->n; i++) {
                Candidate *c = &b->candidates[i];
                const PublicKey *key;

                if (c->state != CANDIDATE_PENDING || !(key = likely_signer(b, c)))
                        continue;
                checks[n] = (SignatureCheck){ .assertion = c->assertion, .key = key };
                which[n++] = i;
        }
        if (n < SIGNATURE_VERIFY_PARALLEL_MIN)
                return 0;
        (void) signature_verify_many(checks, n);
        for (size_t k = 0; k < n; k++)
                b->candidates[which[k]].checked = &checks[k];
        return 0;
}

static void format_window(const AccountKey *k, char *buf, size_t size)
{
        char since[RFC3339_MAX], until[RFC3339_MAX] = "forever";

        (void) time_format_rfc3339(k->since, since);
        if (k->until != USEC_INFINITY)
                (void) time_format_rfc3339(k->until, until);
        snprintf(buf, size, "[%s, %s)", since, until);
}

/* Two live keys under one name would let a replaced key come back under the old name. */
static TryResult check_key_name(BatchCheck *b, Candidate *c)
{
        const AccountKey *k = c->account_key;
        const char *id = k->public_key_sha3_384, *other = NULL;
        KeyName *stored;
        Candidate *o;
        int r;

        if (!k->name)
                return TRY_DECIDED;
        r = trust_db_load_key_names(b->db);
        if (r < 0) {
                refuse(b, c, r, "cannot read the stored account-keys: %s", strerror(-r));
                return TRY_DECIDED;
        }
        c->key_name = trust_key_name(k->account_id, k->name);
        if (!c->key_name) {
                refuse(b, c, -ENOMEM, "out of memory");
                return TRY_DECIDED;
        }
        stored = string_map_get(b->db->key_names, c->key_name);
        o = string_map_get(b->names, c->key_name);
        if (stored && !streq(stored->key_id, id))
                other = stored->key_id;
        else if (o && !streq(o->account_key->public_key_sha3_384, id))
                other = o->account_key->public_key_sha3_384;
        if (other)
                refuse(b, c, -EEXIST,
                       "account-key for \"%s\" with ID %s has the same name \"%s\" as existing ID %s",
                       k->account_id, id, k->name, other);
        return TRY_DECIDED;
}

/* The consistency rules that depend on other assertions (snapd's checkConsistency). */
static TryResult check_consistency(BatchCheck *b, Candidate *c, const char *authority)
{
        const Assertion *a = c->assertion;
        int r;

        if (streq(a->type, "account") || streq(a->type, "account-key")) {
                /* Only a root of trust may vouch for accounts and their keys; otherwise any brand could
                 * mint keys for another brand's account. */
                if (!trust_db_is_trusted_account(b->db, authority)) {
                        refuse(b, c, -EPERM,
                               "%s for \"%s\" is not signed by a directly trusted authority: %s", a->type,
                               strempty(assertion_header_string(a, "account-id")), authority);
                        return TRY_DECIDED;
                }
        }
        if (streq(a->type, "account-key")) {
                const char *account_id = c->account_key->account_id;
                r = batch_has(b, "account", account_id);
                if (r == -EAGAIN)
                        return TRY_WAIT;
                if (r < 0) {
                        refuse(b, c, r, "cannot look up the account \"%s\": %s", account_id, strerror(-r));
                        return TRY_DECIDED;
                }
                if (r == 0) {
                        refuse(b, c, -ENOKEY,
                               "account-key for \"%s\" does not have a matching account assertion",
                               account_id);
                        return TRY_DECIDED;
                }
                return check_key_name(b, c);
        }
        if (streq(a->type, "serial")) {
                const char *brand = assertion_header_string(a, "brand-id");
                if (brand && !streq(brand, authority)) {
                        refuse(b, c, -EPERM,
                               "serial with authority \"%s\" different from brand \"%s\" is not supported",
                               authority, brand);
                        return TRY_DECIDED;
                }
        }
        return TRY_DECIDED;
}

/* Decides one pending candidate, or asks to wait for a prerequisite from the same batch. Cheap checks and
 * prerequisite lookups come first, so no RSA operation is spent on a candidate that has to wait. */
static TryResult try_candidate(BatchCheck *b, Candidate *c)
{
        const Assertion *a = c->assertion;
        const char *authority = assertion_header_string(a, "authority-id"),
                   *key_id = assertion_header_string(a, "sign-key-sha3-384");
        usec_t t = trust_db_check_time(b->db);
        Signer signer = {};
        AssertionError err = {};
        char window[96], when[RFC3339_MAX], reason[300];
        int r;

        r = resolve_signer(b, key_id, &signer);
        if (r == -EAGAIN)
                return TRY_WAIT;
        if (r < 0) {
                refuse(b, c, r, "cannot load the signing key %s: %s", key_id, strerror(-r));
                return TRY_DECIDED;
        }
        if (r == 0) {
                refuse(b, c, -ENOKEY,
                       "no matching public key \"%s\" for signature by \"%s\" (unknown signer)", key_id,
                       authority);
                return TRY_DECIDED;
        }
        if (!streq(signer.account_key->account_id, authority)) {
                refuse(b, c, -ENOKEY, "authority \"%s\" does not match the public key's account \"%s\"",
                       authority, signer.account_key->account_id);
                return TRY_DECIDED;
        }

        format_window(signer.account_key, window, sizeof(window));
        if (!account_key_is_valid_at(signer.account_key, t)) {
                (void) time_format_rfc3339(t, when);
                refuse(b, c, -EKEYEXPIRED,
                       "signed with expired public key \"%s\" from \"%s\": check time is %s but "
                       "the key is valid during %s",
                       key_id, authority, when, window);
                return TRY_DECIDED;
        }
        const char *timestamp = assertion_header_string(a, "timestamp");
        usec_t ts;
        if (timestamp && time_parse_rfc3339(timestamp, &ts) >= 0 &&
            !account_key_is_valid_at(signer.account_key, ts)) {
                refuse(b, c, -EKEYEXPIRED, "timestamp %s outside of the signing key's validity %s",
                       timestamp, window);
                return TRY_DECIDED;
        }

        TryResult tr = check_consistency(b, c, authority);
        if (tr == TRY_WAIT || c->state == CANDIDATE_DONE)
                return tr;

        if (c->checked && c->checked->key == signer.public_key) {
                r = c->checked->result;
                err = c->checked->error;
        } else
                r = assertion_verify_signature(a, signer.public_key, &err);
        if (r < 0) {
                refuse(b, c, -EKEYREJECTED, "bad signature: %s",
                       assertion_error_format(&err, reason, sizeof(reason)));
                return TRY_DECIDED;
        }

        if (c->same_as_stored) {
                skip(b, c, NULL,
                     "revision %" PRId64
                     " is already stored with different content: the stored one is kept, "
                     "as snapd keeps it",
                     a->revision);
                return TRY_DECIDED;
        }
        accept_candidate(b, c);
        if (c->key_name && string_map_put(b->names, c->key_name, c, NULL) < 0)
                refuse(b, c, -ENOMEM, "out of memory");
        return TRY_DECIDED;
}

static void batch_resolve(BatchCheck *b)
{
        for (bool progress = true; progress;) {
                progress = false;
                for (size_t i = 0; i < b->n; i++) {
                        Candidate *c = &b->candidates[i];
                        if (c->state == CANDIDATE_PENDING && try_candidate(b, c) == TRY_DECIDED)
                                progress = true;
                }
        }
        /* What still waits depends on something that never got accepted (a cycle or a refused key). */
        for (size_t i = 0; i < b->n; i++) {
                Candidate *c = &b->candidates[i];
                if (c->state == CANDIDATE_PENDING)
                        refuse(b, c, -ENOKEY, "its signing key or account in this batch was not accepted");
        }
}

static int batch_commit(BatchCheck *b)
{
        _cleanup_free_ Assertion **items = calloc(b->n_accepted + 1, sizeof(Assertion *));
        TrustDb *db = b->db;
        usec_t floor = db->floor_store;
        int r;

        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < b->n; i++) {
                Candidate *c = &b->candidates[i];
                const char *timestamp;
                usec_t ts;

                if (c->state != CANDIDATE_ACCEPTED)
                        continue;
                items[c->accepted_order] = (Assertion *) c->assertion;
                timestamp = assertion_header_string(c->assertion, "timestamp");
                if (timestamp && time_parse_rfc3339(timestamp, &ts) >= 0 && ts > floor)
                        floor = ts;
        }

        r = assertion_store_commit(db->store, items, b->n_accepted, floor);
        if (r < 0)
                return r;
        /* What the cache held for these keys is older than the store now. */
        for (size_t i = 0; i < b->n; i++) {
                Candidate *c = &b->candidates[i];
                if (c->state != CANDIDATE_ACCEPTED)
                        continue;
                trust_db_forget(db, c->key);
                if (c->account_key)
                        trust_db_note_key_name(db, c->account_key);
        }
        db->floor_store = assertion_store_time_floor(db->store);
        b->report->committed = true;
        return 0;
}

static int batch_run(TrustDb *db, const AssertionList *batch, bool commit, TrustReport **ret)
{
        _cleanup_trust_report_ TrustReport *report = NULL;
        BatchCheck b = { .db = db, .n = batch->n };
        int r;

        if (batch->n > ASSERTION_BATCH_MAX)
                return -E2BIG;
        report = calloc(1, sizeof(TrustReport));
        if (!report)
                return -ENOMEM;
        report->n = batch->n;
        report->verdicts = calloc(batch->n + 1, sizeof(TrustVerdict));
        b.candidates = calloc(batch->n + 1, sizeof(Candidate));
        b.by_key = string_map_new();
        b.by_key_id = string_map_new();
        b.names = string_map_new();
        b.report = report;
        r = report->verdicts && b.candidates && b.by_key && b.by_key_id && b.names ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < batch->n; i++)
                b.candidates[i].assertion = batch->items[i];

        if (r >= 0)
                r = batch_prepare(&b);
        if (r >= 0)
                r = batch_verify_signatures(&b);
        if (r >= 0) {
                batch_resolve(&b);
                if (commit && report->n_refused == 0)
                        r = b.n_accepted > 0 ? batch_commit(&b) : 0;
                if (r >= 0 && commit && report->n_refused == 0)
                        report->committed = true;
        }

        for (size_t i = 0; b.candidates && i < b.n; i++)
                candidate_done(&b.candidates[i]);
        free(b.candidates);
        string_map_free(b.by_key);
        string_map_free(b.by_key_id);
        string_map_free(b.names);
        free(b.checks);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(report);
        return 0;
}

int trust_db_check(TrustDb *db, const AssertionList *batch, TrustReport **ret)
{
        return batch_run(db, batch, false, ret);
}

int trust_db_import(TrustDb *db, const AssertionList *batch, TrustReport **ret)
{
        return batch_run(db, batch, true, ret);
}
