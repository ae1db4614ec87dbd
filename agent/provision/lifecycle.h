/* SPDX-License-Identifier: MIT */
#pragma once

/* The grant lifecycle: system-user assertions that apply to this device become homes; a higher revision
 * updates the record; a revision whose until has passed revokes the user; an until-expiration grant that
 * ran out removes it. Every change is journaled first (intent-journal.h) and runs with the root's lock
 * held on a provisioner loaded under it (provisioner.h). Each function appends what it did to a report
 * (report.h). */

#include <stdbool.h>

#include "assertion.h"
#include "provisioner.h"
#include "report.h"

/* Applies the given system-user assertions (verified: from the trust database, or a batch it has just
 * accepted) to this device, in order. With strict, a grant that does not apply is refused (the person asked
 * for it, or brought it on a stick); otherwise it is reported as skipped (a fleet feed serves many
 * devices). Returns < 0 only when the work itself could not be done (out of memory); every grant's fate is
 * in the report. */
int provision_apply_grants(Provisioner *p, const Assertion *const *grants, size_t n, bool strict,
                           ProvisionReport *report);

/* Applies every stored system-user (only the one of email when not NULL, then strictly: it must apply;
 * -ENOENT in the report when none is stored). */
int provision_create_users(Provisioner *p, const char *email, ProvisionReport *report);

/* Removes every user whose until-expiration grant has run out (lock, then remove home and record). */
int provision_expire(Provisioner *p, ProvisionReport *report);
/* The same for the users named in user_names (NULL-terminated) only: a caller that knows which grants ran
 * out (the daemon's userdb index) need not read every home. */
int provision_expire_users(Provisioner *p, char *const *user_names, ProvisionReport *report);

/* Removes one user managed by corehomed (the administrator's remove). -ENOENT unknown, -EPERM not ours;
 * *ret_error says why. */
int provision_remove_user(Provisioner *p, const char *user_name, char **ret_error);

/* Whether any home exists on this device (for media.create-users: unmanaged-only). */
int provision_device_is_managed(Provisioner *p);

/* Why a grant for a denied user name does not apply (the reason of its skipped or refused entry). */
#define PROVISION_DENIED_REASON "denied on this device by the administrator"

/* The administrator's local revoke (deny-list.h): user_name goes on the deny list (written first), then the
 * user corehomed made under that name is removed with its home; from then on no grant for that name
 * applies here, whichever source brings it. Appends one entry (outcome "denied"). -EINVAL for an invalid
 * name, -EPERM for a user corehomed did not make (nothing is changed), -E2BIG when the list is full;
 * *ret_error says why. Denying a denied name again removes a user an interrupted deny left. */
int provision_deny(Provisioner *p, const char *user_name, ProvisionReport *report, char **ret_error);

/* Lifts a deny: grants for user_name apply again from the next stick, fleet poll or create-user --known
 * (nothing is created now). Appends one entry: "allowed", or "unchanged" when the name was not denied. */
int provision_allow(Provisioner *p, const char *user_name, ProvisionReport *report, char **ret_error);
