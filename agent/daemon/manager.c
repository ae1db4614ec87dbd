/* SPDX-License-Identifier: MIT */
/* io.corehomed.Manager (manager.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "macros.h"
#include "manager.h"

typedef struct Manager {
        Daemon *daemon;
        ManagerServices services;
} Manager;

static int reply_error(VarlinkCall *c, const OperationError *err, int r)
{
        _cleanup_json_ json_t *p = json_pack("{s:s, s:s, s:i}", "prefix", strempty(err->prefix), "message",
                                             err->message ? err->message : strerror(-r), "errno", -r);

        return varlink_call_error(c, err->usage ? MANAGER_ERROR_INVALID_REQUEST : MANAGER_ERROR_FAILED, p);
}

/* Runs op now, logs what it decided and answers c. */
static int run_operation(Daemon *d, VarlinkCall *c, const Operation *op, json_t *parameters)
{
        _cleanup_(operation_result_done) OperationResult result = {};
        _cleanup_(operation_error_done) OperationError err = {};
        _cleanup_json_ json_t *reply = NULL;
        OperationContext oc;
        char state[256];
        int r;

        daemon_operation_context(d, &oc, state, sizeof(state));
        if (streq(op->name, "Remove") || streq(op->name, "Deny")) {
                const char *user = json_string_value(json_object_get(parameters, "userName"));
                if (user)
                        (void) daemon_home_deactivate(d, user);
        } else if (streq(op->name, "Expire"))
                daemon_homes_deactivate_expired(d);

        r = op->function(&oc, parameters, &result, &err);
        if (r < 0)
                return reply_error(c, &err, r);
        /* Verify decides nothing that happens: only changes reach the journal. */
        if (result.report && op->writes)
                daemon_log_report(&d->log, result.report, NULL);
        if (op->changes_users)
                daemon_users_changed(d);
        reply = operation_result_reply(&result);
        if (!reply)
                return -ENOMEM;
        return varlink_call_reply(c, reply);
}

/* A call that changes state waits for its turn in the writer queue. */
typedef struct ManagerJob {
        Daemon *daemon;
        VarlinkCall *call; /* NULL once answered */
        const Operation *op;
        json_t *parameters;
        int error; /* why the job did not run, for the answer its free function gives */
} ManagerJob;

static void manager_job_run(int error, void *userdata)
{
        ManagerJob *j = userdata;
        _cleanup_(operation_error_done) OperationError err = {};

        if (error < 0) {
                (void) operation_error_set(&err, error, NULL, "cannot load the state to change it: %s",
                                           strerror(-error));
                (void) reply_error(TAKE_PTR(j->call), &err, error);
                return;
        }
        (void) run_operation(j->daemon, TAKE_PTR(j->call), j->op, j->parameters);
}

static void manager_job_free(void *userdata)
{
        ManagerJob *j = userdata;

        if (j->call) {
                _cleanup_(operation_error_done) OperationError err = {};
                (void) operation_error_set(&err, j->error, NULL, "corehomed could not run the call: %s",
                                           j->error == -ESHUTDOWN ? "it is stopping" : strerror(-j->error));
                (void) reply_error(j->call, &err, j->error);
        }
        json_decref(j->parameters);
        free(j);
}

static int queue_operation(Daemon *d, VarlinkCall *c, const Operation *op, json_t *parameters)
{
        ManagerJob *j = calloc(1, sizeof(ManagerJob));
        int r;

        if (!j)
                return -ENOMEM;
        *j = (ManagerJob){
                .daemon = d, .call = c, .op = op, .parameters = json_incref(parameters), .error = -ESHUTDOWN
        };
        r = writer_queue_push(d->writers, manager_job_run, manager_job_free, j, false);
        if (r < 0) {
                j->error = r;
                manager_job_free(j);
        }
        return 0; /* answered by the job, or by its free function */
}

static int manager_call(VarlinkCall *c, json_t *parameters, void *userdata)
{
        Manager *m = userdata;
        const char *method = varlink_call_method(c);
        const Operation *op = operation_find(method + strlen(MANAGER_INTERFACE "."));
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
                r = m->services.import_media(path, c, m->services.userdata);
                if (r < 0) {
                        _cleanup_(operation_error_done) OperationError err = {};
                        (void) operation_error_set(&err, r, NULL, "cannot queue %s: %s", path, strerror(-r));
                        return reply_error(c, &err, r);
                }
                return 0; /* answered when the medium has been read and imported */
        }

        if (op->writes)
                return queue_operation(m->daemon, c, op, parameters);
        return run_operation(m->daemon, c, op, parameters);
}

/* PollFleet: poll the fleet server now instead of at the next interval (corehomectl import --fleet). */
static int manager_poll_fleet(VarlinkCall *c, json_t *parameters, void *userdata)
{
        Manager *m = userdata;
        uid_t uid = (uid_t) -1;

        if (varlink_call_peer(c, &uid, NULL) < 0 || uid != 0)
                return varlink_call_error(c, VARLINK_ERROR_PERMISSION_DENIED, NULL);
        return m->services.poll_fleet(c, m->services.userdata);
}

int manager_add_methods(VarlinkServer *s, Daemon *d, const ManagerServices *services)
{
        const Operation *ops;
        Manager *m;
        size_t n;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        *m = (Manager){ .daemon = d, .services = *services };
        r = varlink_server_attach_data(s, m, free);
        if (r < 0) {
                free(m);
                return r;
        }
        ops = operation_table(&n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = NULL;
                if (asprintf(&name, "%s.%s", MANAGER_INTERFACE, ops[i].name) < 0)
                        return -ENOMEM;
                r = varlink_server_add_method(s, name, manager_call, m);
                if (r < 0)
                        return r;
        }
        return varlink_server_add_method(s, MANAGER_INTERFACE ".PollFleet", manager_poll_fleet, m);
}
