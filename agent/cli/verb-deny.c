/* SPDX-License-Identifier: MIT */
/* corehomectl deny USER / allow USER: the device owner's local revoke. deny removes the user (if corehomed
 * made it) and keeps every grant for that name from applying here, across sticks, fleet polls,
 * create-user --known and restarts; allow lifts it. The brand's assertions stay as they are. */
#include <stdio.h>

#include "cli-daemon.h"
#include "cli-report.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"

static int deny_or_allow(const CliContext *ctx, int argc, char **argv, const char *method)
{
        _cleanup_json_ json_t *parameters = NULL;
        _cleanup_(operation_result_done) OperationResult result = {};
        int status;

        if (argc != 2) {
                cli_error(argv[0], "needs exactly one USER");
                return EXIT_USAGE;
        }
        parameters = json_pack("{s:s}", "userName", argv[1]);
        if (!parameters)
                return EXIT_REFUSED;
        status = cli_call(ctx, method, parameters, &result);
        if (status != EXIT_OK)
                return status;
        if (ctx->json)
                cli_print_report_json(result.report, "users");
        return cli_print_users(ctx, argv[0], result.report);
}

int verb_deny(const CliContext *ctx, int argc, char **argv)
{
        return deny_or_allow(ctx, argc, argv, "Deny");
}

int verb_allow(const CliContext *ctx, int argc, char **argv)
{
        return deny_or_allow(ctx, argc, argv, "Allow");
}
