/* SPDX-License-Identifier: MIT */
/* The fleet timer (daemon-fleet.h): GET <fleet.url>/assertions every fleet.interval (with backoff after
 * failures). A worker process receives (agent/fleet/fleet-worker.h) while the loop goes on serving lookups
 * and signals; what arrived is then applied as a writer job (under the root's lock, with no network).
 * Polls never overlap: a PollFleet is answered by a poll that starts after it arrived — at once when none
 * is running, else right after the running one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon-fleet.h"
#include "file-util.h"
#include "fleet-worker.h"
#include "fleet.h"
#include "json-util.h"
#include "macros.h"
#include "string-util.h"

/* The first poll waits a little after start (at most this, and at most one interval): a fleet of devices
 * booting together does not all ask at once, and start-up (expiry, activation) comes first. */
#define FLEET_FIRST_POLL_MAX (30 * USEC_PER_SEC)
/* How late the timer may fire, so the loop can wake up for several timers at once. */
#define FLEET_TIMER_ACCURACY (USEC_PER_SEC / 10)
/* PollFleet calls waiting for a poll: each holds a root connection of the Manager; more are refused. */
#define FLEET_CALLS_MAX 64

typedef struct FleetCalls {
        VarlinkCall *items[FLEET_CALLS_MAX];
        size_t n;
} FleetCalls;

struct FleetTimer {
        Daemon *daemon;
        sd_event_source *timer; /* the next poll by time (off while one runs); NULL without a fleet */
        FleetWorker *worker;    /* the running poll's receiving half */
        bool applying;          /* the running poll's applying half waits in the writer queue or runs */
        FleetCalls running;     /* answered when the running poll is over */
        FleetCalls waiting;     /* arrived during the running poll: answered by the next one */
        usec_t started;         /* CLOCK_MONOTONIC: when the running poll started */
};

static uint64_t random_u64(void)
{
        uint64_t v = 0;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
                v = (uint64_t) time_now_realtime();
        return v;
}

