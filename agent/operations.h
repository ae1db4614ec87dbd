/* SPDX-License-Identifier: MIT */
#pragma once

/* The operations behind the CLI verbs that read or change state, written once: corehomectl --root runs
 * them in process on a tree, corehomed runs them for io.corehomed.Manager calls. Each takes its request as
 * a JSON object (the Manager's call parameters) and produces a JSON object (the Manager's reply; the CLI
 * prints it with --json, or turns it into text). Refusals (an assertion or a user refused) are part of the
 * result; only a failure of the operation itself (malformed request, unknown user, unreadable medium)
 * is an error. */

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "provision.h"
#include "trust-db.h"

/* The Manager's interface and its socket (root only). The CLI talks to it when run without --root. */
#define MANAGER_INTERFACE      "io.corehomed.Manager"
#define MANAGER_SOCKET_DEFAULT "/run/corehomed/io.corehomed.Manager"
/* Varlink error names of the Manager: {"prefix": what, "message": why}. */
#define MANAGER_ERROR_FAILED          MANAGER_INTERFACE ".Failed"
#define MANAGER_ERROR_INVALID_REQUEST MANAGER_INTERFACE ".InvalidRequest"

/* Most files, most assertions, and most bytes of assertion text (all files together) one Import or Verify
 * may carry: the CLI's command line, one Manager call. 16 MiB is what one fleet poll may bring
 * (FLEET_BODY_MAX), so a feed saved to a file imports by hand as well; it holds the largest single
 * assertion (a body of ASSERTION_BODY_MAX, headers, signature) several times over. */
#define OPERATION_FILES_MAX        64
#define OPERATION_ASSERTIONS_MAX   (ASSERTION_STREAM_MAX * 16)
#define OPERATION_IMPORT_BYTES_MAX (16 * 1024 * 1024)

/* The largest Manager call: an Import at every bound above with every byte JSON-escaped at its worst (a
 * control character such as U+0001 becomes the six bytes "\u0001"), file names up to PATH_MAX escaped the
 * same way, and the JSON around them. The Manager accepts messages this large, so whatever the CLI may
 * import offline it may import through the daemon. */
#define MANAGER_MESSAGE_MAX \
        ((size_t) 6 * OPERATION_IMPORT_BYTES_MAX + (size_t) OPERATION_FILES_MAX * (6 * PATH_MAX + 64) + 4096)

typedef struct OperationContext {
        Provisioner *provisioner; /* required by operations with needs_provisioner */
        TrustDb *db;              /* always: the provisioner's own when there is one */
        const char *root;         /* the tree worked on, "/" for the running system (status) */
        const char *daemon_state; /* status: how the daemon is doing; NULL offline */
} OperationContext;

typedef struct OperationError {
        bool usage;        /* the request itself was malformed (the CLI's exit status 2) */
        char prefix[256];  /* what the message is about (a file, a user, a verb), "" for nothing */
        char message[768]; /* why, in words */
} OperationError;

typedef int (*OperationFunction)(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err);

typedef struct Operation {
        const char *name; /* the Manager method: io.corehomed.Manager.<name> */
        OperationFunction function;
        bool needs_provisioner; /* else the trust database is enough */
        bool changes_users;     /* may create, update or remove users: homes and expiry need a look after */
} Operation;

/* The operation called name ("Import", "List", ...), or NULL. */
const Operation *operation_find(const char *name);
/* Every operation, for registering them; *ret_n entries. */
const Operation *operation_table(size_t *ret_n);

/* Import / Verify: {"files": [{"name": N, "assertions": TEXT}, ...]} or {"assertions": TEXT[, "origin": N]}.
 * Result: {"assertions": [{file, assertion, type, verdict[, reason], revision[, brand-id][, email]}],
 * "committed": bool}. The files form one batch, stored only when nothing in it is refused. */
int operation_import(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err);
int operation_verify(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err);

/* ImportMedia: {"path": P} (a directory holding auto-import.assert, or a block device): reads it
 * synchronously, then as operation_import_media_data(). */
int operation_import_media(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err);

/* The import-media flow for bytes already read (label names their origin, "PATH/auto-import.assert"):
 * decode, import as one batch, then create the users of the batch's system-user assertions as
 * media.create-users allows. Result: {"source": label, "assertions": [...], "committed": bool,
 * "users": [report entries][, "note": why no users were created]}. */
int operation_import_media_data(OperationContext *c, const char *label, const char *data, size_t size,
                                json_t **ret, OperationError *err);

/* CreateUsers: {"email": E} optional. Expire: {}. Result: {"users": [{user, assertion, outcome[, reason]}]}.
 */
int operation_create_users(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err);
int operation_expire(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err);

/* List: {}. Result: {"users": [{user, uid, state, expires?, brand?, email?, revision?, managed}]}. */
int operation_list(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err);

/* Inspect: {"userName": U}. Result: {state, signature, record[, assertion]}. */
int operation_inspect(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err);

/* Remove: {"userName": U}. Result: {user, outcome: "removed"}. */
int operation_remove(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err);

/* Status: {}. Result: {device, trusted, stored, trusted-accounts, users, daemon, root[, clock-floor]}. */
int operation_status(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err);

/* Known: {"type": T[, "filters": ["HEADER=VALUE", ...]]}. Result: {"assertions": [assertion JSON],
 * "stream": the same assertions in snapd's stream form}. */
int operation_known(OperationContext *c, json_t *parameters, json_t **ret, OperationError *err);

/* Report helpers shared with the daemon's logging. */
json_t *operation_provision_report_json(const ProvisionReport *report);
/* How many entries of a {"users": [...]} / {"assertions": [...]} array were refused. */
size_t operation_count_refused(json_t *entries, const char *key, const char *refused_value);
