/* SPDX-License-Identifier: MIT */
#pragma once

/* A batch of home creations (a stick or a fleet delivery brings many users at once). Between
 * home_batch_begin() and home_batch_end(), under the caller's root lock:
 *  - the UIDs in use (other homes, passwd, group) are read once, at the batch's first pick, and every UID
 *    picked since is counted from memory: no re-reading of every host record per new home;
 *  - the homes' files are written without an fsync() each; home_batch_end() makes all of them durable at
 *    once with one syncfs() per file system (the host records' and /home's).
 * A home made in a batch is durable only when home_batch_end() returned 0: the caller keeps its intent
 * journal entries until then, so a crash undoes the batch's homes rather than leaving half of one. */

#include "home.h"
#include "uid-alloc.h"

typedef struct HomeBatch {
        UidUsage *used; /* NULL until the batch's first UID pick */
} HomeBatch;

/* -EBUSY when a batch is already open. */
int home_batch_begin(Home *h);

/* Ends the batch (a no-op without one): syncs the file systems of the host records and of /home.
 * Returns the first syncfs() error (-EIO: the batch's homes may not be on disk). */
int home_batch_end(Home *h);

/* Internal to the engine: does a write of this context fsync at once (false inside a batch)? */
bool home_sync_each(const Home *h);
