/* SPDX-License-Identifier: MIT */
/* The home1 service's worker (home1-worker.h). */
#include "home1-worker.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "file-util.h"
#include "worker-process.h"

/* What the child writes, in one write(2) below PIPE_BUF: atomic, so it is all there or not at all. */
typedef struct WorkerAnswer {
        int32_t r;
        RecordError err;
} WorkerAnswer;

struct Home1Worker {
        sd_event *event;
        Home1WorkDone done;
        void *userdata;
        WorkerProcess process; /* keeps the random devices: libcryptsetup's (worker-process.h) */
};

/* What the child runs, on its copy of the parent's memory. */
typedef struct ChildJob {
        Home *home;
        Home1WorkFunction function;
        const void *args;
} ChildJob;

static int worker_child(int out_fd, void *userdata)
{
        const ChildJob *job = userdata;
        WorkerAnswer a = {};

        a.r = job->function(job->home, job->args, &a.err);
        return write_all(out_fd, &a, sizeof(a)) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void worker_finish(Home1Worker *w, int r, const RecordError *err)
{
        static const RecordError none = {};

        worker_process_unwatch(&w->process);
        /* Last: the handler may free w. */
        w->done(w, r, err ? err : &none, w->userdata);
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Home1Worker *w = userdata;
        WorkerAnswer a = {};
        ssize_t k;

        if (!worker_process_try_reap(&w->process))
                return 0;
        /* The child is gone: its answer, if it wrote one, is complete in the pipe. */
        k = read(w->process.pipe_fd, &a, sizeof(a));
        if (k != (ssize_t) sizeof(a) || a.r > 0) {
                worker_finish(w, -ECHILD, NULL);
                return 0;
        }
        a.err.field[sizeof(a.err.field) - 1] = '\0';
        a.err.message[sizeof(a.err.message) - 1] = '\0';
        worker_finish(w, a.r, &a.err);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Home1Worker *w = userdata;

        (void) kill(w->process.pid, SIGKILL);
        worker_finish(w, -ETIMEDOUT, NULL);
        return 0;
}

Home1Worker *home1_worker_free(Home1Worker *w)
{
        if (!w)
                return NULL;
        /* A child still running is killed and reaped by the loop whenever the kernel lets it go. */
        worker_process_done(&w->process, w->event, "home1-worker-orphan");
        sd_event_unref(w->event);
        return mfree(w);
}

int home1_worker_start(sd_event *e, Home *h, Home1WorkFunction f, const void *args, Home1WorkDone done,
                       void *userdata, Home1Worker **ret)
{
        _cleanup_(home1_worker_freep) Home1Worker *w = NULL;
        ChildJob job = { .home = h, .function = f, .args = args };
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->process = WORKER_PROCESS_INIT;
        w->process.keep_random_devices = true;
        w->event = sd_event_ref(e);
        w->done = done;
        w->userdata = userdata;

        r = worker_process_fork(&w->process, worker_child, &job);
        if (r < 0)
                return r;
        /* The answer is one write below PIPE_BUF, read when the child has exited: no pipe source. */
        r = worker_process_watch(&w->process, e,
                                 &(const WorkerWatch){ .name = "home1-worker",
                                                       .on_exit = on_child_exit,
                                                       .on_timeout = on_timeout,
                                                       .timeout = HOME1_WORKER_TIMEOUT,
                                                       .accuracy = USEC_PER_SEC },
                                 w);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}
