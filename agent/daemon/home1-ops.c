/* SPDX-License-Identifier: MIT */
/* What org.freedesktop.home1's methods do to a home, as systemd-homed 252 does it (homed-home.c): every
 * change runs as a writer job of the core (the root's lock, the state brought up to date first), decides on
 * the home's state as it is when the job runs, authenticates where homed does (its rate limit first, then
 * the password against the record), and has the worker (home1-worker.h) do the engine's work while the loop
 * keeps serving. The caller is answered when it is over. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "home1-errors.h"
#include "home1-internal.h"
#include "json-util.h"
#include "string-util.h"

/* The engine work a job hands to the worker. */
typedef enum Home1Work {
        WORK_NONE,
        WORK_ACTIVATE,
        WORK_REALIZE_ACTIVATE, /* first login of a luks home: make it with the password, leave it mounted */
        WORK_REALIZE,
        WORK_DEACTIVATE,
        WORK_LOCK,
        WORK_UNLOCK,
        WORK_LOCK_ALL,
        WORK_DEACTIVATE_ALL,
} Home1Work;

struct Home1Job {
        Home1 *service; /* NULL once the service is gone: the job then only answers its caller */
        Home1Op op;
        sd_bus_message *message; /* the call to answer; NULL for internal jobs and once answered */
        char *user_name;         /* NULL for the *_ALL operations */
        char **passwords;
        bool please_suspend;
        Home1Work work;
        int password; /* index of the password the record accepted */
        char **users; /* the *_ALL operations: the homes the worker acts on */
        Home1Job *next;
};

/* homed's names for a home while an operation runs on it (its State property shows them). */
static const char *const work_state[] = {
        [WORK_ACTIVATE] = "activating", [WORK_REALIZE_ACTIVATE] = "creating",
        [WORK_REALIZE] = "creating",    [WORK_DEACTIVATE] = "deactivating",
        [WORK_LOCK] = "locking",        [WORK_UNLOCK] = "unlocking",
        [WORK_LOCK_ALL] = "locking",    [WORK_DEACTIVATE_ALL] = "deactivating",
};

static Daemon *job_daemon(Home1Job *j)
{
        return j->service->daemon;
}

static void job_reply_ok(Home1Job *j)
{
        if (!j->message)
                return;
        (void) sd_bus_reply_method_return(j->message, NULL);
        j->message = sd_bus_message_unref(j->message);
}

static void job_reply_error(Home1Job *j, const char *name, const char *format, ...) _printf_(3, 4);
static void job_reply_error(Home1Job *j, const char *name, const char *format, ...)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *text = NULL;
        va_list ap;

        if (!j->message)
                return;
        va_start(ap, format);
        if (vasprintf(&text, format, ap) < 0)
                text = NULL;
        va_end(ap);
        (void) sd_bus_error_set(&error, name, text ? text : name);
        (void) sd_bus_reply_method_error(j->message, &error);
        j->message = sd_bus_message_unref(j->message);
}

/* The engine's errors as homed names them (homed-home.c, home_process_notify()'s mapping), for the
 * operation op on user. */
static void job_reply_errno(Home1Job *j, int r, const RecordError *err)
{
        const char *u = strempty(j->user_name);
        const char *why = err && err->message[0] ? err->message : strerror(-r);

        switch (r) {
        case -EKEYREJECTED:
        case -ENOKEY:
                job_reply_error(j, HOME1_ERROR_BAD_PASSWORD,
                                "Password for home %s is incorrect or not sufficient for authentication.",
                                u);
                return;
        case -ENXIO:
                job_reply_error(j, HOME1_ERROR_HOME_ABSENT,
                                "Home %s is currently missing or not plugged in.", u);
                return;
        case -EBUSY:
                job_reply_error(
                        j, HOME1_ERROR_HOME_BUSY,
                        "Home %s is currently being used, or an operation on home %s is currently being "
                        "executed.",
                        u, u);
                return;
        case -ENOTCONN:
                job_reply_error(j, HOME1_ERROR_HOME_NOT_ACTIVE, "Home %s is currently not active", u);
                return;
        case -ENOSPC:
                job_reply_error(j, HOME1_ERROR_NO_DISK_SPACE, "Not enough disk space for home %s", u);
                return;
        case -EEXIST:
                job_reply_error(j, HOME1_ERROR_HOME_EXISTS, "Home of user %s already exists.", u);
                return;
        case -EOPNOTSUPP:
                job_reply_error(j, HOME1_ERROR_NOT_SUPPORTED, "%s", why);
                return;
        default:
                if (j->message) {
                        (void) sd_bus_reply_method_errnof(j->message, -r, "%s", why);
                        j->message = sd_bus_message_unref(j->message);
                }
        }
}

