/* SPDX-License-Identifier: MIT */
#pragma once

#include "cli.h"
#include "provision.h"

/* Opens the provisioner for ctx (offline with --root; nothing is mounted offline); reports failures. */
int cli_provisioner_open(const CliContext *ctx, Provisioner **ret);

/* The report as a JSON array of {user, assertion, outcome[, reason]}. */
json_t *cli_provision_report_json(const ProvisionReport *report);

/* One line per user on stdout ("alice: created"), refusals on stderr ("corehomectl: PREFIX: ASSERTION:
 * reason"); with --json and print_json, the report as one JSON document instead. Returns the exit status. */
int cli_provision_print_report(const CliContext *ctx, const char *prefix, const ProvisionReport *report,
                               bool print_json);
