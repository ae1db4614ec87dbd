/* SPDX-License-Identifier: MIT */
/* corehomectl expire: removes every user whose until-expiration grant has run out. */
#include "cli-daemon.h"
#include "cli-provision.h"
#include "cli-report.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"

int verb_expire(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_(operation_result_done) OperationResult result = {};
        int status;

        if (argc > 1) {
                cli_error(argv[0], "takes no arguments");
                return EXIT_USAGE;
        }
        status = cli_call(ctx, "Expire", NULL, &result);
        if (status != EXIT_OK)
                return status;
        if (ctx->json)
                cli_print_report_json(result.report, "users");
        return cli_print_users(ctx, argv[0], result.report);
}
