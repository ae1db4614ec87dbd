/* SPDX-License-Identifier: MIT */
#pragma once

/* org.freedesktop.home1, a service of the daemon (docs/home1.md): systemd-homed's D-Bus API for the homes
 * corehomed makes, so that systemd's own clients (homectl, pam_systemd_home) work with them.
 *
 * Mode 1 ("serve"): no systemd-homed runs. We own the name org.freedesktop.home1 on the system bus and
 * answer homectl and pam_systemd_home as homed 252 does: the Manager object (home1-manager-bus.c), one Home
 * object per home (home1-home-bus.c), authentication against the record's hashedPassword with homed's rate
 * limit (home1-auth.h), homes activated at login and deactivated when the last reference to them is
 * closed (home1-ops.c, home1-refs.c), LUKS homes made at their first login. Records are never changed
 * through the bus: they come only from signed grants.
 *
 * Mode 2 ("handover"): a systemd-homed runs (it owns the name, or its unit is active). We leave the name to
 * it and hand it every record we create or update (RegisterHome / UpdateHome with the record as we signed
 * it; homed trusts our key) and take it back when a grant ends (DeactivateHome, UnregisterHome):
 * home1-handover.c. homed then activates the homes and serves logins; our userdb service stops serving the
 * users homed serves.
 *
 * Every change of a home's storage runs as a writer job of the core (root lock); the slow part (a LUKS key
 * derivation, mkfs, fsck) runs in a worker process (home1-worker.h) while the loop keeps serving. */

#include <stdbool.h>

#include "daemon.h"
#include "report.h"

#define HOME1_BUS_NAME          "org.freedesktop.home1"
#define HOME1_OBJECT_PATH       "/org/freedesktop/home1"
#define HOME1_HOME_PATH         "/org/freedesktop/home1/home"
#define HOME1_MANAGER_INTERFACE "org.freedesktop.home1.Manager"
#define HOME1_HOME_INTERFACE    "org.freedesktop.home1.Home"

typedef enum Home1Mode {
        HOME1_MODE_OFF,      /* not on any bus (--root trees, tests of other services) */
        HOME1_MODE_AUTO,     /* decide at start: handover when systemd-homed is there, else serve */
        HOME1_MODE_SERVE,    /* Mode 1 */
        HOME1_MODE_HANDOVER, /* Mode 2 */
} Home1Mode;

const char *home1_mode_to_string(Home1Mode m);
/* "off", "auto", "serve", "handover"; -EINVAL otherwise. */
int home1_mode_from_string(const char *s, Home1Mode *ret);

typedef struct Home1 Home1;

/* Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS, or the standard socket) or to bus_address when not
 * NULL, and starts the mode as the loop runs: AUTO asks whether a systemd-homed runs, Mode 1 then takes the
 * name and serves, Mode 2 syncs our homes into homed. Nothing waits for the bus (see home1.c); the
 * daemon's first job is held until the mode is known. Fails only when there is no bus to connect to. A
 * start that fails later is logged; for AUTO the daemon goes on without the bus, for a mode asked by name
 * its loop stops with the error. */
int home1_new(Daemon *d, Home1Mode mode, const char *bus_address, Home1 **ret, char **ret_error);
/* While the start waits for the bus's answers. */
bool home1_starting(const Home1 *m);
/* Releases the name, answers every queued call ("stopping"), kills a running worker. */
Home1 *home1_free(Home1 *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Home1 *, home1_free)

Home1Mode home1_mode(const Home1 *m);

/* The daemon's users changed (report: what happened, NULL when unknown): Mode 2 hands the changes to
 * homed; Mode 1 tells the bus which home objects came or went. */
void home1_users_changed(Home1 *m, const ProvisionReport *report);

/* Whether user_name is served by systemd-homed now (Mode 2): our userdb service must then not serve it
 * (userdb.h, UserdbHidden). */
bool home1_user_handed_over(const Home1 *m, const char *user_name);
