/* SPDX-License-Identifier: MIT */
/* The home1 service's worker (home1-worker.h). */
#include "home1-worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file-util.h"

/* What the child writes, in one write(2) below PIPE_BUF: atomic, so it is all there or not at all. */
typedef struct WorkerAnswer {
        int32_t r;
        RecordError err;
} WorkerAnswer;

struct Home1Worker {
        sd_event *event;
        Home1WorkDone done;
        void *userdata;
        pid_t pid;
        int pidfd;
        int pipe_fd;
        bool reaped;
        sd_event_source *exit_source;
        sd_event_source *timer_source;
};

/* Whether fd is the kernel's random device, which libcryptsetup opens once per process (at its first
 * crypt_init()) and reads for every salt and key later on: a worker forked after the daemon used
 * libcryptsetup must keep it, or adding a keyslot fails with "Error reading from RNG" (found by the VM test:
 * the re-key after a password change, once the daemon had locked and unlocked a home itself). */
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

/* Closes every descriptor above 2 but keep and the random devices. */
static void close_inherited_fds(int keep)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;

        if (!d) {
                /* No /proc: close all but keep (libcryptsetup then fails loudly, never silently). */
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

static _Noreturn void worker_child(Home *h, Home1WorkFunction f, const void *args, int out_fd, pid_t parent)
{
        WorkerAnswer a = {};

        /* The worker must not outlive the daemon (a mount half made by a dead daemon's child is worse than
         * one never made), nor keep the daemon's sockets, bus connection or lock alive. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
        close_inherited_fds(out_fd);

        a.r = f(h, args, &a.err);
        if (write_all(out_fd, &a, sizeof(a)) < 0)
                _exit(EXIT_FAILURE);
        _exit(EXIT_SUCCESS);
}

static bool child_try_reap(pid_t pid)
{
        siginfo_t si = {};

        if (waitid(P_PID, pid, &si, WEXITED | WNOHANG) < 0)
                return errno == ECHILD; /* reaped elsewhere: gone either way */
        return si.si_pid != 0;
}

static void worker_finish(Home1Worker *w, int r, const RecordError *err)
{
        static const RecordError none = {};

        w->exit_source = sd_event_source_disable_unref(w->exit_source);
        w->timer_source = sd_event_source_disable_unref(w->timer_source);
        /* Last: the handler may free w. */
        w->done(w, r, err ? err : &none, w->userdata);
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Home1Worker *w = userdata;
        WorkerAnswer a = {};
        ssize_t k;

        if (!child_try_reap(w->pid))
                return 0;
        w->reaped = true;
        /* The child is gone: its answer, if it wrote one, is complete in the pipe. */
        k = read(w->pipe_fd, &a, sizeof(a));
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

        (void) kill(w->pid, SIGKILL);
        worker_finish(w, -ETIMEDOUT, NULL);
        return 0;
}

/* Reaps a killed child whenever the kernel lets it go, after its Home1Worker is gone. */
static int on_orphan_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        if (!child_try_reap((pid_t) (intptr_t) userdata))
                return 0;
        (void) sd_event_source_set_floating(s, false);
        return 0;
}

Home1Worker *home1_worker_free(Home1Worker *w)
{
        if (!w)
                return NULL;
        w->exit_source = sd_event_source_disable_unref(w->exit_source);
        w->timer_source = sd_event_source_disable_unref(w->timer_source);
        w->pipe_fd = safe_close(w->pipe_fd);
        if (w->pid > 0 && !w->reaped) {
                sd_event_source *s = NULL;

                (void) kill(w->pid, SIGKILL);
                if (!child_try_reap(w->pid) && w->pidfd >= 0 &&
                    sd_event_add_io(w->event, &s, w->pidfd, EPOLLIN, on_orphan_exit,
                                    (void *) (intptr_t) w->pid) >= 0) {
                        (void) sd_event_source_set_io_fd_own(s, true);
                        (void) sd_event_source_set_floating(s, true);
                        sd_event_source_unref(s);
                        w->pidfd = -1;
                }
        }
        w->pidfd = safe_close(w->pidfd);
        sd_event_unref(w->event);
        return mfree(w);
}

int home1_worker_start(sd_event *e, Home *h, Home1WorkFunction f, const void *args, Home1WorkDone done,
                       void *userdata, Home1Worker **ret)
{
        _cleanup_(home1_worker_freep) Home1Worker *w = NULL;
        _cleanup_close_ int rfd = -1, wfd = -1;
        pid_t parent = getpid();
        int fds[2], r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->pidfd = w->pipe_fd = -1;
        w->event = sd_event_ref(e);
        w->done = done;
        w->userdata = userdata;

        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        rfd = fds[0];
        wfd = fds[1];
        w->pid = fork();
        if (w->pid < 0)
                return -errno;
        if (w->pid == 0)
                worker_child(h, f, args, wfd, parent);
        w->pipe_fd = TAKE_FD(rfd);
        /* A pidfd tells the loop when the child exits, without SIGCHLD handling and without confusing it
         * with a recycled pid. */
        w->pidfd = (int) syscall(SYS_pidfd_open, w->pid, 0);
        if (w->pidfd < 0) {
                r = -errno;
                (void) kill(w->pid, SIGKILL);
                (void) waitpid(w->pid, NULL, 0);
                w->reaped = true;
                return r;
        }
        r = sd_event_add_io(e, &w->exit_source, w->pidfd, EPOLLIN, on_child_exit, w);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &w->timer_source, CLOCK_MONOTONIC, HOME1_WORKER_TIMEOUT,
                                               USEC_PER_SEC, on_timeout, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->exit_source, "home1-worker-exit");
        (void) sd_event_source_set_description(w->timer_source, "home1-worker-timeout");
        *ret = TAKE_PTR(w);
        return 0;
}
