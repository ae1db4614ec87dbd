/* SPDX-License-Identifier: MIT */
#pragma once

/* A worker process of an sd-event daemon: a forked child that does one risky job (read a stick, talk to a
 * fleet server) and writes its answer on a pipe, while the loop goes on serving. What every such worker
 * needs is here, once: the fork with its pipe, a child that dies with its parent and holds none of the
 * parent's other file descriptors, a pidfd that tells the loop when the child exits (no SIGCHLD handling,
 * no confusion with a recycled pid), and, when the worker is dropped before its child is gone, a child
 * that is killed and reaped later by the loop instead of being left a zombie or waited for on the loop.
 * The protocol on the pipe and the event sources that read it are the caller's. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

typedef struct WorkerProcess {
        pid_t pid;       /* > 0 once forked */
        int pidfd;       /* readable (EPOLLIN) once the child has exited; -1 when not open */
        int pipe_fd;     /* the read end of the child's answer pipe, non-blocking, close-on-exec */
        bool reaped;     /* waited for: pid is free again */
        int exit_code;   /* once reaped: waitid()'s si_code (CLD_EXITED, CLD_KILLED, ...) */
        int exit_status; /* once reaped: the exit status or the signal */
        /* Set before forking: the child keeps its descriptors of the kernel's random devices. libcryptsetup
         * opens /dev/urandom once per process (at its first crypt_init()) and reads it for every salt and
         * key later: a worker forked after the daemon used libcryptsetup must keep it, or adding a keyslot
         * fails with "Error reading from RNG" (found by the VM test: a re-key after a password change). */
        bool keep_random_devices;
        /* The loop's watch on the child (worker_process_watch()): its pipe (when the answer is read as it
         * comes), its exit and its deadline. */
        sd_event_source *pipe_source, *exit_source, *timer_source;
} WorkerProcess;

#define WORKER_PROCESS_INIT ((WorkerProcess){ .pidfd = -1, .pipe_fd = -1 })

/* How the loop watches a worker. The handlers get the userdata given to worker_process_watch(). */
typedef struct WorkerWatch {
        const char *name;              /* the sources are described NAME-pipe, NAME-exit, NAME-timeout */
        sd_event_io_handler_t on_pipe; /* the pipe is readable; NULL: the answer is read at the exit */
        sd_event_io_handler_t on_exit; /* the pidfd is readable: the child has exited */
        sd_event_time_handler_t on_timeout;
        uint64_t timeout, accuracy; /* µs; the deadline is relative to now, CLOCK_MONOTONIC */
} WorkerWatch;

/* Runs in the child with the write end of the pipe; returns the child's exit status. */
typedef int (*WorkerChildFunction)(int out_fd, void *userdata);

/* Forks a child that runs child(out_fd, userdata) and exits with what it returns. In the child, before
 * child() runs: it is SIGKILLed when the parent dies, every other file descriptor is closed (but the
 * random devices with keep_random_devices), and the
 * signal mask is empty (a daemon blocks the signals its loop handles; the worker is an ordinary process).
 * In the parent: pid, pidfd and pipe_fd are set. w must be WORKER_PROCESS_INIT. */
int worker_process_fork(WorkerProcess *w, WorkerChildFunction child, void *userdata);

/* Adds the sources of watch to e for w, a forked worker. On failure, the sources added so far stay in w
 * (worker_process_unwatch() or worker_process_done() removes them). */
int worker_process_watch(WorkerProcess *w, sd_event *e, const WorkerWatch *watch, void *userdata);

/* The worker's answer is in, or it is given up: its pipe and its deadline are no longer watched. Its exit
 * still is, so the handler reaps a child that was killed or is still finishing. */
void worker_process_answered(WorkerProcess *w);

/* Removes the watch's sources: the loop calls none of its handlers again. */
void worker_process_unwatch(WorkerProcess *w);

/* Reaps the child when it has exited, without blocking: true when it is gone (reaped, exit_code and
 * exit_status set), false while it runs. */
bool worker_process_try_reap(WorkerProcess *w);

/* Removes the watch, closes the pipe and kills the child if it still runs; a child the kernel has not let go
 * of yet is handed to e, which reaps it when it exits (a floating source described as description). Closes
 * the pidfd; w is WORKER_PROCESS_INIT-like afterwards except pid, reaped and the exit fields. */
void worker_process_done(WorkerProcess *w, sd_event *e, const char *description);
