/* SPDX-License-Identifier: MIT */
#pragma once

#include "cli.h"

/* Whether the import command line is a fleet import: an https:// (or http://, to refuse it clearly) URL,
 * --fleet or --timeout=. */
bool fleet_cli_is_fleet_import(int argc, char **argv);

/* corehomectl import [--timeout=SECONDS] https://URL   one-off fetch and import of the bundle at URL
 *                                                      (prerequisites from its base, docs/fleet.md)
 * corehomectl --root=DIR import [--timeout=SECONDS] --fleet   one poll of the configured fleet feed, as
 *                                                      the daemon does it (ETag, state, fleet.create-users)
 * Returns an exit status. */
int fleet_cli_import(const CliContext *ctx, int argc, char **argv);
