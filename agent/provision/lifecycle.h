/* SPDX-License-Identifier: MIT */
#pragma once

/* The grant lifecycle: stored system-user assertions that apply to this device become homes; a higher
 * revision updates the record; a revision whose until has passed revokes the user; an until-expiration
 * grant that ran out removes it. Every change is journaled first (intent-journal.h), and a Provisioner
 * finishes or undoes whatever a crash interrupted before it does anything else. */

#include <stdbool.h>

#include "assertion.h"
#include "config.h"
#include "home.h"
#include "time-util.h"
#include "trust-db.h"

typedef struct DeviceIdentity DeviceIdentity;

typedef struct Provisioner {
        char *root; /* NULL for the running system */
        usec_t now;
        Config *config;
        TrustDb *db;
        Home *home;
        DeviceIdentity *device; /* NULL when this device has no usable identity: see device_error */
        char *device_error;
        char *config_path;
} Provisioner;

typedef enum ProvisionOutcome {
        PROVISION_CREATED,
        PROVISION_UPDATED,
        PROVISION_UNCHANGED,
        PROVISION_REMOVED, /* revoked or expired */
        PROVISION_PENDING, /* bound to a serial this device does not have yet */
        PROVISION_SKIPPED, /* not for this device or not now; kept in the database */
        PROVISION_REFUSED, /* an error: counts as a failure */
} ProvisionOutcome;

const char *provision_outcome_to_string(ProvisionOutcome o);

typedef struct ProvisionResult {
        char *assertion; /* "system-user brand-id=... email=..." (or NULL for expiry of an orphan) */
        char *user_name;
        ProvisionOutcome outcome;
        int error;
        char reason[384];
} ProvisionResult;

typedef struct ProvisionReport {
        ProvisionResult *items;
        size_t n;
        size_t n_refused;
} ProvisionReport;

ProvisionReport *provision_report_free(ProvisionReport *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ProvisionReport *, provision_report_free)
#define _cleanup_provision_report_ _cleanup_(provision_report_freep)

/* Loads configuration, trust database, engine and device identity for root at now. Changes nothing on disk
 * and repairs nothing: a reader may open a provisioner at any time; a writer opens it (or reloads it) while
 * it holds the root's lock (root-lock.h) and then runs provision_recover() before changing anything.
 * home_flags: HOME_ALLOW_MOUNT at run time, 0 offline. */
int provisioner_open(const char *root, usec_t now, unsigned home_flags, Provisioner **ret, char **ret_error);
Provisioner *provisioner_free(Provisioner *p);

/* Loads the trust database and the device identity again (another process changed the root: its
 * generation moved). On failure p keeps what it had. */
int provisioner_reload(Provisioner *p, char **ret_error);

/* Finishes or undoes every operation an interrupted writer left in the intent journal, and deletes the
 * engine's temporary homes, so the next change starts from a whole state. Only with the root's lock held:
 * the intents of a live writer are not ours to undo. */
int provision_recover(Provisioner *p, char **ret_error);

/* Moves the clock of the provisioner, its trust database and its engine (the daemon, per operation). */
void provisioner_set_now(Provisioner *p, usec_t now);
DEFINE_TRIVIAL_CLEANUP_FUNC(Provisioner *, provisioner_free)
#define _cleanup_provisioner_ _cleanup_(provisioner_freep)

/* Applies every stored system-user (only those of brand_id and/or email when not NULL) to this device.
 * With strict, a grant that does not apply is refused (the person asked for it); otherwise it is reported
 * as skipped. */
int provision_create_users(Provisioner *p, const char *brand_id, const char *email, bool strict,
                           ProvisionReport **ret);

/* Removes every user whose until-expiration grant has run out (lock, then remove home and record). */
int provision_expire(Provisioner *p, ProvisionReport **ret);

/* Removes one user managed by corehomed. -ENOENT unknown, -EPERM not ours. */
int provision_remove_user(Provisioner *p, const char *user_name, char **ret_error);

/* Whether any home exists on this device (for media.create-users: unmanaged-only). */
int provision_device_is_managed(Provisioner *p);
