/* SPDX-License-Identifier: MIT */
/* Homes at run time: the daemon mounts the homes of the users it manages while their grants are valid
 * (unless they open only at login: users.activation "login", luks storage, or a systemd-homed that owns
 * them), and unmounts them before a user goes away (removal, revocation, expiry). */
#include <errno.h>
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
        json_t *not_after = json_object_get(record, "notAfterUSec");
        if (json_is_integer(not_after) && (usec_t) json_integer_value(not_after) <= now)
                return GRANT_RAN_OUT;
        if (streq(strempty(json_string_value(json_object_get(record, "storage"))), "luks"))
                return GRANT_VALID_AT_LOGIN;
        return GRANT_VALID;
}

void daemon_homes_activate(Daemon *d)
{
        Home *home = d->provisioner->home;
        HomeListEntry *homes = NULL;
        size_t n = 0;
        int r;

        /* Logins activate them (org.freedesktop.home1: pam_systemd_home's AcquireHome), or homed does. */
        if (d->homes_handed_over || d->provisioner->config->users.activation == CONFIG_ACTIVATION_LOGIN)
                return;
        r = home_list(home, &homes, &n);
        if (r < 0) {
                daemon_log(&d->log, LOG_ERR, "cannot list homes: %s", strerror(-r));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                RecordError err = {};

                if (!homes[i].ours ||
                    (homes[i].state != HOME_STATE_INACTIVE && homes[i].state != HOME_STATE_DIRTY))
                        continue;
                if (home_grant_validity(d, homes[i].user_name, d->provisioner->now) != GRANT_VALID)
                        continue;
                r = home_activate(home, homes[i].user_name, &err);
                if (r < 0 && r != -EALREADY)
                        daemon_log(&d->log, LOG_ERR, "cannot activate the home of %s: %s",
                                   homes[i].user_name, err.message[0] ? err.message : strerror(-r));
                else if (r >= 0)
                        daemon_log(&d->log, LOG_INFO, "activated the home of %s", homes[i].user_name);
        }
        home_list_free(homes, n);
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
                    home_grant_validity(d, homes[i].user_name, d->provisioner->now) == GRANT_RAN_OUT)
                        (void) daemon_home_deactivate(d, homes[i].user_name);
        home_list_free(homes, n);
}

void daemon_homes_deactivate_expired(Daemon *d)
{
        deactivate_where(d, true);
}

void daemon_homes_deactivate_all(Daemon *d)
{
        deactivate_where(d, false);
}
