/* SPDX-License-Identifier: MIT */
/* corehomectl remove USER: removes a user created by corehomed, with its home. */
#include <stdio.h>

#include "cli-daemon.h"
#include "cli-report.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"
#include "report-json.h"

int verb_remove(const CliContext *ctx, int argc, char **argv)
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
        status = cli_call(ctx, "Remove", parameters, &result);
        if (status != EXIT_OK)
                return status;
        if (ctx->json) {
                _cleanup_json_ json_t *o = provision_report_to_json(result.report);
                json_dumpf(o, stdout, 0);
                putchar('\n');
        } else
                printf("%s: removed\n", argv[1]);
        return EXIT_OK;
}
