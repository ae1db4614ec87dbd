/* SPDX-License-Identifier: MIT */
/* Mode 2 (home1.h): a systemd-homed runs and owns org.freedesktop.home1. We hand it the homes we make, as
 * records it trusts (signed with our engine key, whose public half homed loads from
 * /var/lib/systemd/home/io.corehomed.public), and take them back when their grants end:
 *
 *   our user valid, homed does not know it      RegisterHome(record)      (embedded form: no binding)
 *   our user valid, homed has an older record   UpdateHome(record)
 *   our user's grant ran out, homed has it      DeactivateHome if active, then our expiry sweep removes it
 *   our user gone, homed still has our record   DeactivateHome if active, UnregisterHome
 *
 * One user at a time, every call asynchronous: homed looks users up through NSS while it registers one
 * (homed refuses a name NSS already knows), and NSS asks our userdb service, which this same loop serves. A
 * user handed over is not served by our userdb service any more (home1_handover_has()), from the moment
 * its RegisterHome is sent: homed serves it itself. Until then we serve it, so that homed, seeing the new
 * home appear in /home, leaves it alone (it skips homes whose name NSS knows) instead of taking it as an
 * unregistered ("unfixated") home of its own, which would refuse our RegisterHome.
 *
 * What to look at comes from the typed report of what changed (the users it names), or everything (ours
 * and homed's) at start, when homed restarts, and when the report is not known. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "home1-errors.h"
#include "home1-internal.h"
#include "json-util.h"
#include "string-util.h"
#include "user-record.h"

/* Users waiting to be looked at: a bound, so that a flood of changes cannot grow memory without end (a full
 * sync is asked for instead). */
#define HANDOVER_PENDING_MAX 1024U

typedef enum SyncStep {
        STEP_LOOKUP,     /* GetUserRecordByName */
        STEP_REGISTER,   /* RegisterHome */
        STEP_UPDATE,     /* UpdateHome */
        STEP_DEACTIVATE, /* DeactivateHome, then (ours gone) UnregisterHome or (expired) our sweep */
        STEP_UNREGISTER, /* UnregisterHome */
} SyncStep;

struct Home1Handover {
        Home1 *service;
        char **handed; /* homed serves these now */
        size_t n_handed;
        char **pending; /* to look at */
        size_t n_pending;
        bool full; /* look at everything (after the current list) */
        sd_bus_slot *call;
        sd_bus_slot *owner_watch;
        char *current;
        SyncStep step;
        bool ours_gone; /* current: we have no (valid) user any more */
};

static void sync_next(Home1Handover *h);

static Daemon *daemon_of(Home1Handover *h)
{
        return h->service->daemon;
}

static ssize_t list_find(char **l, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (streq(l[i], s))
                        return (ssize_t) i;
        return -1;
}

static int list_add(char ***l, size_t *n, const char *s)
{
        char **grown;

        if (list_find(*l, *n, s) >= 0)
                return 0;
        grown = realloc(*l, (*n + 2) * sizeof(char *));
        if (!grown)
                return -ENOMEM;
        *l = grown;
        (*l)[*n] = strdup(s);
        if (!(*l)[*n])
                return -ENOMEM;
        (*l)[++*n] = NULL;
        return 0;
}

static void list_remove(char **l, size_t *n, const char *s)
{
        ssize_t i = list_find(l, *n, s);

        if (i < 0)
                return;
        free(l[i]);
        memmove(l + i, l + i + 1, (*n - (size_t) i) * sizeof(char *)); /* with the NULL */
        (*n)--;
}

bool home1_handover_has(const Home1Handover *h, const char *user_name)
{
        return h && list_find(h->handed, h->n_handed, user_name) >= 0;
}

static void set_handed(Home1Handover *h, const char *user, bool handed)
{
        if (!handed) {
                list_remove(h->handed, &h->n_handed, user);
                return;
        }
        if (list_add(&h->handed, &h->n_handed, user) < 0)
                daemon_log(&daemon_of(h)->log, LOG_ERR, "out of memory handing %s to systemd-homed", user);
}

