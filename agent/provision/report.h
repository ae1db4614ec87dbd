/* SPDX-License-Identifier: MIT */
#pragma once

/* What a change did, typed: one entry per assertion the trust database decided on, one per user a grant
 * created, updated, left alone or took away. Every layer passes this struct on; JSON is made from it only
 * at the edges (the Manager's replies and `corehomectl --json`: report-json.h) and the journal line is
 * written from its fields (agent/daemon/daemon-log.c). Reasons are allocated to the size they need: nothing
 * is ever cut. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "assertion.h"
#include "macros.h"
#include "trust-db.h"

typedef enum ProvisionOutcome {
        PROVISION_CREATED,
        PROVISION_UPDATED,
        PROVISION_UNCHANGED,
        PROVISION_REMOVED, /* revoked, expired or removed by the administrator */
        PROVISION_PENDING, /* bound to a serial this device does not have yet */
        PROVISION_SKIPPED, /* not for this device or not now; kept in the database */
        PROVISION_DENIED,  /* the administrator denied the user name here (deny-list.h) */
        PROVISION_ALLOWED, /* the administrator lifted a deny */
        PROVISION_REFUSED, /* an error: counts as a failure */
        _PROVISION_OUTCOME_MAX,
} ProvisionOutcome;

/* "created", "updated", "unchanged", "removed", "pending", "skipped", "denied", "allowed", "refused". */
const char *provision_outcome_to_string(ProvisionOutcome o);
/* The inverse, -EINVAL for anything else. */
int provision_outcome_from_string(const char *s, ProvisionOutcome *ret);

/* Where a grant (or an assertion) came from: brand, email and revision of a system-user. */
typedef struct GrantOrigin {
        char *description; /* "system-user brand-id=acme email=alice@example.com", NULL for none */
        char *brand_id;    /* NULL when not a system-user */
        char *email;
        int64_t revision; /* < 0: none */
} GrantOrigin;

/* One assertion of an import and the trust database's verdict on it. */
typedef struct AssertionResult {
        char *origin; /* the file, "DEVNODE/auto-import.assert", the URL it came from */
        char *type;
        GrantOrigin what; /* description for every type; brand/email for system-users */
        TrustVerdictKind verdict;
        int error; /* < 0 for TRUST_VERDICT_REFUSED */
        /* Why it was refused, or for TRUST_VERDICT_SKIPPED which assertion is kept instead (snapd's rule for
         * one key and revision, docs/trust.md): a skipped assertion is not stored and does not apply.
         * NULL otherwise. */
        char *reason;
} AssertionResult;

/* One user and what a grant (or expiry, or the administrator) did to it. */
typedef struct UserResult {
        char *user_name;  /* NULL when the grant is refused before a name is known */
        GrantOrigin what; /* the grant; description NULL for expiry of a record without one */
        ProvisionOutcome outcome;
        int error;    /* < 0 for PROVISION_REFUSED */
        char *reason; /* NULL when there is nothing to say */
} UserResult;

/* Which JSON shape the report has at the edge (the replies' shapes are a stable interface). */
typedef enum ProvisionReportKind {
        PROVISION_REPORT_IMPORT, /* {"assertions": [...], "committed": b} */
        PROVISION_REPORT_MEDIA,  /* {"source", "assertions", "committed", "users"[, "note"]} */
        PROVISION_REPORT_USERS,  /* {"users": [...]} */
        PROVISION_REPORT_REMOVE, /* {"user", "outcome"} */
        PROVISION_REPORT_FLEET,  /* {"source", "assertions", "committed"[, "users"]} */
} ProvisionReportKind;

typedef struct ProvisionReport {
        ProvisionReportKind kind;
        char *source; /* the medium's file or the feed URL, NULL for files named per assertion */
        AssertionResult *assertions;
        size_t n_assertions;
        size_t n_assertions_refused;
        size_t n_assertions_skipped; /* not stored: another one with its key is kept; not a failure */
        bool committed;              /* the assertions were stored (all or nothing) */
        UserResult *users;
        size_t n_users;
        size_t n_users_refused;
        char *note;         /* why no users were created although the import went through */
        bool users_applied; /* the import went on to the users of its batch (their entries may be none) */
} ProvisionReport;

int provision_report_new(ProvisionReportKind kind, ProvisionReport **ret);
ProvisionReport *provision_report_free(ProvisionReport *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ProvisionReport *, provision_report_free)
#define _cleanup_provision_report_ _cleanup_(provision_report_freep)

/* Anything refused: an assertion or a user (the CLI's exit status 1). */
static inline size_t provision_report_refused(const ProvisionReport *r)
{
        return r->n_assertions_refused + r->n_users_refused;
}

/* The grant fields of a (brand, email and revision only for system-users). */
int grant_origin_from_assertion(const Assertion *a, GrantOrigin *ret);
/* The same from a user record's grant extension (io.corehomed.grant: brandId, email, revision), for a user
 * whose assertion is not at hand (expiry); no description. */
int grant_origin_from_record(json_t *grant, GrantOrigin *ret);
void grant_origin_done(GrantOrigin *o);

/* Appends the trust database's verdicts on a batch: verdict i is the batch's assertion i, from
 * origins[i]. Takes committed from the trust report. */
int provision_report_add_verdicts(ProvisionReport *r, const TrustReport *trust, char *const *origins);

/* Appends a user entry for the grant a (NULL: none) and user_name (NULL: not known yet), outcome
 * unchanged so far; the pointer stays valid until the next add. */
int provision_report_add_user(ProvisionReport *r, const Assertion *a, const char *user_name,
                              UserResult **ret);

/* Sets the entry's outcome and reason (format NULL: no reason); counts a refusal. */
int user_result_set(ProvisionReport *r, UserResult *e, ProvisionOutcome outcome, int error,
                    const char *format, ...) _printf_(5, 6);

/* Moves every user entry of from to the end of to (from is left without users). */
int provision_report_take_users(ProvisionReport *to, ProvisionReport *from);
