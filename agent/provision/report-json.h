/* SPDX-License-Identifier: MIT */
#pragma once

/* A ProvisionReport as JSON: the Manager's replies, what `corehomectl --json` prints (a stable interface:
 * docs/daemon.md), and back into the struct for the CLI that got it from the daemon.
 *
 *   assertion  {"file", "assertion", "type", "verdict", "revision"[, "reason"][, "brand-id", "email"]}
 *   user       {["user"][, "assertion"], "outcome"[, "reason"]}
 *   IMPORT     {"assertions": [...], "committed": bool}
 *   MEDIA      {"source", "assertions": [...], "committed": bool, "users": [...][, "note"]}
 *   USERS      {"users": [...]}
 *   REMOVE     {"user", "outcome"} */

#include <jansson.h>

#include "report.h"

/* New reference, NULL when out of memory. */
json_t *provision_report_to_json(const ProvisionReport *r);

/* The inverse, for a reply of the given kind. -EBADMSG when the document does not have that shape. */
int provision_report_from_json(json_t *o, ProvisionReportKind kind, ProvisionReport **ret);
