/* SPDX-License-Identifier: MIT */
#pragma once

/* The Provisioner: everything a change below one root works with — configuration, trust database, home
 * engine and the device's identity — loaded for that root at one clock. A reader may open one at any
 * time: opening changes nothing and repairs nothing. A writer opens (or reloads) it while it holds the
 * root's lock (root-lock.h) and runs provision_recover() before it changes anything. */

#include <stdbool.h>

#include "config.h"
#include "deny-list.h"
#include "device-identity.h"
#include "home.h"
#include "macros.h"
#include "time-util.h"
#include "trust-db.h"

typedef struct Provisioner {
        char *root; /* NULL for the running system */
        usec_t now;
        usec_t floor_raised; /* provisioner_raise_time_floor(), kept across reloads */
        Config *config;
        TrustDb *db;
        Home *home;
        DeviceIdentity *device; /* NULL when this device has no usable identity: see device_error */
        char *device_error;
        DenyList denied; /* the administrator's local revokes (deny-list.h) */
} Provisioner;

/* Loads configuration, trust database, engine and device identity for root at now. home_flags:
 * HOME_ALLOW_MOUNT at run time, 0 offline. *ret_error says why on failure. */
int provisioner_open(const char *root, usec_t now, unsigned home_flags, Provisioner **ret, char **ret_error);
Provisioner *provisioner_free(Provisioner *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Provisioner *, provisioner_free)
#define _cleanup_provisioner_ _cleanup_(provisioner_freep)

/* Loads the trust database, the deny list and the device identity again (another process changed the root:
 * its generation moved). On failure p keeps what it had. */
int provisioner_reload(Provisioner *p, char **ret_error);

/* Moves the clock of the provisioner, its trust database and its engine (the daemon, per operation). */
void provisioner_set_now(Provisioner *p, usec_t now);

/* Raises the trust database's time floor to at least floor, now and after every reload. A program on the
 * real clock raises it to trust_db_build_time_floor() (a device without a battery starts in 1970, but not
 * before its software was built); one that travels in time (--now) does not. */
void provisioner_raise_time_floor(Provisioner *p, usec_t floor);

/* The time grant windows are checked at (since <= t < until) and grants expire at: the later of now and
 * the trust database's time floor, the same time the signatures are checked at, so a clock reset to 1970
 * neither refuses a valid grant nor keeps an expired one. */
usec_t provisioner_check_time(const Provisioner *p);

/* Finishes or undoes every operation an interrupted writer left in the intent journal, deletes the engine's
 * temporary homes, removes a denied user that an interrupted deny left behind and what an interrupted
 * commit left in the trust store (trust_db_recover()), so the next change starts from a whole state. Only
 * with the root's lock held:
 * the intents of a live writer are not ours to undo. */
int provision_recover(Provisioner *p, char **ret_error);
