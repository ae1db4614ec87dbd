/* SPDX-License-Identifier: MIT */
/* Homes at run time: the daemon mounts the homes of the users it manages while their grants are valid
 * (unless they open only at login: users.activation "login", luks storage, or a systemd-homed that owns
 * them), and unmounts them before a user goes away (removal, revocation, expiry). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "grant-convert.h"
#include "json-util.h"
#include "macros.h"

typedef enum GrantValidity {
        GRANT_NOT_OURS, /* no grant: somebody else's home, never touched */
        GRANT_VALID,
        GRANT_VALID_AT_LOGIN, /* valid, but its storage opens only with the user's password (luks) */
        GRANT_RAN_OUT,
} GrantValidity;

static GrantValidity home_grant_validity(Daemon *d, const char *user_name, usec_t now)
{
        _cleanup_json_ json_t *record = NULL;
        RecordError err = {};

        if (home_load_record(d->provisioner->home, user_name, &record, &err) < 0 ||
            !json_object_get(record, GRANT_RECORD_EXTENSION))
                return GRANT_NOT_OURS;
        if (grant_record_end(record) <= now)
                return GRANT_RAN_OUT;
        if (streq(strempty(json_string_value(json_object_get(record, "storage"))), "luks"))
                return GRANT_VALID_AT_LOGIN;
        return GRANT_VALID;
}

/* Whether the daemon mounts homes itself (users.activation "start", no systemd-homed owns them). */
static bool homes_open_at_start(const Daemon *d)
{
        return !d->homes_handed_over && d->provisioner->config->users.activation != CONFIG_ACTIVATION_LOGIN;
}

/* Activates the home of user_name when it is ours, inactive and its grant valid. Returns 1 when it did. */
static int activate_one(Daemon *d, const char *user_name)
{
        Home *home = d->provisioner->home;
        RecordError err = {};
        HomeState state;
        int r;

        /* Checked again: the list was made jobs ago, a systemd-homed may have taken the homes over since,
         * and another process may have changed the home. */
        if (!homes_open_at_start(d))
                return 0;
        if (home_state(home, user_name, &state) < 0 ||
            (state != HOME_STATE_INACTIVE && state != HOME_STATE_DIRTY))
                return 0;
        if (home_grant_validity(d, user_name, provisioner_check_time(d->provisioner)) != GRANT_VALID)
                return 0;
        r = home_activate(home, user_name, &err);
        if (r < 0 && r != -EALREADY) {
                daemon_log(&d->log, LOG_ERR, "cannot activate the home of %s: %s", user_name,
                           err.message[0] ? err.message : strerror(-r));
                return 0;
        }
        if (r < 0)
                return 0;
        daemon_log(&d->log, LOG_INFO, "activated the home of %s", user_name);
        return 1;
}

static void job_activate(int error, void *userdata);

static int on_resume(sd_event_source *s, void *userdata)
{
        Daemon *d = userdata;
        int r = daemon_write(d, job_activate, NULL, d, true);

        if (r < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot queue the activation of more homes: %s", strerror(-r));
                daemon_homes_activation_done(d);
        }
        return 0;
}

/* Activates homes from the pending list for one slice, and queues a job for the rest: between two jobs the
 * loop answers lookups and the Manager. */
static void activate_some(Daemon *d)
{
        HomeActivation *a = &d->activation;
        usec_t start = time_now_monotonic();
        int r = 0;

        while (a->names && a->names[a->next]) {
                a->activated += activate_one(d, a->names[a->next++]);
                if (time_now_monotonic() - start >= HOMES_ACTIVATE_SLICE_USEC)
                        break;
        }
        if (a->names && a->names[a->next]) {
                /* Not straight into the writer queue: its next job would run before the lookups that arrived
                 * meanwhile (accepting, reading and answering each take a turn of the loop). The idle source
                 * queues it once they are answered. */
                if (!a->resume)
                        r = sd_event_add_defer(d->event, &a->resume, on_resume, d);
                if (r >= 0)
                        r = sd_event_source_set_priority(a->resume, SD_EVENT_PRIORITY_IDLE);
                if (r >= 0)
                        r = sd_event_source_set_enabled(a->resume, SD_EVENT_ONESHOT);
                if (r >= 0)
                        return;
                daemon_log(&d->log, LOG_ERR, "cannot queue the activation of %zu more homes: %s",
                           a->n - a->next, strerror(-r));
        }
        if (a->names && a->activated > 0)
                daemon_log(&d->log, LOG_INFO, "home activation done: %zu homes activated in %" PRIu64 " ms",
                           a->activated, (time_now_monotonic() - a->started) / 1000);
        daemon_homes_activation_done(d);
}

static void job_activate(int error, void *userdata)
{
        Daemon *d = userdata;

        if (error < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot activate the remaining homes: %s", strerror(-error));
                daemon_homes_activation_done(d);
                return;
        }
        daemon_clock_sync(d);
        activate_some(d);
}

void daemon_homes_activation_done(Daemon *d)
{
        sd_event_source *resume = d->activation.resume;

        strv_free(d->activation.names);
        if (resume)
                (void) sd_event_source_set_enabled(resume, SD_EVENT_OFF);
        d->activation = (HomeActivation){ .resume = resume };
}

