/* SPDX-License-Identifier: MIT */
/* corehomectl import FILE...|-: verifies assertions against the trust database and stores them. The files
 * form one batch: it is stored only when every assertion in it is accepted. Creates no users. */
#include "cli-batch.h"
#include "cli-daemon.h"
#include "cli-report.h"
#include "cli.h"
#include "fleet-cli.h"
#include "json-util.h"
#include "macros.h"

int verb_import(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_json_ json_t *parameters = NULL;
        _cleanup_(operation_result_done) OperationResult result = {};
        int status;

        /* https:// URLs and --fleet: fetched over the network (agent/fleet-cli.c, docs/fleet.md). */
        if (fleet_cli_is_fleet_import(argc, argv))
                return fleet_cli_import(ctx, argc, argv);
        if (argc < 2) {
                cli_error(argv[0], "needs at least one FILE (or - for standard input)");
                return EXIT_USAGE;
        }
        if (cli_batch_parameters(argv + 1, (size_t) argc - 1, &parameters) < 0)
                return EXIT_REFUSED;
        status = cli_call(ctx, "Import", parameters, &result);
        if (status != EXIT_OK)
                return status;

        if (ctx->json)
                cli_print_report_json(result.report, NULL);
        size_t n_refused = cli_print_assertions(ctx, result.report, true);
        if (n_refused > 0) {
                cli_error(argv[0], "%zu of %zu assertions refused; nothing was stored", n_refused,
                          result.report->n_assertions);
                return EXIT_REFUSED;
        }
        return EXIT_OK;
}
