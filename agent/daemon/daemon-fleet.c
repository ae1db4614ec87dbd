/* SPDX-License-Identifier: MIT */
/* The daemon's fleet poll: GET <fleet.url>/assertions every fleet.interval (with backoff after failures),
 * imported through the same pipeline as any other source (agent/fleet.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon.h"
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

static int fleet_arm(Daemon *d, usec_t delay)
{
        uint64_t now;
        int r;

        r = sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_source_set_time(d->fleet_timer, now + delay);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->fleet_timer, SD_EVENT_ONESHOT);
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

int daemon_fleet_poll(Daemon *d, json_t **ret_reply, char **ret_error)
{
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
        daemon_clock_sync(d);
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
                daemon_users_changed(d);

        unsigned failures = 0;
        if (fleet_state_load(d->options.root, &state) >= 0) {
                failures = state.failures;
                fleet_state_done(&state);
        }
        int k = fleet_arm(d, fleet_backoff_delay(failures, config->interval, random_u64()));
        if (k < 0)
                daemon_log(&d->log, LOG_ERR, "cannot schedule the next fleet poll: %s", strerror(-k));
        if (r < 0) {
                *ret_error = TAKE_PTR(error);
                return r;
        }
        *ret_reply = TAKE_PTR(reply);
        return 0;
}

static int on_fleet_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        _cleanup_json_ json_t *reply = NULL;
        _cleanup_free_ char *error = NULL;

        (void) daemon_fleet_poll(userdata, &reply, &error);
        return 0;
}

int daemon_fleet_start(Daemon *d)
{
        int r;

        if (!d->provisioner->config->fleet.enabled)
                return 0;
        r = sd_event_add_time_relative(d->event, &d->fleet_timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_SEC,
                                       on_fleet_timer, d);
        if (r < 0)
                return r;
        return fleet_arm(d, random_u64() % FLEET_FIRST_POLL_MAX);
}

void daemon_fleet_stop(Daemon *d)
{
        d->fleet_timer = sd_event_source_disable_unref(d->fleet_timer);
}
