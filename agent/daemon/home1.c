/* SPDX-License-Identifier: MIT */
/* org.freedesktop.home1 (home1.h): the service's state, the homes as the bus sees them, the mode. */
#include "home1.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grant-convert.h"
#include "home1-errors.h"
#include "home1-internal.h"
#include "json-util.h"
#include "string-util.h"
#include "user-name.h"
#include "user-record.h"
#include "userdb.h"

/* The userdb service name our records carry in status.<machine-id>.service: the truth (homed writes
 * "io.systemd.Home"); clients show it and do not act on it. */
#define HOME1_RECORD_SERVICE USERDB_SERVICE_NAME

/* How long one call on the bus may take: the start's questions (whether a systemd-homed runs, our name),
 * homed's answers in Mode 2. At boot the bus may come up late; the daemon's first job waits that long at
 * most for the start's answer. */
#define HOME1_CALL_TIMEOUT_USEC (25 * USEC_PER_SEC)

static const char *const mode_names[] = {
        [HOME1_MODE_OFF] = "off",
        [HOME1_MODE_AUTO] = "auto",
        [HOME1_MODE_SERVE] = "serve",
        [HOME1_MODE_HANDOVER] = "handover",
};

const char *home1_mode_to_string(Home1Mode m)
{
        return m < ELEMENTSOF(mode_names) ? mode_names[m] : NULL;
}

int home1_mode_from_string(const char *s, Home1Mode *ret)
{
        for (size_t i = 0; s && i < ELEMENTSOF(mode_names); i++)
                if (streq(s, mode_names[i])) {
                        *ret = (Home1Mode) i;
                        return 0;
                }
        return -EINVAL;
}

Home1Mode home1_mode(const Home1 *m)
{
        return m ? m->mode : HOME1_MODE_OFF;
}

/* ---- homes ---- */

void home1_view_done(Home1View *v)
{
        v->record = json_decref_null(v->record);
}

static Home *engine(Home1 *m)
{
        return m->daemon->provisioner->home;
}

/* Ours: made by our engine (its signature) from a grant (the extension), as the userdb service serves
 * them. A homed user of its own, or a record someone dropped into homed's directory, is not. */
static bool record_is_ours(Home1 *m, json_t *record)
{
        UserRecordSignatureState s;

        if (!json_is_object(json_object_get(record, GRANT_RECORD_EXTENSION)))
                return false;
        if (user_record_verify(record, engine(m)->key->pkey, &s) < 0)
                return false;
        return s == USER_RECORD_SIGNED_EXCLUSIVE || s == USER_RECORD_SIGNED;
}

static int binding_uid(Home1 *m, json_t *record, uid_t *ret)
{
        json_t *v = json_object_get(
                json_object_get(json_object_get(record, "binding"), engine(m)->machine_id), "uid");

        if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
            json_integer_value(v) >= (json_int_t) UINT32_MAX)
                return -EBADMSG;
        *ret = (uid_t) json_integer_value(v);
        return 0;
}

int home1_view_load(Home1 *m, const char *user_name, Home1View *ret)
{
        _cleanup_json_ json_t *record = NULL;
        const char *s;
        HomeState state;
        uid_t uid;
        int r;

        if (!user_name_is_valid_syntax(user_name))
                return -ENOENT;
        r = home_load_record(engine(m), user_name, &record, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !record_is_ours(m, record) || binding_uid(m, record, &uid) < 0)
                return -ENOENT;
        r = home_state(engine(m), user_name, &state);
        if (r < 0)
                return r == -ENOMEM ? r : -ENOENT;

        *ret = (Home1View){ .state = state, .uid = uid };
        s = json_string_value(json_object_get(record, "storage"));
        ret->luks = s && streq(s, "luks");
        ret->real_name = json_string_value(json_object_get(record, "realName"));
        ret->shell = json_string_value(json_object_get(record, "shell"));
        ret->home_directory = json_string_value(json_object_get(record, "homeDirectory"));
        if (!ret->home_directory) {
                /* homed's default, and the only one our engine accepts. */
                (void) snprintf(ret->home_directory_buf, sizeof(ret->home_directory_buf), "/home/%s",
                                user_name);
                ret->home_directory = ret->home_directory_buf;
        }
        if (!ret->real_name)
                ret->real_name = user_name;
        ret->record = TAKE_PTR(record);
        return 0;
}

