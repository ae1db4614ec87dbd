/* SPDX-License-Identifier: MIT */
/* corehomectl verify FILE|-: checks signatures and the chain of trust as import would; stores nothing. */
#include "cli-batch.h"
#include "cli-daemon.h"
#include "cli-report.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"

int verb_verify(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_json_ json_t *parameters = NULL;
        _cleanup_(operation_result_done) OperationResult result = {};
        int status;

        if (argc < 2) {
                cli_error(argv[0], "needs a FILE (or - for standard input)");
                return EXIT_USAGE;
        }
        if (cli_batch_parameters(argv + 1, (size_t) argc - 1, &parameters) < 0)
                return EXIT_REFUSED;
        status = cli_call(ctx, "Verify", parameters, &result);
        if (status != EXIT_OK)
                return status;
        if (ctx->json)
                cli_print_report_json(result.report, NULL);
        return cli_print_assertions(ctx, result.report, true) > 0 ? EXIT_REFUSED : EXIT_OK;
}
