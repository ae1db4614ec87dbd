/* SPDX-License-Identifier: MIT */
#include "trust-db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion-store.h"
#include "file-util.h"
#include "string-util.h"
#include "trust-db-internal.h"

/* The build's time floor in seconds since the epoch, set by assertions/meson.build. */
#ifndef TRUST_BUILD_TIME_FLOOR_SEC
#define TRUST_BUILD_TIME_FLOOR_SEC 0
#endif

static TrustEntry *entry_free(TrustEntry *e)
{
        if (!e)
                return NULL;
        free(e->key);
        assertion_free(e->assertion);
        public_key_free(e->public_key);
        account_key_free(e->account_key);
        return mfree(e);
}

static void key_name_free(KeyName *k)
{
        if (!k)
                return;
        free(k->account_and_name);
        free(k->key_id);
        free(k);
}

static void key_names_free(StringMap *m)
{
        void *v;

        for (size_t state = 0; string_map_next(m, &state, NULL, &v);)
                key_name_free(v);
        string_map_free(m);
}

/* Drops every stored entry from memory (trusted ones stay). */
static void forget_stored(TrustDb *db)
{
        size_t state = 0, n = 0;
        TrustEntry *e;
        void *v;
        _cleanup_free_ TrustEntry **stored = calloc(string_map_size(db->entries) + 1, sizeof(TrustEntry *));

        if (!stored)
                return; /* keeps the cache: only ever called with a store holding the same content */
        while (string_map_next(db->entries, &state, NULL, &v)) {
                e = v;
                if (!e->trusted)
                        stored[n++] = e;
        }
        for (size_t i = 0; i < n; i++) {
                string_map_remove(db->entries, stored[i]->key);
                entry_free(stored[i]);
        }
}

TrustDb *trust_db_free(TrustDb *db)
{
        void *v;

        if (!db)
                return NULL;
        for (size_t state = 0; string_map_next(db->entries, &state, NULL, &v);)
                entry_free(v);
        string_map_free(db->entries);
        key_names_free(db->key_names);
        free(db->trusted);
        assertion_store_free(db->store);
        free(db->root);
        return mfree(db);
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
        case TRUST_VERDICT_SKIPPED:
                return "skipped";
        }
        return "unknown";
}

int trust_verdict_kind_from_string(const char *s, TrustVerdictKind *ret)
{
        static const TrustVerdictKind kinds[] = {
                TRUST_VERDICT_ADDED,   TRUST_VERDICT_UPDATED, TRUST_VERDICT_UNCHANGED,
                TRUST_VERDICT_REFUSED, TRUST_VERDICT_SKIPPED,
        };

        for (size_t i = 0; s && i < ELEMENTSOF(kinds); i++)
                if (streq(s, trust_verdict_kind_to_string(kinds[i]))) {
                        *ret = kinds[i];
                        return 0;
                }
        return -EINVAL;
}

TrustReport *trust_report_free(TrustReport *r)
{
        if (!r)
                return NULL;
        free(r->verdicts);
        return mfree(r);
}

char *trust_key_name(const char *account_id, const char *name)
{
        return strprintf("%s\n%s", account_id, name);
}

int trust_entry_account_key(TrustEntry *e)
{
        int r;

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
        return 0;
}

/* Adds a trusted assertion (taking it); trusted roots win over a stored assertion of the same key. */
static int add_trusted(TrustDb *db, Assertion *a, char **ret_error)
{
        _cleanup_free_ char *key = NULL;
        TrustEntry *e;
        void *old = NULL;
        int r;

        r = assertion_store_key(a, &key);
        if (r < 0) {
                assertion_free(a);
                return error_set(ret_error, -EBADMSG, "%s: trusted assertion without a primary key",
                                 strempty(a->type));
        }
        e = calloc(1, sizeof(TrustEntry));
        if (!e) {
                assertion_free(a);
                return -ENOMEM;
        }
        *e = (TrustEntry){ .key = TAKE_PTR(key), .assertion = a, .trusted = true };
        r = string_map_put(db->entries, e->key, e, &old);
        if (r < 0) {
                entry_free(e);
                return r;
        }
        entry_free(old); /* the same key twice among the roots: the later file wins */
        return 0;
}

