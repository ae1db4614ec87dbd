/* SPDX-License-Identifier: MIT */
#include "daemon.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "file-util.h"
#include "json-util.h"
#include "lifecycle.h"
#include "macros.h"
#include "root-lock.h"
#include "string-util.h"

void daemon_clock_sync(Daemon *d)
{
        provisioner_set_now(d->provisioner, time_now_realtime());
}

void daemon_operation_context(Daemon *d, OperationContext *ret, char *state_buf, size_t state_size)
{
        char since[RFC3339_MAX] = "";

        daemon_clock_sync(d);
        (void) time_format_rfc3339(d->started / USEC_PER_SEC * USEC_PER_SEC, since);
        snprintf(state_buf, state_size, "running (pid %d, since %s, %zu media queued, %zu changes queued)",
                 (int) getpid(), since, d->media_waiting, writer_queue_length(d->writers));
        *ret = (OperationContext){
                .provisioner = d->provisioner,
                .db = d->provisioner->db,
                .root = d->options.root ? d->options.root : "/",
                .daemon_state = state_buf,
        };
}

int daemon_index_current(Daemon *d)
{
        int r = userdb_index_scan(d->userdb_index);

        if (r < 0)
                daemon_log(&d->log, LOG_ERR, "cannot list the user records: %s", strerror(-r));
        return r;
}

/* The earliest end of a served user's grant, from the index (each record was verified once, not at every
 * call): the timer fires then. */
static int next_expiry(Daemon *d, usec_t *ret)
{
        int r = daemon_index_current(d);

        return r < 0 ? r : userdb_index_next_expiry(d->userdb_index, ret);
}

static void expiry_rearm(Daemon *d)
{
        char when[RFC3339_MAX] = "never";
        usec_t next;
        int r;

        r = next_expiry(d, &next);
        if (r < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot find the next expiry: %s", strerror(-r));
                return;
        }
        if (next == expiry_timer_deadline(d->expiry))
                return;
        r = expiry_timer_arm(d->expiry, next);
        if (r < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot arm the expiry timer: %s", strerror(-r));
                return;
        }
        if (next != USEC_INFINITY)
                (void) time_format_rfc3339(next, when);
        daemon_log(&d->log, LOG_DEBUG, "next expiry: %s", when);
}

void daemon_users_changed(Daemon *d, const ProvisionReport *report)
{
        daemon_clock_sync(d);
        daemon_homes_activate(d);
        expiry_rearm(d);
        if (d->users_changed)
                d->users_changed(d, report, d->users_changed_userdata);
}

int daemon_write(Daemon *d, WriterJobRun run, WriterJobFree free_func, void *userdata, bool coalesce)
{
        int r = writer_queue_push(d->writers, run, free_func, userdata, coalesce);

        if (r < 0 && free_func)
                free_func(userdata);
        return r;
}

int daemon_write_continue(Daemon *d)
{
        return writer_queue_job_continue(d->writers);
}

void daemon_write_done(Daemon *d)
{
        writer_queue_job_done(d->writers);
}

