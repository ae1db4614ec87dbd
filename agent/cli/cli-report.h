/* SPDX-License-Identifier: MIT */
#pragma once

/* Printing what an operation decided (report.h) for a person: refusals on stderr, one line each with its
 * own reason ("corehomectl: FILE: ASSERTION: reason"), the rest on stdout. With --json the verbs print the
 * report's JSON form (report-json.h) instead. */

#include <jansson.h>
#include <stdbool.h>

#include "cli.h"
#include "report.h"

/* One line per refused assertion on stderr; with verbose (and without --json), one line per accepted one
 * on stdout ("FILE: ASSERTION: verdict", "(not stored)" when the batch was refused). Returns how many were
 * refused. */
size_t cli_print_assertions(const CliContext *ctx, const ProvisionReport *r, bool verbose);

/* One line per user ("alice: created", "alice: removed: revoked by revision 2: ..."), refusals on stderr
 * after prefix. Returns the exit status: EXIT_REFUSED when a user was refused. */
int cli_print_users(const CliContext *ctx, const char *prefix, const ProvisionReport *r);

/* JSON on stdout, indented, with a final newline. */
void cli_print_json(json_t *o);

/* The report as JSON on stdout (its Manager reply form); member: only that member of it ("users"). */
void cli_print_report_json(const ProvisionReport *r, const char *member);
