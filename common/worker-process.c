/* SPDX-License-Identifier: MIT */
#include "worker-process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file-util.h"
#include "macros.h"

static bool fd_is_random_device(int fd)
{
        char link[32], target[32];
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
                return false;
        target[n] = '\0';
        return streq(target, "/dev/urandom") || streq(target, "/dev/random");
}

/* Closes every descriptor above 2 but keep, and (keep_random_devices) the random devices. */
static void close_inherited_fds(int keep, bool keep_random_devices)
{
        DIR *d = keep_random_devices ? opendir("/proc/self/fd") : NULL;
        struct dirent *de;

        if (!d) {
                /* Without /proc the random devices go too: libcryptsetup then fails loudly, never silently.
                 */
                if (keep > 3)
                        (void) close_range(3, (unsigned) keep - 1, 0);
                (void) close_range((unsigned) keep + 1, ~0U, 0);
                return;
        }
        while ((de = readdir(d))) {
                char *end;
                long fd = strtol(de->d_name, &end, 10);

                if (*end || end == de->d_name || fd < 3 || fd == keep || fd == dirfd(d) ||
                    fd_is_random_device((int) fd))
                        continue;
                (void) close((int) fd);
        }
        closedir(d);
}

static _Noreturn void worker_child(const WorkerProcess *w, WorkerChildFunction child, void *userdata,
                                   int out_fd, pid_t parent)
{
        sigset_t none;

        /* The worker must not outlive the daemon, nor hold its sockets or other pipes open. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
        close_inherited_fds(out_fd, w->keep_random_devices);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        _exit(child(out_fd, userdata));
}

int worker_process_fork(WorkerProcess *w, WorkerChildFunction child, void *userdata)
{
        _cleanup_close_ int rfd = -1, wfd = -1;
        pid_t parent = getpid();
        int fds[2];

        if (!w || !child || w->pid > 0)
                return -EINVAL;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        rfd = fds[0];
        wfd = fds[1];
        if (fcntl(rfd, F_SETFL, O_NONBLOCK) < 0)
                return -errno;

        w->pid = fork();
        if (w->pid < 0) {
                int r = -errno;
                w->pid = 0;
                return r;
        }
        if (w->pid == 0)
                worker_child(w, child, userdata, wfd, parent);

        w->pipe_fd = TAKE_FD(rfd);
        /* A pidfd tells the loop when the worker exits without SIGCHLD handling, and cannot be confused
         * by a recycled pid. */
        w->pidfd = (int) syscall(SYS_pidfd_open, w->pid, 0);
        if (w->pidfd < 0) {
                int r = -errno;
                (void) kill(w->pid, SIGKILL);
                (void) waitpid(w->pid, NULL, 0);
                w->reaped = true;
                return r;
        }
        return 0;
}

/* Reaps pid if it has exited. Returns true when it is gone. */
static bool child_try_reap(pid_t pid, int *ret_code, int *ret_status)
{
        siginfo_t si = {};

        if (waitid(P_PID, pid, &si, WEXITED | WNOHANG) < 0)
                /* ECHILD: someone else reaped it (SIGCHLD ignored); it is gone either way. */
                return errno == ECHILD;
        if (si.si_pid == 0)
                return false;
        if (ret_code)
                *ret_code = si.si_code;
        if (ret_status)
                *ret_status = si.si_status;
        return true;
}

bool worker_process_try_reap(WorkerProcess *w)
{
        if (w->pid <= 0 || w->reaped)
                return true;
        w->reaped = child_try_reap(w->pid, &w->exit_code, &w->exit_status);
        return w->reaped;
}

/* Owns nothing but the pid: reaps a killed worker whenever it finally exits, after its owner is gone. The
 * source is floating (owned by the event loop) and closes the pidfd itself. */
static int on_orphan_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        pid_t pid = (pid_t) (intptr_t) userdata;

        if (!child_try_reap(pid, NULL, NULL))
                return 0;
        /* Drops the loop's (only) reference: sd-event frees the source once this callback returns. */
        (void) sd_event_source_set_floating(s, false);
        return 0;
}

static void hand_over(WorkerProcess *w, sd_event *e, const char *description)
{
        sd_event_source *s = NULL;

        if (!e ||
            sd_event_add_io(e, &s, w->pidfd, EPOLLIN, on_orphan_exit, (void *) (intptr_t) w->pid) < 0) {
                /* Cannot watch it: a zombie until we exit is the lesser evil than blocking here. */
                w->pidfd = safe_close(w->pidfd);
                return;
        }
        (void) sd_event_source_set_io_fd_own(s, true);
        w->pidfd = -1;
        (void) sd_event_source_set_description(s, description);
        (void) sd_event_source_set_floating(s, true);
        sd_event_source_unref(s);
}

static int describe_source(sd_event_source *s, const char *name, const char *what)
{
        char description[64];

        snprintf(description, sizeof(description), "%s-%s", name, what);
        return sd_event_source_set_description(s, description);
}

int worker_process_watch(WorkerProcess *w, sd_event *e, const WorkerWatch *watch, void *userdata)
{
        int r;

        if (!w || !e || !watch || !watch->name || !watch->on_exit || !watch->on_timeout || w->pid <= 0)
                return -EINVAL;
        if (watch->on_pipe) {
                r = sd_event_add_io(e, &w->pipe_source, w->pipe_fd, EPOLLIN, watch->on_pipe, userdata);
                if (r < 0)
                        return r;
                (void) describe_source(w->pipe_source, watch->name, "pipe");
        }
        r = sd_event_add_io(e, &w->exit_source, w->pidfd, EPOLLIN, watch->on_exit, userdata);
        if (r < 0)
                return r;
        (void) describe_source(w->exit_source, watch->name, "exit");
        r = sd_event_add_time_relative(e, &w->timer_source, CLOCK_MONOTONIC, watch->timeout, watch->accuracy,
                                       watch->on_timeout, userdata);
        if (r < 0)
                return r;
        (void) describe_source(w->timer_source, watch->name, "timeout");
        return 0;
}

void worker_process_answered(WorkerProcess *w)
{
        (void) sd_event_source_set_enabled(w->pipe_source, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(w->timer_source, SD_EVENT_OFF);
}

void worker_process_unwatch(WorkerProcess *w)
{
        if (!w)
                return;
        w->pipe_source = sd_event_source_disable_unref(w->pipe_source);
        w->exit_source = sd_event_source_disable_unref(w->exit_source);
        w->timer_source = sd_event_source_disable_unref(w->timer_source);
}

void worker_process_done(WorkerProcess *w, sd_event *e, const char *description)
{
        if (!w)
                return;
        worker_process_unwatch(w);
        w->pipe_fd = safe_close(w->pipe_fd);
        if (w->pid > 0 && !w->reaped) {
                (void) kill(w->pid, SIGKILL);
                if (!worker_process_try_reap(w) && w->pidfd >= 0)
                        hand_over(w, e, description);
        }
        w->pidfd = safe_close(w->pidfd);
}
