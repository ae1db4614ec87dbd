/* SPDX-License-Identifier: MIT */
#pragma once

/* The home1 service's worker: engine work on a home (activate, realize, unlock, deactivate, lock) runs in a
 * child process, so a LUKS home's key derivation (argon2id, seconds by design), mkfs and fsck never stop
 * the event loop: lookups, other logins' calls and the userdb service keep being answered. The child is a
 * fork of the daemon (same mount namespace: what it mounts is the system's), holds no descriptor of ours
 * but its answer pipe, dies with the daemon, and answers with the engine's result. Its parent job keeps
 * the root's lock meanwhile (daemon_write_continue()), so no other writer sees a half-made home. */

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "home.h"
#include "macros.h"

/* A worker that takes longer is killed (an I/O error that hangs the kernel, a PBKDF a record made absurdly
 * expensive is bounded in homes/home-luks-settings.h already: 60 s). Its home is then whatever the engine's
 * crash recovery makes of it at the next operation. */
#define HOME1_WORKER_TIMEOUT (10 * 60 * USEC_PER_SEC)

typedef struct Home1Worker Home1Worker;

/* Runs in the child with the parent's memory (a copy): args is read there, nothing comes back but the
 * return value and err. */
typedef int (*Home1WorkFunction)(Home *h, const void *args, RecordError *err);

/* Called once from the event loop when the work is over: r is the function's return value (-ECHILD when the
 * child died without an answer, -ETIMEDOUT when it was killed), err its message (may be empty). The handler
 * may free the worker. */
typedef void (*Home1WorkDone)(Home1Worker *w, int r, const RecordError *err, void *userdata);

int home1_worker_start(sd_event *e, Home *h, Home1WorkFunction f, const void *args, Home1WorkDone done,
                       void *userdata, Home1Worker **ret);
/* A child still running is killed (SIGKILL) and reaped later by the loop; done is not called. */
Home1Worker *home1_worker_free(Home1Worker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(Home1Worker *, home1_worker_free)