static void job_free(void *userdata)
{
        Home1Job *j = userdata;

        if (j->message)
                job_reply_error(j, "org.freedesktop.DBus.Error.Failed", "corehomed is stopping");
        if (j->service) {
                Home1Entry *e = j->user_name ? home1_entry_get(j->service, j->user_name) : NULL;

                for (Home1Job **p = &j->service->jobs; *p; p = &(*p)->next)
                        if (*p == j) {
                                *p = j->next;
                                break;
                        }
                if (e) {
                        e->queued--;
                        home1_entry_gc(j->service, e);
                }
        }
        home1_passwords_free(j->passwords);
        strv_free(j->users);
        free(j->user_name);
        free(j);
}

void home1_jobs_detach(Home1 *m)
{
        for (Home1Job *j = m->jobs; j; j = j->next)
                j->service = NULL;
        m->jobs = NULL;
}

/* ---- the worker's side (runs in the child) ---- */

static int work_all(Home *h, const Home1Job *j, RecordError *err)
{
        int ret = 0;

        /* Every home gets its turn; the first failure is the answer. */
        for (char **u = j->users; u && *u; u++) {
                RecordError e = {};
                int r = j->work == WORK_LOCK_ALL ? home_lock(h, *u, &e) : home_deactivate(h, *u, &e);

                if (r < 0 && r != -EALREADY && ret == 0) {
                        ret = r;
                        *err = e;
                }
        }
        return ret;
}

static int work_run(Home *h, const void *args, RecordError *err)
{
        const Home1Job *j = args;
        const char *password = j->passwords && j->password >= 0 ? j->passwords[j->password] : NULL;

        switch (j->work) {
        case WORK_ACTIVATE:
                return home_activate_with_passwords(h, j->user_name, j->passwords, err);
        case WORK_REALIZE_ACTIVATE:
                return home_realize(h, j->user_name, password, HOME_REALIZE_ACTIVATE, err);
        case WORK_REALIZE:
                return home_realize(h, j->user_name, password, 0, err);
        case WORK_DEACTIVATE:
                return home_deactivate(h, j->user_name, err);
        case WORK_LOCK:
                return home_lock(h, j->user_name, err);
        case WORK_UNLOCK:
                return home_unlock_with_passwords(h, j->user_name, j->passwords, err);
        case WORK_LOCK_ALL:
        case WORK_DEACTIVATE_ALL:
                return work_all(h, j, err);
        case WORK_NONE:
                break;
        }
        return -EINVAL;
}

/* ---- the parent's side ---- */

static void work_done(Home1Worker *w, int r, const RecordError *err, void *userdata);

/* Hands the job's work to the worker; the job keeps the root's lock until work_done(). */
static void job_start_work(Home1Job *j, Home1Work work)
{
        Home1 *m = j->service;
        Daemon *d = job_daemon(j);
        Home1Entry *e = j->user_name ? home1_entry_get(m, j->user_name) : NULL;
        int r;

        j->work = work;
        r = home1_worker_start(d->event, d->provisioner->home, work_run, j, work_done, j, &m->worker);
        if (r < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot start the home worker: %s", strerror(-r));
                job_reply_errno(j, r, NULL);
                return;
        }
        /* Inside the job's run function, so it cannot fail. */
        (void) daemon_write_continue(d);
        if (e)
                e->operation = work_state[work];
        if (j->user_name)
                home1_emit_home_changed(m, j->user_name);
}