static void fleet_arm(FleetTimer *f, usec_t delay)
{
        uint64_t now;
        int r;

        r = sd_event_now(f->daemon->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_source_set_time(f->timer, now + delay);
        if (r >= 0)
                r = sd_event_source_set_enabled(f->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                daemon_log(&f->daemon->log, LOG_ERR, "cannot schedule the next fleet poll: %s",
                           strerror(-r));
}

/* The configured TLS files, below --root when the daemon serves a tree (tests, images). */
typedef struct FleetTls {
        char *ca_file, *client_cert, *client_key;
} FleetTls;

static void fleet_tls_done(FleetTls *t)
{
        free(t->ca_file);
        free(t->client_cert);
        free(t->client_key);
}

static int fleet_tls_resolve(const char *root, const ConfigFleet *f, FleetTls *t, FleetClient *c)
{
        if ((f->ca_file && path_join_root(root, f->ca_file, &t->ca_file) < 0) ||
            (f->client_cert && path_join_root(root, f->client_cert, &t->client_cert) < 0) ||
            (f->client_key && path_join_root(root, f->client_key, &t->client_key) < 0))
                return -ENOMEM;
        c->ca_file = t->ca_file;
        c->client_cert = t->client_cert;
        c->client_key = t->client_key;
        return 0;
}

/* The one step of a poll that changes state (trust database, users, homes, the poll's state file): what
 * the worker received is imported as one batch, users are created when fleet.create-users, the outcome is
 * recorded. No network; it runs as a writer job, like every other change. */
static int daemon_fleet_import(Daemon *d, FleetReceived *received, json_t **ret_reply, char **ret_error)
{
        _cleanup_(fleet_poll_result_done) FleetPollResult result = {};
        int r;

        FleetPoll poll = {
                .root = d->options.root,
                .now = d->provisioner->now,
                .config = &d->provisioner->config->fleet,
                .db = d->provisioner->db,
                .provisioner = d->provisioner,
        };
        r = fleet_poll_apply(&poll, received, &result, ret_error);
        if (r < 0)
                return r;
        if (result.report) {
                daemon_log_report(&d->log, result.report, NULL);
                if (result.report->n_users > 0)
                        daemon_users_changed(d, result.report);
        }
        *ret_reply = fleet_poll_result_json(&result);
        return *ret_reply ? 0 : -ENOMEM;
}

static void call_fail(VarlinkCall *call, int error, const char *message)
{
        _cleanup_json_ json_t *p =
                json_pack("{s:s, s:s, s:i}", "prefix", "fleet", "message", message, "errno", -error);

        (void) varlink_call_error(call, MANAGER_ERROR_FAILED, p);
}

static void calls_answer(FleetCalls *calls, int r, json_t *reply, const char *error)
{
        for (size_t i = 0; i < calls->n; i++)
                if (r < 0)
                        call_fail(calls->items[i], r, error ? error : strerror(-r));
                else
                        (void) varlink_call_reply(calls->items[i], reply);
        calls->n = 0;
}

static void poll_start(FleetTimer *f);

static void log_poll(FleetTimer *f, int r, json_t *reply, const char *error)
{
        Daemon *d = f->daemon;
        usec_t took = time_now_monotonic() - f->started;
        unsigned long long s = took / USEC_PER_SEC, tenths = took % USEC_PER_SEC / (USEC_PER_SEC / 10);

        if (r < 0)
                daemon_log(&d->log, LOG_WARNING, "fleet poll of %s failed: %s (%llu.%01llu s)",
                           d->provisioner->config->fleet.url, error ? error : strerror(-r), s, tenths);
        else
                daemon_log(&d->log, LOG_INFO, "fleet poll of %s: %s (%llu.%01llu s)",
                           d->provisioner->config->fleet.url,
                           strempty(json_string_value(json_object_get(reply, "result"))), s, tenths);
}

/* The running poll is over: answer its calls, then start the next poll at once for the calls that came
 * during this one, or at the next interval (with backoff after a failure). */
static void poll_finish(FleetTimer *f, int r, json_t *reply, const char *error)
{
        _cleanup_(fleet_state_done) FleetState state = {};
        Daemon *d = f->daemon;

        f->applying = false;
        log_poll(f, r, reply, error);
        calls_answer(&f->running, r, reply, error);
        if (f->waiting.n > 0) {
                poll_start(f);
                return;
        }
        unsigned failures = fleet_state_load(d->options.root, &state) >= 0 ? state.failures : 0;
        fleet_arm(f, fleet_backoff_delay(failures, d->provisioner->config->fleet.interval, random_u64()));
}

/* What the worker received, waiting for its turn in the writer queue. */
typedef struct FleetApply {
        FleetTimer *timer;
        FleetReceived received;
} FleetApply;

static void fleet_apply_run(int error, void *userdata)
{
        FleetApply *a = userdata;
        _cleanup_json_ json_t *reply = NULL;
        _cleanup_free_ char *message = NULL;
        int r = error;

        if (r < 0)
                message = strprintf("cannot load the state to import into: %s", strerror(-r));
        else
                r = daemon_fleet_import(a->timer->daemon, &a->received, &reply, &message);
        poll_finish(a->timer, r, reply, message);
}

static void fleet_apply_free(void *userdata)
{
        FleetApply *a = userdata;

        fleet_received_done(&a->received);
        free(a);
}

static void on_received(FleetWorker *w, FleetReceived *received, void *userdata)
{
        FleetTimer *f = userdata;
        FleetApply *a = calloc(1, sizeof(FleetApply));
        int r;

        /* received lives in the worker: it is taken before the worker goes. */
        if (a) {
                a->timer = f;
                a->received = *received;
                *received = (FleetReceived){};
        }
        f->worker = fleet_worker_free(w);
        if (!a) {
                poll_finish(f, -ENOMEM, NULL, "out of memory");
                return;
        }
        f->applying = true;
        r = daemon_write(f->daemon, fleet_apply_run, fleet_apply_free, a, false);
        if (r < 0)
                poll_finish(f, r, NULL, "cannot queue the fleet import");
}

static void poll_start(FleetTimer *f)
{
        Daemon *d = f->daemon;
        const ConfigFleet *config = &d->provisioner->config->fleet;
        _cleanup_(fleet_tls_done) FleetTls tls = {};
        int r;

        (void) sd_event_source_set_enabled(f->timer, SD_EVENT_OFF);
        /* Every call that waited for a poll to start gets this one. */
        f->running = f->waiting;
        f->waiting.n = 0;
        f->started = time_now_monotonic();

        daemon_clock_sync(d);
        FleetPoll poll = {
                .root = d->options.root,
                .now = d->provisioner->now,
                .config = config,
                .db = d->provisioner->db,
        };
        fleet_client_init(&poll.client, config);
        r = fleet_tls_resolve(d->options.root, config, &tls, &poll.client);
        if (r >= 0)
                r = fleet_worker_start(d->event, &poll, config->timeout, on_received, f, &f->worker);
        if (r < 0) {
                FleetReceived failed = {};
                _cleanup_free_ char *why = strprintf("cannot start the fleet worker: %s", strerror(-r));
                (void) fleet_received_fail(&failed, r, why);
                on_received(NULL, &failed, f);
                fleet_received_done(&failed);
                return;
        }
        daemon_log(&d->log, LOG_DEBUG, "fleet poll of %s: worker %d started", config->url,
                   (int) fleet_worker_pid(f->worker));
}

static bool poll_running(const FleetTimer *f)
{
        return f->worker || f->applying;
}

static int on_fleet_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        FleetTimer *f = userdata;

        if (!poll_running(f))
                poll_start(f);
        return 0;
}

int fleet_timer_poll(FleetTimer *f, VarlinkCall *call)
{
        if (!f->timer) {
                call_fail(call, -ENOENT, "no fleet configured (fleet.url in corehomed.yaml)");
                return 0;
        }
        if (f->waiting.n >= FLEET_CALLS_MAX) {
                _cleanup_free_ char *why =
                        strprintf("%d PollFleet calls are waiting already", FLEET_CALLS_MAX);
                call_fail(call, -EBUSY, why ? why : "too many PollFleet calls are waiting");
                return 0;
        }
        f->waiting.items[f->waiting.n++] = call;
        if (!poll_running(f))
                poll_start(f);
        return 0;
}

int fleet_timer_new(Daemon *d, FleetTimer **ret)
{
        const ConfigFleet *config = &d->provisioner->config->fleet;
        FleetTimer *f;
        uint64_t now;
        int r;

        f = calloc(1, sizeof(FleetTimer));
        if (!f)
                return -ENOMEM;
        f->daemon = d;
        *ret = f;
        if (!config->enabled)
                return 0;

        usec_t first = config->interval < FLEET_FIRST_POLL_MAX ? config->interval : FLEET_FIRST_POLL_MAX;
        r = sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_add_time(d->event, &f->timer, CLOCK_MONOTONIC, now + random_u64() % first,
                              FLEET_TIMER_ACCURACY, on_fleet_timer, f);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(f->timer, "fleet-poll");
        return 0;
}

FleetTimer *fleet_timer_free(FleetTimer *f)
{
        if (!f)
                return NULL;
        /* A poll still receiving is abandoned: its worker is killed; nothing of it was applied. (A poll
         * waiting in the writer queue is dropped with the queue, after us: its free function only frees.) */
        f->worker = fleet_worker_free(f->worker);
        calls_answer(&f->running, -ESHUTDOWN, NULL, "corehomed is stopping");
        calls_answer(&f->waiting, -ESHUTDOWN, NULL, "corehomed is stopping");
        sd_event_source_disable_unref(f->timer);
        free(f);
        return NULL;
}
