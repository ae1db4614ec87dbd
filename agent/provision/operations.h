/* SPDX-License-Identifier: MIT */
#pragma once

/* The operations behind the CLI verbs that read or change state, written once: corehomectl --root runs
 * them in process on a tree, corehomed runs them for io.corehomed.Manager calls. Each takes its request as a
 * JSON object (the Manager's call parameters) and gives a typed result: a ProvisionReport for everything
 * that decides on assertions or users (the daemon logs it field by field; report-json.h makes the reply),
 * or a view (a JSON document: list, inspect, status, known). Refusals (an assertion or a user refused) are
 * part of the result; only a failure of the operation itself (a malformed request, an unknown user, an
 * unreadable medium) is an error. */

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "provisioner.h"
#include "report.h"
#include "trust-db.h"

/* The Manager's interface and its socket (root only). The CLI talks to it when run without --root. */
#define MANAGER_INTERFACE      "io.corehomed.Manager"
#define MANAGER_SOCKET_DEFAULT "/run/corehomed/io.corehomed.Manager"
/* Varlink error names of the Manager: {"prefix": what, "message": why, "errno": N}. */
#define MANAGER_ERROR_FAILED          MANAGER_INTERFACE ".Failed"
#define MANAGER_ERROR_INVALID_REQUEST MANAGER_INTERFACE ".InvalidRequest"

/* Most files and most bytes of assertion text (all files together) one Import or Verify may carry: the
 * CLI's command line, one Manager call; the assertions of all of them together are bounded by
 * ASSERTION_BATCH_MAX. 16 MiB is what one fleet poll may bring (FLEET_BODY_MAX), so a feed saved to a file
 * imports by hand as well; it holds the largest single assertion (a body of ASSERTION_BODY_MAX, headers,
 * signature) several times over. */
#define OPERATION_FILES_MAX        64
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

/* Why an operation failed; the strings are allocated (operation_error_done() frees them). */
typedef struct OperationError {
        bool usage;    /* the request itself was malformed (the CLI's exit status 2) */
        char *prefix;  /* what the message is about (a file, a user, a verb), NULL for nothing */
        char *message; /* why, in words */
} OperationError;

void operation_error_done(OperationError *err);
/* Sets err (replacing what it held) and returns r. */
int operation_error_set(OperationError *err, int r, const char *prefix, const char *format, ...)
        _printf_(4, 5);

typedef struct OperationResult {
        ProvisionReport *report; /* what a deciding operation decided */
        json_t *view;            /* what a reading operation shows */
} OperationResult;

void operation_result_done(OperationResult *r);
/* The Manager's reply (and what --json prints): the view, or the report in its JSON shape. New reference,
 * NULL when out of memory. */
json_t *operation_result_reply(const OperationResult *r);

typedef int (*OperationFunction)(OperationContext *c, json_t *parameters, OperationResult *ret,
                                 OperationError *err);

typedef struct Operation {
        const char *name; /* the Manager method: io.corehomed.Manager.<name> */
        OperationFunction function;
        ProvisionReportKind report_kind; /* with reports: the shape of the report */
        bool reports;                    /* the result is a report (else a view) */
        bool needs_provisioner;          /* else the trust database is enough */
        bool writes; /* changes the state below the root: runs with the root's lock held (root-lock.h),
                        on a state loaded under it, after recovery */
        bool changes_users; /* may create, update or remove users: homes and expiry need a look after */
} Operation;

/* The operation called name ("Import", "List", ...), or NULL. */
const Operation *operation_find(const char *name);
/* Every operation, for registering them; *ret_n entries. */
const Operation *operation_table(size_t *ret_n);

/* ImportMedia's second half, for bytes already read (label names their origin,
 * "PATH/auto-import.assert"): one import of the medium's assertions, users as media.create-users allows. */
int operation_import_media_data(OperationContext *c, const char *label, const char *data, size_t size,
                                OperationResult *ret, OperationError *err);
