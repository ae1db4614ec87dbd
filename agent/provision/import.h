/* SPDX-License-Identifier: MIT */
#pragma once

/* The one import: whatever brought the assertions (files on the command line, a Manager call, a stick, a
 * fleet feed), the batch is checked by the trust database and stored whole or not at all, and then the
 * system-user assertions *of this batch* become users as the source's policy allows. A source is not a
 * way to re-run older grants: create-user --known is. Runs with the root's lock held (root-lock.h). */

#include "assertion-batch.h"
#include "provisioner.h"
#include "report.h"

typedef enum ImportUsers {
        IMPORT_USERS_NONE,  /* store only (corehomectl import, Manager Import) */
        IMPORT_USERS_MEDIA, /* a medium a technician brought: as media.create-users allows; a grant of the
                               medium that does not apply to this device is refused (he meant it for us) */
        IMPORT_USERS_FLEET, /* a fleet feed: when fleet.create-users; a grant for another device of the fleet
                               is skipped, not refused */
} ImportUsers;

/* Imports b into db (p's database when p is given; p is required unless users is IMPORT_USERS_NONE) and
 * appends the verdicts and then the users to report (report->committed: the batch was stored). When no
 * user is created on purpose although the batch went in, report->note says why. Returns < 0 only when the
 * import itself could not run (the store failed: *ret_error says why). */
int provision_import(TrustDb *db, Provisioner *p, const AssertionBatch *b, ImportUsers users,
                     ProvisionReport *report, char **ret_error);

/* Adds to the reason of every assertion refused for an unknown signer (the report's entries from first on
 * are trust's verdicts, in order) what the trust directory has to do with it: empty, or not holding the root
 * the chain ends at (trust-roots.h). */
int provision_report_explain_unknown_signers(ProvisionReport *report, size_t first, TrustDb *db,
                                             const TrustReport *trust);