/* ---- one user ---- */

static void user_done(Home1Handover *h)
{
        h->call = sd_bus_slot_unref(h->call);
        h->current = mfree(h->current);
        sync_next(h);
}

static int call_homed(Home1Handover *h, const char *member, sd_bus_message_handler_t cb, const char *types,
                      ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(h->service->bus, &m, HOME1_BUS_NAME, HOME1_OBJECT_PATH,
                                           HOME1_MANAGER_INTERFACE, member);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        h->call = sd_bus_slot_unref(h->call);
        /* homed's homework may take long (a first activation, fsck): as long as its own clients wait. */
        return sd_bus_call_async(h->service->bus, &h->call, m, cb, h, 120 * USEC_PER_SEC);
}

static void log_call_failed(Home1Handover *h, const char *what, sd_bus_message *reply)
{
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        daemon_log(&daemon_of(h)->log, LOG_WARNING, "systemd-homed: %s %s failed: %s", what, h->current,
                   e && e->message ? e->message
                   : e && e->name  ? e->name
                                   : "unknown error");
}

/* The record as homed's RegisterHome and UpdateHome take it: regular, privileged, perMachine, signature;
 * no binding (homed makes its own), no status, no secret. Exactly what we sign, and what ~/.identity holds.
 */
static int embedded_record_text(Home1Handover *h, json_t *host_record, char **ret)
{
        _cleanup_json_ json_t *embedded = NULL;
        int r;

        r = user_record_strip(host_record,
                              USER_RECORD_SECTION_BINDING | USER_RECORD_SECTION_STATUS |
                                      USER_RECORD_SECTION_SECRET,
                              &embedded);
        if (r < 0)
                return r;
        return user_record_format_compact(embedded, ret);
}

static int on_unregistered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Home1Handover *h = userdata;

        if (sd_bus_message_is_method_error(reply, NULL) &&
            !sd_bus_message_is_method_error(reply, HOME1_ERROR_NO_SUCH_HOME))
                log_call_failed(h, "unregistering", reply);
        else {
                set_handed(h, h->current, false);
                daemon_log(&daemon_of(h)->log, LOG_INFO, "systemd-homed: unregistered %s", h->current);
        }
        user_done(h);
        return 0;
}

static int unregister(Home1Handover *h)
{
        h->step = STEP_UNREGISTER;
        return call_homed(h, "UnregisterHome", on_unregistered, "s", h->current);
}

static int on_deactivated(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Home1Handover *h = userdata;

        if (sd_bus_message_is_method_error(reply, NULL) &&
            !sd_bus_message_is_method_error(reply, HOME1_ERROR_HOME_NOT_ACTIVE)) {
                /* In use: homed keeps it; the next sync (the expiry sweep's report) tries again. */
                log_call_failed(h, "deactivating", reply);
                user_done(h);
                return 0;
        }
        if (h->ours_gone && unregister(h) >= 0)
                return 0;
        /* Expired but still ours: our sweep removes it now that nothing holds it, and its report brings
         * the user back here to be unregistered. */
        (void) daemon_queue_expiry_sweep(daemon_of(h));
        user_done(h);
        return 0;
}

static int on_registered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Home1Handover *h = userdata;
        bool registering = h->step == STEP_REGISTER;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                log_call_failed(h, registering ? "registering" : "updating", reply);
                /* Not handed over after all: our userdb service answers for the user again. */
                if (registering)
                        set_handed(h, h->current, false);
        } else
                daemon_log(&daemon_of(h)->log, LOG_INFO, "systemd-homed: %s %s",
                           registering ? "registered" : "updated", h->current);
        user_done(h);
        return 0;
}

static bool homed_record_is_ours(Home1Handover *h, json_t *record)
{
        UserRecordSignatureState s;

        return user_record_verify(record, daemon_of(h)->provisioner->home->key->pkey, &s) >= 0 &&
               (s == USER_RECORD_SIGNED_EXCLUSIVE || s == USER_RECORD_SIGNED);
}

