/* SPDX-License-Identifier: MIT */
/* The worker-process helper shared by the media and fleet workers: the child's answer arrives on the pipe
 * and its exit is seen on the pidfd; the child holds none of the parent's other descriptors and runs with an
 * empty signal mask; a child still running when its owner drops it is killed and reaped by the event loop
 * (no zombie, no blocking wait); the loop's watch on a worker sees its answer, its exit and its deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "file-util.h"
#include "macros.h"
#include "time-util.h"
#include "worker-process.h"

static void wait_readable(int fd)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };

        assert_int_equal(poll(&p, 1, 10 * 1000), 1);
}

static int child_answer(int out_fd, void *userdata)
{
        const char *text = userdata;

        return write_all(out_fd, text, strlen(text)) < 0 ? EXIT_FAILURE : 7;
}

static void test_answer_and_exit_status(void **state)
{
        WorkerProcess w = WORKER_PROCESS_INIT;
        char buf[64] = {};

        assert_int_equal(worker_process_fork(&w, child_answer, (void *) "hello"), 0);
        assert_true(w.pid > 0);
        assert_true(w.pidfd >= 0);
        assert_true(fcntl(w.pipe_fd, F_GETFL) & O_NONBLOCK);
        assert_true(fcntl(w.pipe_fd, F_GETFD) & FD_CLOEXEC);

        wait_readable(w.pidfd);
        assert_true(worker_process_try_reap(&w));
        assert_true(w.reaped);
        assert_int_equal(w.exit_code, CLD_EXITED);
        assert_int_equal(w.exit_status, 7);
        /* The child is gone, so all it wrote sits in the pipe. */
        assert_int_equal(read(w.pipe_fd, buf, sizeof(buf) - 1), 5);
        assert_string_equal(buf, "hello");
        assert_int_equal(read(w.pipe_fd, buf, sizeof(buf)), 0);

        worker_process_done(&w, NULL, "test");
        assert_int_equal(w.pipe_fd, -1);
        assert_int_equal(w.pidfd, -1);
}

/* Reports which of the parent's descriptors it still holds and whether any signal is blocked. */
static int child_report(int out_fd, void *userdata)
{
        int parent_fd = *(int *) userdata;
        sigset_t mask;
        char line[64];

        (void) sigprocmask(SIG_SETMASK, NULL, &mask);
        snprintf(line, sizeof(line), "fd=%d term-blocked=%d", fcntl(parent_fd, F_GETFD) >= 0 ? 1 : 0,
                 sigismember(&mask, SIGTERM));
        return write_all(out_fd, line, strlen(line)) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void test_child_holds_nothing_blocks_nothing(void **state)
{
        WorkerProcess w = WORKER_PROCESS_INIT;
        /* Not close-on-exec, like a socket a daemon got from systemd: fork alone would pass it on. */
        int fd = open("/dev/null", O_RDONLY);
        sigset_t term, old;
        char buf[64] = {};

        assert_true(fd >= 0);
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        assert_int_equal(sigprocmask(SIG_BLOCK, &term, &old), 0);
        assert_int_equal(worker_process_fork(&w, child_report, &fd), 0);
        assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);

        wait_readable(w.pidfd);
        assert_true(worker_process_try_reap(&w));
        assert_int_equal(w.exit_code, CLD_EXITED);
        assert_int_equal(w.exit_status, EXIT_SUCCESS);
        assert_true(read(w.pipe_fd, buf, sizeof(buf) - 1) > 0);
        assert_string_equal(buf, "fd=0 term-blocked=0");
        worker_process_done(&w, NULL, "test");
        safe_close(fd);
}

static int child_sleep(int out_fd, void *userdata)
{
        /* Until it is killed. */
        (void) sleep(60);
        return EXIT_FAILURE;
}

