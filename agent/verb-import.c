/* SPDX-License-Identifier: MIT */
/* corehomectl import FILE...|-: verifies assertions against the trust database and stores them. The files
 * form one batch: it is stored only when every assertion in it is accepted. Creates no users. */
#include <errno.h>
#include <getopt.h>

#include "cli-batch.h"
#include "cli.h"
#include "macros.h"

int verb_import(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_trust_db_ TrustDb *db = NULL;
        _cleanup_trust_report_ TrustReport *report = NULL;
        _cleanup_(cli_batch_done) CliBatch batch = {};
        int r;

        if (argc < 2) {
                cli_error(argv[0], "needs at least one FILE (or - for standard input)");
                return EXIT_USAGE;
        }
        if (cli_trust_db_open(ctx, &db) < 0)
                return EXIT_REFUSED;
        if (cli_batch_load(argv + 1, (size_t) argc - 1, &batch) < 0)
                return EXIT_REFUSED;

        r = trust_db_import(db, batch.list, &report);
        if (r < 0) {
                cli_error(argv[0], "cannot store the assertions: %s", strerror(-r));
                return EXIT_REFUSED;
        }
        cli_batch_print_report(ctx, &batch, report, true);
        if (report->n_refused > 0) {
                cli_error(argv[0], "%zu of %zu assertions refused; nothing was stored", report->n_refused,
                          report->n);
                return EXIT_REFUSED;
        }
        return EXIT_OK;
}
