/* SPDX-License-Identifier: MIT */
#pragma once

/* The media queue, a service of the daemon: every medium to import (a stick udev reports, a path given to
 * ImportMedia) waits here and is read and imported one at a time, so two sticks never race on the same
 * grants. A block device is read by a media worker (a child in its own mount namespace, media.h) while the
 * loop keeps serving; a directory is read in place. The import itself is a job of the daemon's writer
 * queue; every decision is logged, the caller (if any) answered with the report. */

#include <stdbool.h>

#include "daemon.h"
#include "varlink.h"

/* Media waiting at most; more (a malicious USB hub) are refused and logged. */
#define MEDIA_QUEUE_MAX 64

typedef struct MediaQueue MediaQueue;

int media_queue_new(Daemon *d, MediaQueue **ret);
/* Stops watching udev, kills a running reader, answers every caller still waiting ("stopping"). */
MediaQueue *media_queue_free(MediaQueue *q);

/* Queues path (a block device or a directory holding auto-import.assert). from_udev: a stick udev
 * reported (released back to the monitor when done). call (may be NULL) is answered when the import is
 * over. -EBUSY when MEDIA_QUEUE_MAX media wait already. */
int media_queue_push(MediaQueue *q, const char *path, bool from_udev, VarlinkCall *call);

/* Starts the udev monitor (udev-monitor.h): tagged removable block devices, or any with allow_any. */
int media_queue_watch_udev(MediaQueue *q, bool allow_any);
bool media_queue_watches_udev(const MediaQueue *q);