static int compare_entries(const void *a, const void *b)
{
        return strcmp((*(TrustEntry *const *) a)->key, (*(TrustEntry *const *) b)->key);
}

/* The trusted roots were made before this device: their timestamps, and the since of their keys, are a
 * floor for the time. */
static usec_t trusted_floor(TrustEntry *const *trusted, size_t n)
{
        usec_t floor = 0, t;

        for (size_t i = 0; i < n; i++)
                for (const char *const *h = (const char *const[]){ "timestamp", "since", NULL }; *h; h++) {
                        const char *v = assertion_header_string(trusted[i]->assertion, *h);
                        if (v && time_parse_rfc3339(v, &t) >= 0 && t > floor)
                                floor = t;
                }
        return floor;
}

static int load_trusted(TrustDb *db, char **ret_error)
{
        _cleanup_assertion_list_ AssertionList *list = NULL;
        _cleanup_free_ char *dir = NULL;
        size_t state = 0, n = 0;
        void *v;
        int r;

        r = path_join_root(db->root, ASSERTION_STORE_TRUSTED_DIR, &dir);
        if (r < 0)
                return r;
        r = assertion_store_load_dir(dir, &list, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < list->n; i++) {
                r = add_trusted(db, TAKE_PTR(list->items[i]), ret_error);
                if (r < 0)
                        return r;
        }
        db->trusted = calloc(string_map_size(db->entries) + 1, sizeof(TrustEntry *));
        if (!db->trusted)
                return -ENOMEM;
        while (string_map_next(db->entries, &state, NULL, &v))
                db->trusted[n++] = v;
        db->n_trusted = n;
        qsort(db->trusted, n, sizeof(TrustEntry *), compare_entries);
        db->floor_trusted = trusted_floor(db->trusted, n);
        return 0;
}

int trust_db_open(const char *root, usec_t now, TrustDb **ret, char **ret_error)
{
        _cleanup_trust_db_ TrustDb *db = calloc(1, sizeof(TrustDb));
        int r;

        if (!db)
                return -ENOMEM;
        db->root = strdup(root ? root : "/");
        db->entries = string_map_new();
        if (!db->root || !db->entries)
                return -ENOMEM;
        db->now = now;

        r = load_trusted(db, ret_error);
        if (r < 0)
                return r;
        r = assertion_store_open(root, &db->store, ret_error);
        if (r < 0)
                return r;
        db->floor_store = assertion_store_time_floor(db->store);
        *ret = TAKE_PTR(db);
        return 0;
}

int trust_db_recover(TrustDb *db, char **ret_error)
{
        int r;

        r = assertion_store_recover(db->store);
        if (r < 0)
                return error_set(ret_error, r, "cannot recover the assertion store: %s", strerror(-r));
        /* The snapshot may have moved to what another writer left: nothing cached may outlive it. */
        forget_stored(db);
        key_names_free(TAKE_PTR(db->key_names));
        db->floor_store = assertion_store_time_floor(db->store);
        return r;
}

