/* SPDX-License-Identifier: MIT */
/* The worker-process helper shared by the media and fleet workers: the child's answer arrives on the pipe
 * and its exit is seen on the pidfd; the child holds none of the parent's other descriptors and runs with an
 * empty signal mask; a child still running when its owner drops it is killed and reaped by the event loop
 * (no zombie, no blocking wait). */
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_answer_and_exit_status),
                cmocka_unit_test(test_child_holds_nothing_blocks_nothing),
                cmocka_unit_test(test_running_child_is_reaped_by_the_loop),
                cmocka_unit_test(test_fork_refuses_a_used_worker),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