static void arm_retry_deactivate(Home1Entry *e);

static void work_done(Home1Worker *w, int r, const RecordError *err, void *userdata)
{
        Home1Job *j = userdata;
        Home1 *m = j->service;
        Daemon *d = m->daemon;
        Home1Entry *e = j->user_name ? home1_entry_get(m, j->user_name) : NULL;
        const char *what = j->work < ELEMENTSOF(work_state) ? work_state[j->work] : "working on";
        int fd = -1;

        m->worker = home1_worker_free(w);
        if (e)
                e->operation = NULL;
        if (r < 0 && !(r == -EALREADY && (j->work == WORK_DEACTIVATE || j->work == WORK_LOCK_ALL)))
                daemon_log(&d->log, r == -EBUSY ? LOG_INFO : LOG_WARNING, "home of %s: %s failed: %s",
                           strempty(j->user_name), what, err->message[0] ? err->message : strerror(-r));
        else if (j->user_name)
                daemon_log(&d->log, LOG_INFO, "home of %s: %s done", j->user_name, what);

        switch (j->op) {
        case HOME1_OP_ACQUIRE:
                if (r >= 0 && e)
                        r = home1_ref_add(e, j->please_suspend, &fd);
                if (r >= 0) {
                        (void) sd_bus_reply_method_return(j->message, "h", fd);
                        j->message = sd_bus_message_unref(j->message);
                        safe_close(fd);
                } else
                        job_reply_errno(j, r, err);
                break;
        case HOME1_OP_RELEASE:
        case HOME1_OP_AUTO_DEACTIVATE:
                if (r == -EBUSY && e)
                        /* Still used by a process that outlived the session: "lingering", tried again. */
                        arm_retry_deactivate(e);
                if (r == -EBUSY)
                        job_reply_error(j, HOME1_ERROR_HOME_BUSY, "Home %s is currently being used.",
                                        j->user_name);
                else if (r < 0 && r != -EALREADY)
                        job_reply_errno(j, r, err);
                else
                        job_reply_ok(j);
                break;
        case HOME1_OP_DEACTIVATE:
                if (r >= 0 && e)
                        e->retry_deactivate = sd_event_source_disable_unref(e->retry_deactivate);
                _fallthrough_;
        default:
                if (r < 0)
                        job_reply_errno(j, r, err);
                else
                        job_reply_ok(j);
        }
        if (j->user_name)
                home1_emit_home_changed(m, j->user_name);
        /* Last: the writer queue frees the job now. */
        daemon_write_done(d);
}

static int on_retry_deactivate(sd_event_source *s, uint64_t usec, void *userdata)
{
        Home1Entry *e = userdata;

        e->retry_deactivate = sd_event_source_disable_unref(e->retry_deactivate);
        (void) home1_queue(e->service, HOME1_OP_AUTO_DEACTIVATE, NULL, e->user_name, NULL, false);
        return 0;
}

static void arm_retry_deactivate(Home1Entry *e)
{
        if (e->retry_deactivate || e->n_refs > 0)
                return;
        (void) sd_event_add_time_relative(e->service->daemon->event, &e->retry_deactivate, CLOCK_MONOTONIC,
                                          HOME1_RETRY_DEACTIVATE_USEC, USEC_PER_SEC, on_retry_deactivate, e);
}

/* homed's order for everything that authenticates: the attempt counts against the rate limit first (a
 * wrong password and a right one alike), then the passwords are checked against the record. Returns 0
 * when the job may go on (j->password is the accepted one), < 0 when it has been answered. */
