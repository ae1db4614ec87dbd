/* SPDX-License-Identifier: MIT */
#include "cli-daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-batch.h"
#include "cli-provision.h"
#include "json-util.h"
#include "macros.h"
#include "report-json.h"
#include "varlink.h"

static int print_failure(const OperationError *err, int r)
{
        cli_error(err->prefix, "%s", err->message ? err->message : strerror(-r));
        return err->usage ? EXIT_USAGE : EXIT_REFUSED;
}

static int call_offline(const CliContext *ctx, const Operation *op, json_t *parameters, OperationResult *ret)
{
        _cleanup_root_lock_ RootLock *lock = NULL;
        _cleanup_provisioner_ Provisioner *p = NULL;
        _cleanup_trust_db_ TrustDb *db = NULL;
        _cleanup_(operation_error_done) OperationError err = {};
        OperationContext oc = { .root = ctx->root };
        int r;

        /* A writer works on a state loaded under the lock (no other writer can have moved it since), and
         * finishes what an interrupted writer left before changing anything itself. */
        if (op->writes && cli_root_lock(ctx, &lock) < 0)
                return EXIT_REFUSED;
        if (op->needs_provisioner) {
                if (cli_provisioner_open(ctx, &p) < 0)
                        return EXIT_REFUSED;
                if (lock) {
                        _cleanup_free_ char *error = NULL;
                        if (provision_recover(p, &error) < 0) {
                                cli_error(ctx->root, "%s", strempty(error));
                                return EXIT_REFUSED;
                        }
                }
                oc.provisioner = p;
                oc.db = p->db;
        } else {
                if (cli_trust_db_open(ctx, &db) < 0)
                        return EXIT_REFUSED;
                oc.db = db;
        }
        r = op->function(&oc, parameters, ret, &err);
        if (r < 0)
                return print_failure(&err, r);
        /* Verify decides nothing that happens: only changes reach the journal (as the daemon's do). */
        if (op->writes)
                cli_log_report(ctx, ret->report);
        return 0;
}

int cli_call_daemon(const char *method, json_t *parameters, json_t **ret_reply)
{
        const char *path = getenv(CLI_MANAGER_SOCKET_ENV);
        _cleanup_free_ char *name = NULL, *error_name = NULL;
        _cleanup_json_ json_t *reply = NULL;
        int r;

        if (!path || !path[0])
                path = MANAGER_SOCKET_DEFAULT;
        if (asprintf(&name, "%s.%s", MANAGER_INTERFACE, method) < 0)
                return EXIT_REFUSED;
        r = varlink_client_call(path, name, parameters, CLI_MANAGER_TIMEOUT, &reply, &error_name);
        if (r == -ENOENT || r == -ECONNREFUSED) {
                cli_error(NULL,
                          "corehomed is not running (cannot connect to %s); use --root=DIR to work offline",
                          path);
                return EXIT_REFUSED;
        }
        if (r == -EACCES || r == -EPERM) {
                cli_error(NULL, "cannot connect to %s: permission denied (io.corehomed.Manager is for root)",
                          path);
                return EXIT_REFUSED;
        }
        if (r < 0) {
                cli_error(NULL, "cannot talk to corehomed at %s: %s", path, strerror(-r));
                return EXIT_REFUSED;
        }
        if (!error_name) {
                *ret_reply = TAKE_PTR(reply);
                return 0;
        }

        const char *prefix = json_string_value(json_object_get(reply, "prefix"));
        const char *message = json_string_value(json_object_get(reply, "message"));
        bool usage = streq(error_name, MANAGER_ERROR_INVALID_REQUEST);
        if (streq(error_name, MANAGER_ERROR_FAILED) || usage)
                cli_error(prefix && prefix[0] ? prefix : NULL, "%s", strempty(message));
        else if (streq(error_name, VARLINK_ERROR_PERMISSION_DENIED))
                cli_error(
                        NULL,
                        "corehomed refused the call: permission denied (io.corehomed.Manager is for root)");
        else {
                json_t *e = json_object_get(reply, "errno");
                cli_error(NULL, "corehomed answered %s%s%s", error_name, json_is_integer(e) ? ": " : "",
                          json_is_integer(e) ? strerror((int) json_integer_value(e)) : "");
        }
        return usage ? EXIT_USAGE : EXIT_REFUSED;
}

static int call_daemon(const Operation *op, json_t *parameters, OperationResult *ret)
{
        _cleanup_json_ json_t *reply = NULL;
        int status, r;

        status = cli_call_daemon(op->name, parameters, &reply);
        if (status != EXIT_OK)
                return status;
        if (!op->reports) {
                ret->view = TAKE_PTR(reply);
                return EXIT_OK;
        }
        r = provision_report_from_json(reply, op->report_kind, &ret->report);
        if (r < 0) {
                cli_error(NULL, "corehomed's answer to %s is not a report: %s", op->name, strerror(-r));
                return EXIT_REFUSED;
        }
        return EXIT_OK;
}

int cli_call(const CliContext *ctx, const char *method, json_t *parameters, OperationResult *ret)
{
        const Operation *op = operation_find(method);

        if (!op) {
                cli_error(NULL, "internal error: no operation %s", method);
                return EXIT_REFUSED;
        }
        if (ctx->root)
                return call_offline(ctx, op, parameters, ret);
        return call_daemon(op, parameters, ret);
}
