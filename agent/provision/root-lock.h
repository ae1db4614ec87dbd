/* SPDX-License-Identifier: MIT */
#pragma once

/* One writer per root. Every process that changes the state below a root (the assertion store, homes and
 * their records, the intent journal, the fleet state) holds the root's lock while it does, and recovery from
 * an interrupted writer runs only under it; readers take no lock and never repair or delete anything.
 *
 *   $ROOT/var/lib/corehomed/lock        flock(2) target; holds "COMM (pid PID)" of the holder, for messages
 *   $ROOT/var/lib/corehomed/generation  a counter every writer moves forward when it releases the lock
 *
 * The generation is how a long-running process (the daemon) learns that another one (corehomectl --root on
 * the same tree) changed the state behind its back: it compares the counter with the one its in-memory state
 * was loaded at, when it takes the lock and when the file changes (inotify), and reloads on a difference.
 * A flock(2) lock dies with its holder, so a writer killed mid-operation never blocks the next one; the
 * next writer finds the intent journal and finishes or undoes the interrupted step. */

#include <stdbool.h>
#include <stdint.h>

#include "macros.h"

#define ROOT_LOCK_PATH       "/var/lib/corehomed/lock"
#define ROOT_GENERATION_PATH "/var/lib/corehomed/generation"
/* "COMM (pid PID)\n" of the holder: enough for a message, bounded for reading. */
#define ROOT_LOCK_HOLDER_MAX 64

typedef struct RootLock {
        int fd;
        char *generation_path;
        uint64_t generation; /* as found when the lock was taken */
        bool changed;        /* release moves the generation forward */
} RootLock;

/* Called when another process holds the lock (before waiting, or before -EWOULDBLOCK): holder is
 * "COMM (pid PID)" or "" when unknown (for a message such as "waiting for the lock held by ..."). */
typedef void (*RootLockWaitNotify)(const char *lock_path, const char *holder, void *userdata);

/* Takes the writer lock of root (NULL or "/" for the running system), creating its directory and files
 * when missing (root only, 0700 / 0600). With wait, blocks until the lock is free (calling notify first when
 * it is busy); without, returns -EWOULDBLOCK at once when it is busy (calling notify too). */
int root_lock_acquire(const char *root, bool wait, RootLockWaitNotify notify, void *userdata,
                      RootLock **ret);

/* Releases the lock; when root_lock_mark_changed() was called, first moves the generation forward (the new
 * value in *ret_generation when not NULL). Accepts NULL; returns NULL. */
RootLock *root_lock_release(RootLock *l, uint64_t *ret_generation);
static inline void root_lock_releasep(RootLock **l)
{
        root_lock_release(*l, NULL);
}
#define _cleanup_root_lock_ _cleanup_(root_lock_releasep)

void root_lock_mark_changed(RootLock *l);

/* The current generation of root without taking the lock (0 when nothing was ever written). A torn read of
 * a concurrent update yields another number, never a false "unchanged" once the writer has finished. */
int root_generation_read(const char *root, uint64_t *ret);