int home1_user_names(Home1 *m, char ***ret, size_t *ret_n)
{
        _cleanup_strv_free_ char **names = NULL;
        HomeListEntry *l = NULL;
        size_t n = 0, k = 0;
        int r;

        r = home_list(engine(m), &l, &n);
        if (r < 0)
                return r;
        names = calloc(n + 1, sizeof(char *));
        if (!names) {
                home_list_free(l, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                Home1View v = {};

                if (!l[i].ours)
                        continue;
                r = home1_view_load(m, l[i].user_name, &v);
                home1_view_done(&v);
                if (r == -ENOENT)
                        continue;
                if (r < 0 || !(names[k] = strdup(l[i].user_name))) {
                        home_list_free(l, n);
                        return r < 0 ? r : -ENOMEM;
                }
                k++;
        }
        home_list_free(l, n);
        *ret = TAKE_PTR(names);
        *ret_n = k;
        return 0;
}

int home1_user_by_uid(Home1 *m, uid_t uid, char **ret)
{
        HomeListEntry *l = NULL;
        size_t n = 0;
        int r;

        r = home_list(engine(m), &l, &n);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (size_t i = 0; i < n && r == -ENOENT; i++) {
                Home1View v = {};

                if (!l[i].ours || l[i].uid != uid || home1_view_load(m, l[i].user_name, &v) < 0)
                        continue;
                home1_view_done(&v);
                *ret = strdup(l[i].user_name);
                r = *ret ? 0 : -ENOMEM;
        }
        home_list_free(l, n);
        return r;
}

Home1Entry *home1_entry_get(Home1 *m, const char *user_name)
{
        for (Home1Entry *e = m->entries; e; e = e->next)
                if (streq(e->user_name, user_name))
                        return e;
        return NULL;
}

Home1Entry *home1_entry_ensure(Home1 *m, const char *user_name)
{
        Home1Entry *e = home1_entry_get(m, user_name);

        if (e)
                return e;
        e = calloc(1, sizeof(Home1Entry));
        if (!e)
                return NULL;
        e->user_name = strdup(user_name);
        if (!e->user_name)
                return mfree(e);
        e->service = m;
        e->ratelimit = HOME1_RATELIMIT_INIT;
        e->next = m->entries;
        m->entries = e;
        return e;
}

static Home1Entry *entry_free(Home1Entry *e)
{
        home1_refs_free(e);
        sd_event_source_disable_unref(e->retry_deactivate);
        free(e->user_name);
        return mfree(e);
}

void home1_entry_gc(Home1 *m, Home1Entry *e)
{
        Home1View v = {};

        if (!e || e->n_refs > 0 || e->retry_deactivate || e->operation || e->queued > 0)
                return;
        /* The rate limit outlives a call: only a user that no longer exists loses it. */
        if (home1_view_load(m, e->user_name, &v) >= 0) {
                home1_view_done(&v);
                return;
        }
        for (Home1Entry **p = &m->entries; *p; p = &(*p)->next)
                if (*p == e) {
                        *p = e->next;
                        entry_free(e);
                        return;
                }
}

const char *home1_state_name(Home1 *m, const char *user_name, HomeState s)
{
        Home1Entry *e = home1_entry_get(m, user_name);

        if (e && e->operation)
                return e->operation;
        if (e && e->retry_deactivate && s == HOME_STATE_ACTIVE)
                return "lingering";
        return home_state_to_string(s);
}

bool home1_deactivate_on_release(Home1 *m, const Home1View *v)
{
        return v->luks || m->daemon->provisioner->config->users.activation == CONFIG_ACTIVATION_LOGIN;
}

int home1_caller_uid(sd_bus_message *message, uid_t *ret)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        return sd_bus_creds_get_euid(creds, ret);
}

int home1_check_caller(sd_bus_message *message, uid_t home_uid, bool own_allowed, sd_bus_error *error)
{
        uid_t uid;

        /* No polkit here: homed's defaults reduce to "root, or the user for their own home" for the methods
         * a user may call on their own home, and root alone for the rest. */
        if (home1_caller_uid(message, &uid) < 0)
                return sd_bus_error_set(error, HOME1_ERROR_ACCESS_DENIED, "Cannot determine the caller.");
        if (uid == 0 || (own_allowed && uid == home_uid))
                return 0;
        return sd_bus_error_set(error, HOME1_ERROR_ACCESS_DENIED,
                                own_allowed ? "Only root or the home's own user may do this."
                                            : "Only root may do this.");
}

static int status_set_u64(json_t *o, const char *key, uint64_t v)
{
        return json_object_set_new(o, key, json_integer((json_int_t) v));
}

