/* SPDX-License-Identifier: MIT */
#pragma once

/* The trust database, with snapd's rules (asserts/database.go):
 * - trusted roots are the assertions in $ROOT/etc/corehomed/trusted/NAME.assert; the accounts among them are
 *   the "directly trusted" accounts;
 * - an assertion is checked against the account-key whose public-key-sha3-384 equals its
 *   sign-key-sha3-384 and whose account-id equals its authority-id; that key must be valid at the check time
 *   (since <= t < until), where t is the later of the clock and the time floor (see TrustFloorSource), so
 *   a device whose clock was reset cannot be made to accept an expired key;
 * - an assertion with a timestamp header must have been made while its signing key was valid;
 * - account and account-key assertions must be signed by a directly trusted account, and an account-key
 *   needs its account;
 * - a stored assertion is replaced only by a higher revision: the identical assertion again is a no-op,
 *   a lower revision is a replay;
 * - a batch (one file, one stick, one fleet bundle; at most ASSERTION_BATCH_MAX assertions) is checked
 *   whole, prerequisites in any order, and is committed (one durable commit, assertion-store.h) only when
 *   every assertion in it is accepted;
 * - two assertions with one type and primary key in a batch follow snapd's Batch.Add: the higher revision
 *   is kept, and of two with the same revision the first; the other one is skipped (not checked, not
 *   stored) and the batch goes on. An assertion with the revision of the stored one but other content is
 *   checked like any other and, when it verifies, skipped: the stored one stays (snapd's Database.Add:
 *   Check, then IsUnaccceptedUpdate). A lower revision than the stored one is refused as a replay (snapd
 *   silently keeps the stored one).
 *
 * Lookups never scan the store: an assertion is found by its type and primary key (a binary search in each
 * of the store's few packs, then kept in memory), an account-key by its key id (its primary key), and the
 * keys of an account by name through an index built on first use and kept current. Opening costs the
 * trusted roots and the packs' indexes, whatever the store holds. */

#include <stdbool.h>

#include "assertion.h"
#include "time-util.h"

typedef struct TrustDb TrustDb;

typedef enum TrustVerdictKind {
        TRUST_VERDICT_ADDED,     /* new, accepted */
        TRUST_VERDICT_UPDATED,   /* accepted, replaces a lower revision */
        TRUST_VERDICT_UNCHANGED, /* identical to what is stored (or trusted) or earlier in the batch */
        TRUST_VERDICT_REFUSED,
        TRUST_VERDICT_SKIPPED, /* another assertion with its key is kept instead (snapd's rule, above) */
} TrustVerdictKind;

/* "added", "updated", "unchanged", "refused", "skipped": the words of reports and --json output. */
const char *trust_verdict_kind_to_string(TrustVerdictKind kind);
/* The inverse; -EINVAL for anything else. */
int trust_verdict_kind_from_string(const char *s, TrustVerdictKind *ret);

/* kept_index of a SKIPPED verdict when the stored assertion is the one kept. */
#define TRUST_KEPT_STORED ((size_t) -1)

typedef struct TrustVerdict {
        const Assertion *assertion; /* borrowed from the batch */
        TrustVerdictKind kind;
        int error; /* for REFUSED: -ENOKEY, -EKEYREJECTED, -EKEYEXPIRED, -ESTALE, -EEXIST, -EBADMSG, ... */
        /* For REFUSED and SKIPPED: why, in words; a SKIPPED one names the assertion kept instead. */
        char reason[384];
        /* For SKIPPED: the position in the batch of the assertion kept instead, or TRUST_KEPT_STORED. */
        size_t kept_index;
} TrustVerdict;

typedef struct TrustReport {
        TrustVerdict *verdicts; /* one per batch assertion, in batch order */
        size_t n;
        size_t n_refused;
        size_t n_skipped;
        bool committed; /* the batch was written to the store */
} TrustReport;

TrustReport *trust_report_free(TrustReport *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(TrustReport *, trust_report_free)
#define _cleanup_trust_report_ _cleanup_(trust_report_freep)

/* Opens the database below root (NULL or "/" for the real root) for checks at time now: loads the trusted
 * roots and a snapshot of the store (assertion-store.h; stored assertions are read when first needed and
 * not verified again). Changes nothing on disk and repairs nothing: a reader may open it at any time and
 * sees the store as of one committed batch. */
int trust_db_open(const char *root, usec_t now, TrustDb **ret, char **ret_error);
TrustDb *trust_db_free(TrustDb *db);
DEFINE_TRIVIAL_CLEANUP_FUNC(TrustDb *, trust_db_free)
#define _cleanup_trust_db_ _cleanup_(trust_db_freep)

/* Checks a batch against the database; stores nothing. Returns 0 with a report (check n_refused), or a
 * negative errno when the check itself could not run. */
int trust_db_check(TrustDb *db, const AssertionList *batch, TrustReport **ret);

/* Checks a batch and, when nothing in it is refused, stores what it adds or updates as one durable commit
 * and advances the time floor. With any refusal nothing is written. Only with the root's lock held, after
 * trust_db_recover(). -E2BIG for a batch of more than ASSERTION_BATCH_MAX assertions; -EBUSY when another
 * process committed to the store since this database was opened (open it again). */
int trust_db_import(TrustDb *db, const AssertionList *batch, TrustReport **ret);

/* Finishes what an interrupted writer left in the store (assertion_store_recover()) and moves this
 * database to the store's current state. Only with the root's lock held: it deletes files. Returns how
 * many leftovers it removed, or a negative errno. */
int trust_db_recover(TrustDb *db, char **ret_error);

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

/* Where the time floor comes from: the database's clock may be anything (a device without a battery
 * starts in 1970), but time has certainly reached
 *  - the newest signed timestamp the store ever accepted (kept with the store);
 *  - the trusted roots' timestamps and the since of their keys (they were made before this device);
 *  - the floor the program raises it to, e.g. trust_db_build_time_floor(): the software was built then. */
typedef enum TrustFloorSource {
        TRUST_FLOOR_NONE,
        TRUST_FLOOR_STORE,
        TRUST_FLOOR_TRUSTED,
        TRUST_FLOOR_RAISED,
} TrustFloorSource;

/* "none", "store", "trusted", "raised". */
const char *trust_floor_source_to_string(TrustFloorSource source);

/* The time floor (0 when nothing sets one) and what sets it (the latest source, when ret_source is not
 * NULL). */
usec_t trust_db_time_floor(TrustDb *db, TrustFloorSource *ret_source);

/* Raises the floor to at least floor for this database's life (it is not stored). */
void trust_db_raise_time_floor(TrustDb *db, usec_t floor);

/* The build's floor: a constant the build sets (meson option time_floor; by default the source's last
 * commit date, or SOURCE_DATE_EPOCH), 0 when the build set none. A program that runs on the real clock
 * raises its databases' floor to it; tests that travel in time leave it out. */
usec_t trust_db_build_time_floor(void);

/* The check time: the later of now and the time floor. Grant windows are checked at this time too. */
usec_t trust_db_check_time(TrustDb *db);
