/* SPDX-License-Identifier: MIT */
/* io.corehomed.Manager: the operations behind the CLI verbs (operations.h) for root on this machine. */
#include <errno.h>
#include <string.h>

#include "daemon.h"
#include "json-util.h"
#include "macros.h"

static int reply_error(VarlinkCall *c, const OperationError *err, int r)
{
        _cleanup_json_ json_t *p = json_pack("{s:s, s:s, s:i}", "prefix", err->prefix, "message",
                                             err->message[0] ? err->message : strerror(-r), "errno", -r);

        return varlink_call_error(c, err->usage ? MANAGER_ERROR_INVALID_REQUEST : MANAGER_ERROR_FAILED, p);
}

static void log_result(Daemon *d, const Operation *op, json_t *parameters, json_t *reply)
{
        if (streq(op->name, "Import"))
                daemon_log_assertions(&d->log, reply, NULL);
        else if (streq(op->name, "CreateUsers") || streq(op->name, "Expire"))
                daemon_log_users(&d->log, d->provisioner->db, json_object_get(reply, "users"), NULL);
        else if (streq(op->name, "Remove")) {
                const char *user = json_string_value(json_object_get(parameters, "userName"));
                LogDecision dec = { .priority = LOG_INFO,
                                    .decision = "removed",
                                    .revision = -1,
                                    .user = user,
                                    .reason = "removed by the administrator" };
                daemon_log_decision(&d->log, &dec, "user %s: removed by the administrator", strempty(user));
        }
}

static int manager_call(VarlinkCall *c, json_t *parameters, void *userdata)
{
        Daemon *d = userdata;
        const char *method = varlink_call_method(c);
        const Operation *op = operation_find(method + strlen(MANAGER_INTERFACE "."));
        _cleanup_json_ json_t *reply = NULL;
        OperationContext oc;
        OperationError err = {};
        char state[256];
        uid_t uid = (uid_t) -1;
        int r;

        /* The Manager changes who can log in here: only root may call it. The socket is 0600 already; the
         * peer check stops a socket passed on (or a mode changed by mistake) from opening it to others. */
        if (varlink_call_peer(c, &uid, NULL) < 0 || uid != 0)
                return varlink_call_error(c, VARLINK_ERROR_PERMISSION_DENIED, NULL);
        if (!op)
                return varlink_call_error(c, VARLINK_ERROR_METHOD_NOT_FOUND, NULL);

        if (streq(op->name, "ImportMedia")) {
                const char *path = json_string_value(json_object_get(parameters, "path"));
                if (!path || path[0] != '/')
                        return varlink_call_error_invalid_parameter(c, "path");
                r = media_queue_push(d->media, path, false, c);
                if (r < 0) {
                        snprintf(err.message, sizeof(err.message), "cannot queue %s: %s", path,
                                 strerror(-r));
                        return reply_error(c, &err, r);
                }
                return 0; /* answered when the medium has been read and imported */
        }

        daemon_operation_context(d, &oc, state, sizeof(state));
        if (streq(op->name, "Remove")) {
                const char *user = json_string_value(json_object_get(parameters, "userName"));
                if (user)
                        (void) daemon_home_deactivate(d, user);
        } else if (streq(op->name, "Expire"))
                daemon_homes_deactivate_expired(d);

        r = op->function(&oc, parameters, &reply, &err);
        if (r < 0)
                return reply_error(c, &err, r);
        log_result(d, op, parameters, reply);
        if (op->changes_users)
                daemon_users_changed(d);
        return varlink_call_reply(c, reply);
}

/* PollFleet: poll the fleet server now instead of at the next interval (corehomectl import --fleet). The
 * call is answered when that poll is over; the loop serves everything else meanwhile. */
static int manager_poll_fleet(VarlinkCall *c, json_t *parameters, void *userdata)
{
        _cleanup_free_ char *error = NULL;
        OperationError err = {};
        uid_t uid = (uid_t) -1;
        int r;

        if (varlink_call_peer(c, &uid, NULL) < 0 || uid != 0)
                return varlink_call_error(c, VARLINK_ERROR_PERMISSION_DENIED, NULL);
        r = daemon_fleet_poll_request(userdata, c, &error);
        if (r < 0) {
                snprintf(err.prefix, sizeof(err.prefix), "fleet");
                snprintf(err.message, sizeof(err.message), "%s", error ? error : strerror(-r));
                return reply_error(c, &err, r);
        }
        return 0;
}

int manager_add_methods(VarlinkServer *s, Daemon *d)
{
        const Operation *ops;
        size_t n;
        int r;

        ops = operation_table(&n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = NULL;
                if (asprintf(&name, "%s.%s", MANAGER_INTERFACE, ops[i].name) < 0)
                        return -ENOMEM;
                r = varlink_server_add_method(s, name, manager_call, d);
                if (r < 0)
                        return r;
        }
        return varlink_server_add_method(s, MANAGER_INTERFACE ".PollFleet", manager_poll_fleet, d);
}
