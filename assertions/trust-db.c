/* SPDX-License-Identifier: MIT */
#include "trust-db.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account-key.h"
#include "account.h"
#include "assertion-store.h"
#include "file-util.h"
#include "json-util.h"
#include "model.h"
#include "public-key.h"
#include "serial.h"
#include "signature-verify.h"
#include "string-util.h"
#include "system-user.h"

typedef struct TrustEntry {
        Assertion *assertion;  /* owned */
        bool trusted;          /* from the trusted roots: never replaced */
        PublicKey *public_key; /* account-keys: parsed on first use */
        AccountKey *account_key;
} TrustEntry;

struct TrustDb {
        char *root;
        usec_t now;
        usec_t floor;
        TrustEntry *entries;
        size_t n_entries;
        json_t *index; /* lookup key -> position in entries */
};

typedef enum CandidateState {
        CANDIDATE_PENDING,
        CANDIDATE_ACCEPTED,
        CANDIDATE_DONE, /* verdict final: refused or unchanged */
} CandidateState;

typedef enum TryResult {
        TRY_DECIDED,
        TRY_WAIT, /* a prerequisite in the same batch is not decided yet */
} TryResult;

/* One assertion of the batch being checked. */
typedef struct Candidate {
        const Assertion *assertion;
        char *key;
        CandidateState state;
        bool replaces;           /* a lower revision is stored */
        AccountKey *account_key; /* for account-keys */
        PublicKey *public_key;
        unsigned accepted_order;
} Candidate;

typedef struct BatchCheck {
        TrustDb *db;
        Candidate *candidates;
        size_t n;
        TrustReport *report;
        unsigned n_accepted;
} BatchCheck;

static TrustEntry *entry_done(TrustEntry *e)
{
        assertion_free(e->assertion);
        public_key_free(e->public_key);
        account_key_free(e->account_key);
        return NULL;
}

TrustDb *trust_db_free(TrustDb *db)
{
        if (!db)
                return NULL;
        for (size_t i = 0; i < db->n_entries; i++)
                entry_done(&db->entries[i]);
        free(db->entries);
        json_decref(db->index);
        free(db->root);
        free(db);
        return NULL;
}

const char *trust_verdict_kind_to_string(TrustVerdictKind kind)
{
        switch (kind) {
        case TRUST_VERDICT_ADDED:
                return "added";
        case TRUST_VERDICT_UPDATED:
                return "updated";
        case TRUST_VERDICT_UNCHANGED:
                return "unchanged";
        case TRUST_VERDICT_REFUSED:
                return "refused";
        }
        return "unknown";
}

TrustReport *trust_report_free(TrustReport *r)
{
        if (!r)
                return NULL;
        free(r->verdicts);
        free(r);
        return NULL;
}

/* "TYPE\x1fVALUE\x1f...": the identity of an assertion (type + primary key), as an index key. */
static char *lookup_key_from_values(const char *type, const char *const *values)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        fputs(type, f);
        for (size_t i = 0; values[i]; i++)
                fprintf(f, "\x1f%s", values[i]);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static char *lookup_key(const Assertion *a)
{
        const char *const *names = assertion_type_primary_keys(a->type);
        const char *values[8] = {};
        size_t i = 0;

        if (!names)
                return NULL;
        for (; names[i]; i++) {
                if (i + 1 >= ELEMENTSOF(values))
                        return NULL;
                values[i] = assertion_header_string(a, names[i]);
                if (!values[i])
                        return NULL;
        }
        return lookup_key_from_values(a->type, values);
}

static TrustEntry *db_lookup(TrustDb *db, const char *key)
{
        json_t *pos = json_object_get(db->index, key);
        return pos ? &db->entries[json_integer_value(pos)] : NULL;
}

static bool assertions_identical(const Assertion *a, const Assertion *b)
{
        return a->content_size == b->content_size && memcmp(a->content, b->content, a->content_size) == 0 &&
               a->signature_size == b->signature_size &&
               memcmp(a->signature, b->signature, a->signature_size) == 0;
}

static uint64_t assertion_revision(const Assertion *a)
{
        const char *r = assertion_header_string(a, "revision");
        return r ? strtoull(r, NULL, 10) : 0; /* the decoder has checked the digits */
}