int home1_record_json(Home1 *m, sd_bus_message *message, const char *user_name, const Home1View *v,
                      char **ret, bool *ret_incomplete)
{
        _cleanup_json_ json_t *record = NULL;
        Home1Entry *e = home1_entry_get(m, user_name);
        const char *machine_id = engine(m)->machine_id;
        uid_t caller = (uid_t) -1;
        json_t *mine;
        char *text;
        int r;

        /* A caller we cannot identify is treated as a stranger: it gets no password hashes. */
        if (!message || home1_caller_uid(message, &caller) < 0)
                caller = (uid_t) -1;
        r = userdb_user_record_for_peer(v->record, machine_id, HOME1_RECORD_SERVICE, caller, &record,
                                        ret_incomplete);
        if (r < 0)
                return r;
        mine = json_object_get(json_object_get(record, "status"), machine_id);
        if (!mine)
                return -ENOMEM;
        /* homed's status fields: the state, whether the record is ours to change (it is not: it comes
         * from a signed grant, like a record homed got from elsewhere), and the rate limit so that
         * pam_systemd_home and homectl can say "too many logins". */
        r = json_object_set_new(mine, "state", json_string(home1_state_name(m, user_name, v->state)));
        if (r >= 0)
                r = json_object_set_new(mine, "signedLocally", json_false());
        if (r >= 0 && e && e->ratelimit.begin != USEC_INFINITY) {
                r = status_set_u64(mine, "rateLimitBeginUSec", e->ratelimit.begin);
                if (r >= 0)
                        r = status_set_u64(mine, "rateLimitCount", e->ratelimit.count);
        }
        if (r < 0)
                return -ENOMEM;
        text = json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

void home1_emit_home_changed(Home1 *m, const char *user_name)
{
        _cleanup_free_ char *path = NULL;
        Home1View v = {};

        if (m->mode != HOME1_MODE_SERVE || !m->bus ||
            sd_bus_path_encode(HOME1_HOME_PATH, user_name, &path) < 0)
                return;
        if (home1_view_load(m, user_name, &v) >= 0) {
                home1_view_done(&v);
                (void) sd_bus_emit_properties_changed(m->bus, path, HOME1_HOME_INTERFACE, "State", NULL);
        }
}

/* ---- the users changed ---- */

void home1_users_changed(Home1 *m, const ProvisionReport *report)
{
        if (!m)
                return;
        if (m->mode == HOME1_MODE_HANDOVER) {
                home1_handover_sync(m->handover, report);
                return;
        }
        if (m->mode != HOME1_MODE_SERVE || !report)
                return;
        /* Objects appear and go with their users (homectl and desktops watch the ObjectManager). */
        for (size_t i = 0; i < report->n_users; i++) {
                const UserResult *u = &report->users[i];
                _cleanup_free_ char *path = NULL;

                if (!u->user_name || sd_bus_path_encode(HOME1_HOME_PATH, u->user_name, &path) < 0)
                        continue;
                if (u->outcome == PROVISION_CREATED)
                        (void) sd_bus_emit_object_added(m->bus, path);
                else if (u->outcome == PROVISION_REMOVED) {
                        Home1Entry *e = home1_entry_get(m, u->user_name);

                        (void) sd_bus_emit_object_removed(m->bus, path);
                        /* Its references and rate limit go with the user. */
                        if (e)
                                home1_refs_free(e);
                        home1_entry_gc(m, e);
                } else if (u->outcome == PROVISION_UPDATED)
                        (void) sd_bus_emit_properties_changed(m->bus, path, HOME1_HOME_INTERFACE,
                                                              "UserRecord", NULL);
        }
}

bool home1_user_handed_over(const Home1 *m, const char *user_name)
{
        return m && m->mode == HOME1_MODE_HANDOVER && home1_handover_has(m->handover, user_name);
}

/* ---- start: which mode ----
 *
 * Nothing here waits for the bus. At boot the bus may itself be waiting for us: dbus-daemon resolves its
 * user's groups (initgroups) through nss-systemd, which asks every userdb socket, ours included, and our
 * socket starts this daemon. Had we waited for the bus (its authentication alone may take 90 s to time
 * out) before serving that lookup, dbus.service, then logind and every login would fail (found by the VM
 * test). So the connection is started, the questions are asked and the name is requested asynchronously,
 * while the loop already serves userdb; the daemon's first job (expiry sweep, home activation) waits for
 * the answer (daemon_hold_start), since in Mode 2 homed, not we, mounts the homes. */

static void start_done(Home1 *m)
{
        if (!m->starting)
                return;
        m->starting = false;
        m->probe = sd_bus_slot_unref(m->probe);
        daemon_release_start(m->daemon);
}

/* The start failed. Asked for "auto": the rest of the daemon works without the bus (users, pam_unix
 * logins, the Manager), as in a container without one. Asked for a mode by name: the daemon stops, as
 * the user asked for something it cannot do. */
static void start_failed(Home1 *m, int error, const char *what)
{
        daemon_log(&m->daemon->log, m->requested == HOME1_MODE_AUTO ? LOG_WARNING : LOG_ERR,
                   "not serving %s: %s", HOME1_BUS_NAME, what);
        m->mode = HOME1_MODE_OFF;
        start_done(m);
        if (m->requested != HOME1_MODE_AUTO)
                (void) sd_event_exit(m->daemon->event, error < 0 ? error : -EIO);
}

static void log_mode(Home1 *m)
{
        daemon_log(&m->daemon->log, LOG_INFO, "%s: %s", HOME1_BUS_NAME,
                   m->mode == HOME1_MODE_SERVE ? "serving it (no systemd-homed runs)"
                                               : "systemd-homed runs; handing our homes to it");
}

static int on_name_requested(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Home1 *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                _cleanup_free_ char *what = strprintf(
                        "cannot own %s: %s", HOME1_BUS_NAME,
                        sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.AccessDenied")
                                ? "the bus policy does not let us (is corehomed-home1.conf installed?)"
                        : e->message ? e->message
                                     : e->name);
                start_failed(m, -sd_bus_message_get_errno(reply), what ? what : "out of memory");
                return 0;
        }
        uint32_t result = 0;
        /* 1: the primary owner now, 4: already was */
        if (sd_bus_message_read(reply, "u", &result) < 0 || (result != 1 && result != 4)) {
                /* Neither queued nor replacing: when a systemd-homed got the name between our look and
                 * now, it wins and we say so rather than serve nobody. */
                _cleanup_free_ char *what =
                        strprintf("cannot own %s: another service (systemd-homed?) owns it", HOME1_BUS_NAME);
                start_failed(m, -EEXIST, what ? what : "out of memory");
                return 0;
        }
        log_mode(m);
        start_done(m);
        return 0;
}

