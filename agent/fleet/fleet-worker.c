/* SPDX-License-Identifier: MIT */
#include "fleet-worker.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "file-util.h"
#include "string-util.h"
#include "worker-process.h"

#define READ_CHUNK (64 * 1024)

struct FleetWorker {
        sd_event *event;
        FleetWorkerHandler cb;
        void *userdata;
        usec_t timeout;

        WorkerProcess process; /* and the loop's watch on it */
        bool done;

        FleetBuffer answer; /* what the child wrote, at most FLEET_RECEIVED_MAX bytes */
        int read_error;     /* the pipe failed, or the answer outgrew its bound */
        FleetReceived received;
};

/* --- the child --- */

/* The worker parses TLS and HTTP from the network: a flaw there must not come with the daemon's power to
 * mount, chown or override file permissions. It keeps root's uid (it reads the root-only TLS key and the
 * state file) but no capability, and can never gain one back. */
static int drop_privileges(void)
{
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        if (syscall(SYS_capset, &header, data) < 0)
                return -errno;
        return 0;
}

typedef struct WorkerJob {
        const FleetPoll *poll;
        usec_t deadline;
} WorkerJob;

static int worker_child(int out_fd, void *userdata)
{
        const WorkerJob *job = userdata;
        FleetReceived received = {};
        FleetPoll poll = *job->poll;
        char *data = NULL;
        size_t size = 0;
        int r;

        r = drop_privileges();
        if (r < 0) {
                char why[128];
                snprintf(why, sizeof(why), "the fleet worker cannot drop its privileges: %s", strerror(-r));
                r = fleet_received_fail(&received, r, why);
        } else {
                poll.client.deadline = job->deadline;
                r = fleet_poll_receive(&poll, &received);
        }
        if (r < 0)
                (void) fleet_received_fail(&received, r, NULL);
        if (fleet_received_encode(&received, &data, &size) < 0 || write_all(out_fd, data, size) < 0)
                return EXIT_FAILURE;
        return EXIT_SUCCESS;
}

/* --- the parent --- */

static void worker_finish(FleetWorker *w)
{
        w->done = true;
        worker_process_answered(&w->process);
        /* Last: the handler may free w. */
        w->cb(w, &w->received, w->userdata);
}

static void worker_fail(FleetWorker *w, int error, const char *message)
{
        if (fleet_received_fail(&w->received, error, message) < 0)
                w->received.error = -ENOMEM;
        worker_finish(w);
}

/* Reads what the pipe holds now. Returns 1 at EOF or on error (nothing more will come), else 0. */
static int answer_read(FleetWorker *w)
{
        char buf[READ_CHUNK];

        for (;;) {
                ssize_t k = read(w->process.pipe_fd, buf, sizeof(buf));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        w->read_error = -errno;
                        return 1;
                }
                if (k == 0)
                        return 1;
                int r = fleet_buffer_append(&w->answer, buf, (size_t) k);
                if (r < 0) {
                        w->read_error = r;
                        return 1;
                }
        }
}

static void answer_too_big(FleetWorker *w)
{
        char why[128];

        (void) kill(w->process.pid, SIGKILL);
        snprintf(why, sizeof(why), "the fleet worker's answer exceeds %zu bytes; the worker was stopped",
                 (size_t) FLEET_RECEIVED_MAX);
        worker_fail(w, -E2BIG, why);
}

static int on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        FleetWorker *w = userdata;

        if (answer_read(w) == 0)
                return 0;
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (w->read_error == -E2BIG && !w->done)
                answer_too_big(w);
        return 0;
}

static void finish_with_answer(FleetWorker *w)
{
        _cleanup_free_ char *why = NULL;
        char what[128];
        int r;

        if (w->read_error == -E2BIG) {
                answer_too_big(w);
                return;
        }
        if (w->answer.size == 0 || w->read_error < 0) {
                if (w->process.exit_code == CLD_EXITED)
                        snprintf(what, sizeof(what), "exit status %d", w->process.exit_status);
                else
                        snprintf(what, sizeof(what), "signal %s", strsignal(w->process.exit_status));
                snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s%s",
                         w->read_error < 0 ? "; reading its answer: " : "",
                         w->read_error < 0 ? strerror(-w->read_error) : "");
                why = strprintf("the fleet worker ended without an answer (%s)", what);
                worker_fail(w, -ECHILD, why ? why : "the fleet worker ended without an answer");
                return;
        }
        r = fleet_received_decode(w->answer.data, w->answer.size, &w->received, &why);
        if (r < 0) {
                worker_fail(w, r, why ? why : "the fleet worker's answer is malformed");
                return;
        }
        worker_finish(w);
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        FleetWorker *w = userdata;

        if (!worker_process_try_reap(&w->process))
                return 0;
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (w->done)
                return 0;

        /* The child is gone, so all it wrote sits in the pipe. */
        if (sd_event_source_get_enabled(w->process.pipe_source, NULL) > 0) {
                (void) answer_read(w);
                (void) sd_event_source_set_enabled(w->process.pipe_source, SD_EVENT_OFF);
        }
        finish_with_answer(w);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        FleetWorker *w = userdata;
        char why[160];

        /* A server that stalls or trickles must not hold the poll beyond its deadline, whatever the child
         * is doing: kill it and report now; the pidfd source reaps it once the kernel lets go. */
        (void) kill(w->process.pid, SIGKILL);
        snprintf(why, sizeof(why), "no answer within fleet.timeout (%llu s); the fleet worker was stopped",
                 (unsigned long long) (w->timeout / USEC_PER_SEC));
        worker_fail(w, -ETIMEDOUT, why);
        return 0;
}

FleetWorker *fleet_worker_free(FleetWorker *w)
{
        if (!w)
                return NULL;

        worker_process_done(&w->process, w->event, "fleet-worker-orphan");

        fleet_buffer_done(&w->answer);
        fleet_received_done(&w->received);
        sd_event_unref(w->event);
        return mfree(w);
}

pid_t fleet_worker_pid(const FleetWorker *w)
{
        return w ? w->process.pid : 0;
}

int fleet_worker_start(sd_event *e, const FleetPoll *poll, usec_t timeout, FleetWorkerHandler cb,
                       void *userdata, FleetWorker **ret)
{
        _cleanup_(fleet_worker_freep) FleetWorker *w = NULL;
        int r;

        if (!e || !poll || !cb || !ret || timeout == 0)
                return -EINVAL;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->process = WORKER_PROCESS_INIT;
        w->event = sd_event_ref(e);
        w->cb = cb;
        w->userdata = userdata;
        w->timeout = timeout;
        w->answer.max = FLEET_RECEIVED_MAX;

        usec_t margin = timeout / 4 < FLEET_WORKER_MARGIN ? timeout / 4 : FLEET_WORKER_MARGIN;
        WorkerJob job = { .poll = poll, .deadline = time_now_monotonic() + timeout - margin };
        r = worker_process_fork(&w->process, worker_child, &job);
        if (r < 0)
                return r;
        r = worker_process_watch(&w->process, e,
                                 &(const WorkerWatch){ .name = "fleet-worker",
                                                       .on_pipe = on_pipe,
                                                       .on_exit = on_child_exit,
                                                       .on_timeout = on_timeout,
                                                       .timeout = timeout,
                                                       .accuracy = USEC_PER_SEC / 10 },
                                 w);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(w);
        return 0;
}
