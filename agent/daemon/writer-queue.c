/* SPDX-License-Identifier: MIT */
#include "writer-queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct WriterJob {
        WriterJobRun run;
        WriterJobFree free_func;
        void *userdata;
        struct WriterJob *next;
} WriterJob;

struct WriterQueue {
        char *root;
        WriterQueueHooks hooks;
        void *userdata;
        WriterJob *head, *tail;
        size_t n;
        bool running;
        bool continued;     /* the running job asked to go on after its run function returned */
        WriterJob *current; /* that job, kept (with its lock) until writer_queue_job_done() */
        RootLock *current_lock;
        bool waiting;           /* the lock was busy at the last try: the waiting hook has been told */
        sd_event_source *kick;  /* deferred: the next job, outside of any caller's stack */
        sd_event_source *retry; /* the lock was busy: try again in a moment */
};

static void job_free(WriterJob *j)
{
        if (j->free_func)
                j->free_func(j->userdata);
        free(j);
}

static void say_waiting(const char *lock_path, const char *holder, void *userdata)
{
        WriterQueue *q = userdata;

        if (!q->waiting && q->hooks.waiting)
                q->hooks.waiting(lock_path, holder, q->userdata);
        q->waiting = true;
}

static void kick(WriterQueue *q)
{
        if (q->head)
                (void) sd_event_source_set_enabled(q->kick, SD_EVENT_ONESHOT);
}

/* The job is over: free it, publish what it changed, let the next one run. */
static void finish_one(WriterQueue *q, WriterJob *j, RootLock *lock)
{
        uint64_t generation = 0;

        q->running = false;
        q->n--;
        job_free(j);
        if (lock) {
                /* Whatever the job did may have changed the state: other processes (and the daemon's own
                 * watch) compare generations, and a bump that changed nothing only costs them a reload. */
                root_lock_mark_changed(lock);
                root_lock_release(lock, &generation);
                if (q->hooks.end)
                        q->hooks.end(generation, q->userdata);
        }
}

static void run_one(WriterQueue *q, RootLock *lock, int error)
{
        WriterJob *j = q->head;

        q->head = j->next;
        if (!q->head)
                q->tail = NULL;
        if (error >= 0 && q->hooks.begin)
                error = q->hooks.begin(lock, q->userdata);
        q->running = true;
        q->continued = false;
        j->run(error, j->userdata);
        if (q->continued) {
                /* The job goes on elsewhere; it keeps the lock until writer_queue_job_done(). */
                q->current = j;
                q->current_lock = lock;
                return;
        }
        finish_one(q, j, lock);
}

int writer_queue_job_continue(WriterQueue *q)
{
        if (!q->running || q->current)
                return -EBUSY;
        q->continued = true;
        return 0;
}

void writer_queue_job_done(WriterQueue *q)
{
        WriterJob *j = TAKE_PTR(q->current);

        if (!j)
                return;
        q->continued = false;
        finish_one(q, j, TAKE_PTR(q->current_lock));
        kick(q);
}

static int on_kick(sd_event_source *s, void *userdata)
{
        WriterQueue *q = userdata;
        RootLock *lock = NULL;
        int r;

        if (!q->head || q->running)
                return 0;
        r = root_lock_acquire(q->root, false, say_waiting, q, &lock);
        if (r == -EWOULDBLOCK) {
                (void) sd_event_source_set_time_relative(q->retry, WRITER_QUEUE_RETRY_USEC);
                (void) sd_event_source_set_enabled(q->retry, SD_EVENT_ONESHOT);
                return 0;
        }
        q->waiting = false;
        /* One job per turn: lookups, and a CLI waiting for the lock, get theirs in between. */
        run_one(q, lock, r < 0 ? r : 0);
        kick(q);
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        return on_kick(s, userdata);
}

int writer_queue_new(sd_event *e, const char *root, const WriterQueueHooks *hooks, void *userdata,
                     WriterQueue **ret)
{
        WriterQueue *q = calloc(1, sizeof(WriterQueue));
        int r;

        if (!q)
                return -ENOMEM;
        q->hooks = *hooks;
        q->userdata = userdata;
        if (root && !(q->root = strdup(root))) {
                free(q);
                return -ENOMEM;
        }
        r = sd_event_add_defer(e, &q->kick, on_kick, q);
        if (r >= 0)
                r = sd_event_source_set_enabled(q->kick, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &q->retry, CLOCK_MONOTONIC, WRITER_QUEUE_RETRY_USEC, 0,
                                               on_retry, q);
        if (r >= 0)
                r = sd_event_source_set_enabled(q->retry, SD_EVENT_OFF);
        if (r < 0) {
                writer_queue_free(q);
                return r;
        }
        *ret = q;
        return 0;
}

WriterQueue *writer_queue_free(WriterQueue *q)
{
        if (!q)
                return NULL;
        if (q->current) {
                job_free(TAKE_PTR(q->current));
                if (q->current_lock)
                        root_lock_release(TAKE_PTR(q->current_lock), NULL);
        }
        while (q->head) {
                WriterJob *next = q->head->next;
                job_free(q->head);
                q->head = next;
        }
        sd_event_source_disable_unref(q->kick);
        sd_event_source_disable_unref(q->retry);
        free(q->root);
        free(q);
        return NULL;
}

int writer_queue_push(WriterQueue *q, WriterJobRun run, WriterJobFree free_func, void *userdata,
                      bool coalesce)
{
        WriterJob *j;

        if (coalesce)
                for (j = q->head; j; j = j->next)
                        if (j->run == run) {
                                if (free_func)
                                        free_func(userdata);
                                return 0;
                        }
        if (q->n >= WRITER_QUEUE_MAX)
                return -EBUSY;
        j = calloc(1, sizeof(WriterJob));
        if (!j)
                return -ENOMEM;
        *j = (WriterJob){ .run = run, .free_func = free_func, .userdata = userdata };
        if (q->tail)
                q->tail->next = j;
        else
                q->head = j;
        q->tail = j;
        q->n++;
        /* Not while the retry timer waits for a busy lock: it kicks when it fires. */
        if (!q->waiting)
                kick(q);
        return 0;
}

size_t writer_queue_length(const WriterQueue *q)
{
        return q ? q->n : 0;
}
