/* SPDX-License-Identifier: MIT */
/* corehomectl import-media PATH: the physical-presence import. Reads auto-import.assert from PATH (a
 * directory or a block device), imports it as one batch, then creates the users of its system-user
 * assertions as media.create-users allows. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli-batch.h"
#include "cli-daemon.h"
#include "cli-provision.h"
#include "cli-report.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"
#include "media.h"

int verb_import_media(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_json_ json_t *parameters = NULL;
        _cleanup_(operation_result_done) OperationResult result = {};
        _cleanup_free_ char *label = NULL, *absolute = NULL;
        int status = EXIT_OK;

        if (argc != 2) {
                cli_error(argv[0], "needs exactly one PATH (a directory or a block device)");
                return EXIT_USAGE;
        }
        if (asprintf(&label, "%s/%s", argv[1], MEDIA_ASSERT_FILE) < 0)
                return EXIT_REFUSED;
        /* The daemon does not share our working directory. */
        const char *path = argv[1];
        if (!ctx->root && path[0] != '/') {
                absolute = realpath(path, NULL);
                if (!absolute) {
                        cli_error(path, "cannot resolve: %m");
                        return EXIT_REFUSED;
                }
                path = absolute;
        }
        parameters = json_pack("{s:s}", "path", path);
        if (!parameters)
                return EXIT_REFUSED;
        status = cli_call(ctx, "ImportMedia", parameters, &result);
        if (status != EXIT_OK)
                return status;

        const ProvisionReport *report = result.report;
        size_t n_refused = cli_print_assertions(ctx, report, !ctx->json);
        if (n_refused > 0) {
                cli_error(label, "%zu of %zu assertions refused; nothing was imported", n_refused,
                          report->n_assertions);
                return EXIT_REFUSED;
        }
        if (report->note && !ctx->json)
                printf("%s: %s\n", label, report->note);
        status = cli_print_users(ctx, label, report);
        if (ctx->json)
                cli_print_report_json(report, NULL);
        return status;
}
