/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's writers, one at a time, each under the root's lock (root-lock.h). Every change the daemon
 * makes (a Manager call that writes, a stick's import, a fleet import, expiry, a refresh after another
 * process wrote) is a job in this queue. A job runs when the lock is free: the event loop never blocks on
 * it — while another process (corehomectl --root on the same tree) holds the lock, the queue retries on a
 * short timer and the daemon keeps answering lookups. Each job holds the lock only for itself, so a waiting
 * corehomectl gets its turn between two jobs. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "macros.h"
#include "root-lock.h"

#define WRITER_QUEUE_MAX 256 /* jobs waiting; more is refused (-EBUSY) */
/* How often a busy lock is tried again: short against a CLI's one operation, long against a spinning loop.
 */
#define WRITER_QUEUE_RETRY_USEC (20 * 1000)

typedef struct WriterQueue WriterQueue;

/* A job's work, with the lock held and the state brought up to date. error < 0: the lock could not be
 * taken or the state not be loaded (the job answers its caller with it and changes nothing). */
typedef void (*WriterJobRun)(int error, void *userdata);
typedef void (*WriterJobFree)(void *userdata);

typedef struct WriterQueueHooks {
        /* After the lock is taken, before the job: brings the in-memory state up to date (reload when the
         * lock's generation moved, recovery). A negative return is passed to the job as its error. */
        int (*begin)(RootLock *lock, void *userdata);
        /* After the lock is released: generation is the root's generation now (the state the daemon has). */
        void (*end)(uint64_t generation, void *userdata);
        /* Once, when the lock is found busy and the queue starts waiting: who holds it. */
        void (*waiting)(const char *lock_path, const char *holder, void *userdata);
} WriterQueueHooks;

int writer_queue_new(sd_event *e, const char *root, const WriterQueueHooks *hooks, void *userdata,
                     WriterQueue **ret);
/* Jobs still waiting are freed without running. */
WriterQueue *writer_queue_free(WriterQueue *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(WriterQueue *, writer_queue_free)

/* Appends a job; run is called later from the event loop (never from inside this call), free_func (may be
 * NULL) after run, or when the queue is freed first. With coalesce, a job of the same run function that is
 * still waiting makes this one unnecessary: 0 is returned and free_func(userdata) called at once. */
int writer_queue_push(WriterQueue *q, WriterJobRun run, WriterJobFree free_func, void *userdata,
                      bool coalesce);

/* Called by a job's run function whose work goes on after it returns (a worker process does it while the
 * loop keeps serving): the root's lock stays held and no other job starts until writer_queue_job_done()
 * is called, from the event loop. Only valid inside run. Returns -EBUSY outside of a job. */
int writer_queue_job_continue(WriterQueue *q);
/* The continued job is over: it is freed (free_func), the lock released, the next job may start. */
void writer_queue_job_done(WriterQueue *q);

/* Jobs waiting or running (for the status line). */
size_t writer_queue_length(const WriterQueue *q);
