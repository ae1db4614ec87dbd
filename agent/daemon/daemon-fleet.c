/* SPDX-License-Identifier: MIT */
/* The daemon's fleet poll: GET <fleet.url>/assertions every fleet.interval (with backoff after failures),
 * imported through the same pipeline as any other source (agent/fleet.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon-fleet.h"
#include "file-util.h"
#include "fleet.h"
#include "json-util.h"
#include "macros.h"

/* The first poll waits a little after start: a fleet of devices booting together does not all ask at once,
 * and start-up (expiry, activation) comes first. */
#define FLEET_FIRST_POLL_MAX (30 * USEC_PER_SEC)

static uint64_t random_u64(void)
{
        uint64_t v = 0;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
                v = (uint64_t) time_now_realtime();
        return v;
}

struct FleetTimer {
        Daemon *daemon;
        sd_event_source *timer; /* NULL unless fleet.url is configured */
};

static int fleet_arm(FleetTimer *t, usec_t delay)
{
        uint64_t now;
        int r;

        r = sd_event_now(t->daemon->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_source_set_time(t->timer, now + delay);
        if (r >= 0)
                r = sd_event_source_set_enabled(t->timer, SD_EVENT_ONESHOT);
        return r;
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

/* One poll, as a writer job: it imports, creates users and writes the poll state. */
static int fleet_poll_now(FleetTimer *t, json_t **ret_reply, char **ret_error)
{
        Daemon *d = t->daemon;
        const ConfigFleet *config = &d->provisioner->config->fleet;
        _cleanup_json_ json_t *reply = NULL;
        _cleanup_free_ char *error = NULL;
        _cleanup_(fleet_tls_done) FleetTls tls = {};
        FleetState state = {};
        int r;

        if (!config->enabled) {
                *ret_error = strdup("no fleet configured (fleet.url in corehomed.yaml)");
                return -ENOENT;
        }
        FleetPoll poll = {
                .root = d->options.root,
                .now = d->provisioner->now,
                .config = config,
                .db = d->provisioner->db,
                .provisioner = d->provisioner,
        };
        fleet_client_init(&poll.client, config);
        r = fleet_tls_resolve(d->options.root, config, &tls, &poll.client);

        /* The transfer blocks the loop for at most the client's timeouts; see docs/fleet.md. */
        if (r >= 0)
                r = fleet_poll(&poll, &reply, &error);
        if (r < 0)
                daemon_log(&d->log, LOG_WARNING, "fleet poll of %s failed: %s", config->url,
                           error ? error : strerror(-r));
        else
                daemon_log(&d->log, LOG_INFO, "fleet poll of %s: %s", config->url,
                           strempty(json_string_value(json_object_get(reply, "result"))));
        if (r >= 0 && json_object_get(reply, "users"))
                daemon_users_changed(d, NULL);

        unsigned failures = 0;
        if (fleet_state_load(d->options.root, &state) >= 0) {
                failures = state.failures;
                fleet_state_done(&state);
        }
        if (t->timer) {
                int k = fleet_arm(t, fleet_backoff_delay(failures, config->interval, random_u64()));
                if (k < 0)
                        daemon_log(&d->log, LOG_ERR, "cannot schedule the next fleet poll: %s",
                                   strerror(-k));
        }
        if (r < 0) {
                *ret_error = TAKE_PTR(error);
                return r;
        }
        *ret_reply = TAKE_PTR(reply);
        return 0;
}

typedef struct FleetJob {
        FleetTimer *timer;
        VarlinkCall *call; /* NULL for the timer's own polls; answered when the poll is over */
} FleetJob;

static void reply_failure(VarlinkCall *call, int error, const char *message)
{
        _cleanup_json_ json_t *p =
                json_pack("{s:s, s:s, s:i}", "prefix", "fleet", "message", message, "errno", -error);

        (void) varlink_call_error(call, MANAGER_ERROR_FAILED, p);
}

static void fleet_job_run(int error, void *userdata)
{
        FleetJob *j = userdata;
        _cleanup_json_ json_t *reply = NULL;
        _cleanup_free_ char *message = NULL;
        int r = error;

        if (r >= 0)
                r = fleet_poll_now(j->timer, &reply, &message);
        if (!j->call)
                return;
        if (r < 0)
                reply_failure(TAKE_PTR(j->call), r, message ? message : strerror(-r));
        else
                (void) varlink_call_reply(TAKE_PTR(j->call), reply);
}

static void fleet_job_free(void *userdata)
{
        FleetJob *j = userdata;

        if (j->call)
                reply_failure(j->call, -ESHUTDOWN, "corehomed is stopping");
        free(j);
}

int fleet_timer_poll(FleetTimer *t, VarlinkCall *call)
{
        FleetJob *j = calloc(1, sizeof(FleetJob));

        if (!j)
                return -ENOMEM;
        *j = (FleetJob){ .timer = t, .call = call };
        return daemon_write(t->daemon, fleet_job_run, fleet_job_free, j, false);
}

static int on_fleet_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        FleetTimer *t = userdata;
        int r = fleet_timer_poll(t, NULL);

        if (r < 0)
                daemon_log(&t->daemon->log, LOG_ERR, "cannot queue the fleet poll: %s", strerror(-r));
        return 0;
}

int fleet_timer_new(Daemon *d, FleetTimer **ret)
{
        FleetTimer *t = calloc(1, sizeof(FleetTimer));
        int r;

        if (!t)
                return -ENOMEM;
        t->daemon = d;
        *ret = t;
        if (!d->provisioner->config->fleet.enabled)
                return 0;
        r = sd_event_add_time(d->event, &t->timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC, on_fleet_timer, t);
        if (r >= 0)
                r = sd_event_source_set_enabled(t->timer, SD_EVENT_OFF);
        if (r >= 0)
                r = fleet_arm(t, random_u64() % FLEET_FIRST_POLL_MAX);
        return r;
}

FleetTimer *fleet_timer_free(FleetTimer *t)
{
        if (!t)
                return NULL;
        sd_event_source_disable_unref(t->timer);
        free(t);
        return NULL;
}
