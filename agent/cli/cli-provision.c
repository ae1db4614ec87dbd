/* SPDX-License-Identifier: MIT */
#include "cli-provision.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decision-log.h"
#include "json-util.h"
#include "macros.h"
#include "operations.h"

static void say_waiting(const char *lock_path, const char *holder, void *userdata)
{
        cli_error(NULL, "waiting for %s, held by %s", lock_path, holder[0] ? holder : "another process");
}

int cli_root_lock(const CliContext *ctx, RootLock **ret)
{
        int r = root_lock_acquire(ctx->root, true, say_waiting, NULL, ret);

        if (r < 0) {
                cli_error(ctx->root, "cannot take the lock of this root: %s", strerror(-r));
                return r;
        }
        root_lock_mark_changed(*ret);
        return 0;
}

int cli_provisioner_open(const CliContext *ctx, Provisioner **ret)
{
        _cleanup_free_ char *error = NULL;
        int r;

        r = provisioner_open(ctx->root, ctx->now, 0, ret, &error);
        if (r < 0) {
                cli_error(ctx->root, "%s", error ? error : strerror(-r));
                return r;
        }
        if (!ctx->now_set) /* on the real clock: not before this build */
                provisioner_raise_time_floor(*ret, trust_db_build_time_floor());
        return r;
}

bool cli_root_is_running_system(const CliContext *ctx)
{
        _cleanup_free_ char *resolved = NULL;

        if (!ctx->root)
                return false; /* the daemon decides, and logs */
        resolved = realpath(ctx->root, NULL);
        return resolved && streq(resolved, "/");
}

void cli_log_report(const CliContext *ctx, const ProvisionReport *r)
{
        /* Standard error is the person's: the lines go to the journal only. */
        static const DecisionLog log = { .identifier = "corehomectl", .to_stderr = false };

        if (r && cli_root_is_running_system(ctx))
                decision_log_report(&log, r, NULL);
}