/* What homed said about the current user decides the next call. */
static int on_lookup(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Home1Handover *h = userdata;
        _cleanup_(home1_view_done) Home1View v = {};
        _cleanup_json_ json_t *theirs = NULL;
        _cleanup_free_ char *text = NULL;
        const char *json = NULL, *state = NULL;
        bool known = false, expired;
        uint64_t ours_change = 0, their_change = 0;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                if (!sd_bus_message_is_method_error(reply, HOME1_ERROR_NO_SUCH_HOME)) {
                        log_call_failed(h, "looking up", reply);
                        user_done(h);
                        return 0;
                }
        } else if (sd_bus_message_read(reply, "sbo", &json, NULL, NULL) >= 0) {
                theirs = json_loads(json, 0, NULL);
                known = theirs != NULL;
        }
        if (known && !homed_record_is_ours(h, theirs)) {
                /* A user of homed's own (or of someone else) with the name of ours: never touched. */
                daemon_log(&daemon_of(h)->log, LOG_WARNING,
                           "systemd-homed has a user %s of its own; not handing ours over", h->current);
                set_handed(h, h->current, false);
                user_done(h);
                return 0;
        }

        r = home1_view_load(h->service, h->current, &v);
        h->ours_gone = r < 0;
        expired = !h->ours_gone && home1_record_login_allowed(v.record, time_now_realtime()) == -EL3HLT;
        if (known) {
                json_t *st = json_object_get(json_object_get(theirs, "status"),
                                             daemon_of(h)->provisioner->home->machine_id);
                state = json_string_value(json_object_get(st, "state"));
        }

        if (h->ours_gone || expired) {
                if (!known) {
                        set_handed(h, h->current, false);
                        user_done(h);
                        return 0;
                }
                /* homed first lets go of it (its mount, its pin on the directory), then it goes. */
                if (state && (streq(state, "active") || streq(state, "lingering"))) {
                        h->step = STEP_DEACTIVATE;
                        r = call_homed(h, "DeactivateHome", on_deactivated, "s", h->current);
                } else if (h->ours_gone)
                        r = unregister(h);
                else {
                        (void) daemon_queue_expiry_sweep(daemon_of(h));
                        user_done(h);
                        return 0;
                }
                if (r < 0)
                        user_done(h);
                return 0;
        }

        r = embedded_record_text(h, v.record, &text);
        if (r < 0) {
                daemon_log(&daemon_of(h)->log, LOG_ERR, "cannot hand %s to systemd-homed: %s", h->current,
                           strerror(-r));
                user_done(h);
                return 0;
        }
        (void) user_record_last_change_usec(v.record, &ours_change);
        if (known)
                (void) user_record_last_change_usec(theirs, &their_change);
        set_handed(h, h->current, true);
        if (!known) {
                h->step = STEP_REGISTER;
                r = call_homed(h, "RegisterHome", on_registered, "s", text);
        } else if (ours_change > their_change) {
                h->step = STEP_UPDATE;
                r = call_homed(h, "UpdateHome", on_registered, "s", text);
        } else {
                user_done(h);
                return 0;
        }
        if (r < 0) {
                daemon_log(&daemon_of(h)->log, LOG_ERR, "cannot call systemd-homed: %s", strerror(-r));
                if (!known)
                        set_handed(h, h->current, false);
                user_done(h);
        }
        return 0;
}

/* ---- the queue ---- */

static int queue_user(Home1Handover *h, const char *user)
{
        if (h->n_pending >= HANDOVER_PENDING_MAX) {
                h->full = true;
                return 0;
        }
        return list_add(&h->pending, &h->n_pending, user);
}