/* The served users whose grant ran out by now, from the index. */
static int expired_users(Daemon *d, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        const UserdbRecord *const *users;
        size_t n, k = 0;
        int r;

        r = daemon_index_current(d);
        if (r >= 0)
                r = userdb_index_list(d->userdb_index, &users, &n);
        if (r < 0)
                return r;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (users[i]->not_after <= provisioner_check_time(d->provisioner) &&
                    !(l[k++] = strdup(users[i]->key)))
                        return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

/* Removes the users whose grants ran out (deactivating their homes first), logs each, re-arms the timer.
 * Those users come from the index: a pass over every home would hold up lookups at each expiry (with 500
 * homes, for a good part of a second); only when the index cannot say is every home read. */
static void expire_now(Daemon *d)
{
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        _cleanup_strv_free_ char **expired = NULL;
        int r, k;

        k = expired_users(d, &expired);
        if (k >= 0 && !expired[0]) {
                expiry_rearm(d);
                return;
        }
        daemon_homes_deactivate_expired(d);
        r = provision_report_new(PROVISION_REPORT_USERS, &report);
        if (r >= 0)
                r = k >= 0 ? provision_expire_users(d->provisioner, expired, report)
                           : provision_expire(d->provisioner, report);
        if (r < 0)
                daemon_log(&d->log, LOG_ERR, "expiry failed: %s", strerror(-r));
        if (report)
                daemon_log_report(&d->log, report, NULL);
        expiry_rearm(d);
        if (report && report->n_users > 0 && d->users_changed)
                d->users_changed(d, report, d->users_changed_userdata);
}

/* A writer job: the expiry sweep, then the homes of the users left are made usable (at start, when the
 * timer fires, when the clock jumps). */
static void job_expire(int error, void *userdata)
{
        Daemon *d = userdata;

        daemon_clock_sync(d);
        if (error < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot check grants for expiry: %s", strerror(-error));
                /* Try again at the next deadline rather than never. */
                expiry_rearm(d);
                return;
        }
        expire_now(d);
        daemon_homes_activate(d);
}

/* A writer job, the first at start once the index is whole, when it found records of ours without this
 * machine's binding: homes preseeded on an image before its first boot get it (homes.md), so the sweep and
 * the activation after it see them. */
static void job_bind(int error, void *userdata)
{
        Daemon *d = userdata;

        if (error < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot bind homes made before the first boot: %s",
                           strerror(-error));
                return;
        }
        daemon_homes_bind(d);
}

/* A writer job after another process changed the root: its users may have come or gone. The writer
 * queue's begin hook has reloaded the state already. */
static void job_refresh(int error, void *userdata)
{
        Daemon *d = userdata;

        if (error < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot load what another process changed: %s",
                           strerror(-error));
                return;
        }
        daemon_users_changed(d, NULL);
}

static void start_when_indexed(Daemon *d);

void daemon_hold_start(Daemon *d)
{
        d->start_holds++;
}

void daemon_release_start(Daemon *d)
{
        assert(d->start_holds > 0);
        if (--d->start_holds == 0)
                start_when_indexed(d);
}

int daemon_queue_expiry_sweep(Daemon *d)
{
        return daemon_write(d, job_expire, NULL, d, true);
}

/* Stale entries of the userdb index read per idle turn of the loop (each is read and its signature
 * verified): a few ms of work, so a lookup arriving meanwhile waits at most that long. */
#define INDEX_LOAD_BATCH 32

/* The first job (expiry sweep, then the homes activated), once the index is whole: it takes the users from
 * the index, and reading 500 records in one job would hold up lookups for that long. */
static void start_when_indexed(Daemon *d)
{
        int r;

        if (!d->start_pending || d->start_holds > 0 ||
            (userdb_index_stale(d->userdb_index) > 0 && !d->index_gave_up))
                return;
        d->start_pending = false;
        /* Only the records the index found unbound are read again: a pass over every home here held up
         * lookups at start (with 500 homes, for a quarter of a second). */
        if (userdb_index_unbound(d->userdb_index, NULL) != 0) {
                r = daemon_write(d, job_bind, NULL, d, false);
                if (r < 0)
                        daemon_log(&d->log, LOG_ERR,
                                   "cannot queue binding the homes made before the first "
                                   "boot: %s",
                                   strerror(-r));
        }
        r = daemon_write(d, job_expire, NULL, d, true);
        if (r < 0)
                daemon_log(&d->log, LOG_ERR, "cannot queue the start sweep: %s", strerror(-r));
}

static int on_index_load(sd_event_source *s, void *userdata)
{
        Daemon *d = userdata;

        size_t before = userdb_index_stale(d->userdb_index);
        size_t after = userdb_index_load_some(d->userdb_index, INDEX_LOAD_BATCH);

        /* No progress: out of memory. Lookups read what they need; the start must not wait for it. */
        if (after == 0 || after == before) {
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                d->index_gave_up = after > 0;
                start_when_indexed(d);
        }
        return 0;
}

/* The host records may have changed (our own writer job, another process): the index lists them again;
 * what changed is read when asked for or by the loader, a batch per turn of the loop. Reading needs no lock:
 * writers replace records whole, and each one moves the generation when it is done, which brings us here
 * again. */
