/* SPDX-License-Identifier: MIT */
/* corehomectl create-user --known [EMAIL]: creates (or updates, or revokes) the users of the stored
 * system-user assertions that apply to this device now. With EMAIL, that one is required to apply. */
#include <getopt.h>

#include "cli-daemon.h"
#include "cli-report.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"

int verb_create_user(const CliContext *ctx, int argc, char **argv)
{
        static const struct option options[] = {
                { "known", no_argument, NULL, 'k' },
                {},
        };
        _cleanup_json_ json_t *parameters = NULL;
        _cleanup_(operation_result_done) OperationResult result = {};
        bool known = false;
        int c, status;

        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0)
                switch (c) {
                case 'k':
                        known = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (!known) {
                cli_error(argv[0],
                          "only --known is supported: users come from stored system-user assertions");
                return EXIT_USAGE;
        }
        if (argc - optind > 1) {
                cli_error(argv[0], "takes at most one EMAIL");
                return EXIT_USAGE;
        }
        const char *email = optind < argc ? argv[optind] : NULL;
        parameters = json_pack("{s:s?}", "email", email);
        if (!parameters)
                return EXIT_REFUSED;
        status = cli_call(ctx, "CreateUsers", parameters, &result);
        if (status != EXIT_OK)
                return status;
        if (ctx->json)
                cli_print_report_json(result.report, "users");
        return cli_print_users(ctx, argv[0], result.report);
}