static int job_authenticate(Home1Job *j, Home1Entry *e, const Home1View *v)
{
        Daemon *d = job_daemon(j);
        usec_t now = d->provisioner->now;
        int r;

        if (home1_ratelimit_try(&e->ratelimit, v->record, now) == 0) {
                usec_t next = home1_ratelimit_next_try(&e->ratelimit, v->record, now);

                daemon_log(&d->log, LOG_NOTICE, "home of %s: too many login attempts", j->user_name);
                if (next != USEC_INFINITY && next > now)
                        job_reply_error(
                                j, HOME1_ERROR_AUTHENTICATION_LIMIT_HIT,
                                "Too many login attempts, please try again in %llus!",
                                (unsigned long long) ((next - now + USEC_PER_SEC - 1) / USEC_PER_SEC));
                else
                        job_reply_error(j, HOME1_ERROR_AUTHENTICATION_LIMIT_HIT,
                                        "Too many login attempts, please try again later.");
                return -EPERM;
        }
        r = home1_authenticate(v->record, j->passwords);
        if (r >= 0) {
                j->password = r;
                return 0;
        }
        if (r == -EKEYREVOKED) {
                job_reply_error(j, HOME1_ERROR_HOME_CANT_AUTHENTICATE,
                                "Home %s has no password or other authentication mechanism defined.",
                                j->user_name);
                return r;
        }
        /* No password at all is the first question of every client (pam_systemd_home then prompts), not a
         * failed attempt worth a log line. */
        if (r == -EKEYREJECTED)
                daemon_log(&d->log, LOG_NOTICE, "home of %s: wrong password", j->user_name);
        if (r == -EKEYREJECTED || r == -ENOKEY)
                job_reply_error(j, HOME1_ERROR_BAD_PASSWORD,
                                "Password for home %s is incorrect or not sufficient for authentication.",
                                j->user_name);
        else
                job_reply_errno(j, r, NULL);
        return r;
}

/* A login for a record the grant no longer (or not yet) allows is refused, whatever the password: the
 * expiry timer removes such a user at its until, this closes the moment in between (and a clock that
 * jumped). */
static int job_check_login_allowed(Home1Job *j, const Home1View *v)
{
        int r = home1_record_login_allowed(v->record, job_daemon(j)->provisioner->now);

        if (r == 0)
                return 0;
        job_reply_error(j, HOME1_ERROR_ACCESS_DENIED,
                        r == -ENOLCK   ? "User record of %s is blocked, prohibiting access."
                        : r == -EL2HLT ? "User record of %s is not valid yet, prohibiting access."
                                       : "User record of %s is not valid anymore, prohibiting access.",
                        j->user_name);
        return r;
}

static void run_activate(Home1Job *j, Home1Entry *e, const Home1View *v, bool acquire)
{
        Home1Work work = WORK_ACTIVATE;

        if (job_check_login_allowed(j, v) < 0)
                return;
        switch (v->state) {
        case HOME_STATE_ABSENT:
                if (!v->luks) {
                        job_reply_error(j, HOME1_ERROR_HOME_ABSENT,
                                        "Home %s is currently missing or not plugged in.", j->user_name);
                        return;
                }
                /* A luks home is made at its first login: the password is what keys it. */
                work = WORK_REALIZE_ACTIVATE;
                break;
        case HOME_STATE_INACTIVE:
        case HOME_STATE_DIRTY:
                break;
        case HOME_STATE_ACTIVE:
                if (!acquire) {
                        job_reply_error(j, HOME1_ERROR_HOME_ALREADY_ACTIVE, "Home %s is already active.",
                                        j->user_name);
                        return;
                }
                work = WORK_NONE; /* authenticate, then a reference */
                break;
        case HOME_STATE_LOCKED:
                if (!acquire) {
                        job_reply_error(j, HOME1_ERROR_HOME_LOCKED, "Home %s is currently locked.",
                                        j->user_name);
                        return;
                }
                work = WORK_UNLOCK;
                break;
        default:
                job_reply_error(j, HOME1_ERROR_HOME_BUSY,
                                "An operation on home %s is currently being executed.", j->user_name);
                return;
        }
        if (job_authenticate(j, e, v) < 0)
                return;
        if (work != WORK_NONE) {
                job_start_work(j, work);
                return;
        }
        /* Active already: the reference is all there is to do. */
        int fd = -1, r = home1_ref_add(e, j->please_suspend, &fd);
        if (r < 0) {
                job_reply_error(j, HOME1_ERROR_TOO_MANY_OPERATIONS, "Cannot reference home %s: %s",
                                j->user_name, strerror(-r));
                return;
        }
        (void) sd_bus_reply_method_return(j->message, "h", fd);
        j->message = sd_bus_message_unref(j->message);
        safe_close(fd);
}

