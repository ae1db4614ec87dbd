/* SPDX-License-Identifier: MIT */
#include "cli-provision.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
        if (r < 0)
                cli_error(ctx->root, "%s", error ? error : strerror(-r));
        return r;
}

int cli_provision_print_report(const CliContext *ctx, const char *prefix, json_t *users, bool print_json)
{
        json_t *e;
        size_t i;

        json_array_foreach (users, i, e) {
                const char *user = json_string_value(json_object_get(e, "user"));
                const char *assertion = json_string_value(json_object_get(e, "assertion"));
                const char *outcome = strempty(json_string_value(json_object_get(e, "outcome")));
                const char *reason = strempty(json_string_value(json_object_get(e, "reason")));

                if (streq(outcome, "refused")) {
                        if (assertion)
                                cli_error(prefix, "%s: %s", assertion, reason);
                        else
                                cli_error(prefix, "%s%s%s", strempty(user), user ? ": " : "", reason);
                } else if (!ctx->json)
                        printf("%s: %s%s%s\n", user ? user : strempty(assertion), outcome,
                               reason[0] ? ": " : "", reason);
        }
        if (ctx->json && print_json) {
                json_dumpf(users, stdout, JSON_INDENT(2));
                putchar('\n');
        }
        return operation_count_refused(users, "outcome", "refused") > 0 ? EXIT_REFUSED : EXIT_OK;
}