static int on_list(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Home1Handover *h = userdata;
        const char *name;
        int r;

        h->call = sd_bus_slot_unref(h->call);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                daemon_log(&daemon_of(h)->log, LOG_WARNING, "systemd-homed: listing its homes failed: %s",
                           e && e->message ? e->message : "unknown error");
        } else if (sd_bus_message_enter_container(reply, 'a', "(susussso)") >= 0) {
                while ((r = sd_bus_message_read(reply, "(susussso)", &name, NULL, NULL, NULL, NULL, NULL,
                                                NULL, NULL)) > 0)
                        (void) queue_user(h, name);
        }
        sync_next(h);
        return 0;
}

static void start_full(Home1Handover *h)
{
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;

        h->full = false;
        if (home1_user_names(h->service, &names, &n) >= 0)
                for (size_t i = 0; i < n; i++)
                        (void) queue_user(h, names[i]);
        /* And what homed has (of ours, the lookup tells), so users we no longer have are unregistered. */
        if (sd_bus_call_method_async(h->service->bus, &h->call, HOME1_BUS_NAME, HOME1_OBJECT_PATH,
                                     HOME1_MANAGER_INTERFACE, "ListHomes", on_list, h, NULL) < 0)
                sync_next(h);
}

static void sync_next(Home1Handover *h)
{
        if (h->call || h->current)
                return; /* one at a time */
        if (h->n_pending == 0) {
                if (h->full)
                        start_full(h);
                return;
        }
        h->current = h->pending[0];
        memmove(h->pending, h->pending + 1, h->n_pending * sizeof(char *)); /* with the NULL */
        h->n_pending--;
        h->step = STEP_LOOKUP;
        if (call_homed(h, "GetUserRecordByName", on_lookup, "s", h->current) < 0)
                user_done(h);
}

void home1_handover_sync(Home1Handover *h, const ProvisionReport *report)
{
        if (!h)
                return;
        if (!report)
                h->full = true;
        else
                for (size_t i = 0; i < report->n_users; i++) {
                        const UserResult *u = &report->users[i];

                        if (u->user_name && u->outcome != PROVISION_PENDING &&
                            u->outcome != PROVISION_SKIPPED)
                                (void) queue_user(h, u->user_name);
                }
        sync_next(h);
}

/* homed came (a new owner of its name: everything again) or went (our userdb serves our users again, and
 * the core mounts them where users.activation says so). */
static int on_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *ret_error)
{
        Home1Handover *h = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner) < 0 ||
            !streq(name, HOME1_BUS_NAME))
                return 0;
        if (!new_owner || !new_owner[0]) {
                daemon_log(&daemon_of(h)->log, LOG_WARNING,
                           "systemd-homed went away; our userdb service serves our users again");
                while (h->n_handed > 0)
                        list_remove(h->handed, &h->n_handed, h->handed[0]);
                daemon_of(h)->homes_handed_over = false;
                (void) daemon_queue_expiry_sweep(daemon_of(h));
                return 0;
        }
        daemon_log(&daemon_of(h)->log, LOG_INFO, "systemd-homed is there; handing our homes to it");
        daemon_of(h)->homes_handed_over = true;
        h->full = true;
        sync_next(h);
        return 0;
}

int home1_handover_new(Home1 *m, Home1Handover **ret)
{
        Home1Handover *h = calloc(1, sizeof(Home1Handover));
        int r;

        if (!h)
                return -ENOMEM;
        h->service = m;
        r = sd_bus_match_signal_async(m->bus, &h->owner_watch, "org.freedesktop.DBus",
                                      "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged",
                                      on_owner_changed, NULL, h);
        if (r < 0) {
                home1_handover_free(h);
                return r;
        }
        /* Everything, once the loop runs. */
        h->full = true;
        sync_next(h);
        *ret = h;
        return 0;
}

Home1Handover *home1_handover_free(Home1Handover *h)
{
        if (!h)
                return NULL;
        sd_bus_slot_unref(h->call);
        sd_bus_slot_unref(h->owner_watch);
        free(h->current);
        strv_free(h->pending);
        strv_free(h->handed);
        return mfree(h);
}
