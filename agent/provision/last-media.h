/* SPDX-License-Identifier: MIT */
#pragma once

/* The last medium imported here (a stick the daemon read, a path given to import-media), kept across
 * restarts so that `corehomectl status` answers "what happened to my stick?": when, which device, and
 * what became of it — the import's report (each assertion's verdict, each grant's user and its result),
 * or why nothing could be imported (an unreadable stick, a file that is not an assertion stream).
 *
 *   $ROOT/var/lib/corehomed/media/last-import.json (0600)
 *   {"time": RFC 3339, "device": PATH, "error": why | "report": {the MEDIA report, report-json.h}}
 *
 * Written atomically by the import's writer, under the root's lock (the daemon's media queue in its writer
 * job, corehomectl --root import-media); read by anyone without the lock (a rename is atomic). */

#include <jansson.h>

#include "report.h"
#include "time-util.h"

#define LAST_MEDIA_DIR  "/var/lib/corehomed/media"
#define LAST_MEDIA_FILE "last-import.json"
/* Ours, but bounded anyway: a damaged file must not exhaust memory. A stick's report holds at most one
 * entry per assertion and per user of a 1 MiB stream, each with its reason: a few MiB at the very most. */
#define LAST_MEDIA_SIZE_MAX (16U * 1024U * 1024U)

typedef struct LastMedia {
        usec_t time;             /* 0: no medium imported yet */
        char *device;            /* the block device or directory read */
        char *error;             /* why nothing was imported; NULL when there is a report */
        ProvisionReport *report; /* PROVISION_REPORT_MEDIA; NULL with error */
} LastMedia;

void last_media_done(LastMedia *m);

/* Replaces the record: device was imported at time with report, or failed with error (exactly one of
 * the two). */
int last_media_save(const char *root, usec_t time, const char *device, const char *error,
                    const ProvisionReport *report);

/* Reads the record; a missing file is an empty one (time 0). -EBADMSG for a file of another shape. */
int last_media_load(const char *root, LastMedia *ret);

/* The record's JSON form (the file's, and `status`'s "last-media"); null when no medium was imported.
 * New reference, NULL when out of memory. */
json_t *last_media_to_json(const LastMedia *m);
