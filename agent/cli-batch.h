/* SPDX-License-Identifier: MIT */
#pragma once

/* Reads the files named on a command line into one batch of assertions (prerequisites may sit in any of
 * them), remembering which file each assertion came from, for messages. */

#include "assertion.h"
#include "cli.h"
#include "trust-db.h"

typedef struct CliBatch {
        AssertionList *list;
        const char **origin; /* per assertion: the file name as given (borrowed from argv) */
} CliBatch;

void cli_batch_done(CliBatch *b);

/* Reads and decodes every file ("-" is standard input); reports failures itself. */
int cli_batch_load(char *const *files, size_t n_files, CliBatch *ret);

/* Opens the trust database of ctx->root at ctx->now; reports failures itself. Without --root there is no
 * daemon to talk to yet, which is reported as such. */
int cli_trust_db_open(const CliContext *ctx, TrustDb **ret);

/* The report as a JSON array of {file, assertion, type, verdict[, reason]}. */
json_t *cli_batch_report_json(const CliBatch *b, const TrustReport *report);

/* Prints one line per refused assertion on stderr ("corehomectl: FILE: ASSERTION: reason"); with verbose,
 * the accepted ones on stdout too, or with --json the whole report as one JSON document. */
void cli_batch_print_report(const CliContext *ctx, const CliBatch *b, const TrustReport *report,
                            bool verbose);