static void start_serving(Home1 *m)
{
        int r;

        m->mode = HOME1_MODE_SERVE;
        r = home1_manager_bus_add(m);
        if (r >= 0)
                r = home1_home_bus_add(m);
        if (r >= 0)
                r = sd_bus_call_method_async(m->bus, &m->probe, "org.freedesktop.DBus",
                                             "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
                                             on_name_requested, m, "su", HOME1_BUS_NAME,
                                             (uint32_t) 4 /* DBUS_NAME_FLAG_DO_NOT_QUEUE */);
        if (r < 0) {
                _cleanup_free_ char *what =
                        strprintf("cannot register the objects of %s: %s", HOME1_BUS_NAME, strerror(-r));
                start_failed(m, r, what ? what : "out of memory");
        }
}

static void start_handover(Home1 *m)
{
        int r;

        m->mode = HOME1_MODE_HANDOVER;
        /* homed mounts the homes from now on; the core must not. */
        m->daemon->homes_handed_over = true;
        r = home1_handover_new(m, &m->handover);
        if (r < 0) {
                m->daemon->homes_handed_over = false;
                _cleanup_free_ char *what =
                        strprintf("cannot hand the homes to systemd-homed: %s", strerror(-r));
                start_failed(m, r, what ? what : "out of memory");
                return;
        }
        log_mode(m);
        start_done(m);
}

static void probe_failed(Home1 *m, sd_bus_message *reply)
{
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        _cleanup_free_ char *what =
                strprintf("cannot tell whether systemd-homed runs: %s", e && e->message ? e->message
                                                                        : e             ? e->name
                                                                                        : "bad reply");

        start_failed(m, -sd_bus_message_get_errno(reply), what ? what : "out of memory");
}

/* Whether systemd-homed.service is active or on its way (started before us at boot: After= orders it
 * first, but it takes its name a moment later). Not loaded, masked (inactive) or no systemd as PID 1
 * (tests, containers): serve. */
static int on_homed_state(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Home1 *m = userdata;
        const char *state = NULL;

        m->probe = sd_bus_slot_unref(m->probe);
        if (!sd_bus_message_is_method_error(reply, NULL) &&
            sd_bus_message_enter_container(reply, 'v', "s") >= 0)
                (void) sd_bus_message_read(reply, "s", &state);
        if (state && (streq(state, "active") || streq(state, "activating") || streq(state, "reloading")))
                start_handover(m);
        else
                start_serving(m);
        return 0;
}

