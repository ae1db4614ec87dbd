/* SPDX-License-Identifier: MIT */
#pragma once

/* The assertion files named on a command line, as one batch (prerequisites may sit in any of them), and
 * the report of its check: each assertion names the file it came from, for messages. */

#include <jansson.h>
#include <stdbool.h>

#include "cli.h"
#include "trust-db.h"

/* Reads every file ("-" is standard input) into the parameters of Import / Verify:
 * {"files": [{"name": FILE, "assertions": TEXT}, ...]}. Reports failures itself. */
int cli_batch_parameters(char *const *files, size_t n_files, json_t **ret);

/* Opens the trust database of ctx->root at ctx->now; reports failures itself. */
int cli_trust_db_open(const CliContext *ctx, TrustDb **ret);

/* Prints one line per refused assertion of the report {"assertions": [...], ...} on stderr
 * ("corehomectl: FILE: ASSERTION: reason"); with verbose, the accepted ones on stdout too, or with --json
 * the whole report as one JSON document. Returns how many were refused. */
size_t cli_batch_print_report(const CliContext *ctx, json_t *report, bool verbose);