static int on_quit(sd_event_source *s, uint64_t usec, void *userdata)
{
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void test_running_child_is_reaped_by_the_loop(void **state)
{
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        WorkerProcess w = WORKER_PROCESS_INIT;
        siginfo_t si = {};
        pid_t pid;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(worker_process_fork(&w, child_sleep, NULL), 0);
        pid = w.pid;
        assert_false(worker_process_try_reap(&w));

        /* Dropped while it runs: killed, and reaped now or handed to the loop; never waited for here. */
        worker_process_done(&w, e, "test-orphan");
        assert_int_equal(w.pipe_fd, -1);
        assert_int_equal(w.pidfd, -1);
        assert_int_equal(
                sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, USEC_PER_SEC / 2, 0, on_quit, NULL), 0);
        assert_int_equal(sd_event_loop(e), 0);
        /* Gone: no zombie is left to wait for. */
        assert_int_equal(waitid(P_PID, pid, &si, WEXITED | WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

static void test_fork_refuses_a_used_worker(void **state)
{
        WorkerProcess w = WORKER_PROCESS_INIT;

        assert_int_equal(worker_process_fork(&w, child_answer, (void *) "x"), 0);
        assert_int_equal(worker_process_fork(&w, child_answer, (void *) "x"), -EINVAL);
        wait_readable(w.pidfd);
        worker_process_done(&w, NULL, "test");
        assert_true(w.reaped);
}

/* What the watch's handlers saw, in order: 'p' pipe readable, 'x' exit, 't' timeout. */
typedef struct Seen {
        WorkerProcess *w;
        char order[8];
        size_t n;
} Seen;

static void seen(Seen *s, char what)
{
        if (s->n < sizeof(s->order) - 1)
                s->order[s->n++] = what;
}

static int on_watch_pipe(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        Seen *s = userdata;

        seen(s, 'p');
        /* Seen once: like the workers, stop reading (and the deadline) when the answer is in. */
        worker_process_answered(s->w);
        return 0;
}

static int on_watch_exit(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        Seen *s = userdata;
        sd_event *e = sd_event_source_get_event(source); /* before the source is let go of */

        if (!worker_process_try_reap(s->w))
                return 0;
        /* Both may be ready in one wake-up, in either order: like the workers, read what the gone child
         * left in the pipe before its exit, so the answer is always seen first. */
        if (s->w->pipe_source && sd_event_source_get_enabled(s->w->pipe_source, NULL) > 0) {
                seen(s, 'p');
                worker_process_answered(s->w);
        }
        seen(s, 'x');
        worker_process_unwatch(s->w);
        return sd_event_exit(e, 0);
}

static int on_watch_timeout(sd_event_source *source, uint64_t usec, void *userdata)
{
        Seen *s = userdata;

        seen(s, 't');
        (void) kill(s->w->pid, SIGKILL);
        return 0;
}

static void test_watch_sees_answer_exit_and_deadline(void **state)
{
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        WorkerProcess w = WORKER_PROCESS_INIT, sleeper = WORKER_PROCESS_INIT;
        Seen s = { .w = &w }, t = { .w = &sleeper };
        const char *description = NULL;
        WorkerWatch watch = { .name = "test-worker",
                              .on_pipe = on_watch_pipe,
                              .on_exit = on_watch_exit,
                              .on_timeout = on_watch_timeout,
                              .timeout = 10 * USEC_PER_SEC,
                              .accuracy = 1 };

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(worker_process_watch(&w, e, &watch, &s), -EINVAL); /* not forked yet */
        assert_int_equal(worker_process_fork(&w, child_answer, (void *) "hello"), 0);
        assert_int_equal(worker_process_watch(&w, e, &watch, &s), 0);
        assert_int_equal(sd_event_source_get_description(w.timer_source, &description), 0);
        assert_string_equal(description, "test-worker-timeout");
        assert_int_equal(sd_event_loop(e), 0);
        /* The answer, then the exit (still watched once the answer was in); the deadline far away never
         * fired, and the watch is gone. */
        assert_string_equal(s.order, "px");
        assert_null(w.pipe_source);
        assert_null(w.exit_source);
        assert_null(w.timer_source);
        worker_process_done(&w, e, "test");

        /* A child that does not finish: the deadline, then its exit once killed; no pipe source asked.
         * (A loop that exited does not run again: a new one.) */
        e = sd_event_unref(e);
        assert_int_equal(sd_event_new(&e), 0);
        watch.on_pipe = NULL;
        watch.timeout = USEC_PER_SEC / 10;
        assert_int_equal(worker_process_fork(&sleeper, child_sleep, NULL), 0);
        assert_int_equal(worker_process_watch(&sleeper, e, &watch, &t), 0);
        assert_null(sleeper.pipe_source);
        assert_int_equal(sd_event_loop(e), 0);
        assert_string_equal(t.order, "tx");
        assert_int_equal(sleeper.exit_code, CLD_KILLED);
        worker_process_done(&sleeper, e, "test");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_answer_and_exit_status),
                cmocka_unit_test(test_child_holds_nothing_blocks_nothing),
                cmocka_unit_test(test_running_child_is_reaped_by_the_loop),
                cmocka_unit_test(test_fork_refuses_a_used_worker),
                cmocka_unit_test(test_watch_sees_answer_exit_and_deadline),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