static int on_homed_unit(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Home1 *m = userdata;
        const char *path;

        m->probe = sd_bus_slot_unref(m->probe);
        if (sd_bus_message_is_method_error(reply, NULL) || sd_bus_message_read(reply, "o", &path) < 0 ||
            sd_bus_call_method_async(m->bus, &m->probe, "org.freedesktop.systemd1", path,
                                     "org.freedesktop.DBus.Properties", "Get", on_homed_state, m, "ss",
                                     "org.freedesktop.systemd1.Unit", "ActiveState") < 0)
                start_serving(m);
        return 0;
}

static int on_name_owner(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Home1 *m = userdata;
        int has = 0;

        m->probe = sd_bus_slot_unref(m->probe);
        if (sd_bus_message_is_method_error(reply, NULL) || sd_bus_message_read(reply, "b", &has) < 0) {
                probe_failed(m, reply);
                return 0;
        }
        if (has) {
                start_handover(m);
                return 0;
        }
        if (sd_bus_call_method_async(m->bus, &m->probe, "org.freedesktop.systemd1",
                                     "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                     "GetUnit", on_homed_unit, m, "s", "systemd-homed.service") < 0)
                start_serving(m);
        return 0;
}

static int connect_bus(Home1 *m, const char *bus_address)
{
        int r;

        if (bus_address) {
                r = sd_bus_new(&m->bus);
                if (r >= 0)
                        r = sd_bus_set_address(m->bus, bus_address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(m->bus, true);
                if (r >= 0)
                        r = sd_bus_set_trusted(m->bus, false);
                if (r >= 0)
                        r = sd_bus_start(m->bus);
        } else
                r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return r;
        /* Only asynchronous calls are made: this bounds each of them (the probe's included). */
        (void) sd_bus_set_method_call_timeout(m->bus, HOME1_CALL_TIMEOUT_USEC);
        return sd_bus_attach_event(m->bus, m->daemon->event, SD_EVENT_PRIORITY_NORMAL);
}

int home1_new(Daemon *d, Home1Mode mode, const char *bus_address, Home1 **ret, char **ret_error)
{
        _cleanup_(home1_freep) Home1 *m = NULL;
        int r;

        m = calloc(1, sizeof(Home1));
        if (!m)
                return -ENOMEM;
        m->daemon = d;
        m->requested = mode;
        m->mode = HOME1_MODE_OFF;
        if (mode == HOME1_MODE_OFF) {
                *ret = TAKE_PTR(m);
                return 0;
        }
        /* Connecting does not wait: sd-bus authenticates and says Hello as the loop runs. It fails here only
         * when there is no bus socket at all (a container). */
        r = connect_bus(m, bus_address);
        if (r < 0) {
                *ret_error = strprintf("cannot connect to the %s bus: %s",
                                       bus_address ? bus_address : "system", strerror(-r));
                return r;
        }
        m->starting = true;
        daemon_hold_start(d);
        if (mode == HOME1_MODE_SERVE)
                start_serving(m);
        else if (mode == HOME1_MODE_HANDOVER)
                start_handover(m);
        else {
                m->mode = HOME1_MODE_AUTO;
                r = sd_bus_call_method_async(m->bus, &m->probe, "org.freedesktop.DBus",
                                             "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
                                             on_name_owner, m, "s", HOME1_BUS_NAME);
                if (r < 0) {
                        *ret_error =
                                strprintf("cannot ask the bus whether systemd-homed runs: %s", strerror(-r));
                        return r;
                }
        }
        *ret = TAKE_PTR(m);
        return 0;
}

bool home1_starting(const Home1 *m)
{
        return m && m->starting;
}

Home1 *home1_free(Home1 *m)
{
        if (!m)
                return NULL;
        /* A hold on the daemon's start stays: the daemon goes too (it is freed after its services). */
        m->probe = sd_bus_slot_unref(m->probe);
        m->handover = home1_handover_free(m->handover);
        m->worker = home1_worker_free(m->worker);
        home1_jobs_detach(m);
        while (m->entries) {
                Home1Entry *e = m->entries;
                m->entries = e->next;
                entry_free(e);
        }
        sd_bus_slot_unref(m->manager_slot);
        sd_bus_slot_unref(m->home_slot);
        sd_bus_slot_unref(m->enumerator_slot);
        sd_bus_slot_unref(m->object_manager_slot);
        if (m->bus) {
                (void) sd_bus_flush(m->bus);
                sd_bus_flush_close_unref(m->bus);
        }
        return mfree(m);
}
