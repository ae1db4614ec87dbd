/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the trust database's files (trust-db.c: the database and its lookups; trust-batch.c: checking
 * and committing a batch); not part of the library's API. */

#include "account-key.h"
#include "assertion-store.h"
#include "public-key.h"
#include "string-map.h"
#include "trust-db.h"

/* One assertion the database knows: every trusted one, and a stored one once it was looked up. */
typedef struct TrustEntry {
        char *key; /* the store's key (assertion_store_key()); the index's key */
        Assertion *assertion;
        bool trusted;          /* from the trusted roots: never replaced */
        PublicKey *public_key; /* account-keys: parsed on first use */
        AccountKey *account_key;
} TrustEntry;

struct TrustDb {
        char *root;
        usec_t now;
        usec_t floor_store, floor_trusted, floor_raised;
        AssertionStore *store; /* the snapshot */
        /* By type and primary key: every trusted entry, and stored ones once looked up (owned). */
        StringMap *entries;
        TrustEntry **trusted; /* sorted by key, for ordered iteration */
        size_t n_trusted;
        /* "ACCOUNT-ID\nNAME" of every trusted and stored account-key -> its key id (both strings owned by
         * a KeyName), for the rule that two keys of an account may not share a name. Built on first use,
         * kept current by commits. */
        StringMap *key_names;
};

typedef struct KeyName {
        char *account_and_name;
        char *key_id;
} KeyName;

/* "ACCOUNT-ID\nNAME": the key_names index's key (account ids and key names hold no newline). */
char *trust_key_name(const char *account_id, const char *name);

/* The entry of key: 1 with *ret, 0 when neither trusted nor stored, < 0 when the store is damaged. */
int trust_db_get(TrustDb *db, const char *key, TrustEntry **ret);

/* The typed views of an account-key entry, parsed on first use. */
int trust_entry_account_key(TrustEntry *e);

/* Builds db->key_names when it is not built yet. */
int trust_db_load_key_names(TrustDb *db);

/* Records a committed account-key in key_names (when built; when that fails, key_names is dropped and
 * built again from the store on next use). */
void trust_db_note_key_name(TrustDb *db, const AccountKey *k);

/* Forgets the cached entry of key (a commit replaced what the store holds for it). */
void trust_db_forget(TrustDb *db, const char *key);