static void run_deactivate(Home1Job *j, Home1Entry *e, const Home1View *v)
{
        switch (v->state) {
        case HOME_STATE_ACTIVE:
                job_start_work(j, WORK_DEACTIVATE);
                return;
        case HOME_STATE_LOCKED:
                job_reply_error(j, HOME1_ERROR_HOME_LOCKED, "Home %s is currently locked.", j->user_name);
                return;
        default:
                job_reply_error(j, HOME1_ERROR_HOME_NOT_ACTIVE, "Home %s not active.", j->user_name);
        }
}

/* ReleaseHome (pam_systemd_home after it closed its reference) and the last reference's end: deactivate
 * if nobody holds the home and the home is one that opens only for logins. */
static void run_release(Home1Job *j, Home1Entry *e, const Home1View *v)
{
        home1_refs_sweep(e);
        if (e->n_refs > 0) {
                job_reply_error(j, HOME1_ERROR_HOME_BUSY, "Home %s is currently referenced.", j->user_name);
                return;
        }
        if (v->state == HOME_STATE_LOCKED) {
                job_reply_error(j, HOME1_ERROR_HOME_LOCKED, "Home %s is currently locked.", j->user_name);
                return;
        }
        if (v->state != HOME_STATE_ACTIVE || !home1_deactivate_on_release(j->service, v)) {
                job_reply_ok(j);
                return;
        }
        job_start_work(j, WORK_DEACTIVATE);
}

static void run_lock(Home1Job *j, const Home1View *v)
{
        if (v->state == HOME_STATE_ACTIVE)
                job_start_work(j, WORK_LOCK);
        else if (v->state == HOME_STATE_LOCKED)
                job_reply_error(j, HOME1_ERROR_HOME_LOCKED, "Home %s is already locked.", j->user_name);
        else
                job_reply_error(j, HOME1_ERROR_HOME_NOT_ACTIVE, "Home %s is not active.", j->user_name);
}

static void run_unlock(Home1Job *j, Home1Entry *e, const Home1View *v)
{
        /* homed counts the attempt before it looks at the state. */
        if (v->state != HOME_STATE_LOCKED) {
                if (home1_ratelimit_try(&e->ratelimit, v->record, job_daemon(j)->provisioner->now) == 0)
                        job_reply_error(j, HOME1_ERROR_AUTHENTICATION_LIMIT_HIT,
                                        "Too many login attempts, please try again later.");
                else
                        job_reply_error(j, HOME1_ERROR_HOME_NOT_LOCKED, "Home %s is not locked.",
                                        j->user_name);
                return;
        }
        if (job_check_login_allowed(j, v) < 0 || job_authenticate(j, e, v) < 0)
                return;
        job_start_work(j, WORK_UNLOCK);
}

static void run_authenticate(Home1Job *j, Home1Entry *e, const Home1View *v)
{
        if (v->state == HOME_STATE_LOCKED) {
                job_reply_error(j, HOME1_ERROR_HOME_LOCKED, "Home %s is currently locked.", j->user_name);
                return;
        }
        if (job_check_login_allowed(j, v) < 0 || job_authenticate(j, e, v) < 0)
                return;
        job_reply_ok(j);
}

static void run_realize(Home1Job *j, Home1Entry *e, const Home1View *v)
{
        if (!v->luks || v->state != HOME_STATE_ABSENT) {
                job_reply_error(j, HOME1_ERROR_HOME_EXISTS, "Home of user %s already exists.", j->user_name);
                return;
        }
        if (job_authenticate(j, e, v) < 0)
                return;
        job_start_work(j, WORK_REALIZE);
}