/* Copies an assertion (the batch owns its own; the database keeps one of its own). */
static int assertion_copy(const Assertion *a, Assertion **ret)
{
        _cleanup_free_ char *wire = NULL;
        size_t size;
        int r;

        r = assertion_encode(a, &wire, &size);
        if (r < 0)
                return r;
        return assertion_decode(wire, size, ret, NULL);
}

/* Adds (or replaces) an entry; takes ownership of a. */
static int db_put(TrustDb *db, Assertion *a, bool trusted)
{
        _cleanup_assertion_ Assertion *owned = a;
        _cleanup_free_ char *key = lookup_key(a);
        TrustEntry *e;

        if (!key)
                return -EBADMSG;
        e = db_lookup(db, key);
        if (e) {
                entry_done(e);
                *e = (TrustEntry){ .assertion = TAKE_PTR(owned), .trusted = trusted };
                return 0;
        }
        e = realloc(db->entries, (db->n_entries + 1) * sizeof(TrustEntry));
        if (!e)
                return -ENOMEM;
        db->entries = e;
        if (json_object_set_new(db->index, key, json_integer((json_int_t) db->n_entries)) < 0)
                return -ENOMEM;
        db->entries[db->n_entries++] = (TrustEntry){ .assertion = TAKE_PTR(owned), .trusted = trusted };
        return 0;
}

static int db_load_list(TrustDb *db, AssertionList *list, bool trusted, char **ret_error)
{
        for (size_t i = 0; i < list->n; i++) {
                _cleanup_free_ char *key = lookup_key(list->items[i]);
                if (!key) {
                        if (ret_error)
                                *ret_error = strprintf("%s: assertion without a primary key",
                                                       strempty(list->items[i]->type));
                        return -EBADMSG;
                }
                int r = db_put(db, TAKE_PTR(list->items[i]), trusted);
                if (r < 0)
                        return r;
        }
        return 0;
}

int trust_db_open(const char *root, usec_t now, TrustDb **ret, char **ret_error)
{
        _cleanup_trust_db_ TrustDb *db = calloc(1, sizeof(TrustDb));
        _cleanup_free_ char *trusted_dir = NULL, *store_dir = NULL;
        _cleanup_assertion_list_ AssertionList *trusted = NULL, *stored = NULL;
        int r;

        if (!db)
                return -ENOMEM;
        db->root = strdup(root ? root : "/");
        db->index = json_object();
        if (!db->root || !db->index)
                return -ENOMEM;
        db->now = now;

        r = path_join_root(root, ASSERTION_STORE_TRUSTED_DIR, &trusted_dir);
        if (r < 0)
                return r;
        r = path_join_root(root, ASSERTION_STORE_DIR, &store_dir);
        if (r < 0)
                return r;

        r = assertion_store_load_dir(trusted_dir, false, &trusted, ret_error);
        if (r < 0)
                return r;
        r = assertion_store_load_dir(store_dir, true, &stored, ret_error);
        if (r < 0)
                return r;
        r = db_load_list(db, stored, false, ret_error);
        if (r < 0)
                return r;
        /* Trusted roots last, so they win over anything that might have been stored under their key. */
        r = db_load_list(db, trusted, true, ret_error);
        if (r < 0)
                return r;

        r = assertion_store_read_time_floor(root, &db->floor);
        if (r < 0) {
                if (ret_error)
                        *ret_error = strprintf("%s/time-floor: unreadable or malformed", store_dir);
                return r;
        }

        *ret = TAKE_PTR(db);
        return 0;
}