static void index_rescan(Daemon *d)
{
        (void) daemon_index_current(d);
        if (userdb_index_stale(d->userdb_index) > 0)
                (void) sd_event_source_set_enabled(d->index_loader, SD_EVENT_ON);
}

static int index_start(Daemon *d)
{
        int r;

        r = userdb_index_new(d->provisioner->home, d->options.userdb_service, &d->userdb_index);
        if (r < 0)
                return r;
        r = sd_event_add_defer(d->event, &d->index_loader, on_index_load, d);
        if (r >= 0)
                /* When nothing else is pending: lookups (accept, read, answer: a turn each) go first and
                 * read what they need themselves. The first job waits for the index to be whole. */
                r = sd_event_source_set_priority(d->index_loader, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->index_loader, SD_EVENT_OFF);
        if (r < 0)
                return r;
        index_rescan(d);
        return 0;
}

static void on_expiry(ExpiryTimer *t, bool clock_changed, void *userdata)
{
        Daemon *d = userdata;
        int r;

        if (clock_changed)
                daemon_log(&d->log, LOG_INFO, "the wall clock jumped; checking grants against the new time");
        /* The timer is disarmed now; the job arms it again at the next deadline. */
        r = daemon_queue_expiry_sweep(d);
        if (r < 0)
                daemon_log(&d->log, LOG_ERR, "cannot queue the expiry sweep: %s", strerror(-r));
}

static int on_generation_changed(sd_event_source *s, const struct inotify_event *event, void *userdata)
{
        Daemon *d = userdata;
        uint64_t generation;
        int r;

        r = root_generation_read(d->options.root, &generation);
        if (r < 0 || generation == d->generation)
                return 0;
        /* Lookups see the change at once; the rest of the state is reloaded under the lock. */
        index_rescan(d);
        r = daemon_write(d, job_refresh, NULL, d, true);
        if (r < 0)
                daemon_log(&d->log, LOG_ERR, "cannot queue a refresh: %s", strerror(-r));
        return 0;
}

/* Writer queue hooks: each job works on the state as it is on disk now, and starts from a whole state. */
static int writer_begin(RootLock *lock, void *userdata)
{
        Daemon *d = userdata;
        _cleanup_free_ char *error = NULL;
        int r;

        daemon_clock_sync(d);
        if (lock->generation != d->generation) {
                r = provisioner_reload(d->provisioner, &error);
                if (r < 0) {
                        daemon_log(&d->log, LOG_ERR, "cannot reload the state another process changed: %s",
                                   error ? error : strerror(-r));
                        return r;
                }
                daemon_log(&d->log, LOG_DEBUG, "reloaded the state (generation %" PRIu64 ")",
                           lock->generation);
        }
        r = provision_recover(d->provisioner, &error);
        if (r < 0)
                daemon_log(&d->log, LOG_ERR, "%s", error ? error : strerror(-r));
        return r;
}

static void writer_end(uint64_t generation, void *userdata)
{
        Daemon *d = userdata;

        d->generation = generation;
        /* The job may have created, changed or removed users. */
        index_rescan(d);
}

static void writer_waiting(const char *lock_path, const char *holder, void *userdata)
{
        Daemon *d = userdata;

        daemon_log(&d->log, LOG_INFO, "waiting for %s, held by %s", lock_path,
                   holder[0] ? holder : "another process");
}

static const WriterQueueHooks writer_hooks = {
        .begin = writer_begin,
        .end = writer_end,
        .waiting = writer_waiting,
};

/* Loads the state under the root's lock, finishing what an interrupted writer left. The daemon waits here
 * for a corehomectl that holds the lock: it serves nothing yet. */
static int open_state(Daemon *d, char **ret_error)
{
        _cleanup_root_lock_ RootLock *lock = NULL;
        int r;

        r = root_lock_acquire(d->options.root, true, writer_waiting, d, &lock);
        if (r < 0) {
                *ret_error = strprintf("cannot take the lock of the state directory: %s", strerror(-r));
                return r;
        }
        r = provisioner_open(d->options.root, d->started, HOME_ALLOW_MOUNT, &d->provisioner, ret_error);
        if (r >= 0) {
                /* The daemon runs on the real clock: time has reached at least this build. */
                provisioner_raise_time_floor(d->provisioner, trust_db_build_time_floor());
                r = provision_recover(d->provisioner, ret_error);
        }
        if (r < 0)
                return r;
        root_lock_mark_changed(lock);
        root_lock_release(TAKE_PTR(lock), &d->generation);
        return 0;
}

