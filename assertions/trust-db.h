/* SPDX-License-Identifier: MIT */
#pragma once

/* The trust database, with snapd's rules (asserts/database.go):
 * - trusted roots are the assertions in $ROOT/etc/corehomed/trusted/NAME.assert; the accounts among them are
 *   the "directly trusted" accounts;
 * - an assertion is checked against the account-key whose public-key-sha3-384 equals its
 *   sign-key-sha3-384 and whose account-id equals its authority-id; that key must be valid at the check time
 *   (since <= t < until), where t is the later of the clock and the time floor (the newest signed timestamp
 *   ever accepted), so a device whose clock was reset cannot be made to accept an expired key;
 * - an assertion with a timestamp header must have been made while its signing key was valid;
 * - account and account-key assertions must be signed by a directly trusted account, and an account-key
 *   needs its account;
 * - a stored assertion is replaced only by a higher revision: the identical assertion again is a no-op,
 *   a lower revision is a replay, the same revision with other content a conflict;
 * - a batch (one file, one stick, one fleet bundle) is checked whole, prerequisites in any order, and is
 *   committed only when every assertion in it is accepted. */

#include <stdbool.h>

#include "assertion.h"
#include "time-util.h"

typedef struct TrustDb TrustDb;

typedef enum TrustVerdictKind {
        TRUST_VERDICT_ADDED,     /* new, accepted */
        TRUST_VERDICT_UPDATED,   /* accepted, replaces a lower revision */
        TRUST_VERDICT_UNCHANGED, /* identical to what is stored (or trusted): nothing to do */
        TRUST_VERDICT_REFUSED,
} TrustVerdictKind;

/* "added", "updated", "unchanged", "refused": the words of reports and --json output. */
const char *trust_verdict_kind_to_string(TrustVerdictKind kind);

typedef struct TrustVerdict {
        const Assertion *assertion; /* borrowed from the batch */
        TrustVerdictKind kind;
        int error; /* for REFUSED: -ENOKEY, -EKEYREJECTED, -EKEYEXPIRED, -ESTALE, -EEXIST, -EBADMSG, ... */
        char reason[384]; /* for REFUSED: why, in words */
} TrustVerdict;

typedef struct TrustReport {
        TrustVerdict *verdicts; /* one per batch assertion, in batch order */
        size_t n;
        size_t n_refused;
        bool committed; /* the batch was written to the store */
} TrustReport;

TrustReport *trust_report_free(TrustReport *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(TrustReport *, trust_report_free)
#define _cleanup_trust_report_ _cleanup_(trust_report_freep)

/* Opens the database below root (NULL or "/" for the real root) for checks at time now. Loads the trusted
 * roots and the stored assertions (decoded, not re-verified) and the time floor. */
int trust_db_open(const char *root, usec_t now, TrustDb **ret, char **ret_error);
/* A database of trusted roots only, held in memory: nothing stored below a root, no time floor. For checking
 * what a fleet publisher serves against the roots its devices trust (agent/fleet/fleet-publish.c), so it
 * never serves what they would refuse. The assertions of trusted are taken over (the list is left with
 * NULL items). trust_db_import() on it fails with -EROFS. */
int trust_db_new_trusted(AssertionList *trusted, usec_t now, TrustDb **ret, char **ret_error);
TrustDb *trust_db_free(TrustDb *db);
DEFINE_TRIVIAL_CLEANUP_FUNC(TrustDb *, trust_db_free)
#define _cleanup_trust_db_ _cleanup_(trust_db_freep)

/* Checks a batch against the database; stores nothing. Returns 0 with a report (check n_refused), or a
 * negative errno when the check itself could not run. */
int trust_db_check(TrustDb *db, const AssertionList *batch, TrustReport **ret);

/* Checks a batch and, when nothing in it is refused, stores it atomically per assertion and advances the
 * time floor. With any refusal nothing is written. */
int trust_db_import(TrustDb *db, const AssertionList *batch, TrustReport **ret);

/* The stored or trusted assertion of a type with the given primary-key values (NULL-terminated, in the
 * type's order), or NULL. */
const Assertion *trust_db_find(TrustDb *db, const char *type, const char *const *primary_key);

/* Calls f for every stored or trusted assertion of type (every type when NULL) whose headers match every
 * "NAME=VALUE" filter (string headers only), in a stable order. Stops early when f returns non-zero. */
int trust_db_foreach(TrustDb *db, const char *type, char *const *filters,
                     int (*f)(const Assertion *a, bool trusted, void *userdata), void *userdata);

/* Whether account_id is one of the directly trusted accounts. */
bool trust_db_is_trusted_account(TrustDb *db, const char *account_id);

/* Moves the database's clock (a long-running daemon checks each batch at the time it arrives). */
void trust_db_set_now(TrustDb *db, usec_t now);

/* The check time: the later of now and the time floor. */
usec_t trust_db_check_time(TrustDb *db);