/* RemoveHome: the administrator's remove (corehomectl remove), with its journal line. */
static void run_remove(Home1Job *j)
{
        _cleanup_(operation_result_done) OperationResult result = {};
        _cleanup_(operation_error_done) OperationError err = {};
        _cleanup_json_ json_t *parameters = json_pack("{s:s}", "userName", j->user_name);
        const Operation *op = operation_find("Remove");
        Daemon *d = job_daemon(j);
        OperationContext oc;
        char state[256];
        int r;

        if (!parameters || !op) {
                job_reply_errno(j, -ENOMEM, NULL);
                return;
        }
        daemon_operation_context(d, &oc, state, sizeof(state));
        (void) daemon_home_deactivate(d, j->user_name);
        r = op->function(&oc, parameters, &result, &err);
        if (r < 0) {
                job_reply_error(j, "org.freedesktop.DBus.Error.Failed", "%s",
                                err.message ? err.message : strerror(-r));
                return;
        }
        daemon_log_report(&d->log, result.report, NULL);
        daemon_users_changed(d, result.report);
        job_reply_ok(j);
}

/* LockAllHomes (before suspend: homes whose every reference asked for it) and DeactivateAllHomes (before
 * shutdown: every active home). */
static void run_all(Home1Job *j)
{
        Home1 *m = j->service;
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0, k = 0;
        int r;

        r = home1_user_names(m, &names, &n);
        if (r >= 0 && !(j->users = calloc(n + 1, sizeof(char *))))
                r = -ENOMEM;
        if (r < 0) {
                job_reply_errno(j, r, NULL);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                Home1Entry *e = home1_entry_get(m, names[i]);
                Home1View v = {};

                if (home1_view_load(m, names[i], &v) < 0)
                        continue;
                bool take = v.state == HOME_STATE_ACTIVE &&
                            (j->op == HOME1_OP_DEACTIVATE_ALL ||
                             (e && e->n_refs > 0 && e->n_refs_please_suspend == e->n_refs));
                home1_view_done(&v);
                if (take && !(j->users[k++] = strdup(names[i]))) {
                        job_reply_errno(j, -ENOMEM, NULL);
                        return;
                }
        }
        if (k == 0) {
                job_reply_ok(j);
                return;
        }
        job_start_work(j, j->op == HOME1_OP_LOCK_ALL ? WORK_LOCK_ALL : WORK_DEACTIVATE_ALL);
}

static void job_run(int error, void *userdata)
{
        Home1Job *j = userdata;
        _cleanup_(home1_view_done) Home1View v = {};
        Home1Entry *e = NULL;
        int r;

        if (!j->service)
                return; /* the free function answers */
        if (error < 0) {
                job_reply_error(j, "org.freedesktop.DBus.Error.Failed", "cannot load the state: %s",
                                strerror(-error));
                return;
        }
        if (j->op == HOME1_OP_LOCK_ALL || j->op == HOME1_OP_DEACTIVATE_ALL) {
                run_all(j);
                return;
        }
        if (j->op == HOME1_OP_REMOVE) {
                run_remove(j);
                return;
        }
        r = home1_view_load(j->service, j->user_name, &v);
        if (r < 0) {
                if (r == -ENOENT)
                        job_reply_error(j, HOME1_ERROR_NO_SUCH_HOME, "No home for user %s known",
                                        j->user_name);
                else
                        job_reply_errno(j, r, NULL);
                return;
        }
        e = home1_entry_ensure(j->service, j->user_name);
        if (!e) {
                job_reply_errno(j, -ENOMEM, NULL);
                return;
        }
        if (e->operation) {
                job_reply_error(j, HOME1_ERROR_HOME_BUSY,
                                "An operation on home %s is currently being executed.", j->user_name);
                return;
        }

        switch (j->op) {
        case HOME1_OP_ACTIVATE:
                run_activate(j, e, &v, false);
                break;
        case HOME1_OP_ACQUIRE:
                run_activate(j, e, &v, true);
                break;
        case HOME1_OP_DEACTIVATE:
                run_deactivate(j, e, &v);
                break;
        case HOME1_OP_RELEASE:
        case HOME1_OP_AUTO_DEACTIVATE:
                run_release(j, e, &v);
                break;
        case HOME1_OP_LOCK:
                run_lock(j, &v);
                break;
        case HOME1_OP_UNLOCK:
                run_unlock(j, e, &v);
                break;
        case HOME1_OP_AUTHENTICATE:
                run_authenticate(j, e, &v);
                break;
        case HOME1_OP_REALIZE:
                run_realize(j, e, &v);
                break;
        default:
                job_reply_errno(j, -EINVAL, NULL);
        }
}

