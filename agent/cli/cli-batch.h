/* SPDX-License-Identifier: MIT */
#pragma once

/* The assertion files named on a command line, as one batch (prerequisites may sit in any of them): each
 * assertion names the file it came from, for messages. */

#include <jansson.h>
#include <stdbool.h>

#include "cli.h"
#include "trust-db.h"

/* Reads every file ("-" is standard input) into the parameters of Import / Verify:
 * {"files": [{"name": FILE, "assertions": TEXT}, ...]}. Reports failures itself. */
int cli_batch_parameters(char *const *files, size_t n_files, json_t **ret);

/* Opens the trust database of ctx->root at ctx->now; reports failures itself. */
int cli_trust_db_open(const CliContext *ctx, TrustDb **ret);