int trust_db_new_trusted(AssertionList *trusted, usec_t now, TrustDb **ret, char **ret_error)
{
        _cleanup_trust_db_ TrustDb *db = calloc(1, sizeof(TrustDb));
        int r;

        if (!db)
                return -ENOMEM;
        db->index = json_object();
        if (!db->index)
                return -ENOMEM;
        db->now = now;
        r = db_load_list(db, trusted, true, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(db);
        return 0;
}

void trust_db_set_now(TrustDb *db, usec_t now)
{
        db->now = now;
}

usec_t trust_db_check_time(TrustDb *db)
{
        return db->now > db->floor ? db->now : db->floor;
}

bool trust_db_is_trusted_account(TrustDb *db, const char *account_id)
{
        const char *values[] = { account_id, NULL };
        _cleanup_free_ char *key = NULL;
        TrustEntry *e;

        if (!account_id || !*account_id)
                return false;
        key = lookup_key_from_values("account", values);
        e = key ? db_lookup(db, key) : NULL;
        return e && e->trusted;
}

const Assertion *trust_db_find(TrustDb *db, const char *type, const char *const *primary_key)
{
        _cleanup_free_ char *key = lookup_key_from_values(type, primary_key);
        TrustEntry *e = key ? db_lookup(db, key) : NULL;

        return e ? e->assertion : NULL;
}

static bool matches_filters(const Assertion *a, char *const *filters)
{
        for (char *const *f = filters; f && *f; f++) {
                const char *eq = strchr(*f, '=');
                if (!eq)
                        return false;
                _cleanup_free_ char *name = strndup(*f, (size_t) (eq - *f));
                const char *v = name ? assertion_header_string(a, name) : NULL;
                if (!v || !streq(v, eq + 1))
                        return false;
        }
        return true;
}

static int compare_key_pointers(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

int trust_db_foreach(TrustDb *db, const char *type, char *const *filters,
                     int (*f)(const Assertion *a, bool trusted, void *userdata), void *userdata)
{
        _cleanup_free_ const char **keys = calloc(json_object_size(db->index) + 1, sizeof(char *));
        const char *key;
        json_t *pos;
        size_t n = 0;
        int r = 0;

        if (!keys)
                return -ENOMEM;
        /* Index keys sort by type, then primary key: a stable, readable order. */
        json_object_foreach (db->index, key, pos)
                keys[n++] = key;
        qsort(keys, n, sizeof(char *), compare_key_pointers);

        for (size_t i = 0; i < n && r == 0; i++) {
                TrustEntry *e = db_lookup(db, keys[i]);
                if (type && !streq(e->assertion->type, type))
                        continue;
                if (!matches_filters(e->assertion, filters))
                        continue;
                r = f(e->assertion, e->trusted, userdata);
        }
        return r < 0 ? r : 0;
}

static void candidate_done(Candidate *c)
{
        free(c->key);
        account_key_free(c->account_key);
        public_key_free(c->public_key);
}

static TrustVerdict *verdict_of(BatchCheck *b, const Candidate *c)
{
        return &b->report->verdicts[c - b->candidates];
}

static void refuse(BatchCheck *b, Candidate *c, int error, const char *format, ...)
        __attribute__((format(printf, 4, 5)));
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

/* The typed rules of the types we understand; other types are checked for signature and chain only. */
static int check_typed(Candidate *c, AssertionError *err)
{
        const Assertion *a = c->assertion;
        int r = 0;

        if (streq(a->type, "account")) {
                _cleanup_(account_freep) Account *acc = NULL;
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

/* Classifies each candidate against the batch and the stored state before any signature is checked. */
static void batch_prepare(BatchCheck *b)
{
        for (size_t i = 0; i < b->n; i++) {
                Candidate *c = &b->candidates[i];
                const Assertion *a = c->assertion;
                AssertionError err = {};
                char reason[300];

                verdict_of(b, c)->assertion = a;
                c->key = lookup_key(a);
                if (!c->key) {
                        refuse(b, c, -EBADMSG, "unknown type or missing primary key");
                        continue;
                }
                if (!assertion_header_string(a, "authority-id") ||
                    !assertion_header_string(a, "sign-key-sha3-384")) {
                        /* Requests (account-key-request, serial-request, ...) are self-signed and prove
                         * nothing about a brand: they have no place on a device. */
                        refuse(b, c, -EBADMSG, "%s assertions cannot be imported on a device", a->type);
                        continue;
                }
                if (check_typed(c, &err) < 0) {
                        refuse(b, c, -EBADMSG, "%s", assertion_error_format(&err, reason, sizeof(reason)));
                        continue;
                }

                /* Two different assertions under one identity in one batch: which one the brand meant is
                 * not ours to guess (an attacker could add an old revision next to a new one). */
                bool duplicate = false;
                for (size_t j = 0; j < i; j++) {
                        Candidate *o = &b->candidates[j];
                        if (!o->key || !streq(o->key, c->key))
                                continue;
                        if (assertions_identical(o->assertion, a)) {
                                duplicate = true;
                                break;
                        }
                        refuse(b, c, -EEXIST,
                               "conflicts with another %s assertion with the same key in this batch",
                               a->type);
                        if (o->state != CANDIDATE_DONE || verdict_of(b, o)->kind != TRUST_VERDICT_REFUSED)
                                refuse(b, o, -EEXIST,
                                       "conflicts with another %s assertion with the same key in this batch",
                                       a->type);
                        break;
                }
                if (c->state == CANDIDATE_DONE)
                        continue;
                if (duplicate) {
                        mark_unchanged(b, c);
                        continue;
                }

                TrustEntry *e = db_lookup(b->db, c->key);
                if (!e)
                        continue;
                if (assertions_identical(e->assertion, a)) {
                        mark_unchanged(b, c);
                        continue;
                }
                if (e->trusted) {
                        refuse(b, c, -EPERM, "clashes with a trusted assertion with the same key");
                        continue;
                }
                uint64_t stored = assertion_revision(e->assertion), offered = assertion_revision(a);
                if (offered < stored)
                        refuse(b, c, -ESTALE,
                               "revision %" PRIu64 " is older than the stored revision %" PRIu64
                               " (replay refused)",
                               offered, stored);
                else if (offered == stored)
                        refuse(b, c, -EEXIST,
                               "revision %" PRIu64 " is already stored with different content "
                               "(conflict refused)",
                               offered);
                else
                        c->replaces = true;
        }
}

static Candidate *batch_find_account_key(BatchCheck *b, const char *key_id)
{
        for (size_t i = 0; i < b->n; i++) {
                Candidate *c = &b->candidates[i];
                if (c->account_key && c->state != CANDIDATE_DONE &&
                    streq(c->account_key->public_key_sha3_384, key_id))
                        return c;
        }
        return NULL;
}

/* Finds whether an assertion of type with one primary-key value exists: 1 stored or accepted, 0 absent,
 * -EAGAIN still pending in this batch. */
static int batch_has(BatchCheck *b, const char *type, const char *value)
{
        const char *values[] = { value, NULL };
        _cleanup_free_ char *key = lookup_key_from_values(type, values);

        if (!key)
                return -ENOMEM;
        for (size_t i = 0; i < b->n; i++) {
                Candidate *c = &b->candidates[i];
                if (!c->key || !streq(c->key, key))
                        continue;
                if (c->state == CANDIDATE_ACCEPTED)
                        return 1;
                if (c->state == CANDIDATE_PENDING)
                        return -EAGAIN;
        }
        return db_lookup(b->db, key) ? 1 : 0;
}

/* The signing key of an assertion, from the database or from what this batch accepted so far. */
typedef struct Signer {
        AccountKey *account_key;
        PublicKey *public_key;
} Signer;

static int resolve_signer(BatchCheck *b, const char *key_id, Signer *ret)
{
        Candidate *c = batch_find_account_key(b, key_id);
        const char *values[] = { key_id, NULL };
        _cleanup_free_ char *key = lookup_key_from_values("account-key", values);
        TrustEntry *e;
        int r;

        if (c && c->state == CANDIDATE_ACCEPTED) {
                *ret = (Signer){ c->account_key, c->public_key };
                return 1;
        }
        if (c && c->state == CANDIDATE_PENDING && !c->replaces)
                return -EAGAIN;

        e = key ? db_lookup(b->db, key) : NULL;
        if (!e)
                return c ? -EAGAIN : 0;
        if (!e->account_key) {
                r = account_key_from_assertion(e->assertion, &e->account_key, NULL);
                if (r < 0)
                        return r;
        }
        if (!e->public_key) {
                r = public_key_from_assertion(e->assertion, &e->public_key, NULL);
                if (r < 0)
                        return r;
        }
        *ret = (Signer){ e->account_key, e->public_key };
        return 1;
}

static void format_window(const AccountKey *k, char *buf, size_t size)
{
        char since[RFC3339_MAX], until[RFC3339_MAX] = "forever";

        (void) time_format_rfc3339(k->since, since);
        if (k->until != USEC_INFINITY)
                (void) time_format_rfc3339(k->until, until);
        snprintf(buf, size, "[%s, %s)", since, until);
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
                if (r == 0) {
                        refuse(b, c, -ENOKEY,
                               "account-key for \"%s\" does not have a matching account assertion",
                               account_id);
                        return TRY_DECIDED;
                }
                /* Two live keys under one name would let a replaced key come back under the old name. */
                for (size_t i = 0; i < b->db->n_entries; i++) {
                        const Assertion *o = b->db->entries[i].assertion;
                        const char *on = assertion_header_string(o, "name"),
                                   *oid = assertion_header_string(o, "public-key-sha3-384");
                        if (!streq(o->type, "account-key") ||
                            !streq(strempty(assertion_header_string(o, "account-id")), account_id) || !on ||
                            !c->account_key->name || !streq(on, c->account_key->name) || !oid ||
                            streq(oid, c->account_key->public_key_sha3_384))
                                continue;
                        refuse(b, c, -EEXIST,
                               "account-key for \"%s\" with ID %s has the same name \"%s\" as existing ID "
                               "%s",
                               account_id, c->account_key->public_key_sha3_384, on, oid);
                        return TRY_DECIDED;
                }
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

        r = assertion_verify_signature(a, signer.public_key, &err);
        if (r < 0) {
                refuse(b, c, -EKEYREJECTED, "bad signature: %s",
                       assertion_error_format(&err, reason, sizeof(reason)));
                return TRY_DECIDED;
        }

        accept_candidate(b, c);
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
        usec_t floor = b->db->floor;
        int r;

        if (!b->db->root)
                return -EROFS; /* held in memory only (trust_db_new_trusted()) */

        for (unsigned order = 0; order < b->n_accepted; order++)
                for (size_t i = 0; i < b->n; i++) {
                        Candidate *c = &b->candidates[i];
                        _cleanup_assertion_ Assertion *copy = NULL;
                        const char *timestamp;
                        usec_t ts;

                        if (c->state != CANDIDATE_ACCEPTED || c->accepted_order != order)
                                continue;
                        /* Prerequisites were accepted first, so they are written first: a crash in the
                         * middle leaves a smaller, still consistent store. */
                        r = assertion_store_save(b->db->root, c->assertion);
                        if (r < 0)
                                return r;
                        r = assertion_copy(c->assertion, &copy);
                        if (r < 0)
                                return r;
                        r = db_put(b->db, TAKE_PTR(copy), false);
                        if (r < 0)
                                return r;
                        timestamp = assertion_header_string(c->assertion, "timestamp");
                        if (timestamp && time_parse_rfc3339(timestamp, &ts) >= 0 && ts > floor)
                                floor = ts;
                }

        if (floor > b->db->floor) {
                r = assertion_store_write_time_floor(b->db->root, floor);
                if (r < 0)
                        return r;
                b->db->floor = floor;
        }
        b->report->committed = true;
        return 0;
}

static int batch_run(TrustDb *db, const AssertionList *batch, bool commit, TrustReport **ret)
{
        _cleanup_trust_report_ TrustReport *report = calloc(1, sizeof(TrustReport));
        BatchCheck b = { .db = db, .n = batch->n };
        int r = 0;

        if (!report)
                return -ENOMEM;
        report->n = batch->n;
        report->verdicts = calloc(batch->n + 1, sizeof(TrustVerdict));
        b.candidates = calloc(batch->n + 1, sizeof(Candidate));
        if (!report->verdicts || !b.candidates) {
                free(b.candidates);
                return -ENOMEM;
        }
        b.report = report;
        for (size_t i = 0; i < batch->n; i++)
                b.candidates[i].assertion = batch->items[i];

        batch_prepare(&b);
        batch_resolve(&b);
        if (commit && report->n_refused == 0)
                r = batch_commit(&b);

        for (size_t i = 0; i < b.n; i++)
                candidate_done(&b.candidates[i]);
        free(b.candidates);
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