static int watch_generation(Daemon *d)
{
        _cleanup_free_ char *path = NULL;
        int r = path_join_root(d->options.root, ROOT_GENERATION_PATH, &path);

        if (r < 0)
                return r;
        r = sd_event_add_inotify(d->event, &d->generation_watch, path, IN_CLOSE_WRITE, on_generation_changed,
                                 d);
        if (r < 0)
                return r;
        /* Before any lookup that is ready in the same turn: a client that asks right after another
         * process changed a user (and moved the generation) gets the new answer. */
        return sd_event_source_set_priority(d->generation_watch, SD_EVENT_PRIORITY_IMPORTANT);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Daemon *d = userdata;

        daemon_log(&d->log, LOG_INFO, "received %s, stopping", strsignal((int) si->ssi_signo));
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int daemon_new(const DaemonOptions *options, Daemon **ret, char **ret_error)
{
        _cleanup_daemon_ Daemon *d = calloc(1, sizeof(Daemon));
        sigset_t mask;
        int r;

        if (!d)
                return -ENOMEM;
        d->options = *options;
        d->started = time_now_realtime();
        daemon_log_init(&d->log);

        r = sd_event_default(&d->event);
        if (r < 0)
                return r;
        /* Signals are handled by the loop: block them first, or the default action would kill us. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        r = sd_event_add_signal(d->event, NULL, SIGTERM, on_signal, d);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGINT, on_signal, d);
        if (r < 0)
                return r;

        r = open_state(d, ret_error);
        if (r < 0)
                return r;
        if (!d->provisioner->device)
                daemon_log(&d->log, LOG_WARNING,
                           "this device has no usable identity; no users will be created: %s",
                           strempty(d->provisioner->device_error));

        r = index_start(d);
        if (r < 0) {
                *ret_error = strprintf("cannot index the user records: %s", strerror(-r));
                return r;
        }

        r = expiry_timer_new(d->event, on_expiry, d, &d->expiry);
        if (r < 0) {
                *ret_error = strprintf("cannot create the expiry timer: %s", strerror(-r));
                return r;
        }

        r = writer_queue_new(d->event, options->root, &writer_hooks, d, &d->writers);
        if (r < 0)
                return r;
        r = watch_generation(d);
        if (r < 0) {
                *ret_error = strprintf("cannot watch the state directory: %s", strerror(-r));
                return r;
        }
        /* Grants that ran out while we were not running go first, then the rest are made usable: the first
         * job, once the loop runs and the index is whole, after the sockets serve (lookups check each
         * grant's end themselves meanwhile). Before it, homes preseeded before the first boot are bound (the
         * index found them; it reads them again after that job, as after every job). */
        d->start_pending = true;
        start_when_indexed(d);
        *ret = TAKE_PTR(d);
        return 0;
}

Daemon *daemon_free(Daemon *d)
{
        if (!d)
                return NULL;
        /* Jobs that never ran answer their callers from their free functions (the services are gone by
         * now: those functions only answer calls and free memory). */
        d->writers = writer_queue_free(d->writers);
        d->generation_watch = sd_event_source_disable_unref(d->generation_watch);
        d->index_loader = sd_event_source_disable_unref(d->index_loader);
        d->userdb_index = userdb_index_free(d->userdb_index);
        expiry_timer_free(d->expiry);
        daemon_homes_free(d);
        /* A tree given with --root (a test, an image) keeps nothing mounted once we are gone; on the
         * running system homes stay active across a restart of the daemon, as homed's do. */
        if (d->provisioner && d->options.root)
                daemon_homes_deactivate_all(d);
        provisioner_free(d->provisioner);
        sd_event_unref(d->event);
        free(d);
        return NULL;
}

int daemon_run(Daemon *d)
{
        int r;

        (void) sd_notify(false, "READY=1\nSTATUS=Serving users.");
        r = sd_event_loop(d->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping.");
        if (r < 0) {
                daemon_log(&d->log, LOG_ERR, "event loop failed: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
