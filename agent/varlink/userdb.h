/* SPDX-License-Identifier: MIT */
#pragma once

/* The io.systemd.UserDatabase Varlink service (systemd's docs/USER_GROUP_API.md) for the users this
 * machine got from grants: nss-systemd, userdbctl and logins resolve them through it.
 *
 *   GetUserRecord   {uid?, userName?, service}   -> {"record": USER, "incomplete": bool}
 *   GetGroupRecord  {gid?, groupName?, service}  -> {"record": GROUP, "incomplete": false}
 *   GetMemberships  {userName?, groupName?, service} -> {"userName": U, "groupName": G}
 *
 * Without a name and an id the call enumerates (one reply per record, "continues" on all but the last;
 * without "more", a single result is a plain reply and several are refused with
 * org.varlink.service.ExpectedMore, as systemd's own services answer). No match is
 * io.systemd.UserDatabase.NoRecordFound; a name and an id naming different records is
 * ConflictingRecordFound; "service" must be this service's name (BadService otherwise); unknown parameters
 * are ignored.
 *
 * Served records: the host record of every home that carries the io.corehomed.grant extension (users
 * corehomed manages; other homes belong to someone else), read afresh on every call so a change is
 * visible at once. Each keeps its binding for this machine (clients take uid, gid and homeDirectory from
 * it) and gains status.<machine-id>.service = service name. The privileged section (password hashes, SSH
 * keys) goes only to root and to the user itself: for anybody else it is removed and the reply says
 * "incomplete": true. Per-user groups: groupName = userName, gid = uid. Memberships: each memberOf entry.
 *
 * Nothing here resolves users or groups through NSS: nss-systemd would call back into this very service
 * and deadlock. */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "home.h"
#include "varlink.h"

#define USERDB_INTERFACE "io.systemd.UserDatabase"

#define USERDB_ERROR_NO_RECORD_FOUND           USERDB_INTERFACE ".NoRecordFound"
#define USERDB_ERROR_CONFLICTING_RECORD_FOUND  USERDB_INTERFACE ".ConflictingRecordFound"
#define USERDB_ERROR_BAD_SERVICE               USERDB_INTERFACE ".BadService"
#define USERDB_ERROR_ENUMERATION_NOT_SUPPORTED USERDB_INTERFACE ".EnumerationNotSupported"

/* Records with this extension object are served: it is GRANT_RECORD_EXTENSION (agent/grant-convert.h),
 * repeated here so the service does not depend on the grant code (a test keeps the two equal). */
#define USERDB_SERVED_EXTENSION "io.corehomed.grant"

/* The name our daemon serves under; the socket is /run/systemd/userdb/<service name>. */
#define USERDB_SERVICE_NAME "io.corehomed"
#define USERDB_SOCKET_DIR   "/run/systemd/userdb"

/* Registers GetUserRecord, GetGroupRecord and GetMemberships on s. home (borrowed: must outlive s) is the
 * engine context whose homes are served; service_name (copied) is what callers must pass as "service"
 * (the socket's file name). */
int userdb_service_add(VarlinkServer *s, Home *home, const char *service_name);

/* Whether a user of ours is served by somebody else right now: a running systemd-homed that we handed the
 * home to (docs/home1.md, Mode 2) serves it itself, and homed refuses to take a user that another service
 * still resolves. Such a user (and its group) is not served here. */
typedef bool (*UserdbHidden)(const char *user_name, void *userdata);

/* userdb_service_add() with such a filter (NULL: none); userdata is passed to it. */
int userdb_service_add_filtered(VarlinkServer *s, Home *home, const char *service_name, UserdbHidden hidden,
                                void *userdata);

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