int home1_queue(Home1 *m, Home1Op op, sd_bus_message *message, const char *user_name, char **passwords,
                bool please_suspend)
{
        _cleanup_passwords_ char **taken = passwords;
        Home1Entry *e = NULL;
        Home1Job *j;
        int r;

        if (user_name) {
                e = home1_entry_ensure(m, user_name);
                if (!e)
                        return -ENOMEM;
                /* A client looping on a call must not fill the daemon's one writer queue. */
                if (message && e->queued >= HOME1_QUEUED_PER_HOME_MAX)
                        return sd_bus_reply_method_errorf(
                                message, HOME1_ERROR_TOO_MANY_OPERATIONS,
                                "Too many operations queued for home %s, refusing.", user_name);
        }
        j = calloc(1, sizeof(Home1Job));
        if (!j)
                return -ENOMEM;
        *j = (Home1Job){ .service = m,
                         .op = op,
                         .message = sd_bus_message_ref(message),
                         .passwords = TAKE_PTR(taken),
                         .please_suspend = please_suspend,
                         .password = -1 };
        if (user_name && !(j->user_name = strdup(user_name))) {
                j->message = sd_bus_message_unref(j->message);
                home1_passwords_free(j->passwords);
                free(j);
                return -ENOMEM;
        }
        j->next = m->jobs;
        m->jobs = j;
        if (e)
                e->queued++;
        /* When it cannot be queued the free function answers the caller with why. */
        r = daemon_write(m->daemon, job_run, job_free, j, false);
        return r < 0 && !message ? r : 0;
}

void home1_last_ref_gone(Home1Entry *e)
{
        Home1 *m = e->service;

        daemon_log(&m->daemon->log, LOG_INFO, "home of %s: the last reference is gone", e->user_name);
        (void) home1_queue(m, HOME1_OP_AUTO_DEACTIVATE, NULL, e->user_name, NULL, false);
}

int home1_ref_now(Home1 *m, sd_bus_message *message, const char *user_name, bool please_suspend,
                  sd_bus_error *error)
{
        _cleanup_(home1_view_done) Home1View v = {};
        Home1Entry *e;
        int fd = -1, r;

        r = home1_view_load(m, user_name, &v);
        if (r < 0)
                return r == -ENOENT ? sd_bus_error_setf(error, HOME1_ERROR_NO_SUCH_HOME,
                                                        "No home for user %s known", user_name)
                                    : r;
        e = home1_entry_ensure(m, user_name);
        if (!e)
                return -ENOMEM;
        if (e->operation)
                return sd_bus_error_setf(error, HOME1_ERROR_HOME_BUSY,
                                         "An operation on home %s is currently being executed.", user_name);
        switch (v.state) {
        case HOME_STATE_ACTIVE:
                break;
        case HOME_STATE_ABSENT:
                return sd_bus_error_setf(error, HOME1_ERROR_HOME_ABSENT,
                                         "Home %s is currently missing or not plugged in.", user_name);
        case HOME_STATE_LOCKED:
                return sd_bus_error_setf(error, HOME1_ERROR_HOME_LOCKED, "Home %s is currently locked.",
                                         user_name);
        default:
                return sd_bus_error_setf(error, HOME1_ERROR_HOME_NOT_ACTIVE, "Home %s not active.",
                                         user_name);
        }
        r = home1_ref_add(e, please_suspend, &fd);
        if (r < 0)
                return sd_bus_error_setf(error, HOME1_ERROR_TOO_MANY_OPERATIONS,
                                         "Cannot reference home %s: %s", user_name, strerror(-r));
        r = sd_bus_reply_method_return(message, "h", fd);
        safe_close(fd);
        return r;
}
