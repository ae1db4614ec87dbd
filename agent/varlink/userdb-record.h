/* SPDX-License-Identifier: MIT */
#pragma once

/* What a host record becomes for a userdb client, and which host records are served at all. Used by the
 * index of served records (userdb-index.h) and the io.systemd.UserDatabase service (userdb.h). */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "home.h"
#include "time-util.h"

/* Records with this extension object are served: it is GRANT_RECORD_EXTENSION (agent/grant-convert.h),
 * repeated here so the service does not depend on the grant code (a test keeps the two equal). */
#define USERDB_SERVED_EXTENSION "io.corehomed.grant"

/* When the user of host_record ends: user_record_end() with the served extension (the rule is the engine's,
 * shared with grant_record_end(); a test keeps the extension names equal). USEC_INFINITY when the record has
 * no end. */
usec_t userdb_record_end(json_t *host_record);

/* The uid of host_record's binding for machine_id. -EBADMSG without one. */
int userdb_record_binding_uid(json_t *host_record, const char *machine_id, uid_t *ret);

/* Whether host_record (validated) is one of ours to serve: it carries the grant extension (a user
 * corehomed made from a grant; other homes belong to someone else), a binding for home's machine, and a
 * valid signature by home's engine key (a record someone else placed in homed's directory, or edited
 * without our key, is not ours; homed serves its own). Whether the grant ran out is the caller's to check
 * against the clock at answer time. */
bool userdb_record_is_ours(Home *home, json_t *host_record);

/* The record as served to a peer with uid peer_uid: host_record (validated, borrowed) with
 * status.<machine-id> .service = service_name, without the privileged section unless peer_uid is 0 or the
 * record's uid
 * (*ret_incomplete then false). -EBADMSG when host_record has no binding for machine_id. */
int userdb_user_record_for_peer(json_t *host_record, const char *machine_id, const char *service_name,
                                uid_t peer_uid, json_t **ret, bool *ret_incomplete);

/* The per-user group of host_record: {"groupName": userName, "gid": uid, "status": {<machine-id>:
 * {"service": service_name}}} (plus "disposition" and "realm" when the user has them). -EBADMSG without
 * a binding for machine_id. */
int userdb_group_record(json_t *host_record, const char *machine_id, const char *service_name, json_t **ret);