void daemon_homes_free(Daemon *d)
{
        daemon_homes_activation_done(d);
        d->activation.resume = sd_event_source_disable_unref(d->activation.resume);
}

void daemon_homes_activate(Daemon *d)
{
        HomeActivation *a = &d->activation;
        const UserdbRecord *const *users;
        size_t n = 0, k = 0;
        int r;

        /* Logins activate them (org.freedesktop.home1: pam_systemd_home's AcquireHome), or homed does. */
        if (!homes_open_at_start(d))
                return;
        /* The users the index serves: verified once, not at every call; those whose grant ran out are left
         * to the expiry sweep. */
        r = daemon_index_current(d);
        if (r >= 0)
                r = userdb_index_list(d->userdb_index, &users, &n);
        if (r < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot list the users to activate: %s", strerror(-r));
                return;
        }
        /* A new list replaces what was still pending: it holds those homes too, if they still need it. */
        daemon_homes_activation_done(d);
        a->names = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; a->names && i < n; i++) {
                if (users[i]->not_after <= provisioner_check_time(d->provisioner))
                        continue;
                a->names[k] = strdup(users[i]->key);
                if (!a->names[k]) {
                        daemon_homes_activation_done(d);
                        break;
                }
                k++;
        }
        if (!a->names) {
                daemon_log(&d->log, LOG_ERR, "cannot activate homes: %s", strerror(ENOMEM));
                return;
        }
        a->n = k;
        a->started = time_now_monotonic();
        activate_some(d);
}

void daemon_homes_bind(Daemon *d)
{
        Home *home = d->provisioner->home;
        _cleanup_strv_free_ char **unbound = NULL;
        int r;

        /* An image preseeded before its first boot has records without a binding; systemd gives the
         * machine its id early at that boot, before we start. */
        r = home_has_machine_id(home) ? 1 : home_reload_machine_id(home);
        if (r <= 0) {
                daemon_log(
                        &d->log, LOG_WARNING,
                        "this machine has no machine-id%s%s: homes made before the first boot stay unbound "
                        "(their users are not served) until corehomed starts with one",
                        r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
                return;
        }
        /* The index read every record: only those with our grant extension and no binding for this machine
         * are candidates. home_bind() checks the signature itself and leaves other signers' records alone.
         */
        r = userdb_index_unbound(d->userdb_index, &unbound);
        if (r < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot list homes to bind them: %s", strerror(-r));
                return;
        }
        for (char **name = unbound; name && *name; name++) {
                RecordError err = {};
                uid_t uid;

                r = home_bind(home, *name, &uid, &err);
                if (r == -EPERM)
                        continue;
                if (r < 0)
                        daemon_log(&d->log, LOG_ERR, "cannot bind the home of %s to this machine: %s", *name,
                                   err.message[0] ? err.message : strerror(-r));
                else if (r > 0)
                        daemon_log(&d->log, LOG_INFO,
                                   "bound the home of %s to this machine (uid %u): it was made before the "
                                   "first boot",
                                   *name, (unsigned) uid);
        }
}

int daemon_home_deactivate(Daemon *d, const char *user_name)
{
        HomeState state;
        RecordError err = {};
        int r;

        if (home_state(d->provisioner->home, user_name, &state) < 0)
                return 0;
        if (state != HOME_STATE_ACTIVE && state != HOME_STATE_LOCKED)
                return 0;
        r = home_deactivate(d->provisioner->home, user_name, &err);
        if (r < 0 && r != -EALREADY)
                /* Busy (a session still runs): the removal locks it and takes it away regardless. */
                daemon_log(&d->log, LOG_WARNING, "cannot deactivate the home of %s: %s", user_name,
                           err.message[0] ? err.message : strerror(-r));
        else
                daemon_log(&d->log, LOG_INFO, "deactivated the home of %s", user_name);
        return r;
}

static void deactivate_where(Daemon *d, bool expired_only)
{
        HomeListEntry *homes = NULL;
        size_t n = 0;

        if (home_list(d->provisioner->home, &homes, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (!expired_only ||
                    home_grant_validity(d, homes[i].user_name, provisioner_check_time(d->provisioner)) ==
                            GRANT_RAN_OUT)
                        (void) daemon_home_deactivate(d, homes[i].user_name);
        home_list_free(homes, n);
}

void daemon_homes_deactivate_expired(Daemon *d)
{
        const UserdbRecord *const *users;
        size_t n;

        /* The users whose grant ran out, from the index (not a pass over every home, which would hold up
         * lookups at each expiry); without the index, every home. */
        if (daemon_index_current(d) < 0 || userdb_index_list(d->userdb_index, &users, &n) < 0) {
                deactivate_where(d, true);
                return;
        }
        for (size_t i = 0; i < n; i++)
                if (users[i]->not_after <= provisioner_check_time(d->provisioner))
                        (void) daemon_home_deactivate(d, users[i]->key);
}

void daemon_homes_deactivate_all(Daemon *d)
{
        deactivate_where(d, false);
}
