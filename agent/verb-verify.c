/* SPDX-License-Identifier: MIT */
/* corehomectl verify FILE|-: checks signatures and the chain of trust as import would; stores nothing. */
#include <errno.h>

#include "cli-batch.h"
#include "cli.h"
#include "macros.h"

int verb_verify(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_trust_db_ TrustDb *db = NULL;
        _cleanup_trust_report_ TrustReport *report = NULL;
        _cleanup_(cli_batch_done) CliBatch batch = {};
        int r;

        if (argc < 2) {
                cli_error(argv[0], "needs a FILE (or - for standard input)");
                return EXIT_USAGE;
        }
        if (cli_trust_db_open(ctx, &db) < 0)
                return EXIT_REFUSED;
        if (cli_batch_load(argv + 1, (size_t) argc - 1, &batch) < 0)
                return EXIT_REFUSED;

        r = trust_db_check(db, batch.list, &report);
        if (r < 0) {
                cli_error(argv[0], "cannot check the assertions: %s", strerror(-r));
                return EXIT_REFUSED;
        }
        cli_batch_print_report(ctx, &batch, report, true);
        return report->n_refused > 0 ? EXIT_REFUSED : EXIT_OK;
}