/* Loads the stored entry of key into the cache. */
static int load_stored(TrustDb *db, const char *key, const AssertionStoreEntry *where, TrustEntry **ret)
{
        _cleanup_assertion_ Assertion *a = NULL;
        TrustEntry *e;
        int r;

        r = assertion_store_load(db->store, where, key, &a, NULL);
        if (r < 0)
                return r;
        e = calloc(1, sizeof(TrustEntry));
        if (!e)
                return -ENOMEM;
        e->key = strdup(key);
        e->assertion = TAKE_PTR(a);
        if (!e->key || string_map_put(db->entries, e->key, e, NULL) < 0) {
                entry_free(e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

int trust_db_get(TrustDb *db, const char *key, TrustEntry **ret)
{
        AssertionStoreEntry where;
        TrustEntry *e = string_map_get(db->entries, key);
        int r;

        if (e) {
                *ret = e;
                return 1;
        }
        r = assertion_store_find(db->store, key, &where);
        if (r <= 0)
                return r;
        r = load_stored(db, key, &where, ret);
        return r < 0 ? r : 1;
}

void trust_db_forget(TrustDb *db, const char *key)
{
        TrustEntry *e = string_map_get(db->entries, key);

        if (e && !e->trusted)
                entry_free(string_map_remove(db->entries, key));
}

void trust_db_set_now(TrustDb *db, usec_t now)
{
        db->now = now;
}

const char *trust_floor_source_to_string(TrustFloorSource source)
{
        switch (source) {
        case TRUST_FLOOR_NONE:
                return "none";
        case TRUST_FLOOR_STORE:
                return "store";
        case TRUST_FLOOR_TRUSTED:
                return "trusted";
        case TRUST_FLOOR_RAISED:
                return "raised";
        }
        return "unknown";
}

usec_t trust_db_time_floor(TrustDb *db, TrustFloorSource *ret_source)
{
        TrustFloorSource source = TRUST_FLOOR_NONE;
        usec_t floor = 0;

        if (db->floor_store > floor) {
                floor = db->floor_store;
                source = TRUST_FLOOR_STORE;
        }
        if (db->floor_trusted > floor) {
                floor = db->floor_trusted;
                source = TRUST_FLOOR_TRUSTED;
        }
        if (db->floor_raised > floor) {
                floor = db->floor_raised;
                source = TRUST_FLOOR_RAISED;
        }
        if (ret_source)
                *ret_source = source;
        return floor;
}

void trust_db_raise_time_floor(TrustDb *db, usec_t floor)
{
        if (floor > db->floor_raised)
                db->floor_raised = floor;
}

usec_t trust_db_build_time_floor(void)
{
        return (usec_t) TRUST_BUILD_TIME_FLOOR_SEC * USEC_PER_SEC;
}

usec_t trust_db_check_time(TrustDb *db)
{
        usec_t floor = trust_db_time_floor(db, NULL);

        return db->now > floor ? db->now : floor;
}

bool trust_db_is_trusted_account(TrustDb *db, const char *account_id)
{
        const char *values[] = { account_id, NULL };
        _cleanup_free_ char *key = NULL;
        TrustEntry *e;

        if (!account_id || !*account_id || assertion_store_key_from_values("account", values, &key) < 0)
                return false;
        e = string_map_get(db->entries, key);
        return e && e->trusted;
}

const Assertion *trust_db_find(TrustDb *db, const char *type, const char *const *primary_key)
{
        _cleanup_free_ char *key = NULL;
        TrustEntry *e;

        if (assertion_store_key_from_values(type, primary_key, &key) < 0)
                return NULL;
        return trust_db_get(db, key, &e) > 0 ? e->assertion : NULL;
}

/* --- account-keys by account and name --- */

static int add_key_name(StringMap *key_names, const AccountKey *k)
{
        KeyName *kn;
        void *old = NULL;
        int r;

        if (!k->name)
                return 0;
        kn = calloc(1, sizeof(KeyName));
        if (!kn)
                return -ENOMEM;
        kn->account_and_name = trust_key_name(k->account_id, k->name);
        kn->key_id = strdup(k->public_key_sha3_384);
        if (!kn->account_and_name || !kn->key_id) {
                key_name_free(kn);
                return -ENOMEM;
        }
        r = string_map_put(key_names, kn->account_and_name, kn, &old);
        if (r < 0) {
                key_name_free(kn);
                return r;
        }
        key_name_free(old);
        return 0;
}

void trust_db_note_key_name(TrustDb *db, const AccountKey *k)
{
        if (db->key_names && add_key_name(db->key_names, k) < 0)
                key_names_free(TAKE_PTR(db->key_names));
}

static int note_entry_key_name(TrustDb *db, TrustEntry *e)
{
        int r = trust_entry_account_key(e);

        /* An unreadable key was refused when it came; it cannot be the other key of a name. */
        return r < 0 ? 0 : add_key_name(db->key_names, e->account_key);
}

static int note_stored_key(const char *key, const AssertionStoreEntry *where, void *userdata)
{
        TrustDb *db = userdata;
        TrustEntry *e = string_map_get(db->entries, key);
        int r;

        if (e && e->trusted)
                return 0; /* noted with the trusted ones */
        if (!e) {
                r = load_stored(db, key, where, &e);
                if (r < 0)
                        return r;
        }
        return note_entry_key_name(db, e);
}

int trust_db_load_key_names(TrustDb *db)
{
        int r;

        if (db->key_names)
                return 0;
        db->key_names = string_map_new();
        if (!db->key_names)
                return -ENOMEM;
        for (size_t i = 0; i < db->n_trusted; i++)
                if (streq(db->trusted[i]->assertion->type, "account-key")) {
                        r = note_entry_key_name(db, db->trusted[i]);
                        if (r < 0)
                                goto fail;
                }
        r = assertion_store_foreach(db->store, "account-key,", note_stored_key, db);
        if (r >= 0)
                return 0;
fail:
        key_names_free(TAKE_PTR(db->key_names));
        return r;
}

/* --- iteration --- */

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

typedef struct Iteration {
        TrustDb *db;
        const char *prefix;
        char *const *filters;
        int (*f)(const Assertion *a, bool trusted, void *userdata);
        void *userdata;
        size_t next_trusted; /* the trusted entries merge into the store's order */
        int result;
} Iteration;

static int emit(Iteration *it, const TrustEntry *e)
{
        if (!matches_filters(e->assertion, it->filters))
                return 0;
        it->result = it->f(e->assertion, e->trusted, it->userdata);
        return it->result != 0 ? 1 : 0;
}

/* Emits the trusted entries (with the prefix) that sort before key (every remaining one when NULL). */
static int emit_trusted_before(Iteration *it, const char *key)
{
        for (; it->next_trusted < it->db->n_trusted; it->next_trusted++) {
                const TrustEntry *t = it->db->trusted[it->next_trusted];
                if (key && strcmp(t->key, key) >= 0)
                        return 0;
                if (!startswith(t->key, it->prefix))
                        continue;
                if (emit(it, t)) {
                        it->next_trusted++;
                        return 1;
                }
        }
        return 0;
}

static int iterate_stored(const char *key, const AssertionStoreEntry *where, void *userdata)
{
        Iteration *it = userdata;
        TrustEntry *e;
        int r;

        if (emit_trusted_before(it, key))
                return 1;
        e = string_map_get(it->db->entries, key);
        if (e && e->trusted) {
                it->next_trusted++; /* a trusted root hides what the store holds under its key */
                return emit(it, e);
        }
        if (!e) {
                r = load_stored(it->db, key, where, &e);
                if (r < 0)
                        return r;
        }
        return emit(it, e);
}

/* The value a "NAME=VALUE" filter fixes for name, or NULL. */
static const char *filter_value(char *const *filters, const char *name)
{
        size_t l = strlen(name);

        for (char *const *f = filters; f && *f; f++)
                if (strneq(*f, name, l) && (*f)[l] == '=')
                        return *f + l + 1;
        return NULL;
}

/* Keys sort by type, then primary key: filters that fix the type's leading primary keys narrow the walk to
 * the keys starting "TYPE,V1,...", so finding one grant by brand and email reads one assertion, not all. */
static char *walk_prefix(const char *type, char *const *filters)
{
        const char *const *names = type ? assertion_type_primary_keys(type) : NULL;
        const char *values[8] = {};
        size_t n = 0;
        char *key;

        if (!type)
                return strdup("");
        if (!names)
                return strprintf("%s,", type); /* a type snapd does not know: nothing is stored under it */
        for (; names[n] && n + 1 < ELEMENTSOF(values); n++) {
                values[n] = filter_value(filters, names[n]);
                if (!values[n])
                        break;
        }
        if (assertion_store_key_from_values(type, values, &key) < 0)
                return NULL;
        if (names[n]) {
                /* Not every key is fixed: the next one follows a ','. */
                char *more = strprintf("%s,", key);
                free(key);
                key = more;
        }
        return key;
}

int trust_db_foreach(TrustDb *db, const char *type, char *const *filters,
                     int (*f)(const Assertion *a, bool trusted, void *userdata), void *userdata)
{
        _cleanup_free_ char *prefix = walk_prefix(type, filters);
        Iteration it = { .db = db, .filters = filters, .f = f, .userdata = userdata };
        int r;

        if (!prefix)
                return -ENOMEM;
        it.prefix = prefix;
        /* Store keys (and so the order) sort by type, then primary key: a stable, readable order. */
        r = assertion_store_foreach(db->store, prefix, iterate_stored, &it);
        if (r < 0)
                return r;
        if (it.result == 0)
                emit_trusted_before(&it, NULL);
        return it.result < 0 ? it.result : 0;
}
