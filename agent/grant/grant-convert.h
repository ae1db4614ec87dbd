/* SPDX-License-Identifier: MIT */
#pragma once

/* system-user assertion -> systemd JSON user record (before signing and binding, which the engine adds).
 *
 *   userName                      username (refused when systemd's strict rule rejects it)
 *   realName                      name, when present
 *   emailAddress                  email
 *   privileged.hashedPassword     [password], when present
 *   privileged.sshAuthorizedKeys  ssh-keys, when present
 *   passwordChangeNow             true when force-password-change is true
 *   notAfterUSec                  until rounded up to the next UTC day boundary, only for user-presence:
 *                                 until-expiration (why: grant_record_end())
 *   memberOf                      config users.admin-groups, when not empty
 *   shell                         config users.shell
 *   storage                       config users.storage (directory | subvolume | luks)
 *   diskSize                      config users.disk-size, when set
 *   disposition                   "regular"
 *   lastChangeUSec                last_change_usec
 *   io.corehomed.grant            {brandId, email, revision, format, signKey, authorityId, until (usec),
 *                                  assertionSha3_384}: where the user came from. In the regular section
 *                                  so that our signature covers it.
 * assertionSha3_384 is the SHA3-384 digest of the assertion's full wire bytes (assertion_encode(): content
 * + "\n\n" + signature + "\n"), lower-case hex (96 digits). docs/grants.md describes the record. */

#include <jansson.h>

#include "assertion.h"
#include "config.h"
#include "system-user.h"
#include "time-util.h"

/* The namespaced extension object of every record we produce. */
#define GRANT_RECORD_EXTENSION "io.corehomed.grant"

/* Builds the record for u (the typed view of a). The result passes user_record_validate().
 * Returns 0, or -EBADMSG when u cannot become a systemd user record (a username valid for snapd but not
 * for systemd: "username \"a.b\" is valid for snapd but not for systemd: ..."), -ENOMEM.
 * *ret_error (optional) receives a newly allocated sentence for a person on failure. */
/* The exact end of the user a record of ours describes: io.corehomed.grant.until when the record has
 * notAfterUSec (an until-expiration grant), USEC_INFINITY when it has none. corehomed removes the user then
 * and its lookups, logins and the list use this, never notAfterUSec itself: nss-systemd hands notAfterUSec
 * to PAM as shadow's sp_expire in whole days rounded down, and pam_unix refuses an account from that day
 * on, so an exact notAfterUSec would lock a technician out from 00:00 UTC of the grant's last day. Rounded
 * up to the next day boundary, pam_unix lets the day run out and corehomed ends the user at until. (Records
 * made before the rounding carry until in both places; the earlier of the two counts.) */
usec_t grant_record_end(json_t *record);

int grant_to_user_record(const SystemUser *u, const Assertion *a, const Config *config,
                         usec_t last_change_usec, json_t **ret, char **ret_error);
