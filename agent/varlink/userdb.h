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
 * Served records: the host record of every home that carries the io.corehomed.grant extension, a binding
 * for this machine and our engine key's signature (userdb-record.h), from an index (userdb-index.h) that
 * reads and verifies each record once and keeps its answers as text. Each record keeps its binding for
 * this machine (clients take uid, gid and homeDirectory from it) and gains status.<machine-id>.service =
 * service name. The privileged section (password hashes, SSH keys) goes only to root and to the user
 * itself: for anybody else it is removed and the reply says "incomplete": true. Per-user groups:
 * groupName = userName, gid = uid. Memberships: each memberOf entry. A record whose grant has ended
 * (userdb_record_end()) is not served from that instant on (the clock is read at every answer).
 *
 * Nothing here resolves users or groups through NSS: nss-systemd would call back into this very service
 * and deadlock. */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "home.h"
#include "userdb-index.h"
#include "userdb-record.h"
#include "varlink.h"

#define USERDB_INTERFACE "io.systemd.UserDatabase"

#define USERDB_ERROR_NO_RECORD_FOUND           USERDB_INTERFACE ".NoRecordFound"
#define USERDB_ERROR_CONFLICTING_RECORD_FOUND  USERDB_INTERFACE ".ConflictingRecordFound"
#define USERDB_ERROR_BAD_SERVICE               USERDB_INTERFACE ".BadService"
#define USERDB_ERROR_ENUMERATION_NOT_SUPPORTED USERDB_INTERFACE ".EnumerationNotSupported"

/* The name our daemon serves under; the socket is /run/systemd/userdb/<service name>. */
#define USERDB_SERVICE_NAME "io.corehomed"
#define USERDB_SOCKET_DIR   "/run/systemd/userdb"

/* Whether a user of ours is served by somebody else right now: a running systemd-homed that we handed the
 * home to (docs/home1.md, Mode 2) serves it itself, and homed refuses to take a user that another service
 * still resolves. Such a user (and its group) is not served here. */
typedef bool (*UserdbHidden)(const char *user_name, void *userdata);

/* Registers GetUserRecord, GetGroupRecord and GetMemberships on s, answering from index (borrowed: must
 * outlive s), whose owner keeps it current (scans when the homes changed); callers must pass the index's
 * service name as "service" (the socket's file name). hidden (NULL: none) filters out the users somebody
 * else serves; userdata is passed to it. */
int userdb_service_add_index(VarlinkServer *s, UserdbIndex *index, UserdbHidden hidden, void *userdata);

/* The same with an index of its own for the homes of home (borrowed: must outlive s), brought up to date
 * before every call (the file of the name asked for, or the whole directory for a lookup by id and an
 * enumeration): a change by anybody is visible at once, for the price of a stat per record and call. For
 * servers that nobody tells about changes (tests, the stand-alone test server). */
int userdb_service_add(VarlinkServer *s, Home *home, const char *service_name);
