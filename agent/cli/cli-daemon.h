/* SPDX-License-Identifier: MIT */
#pragma once

/* How a verb reaches an operation (operations.h): with --root in process on that tree, otherwise through
 * the daemon's io.corehomed.Manager socket. */

#include <jansson.h>

#include "cli.h"
#include "operations.h"

/* Overrides the Manager socket the CLI connects to (MANAGER_SOCKET_DEFAULT otherwise): for tests and
 * containers that run a daemon of their own. */
#define CLI_MANAGER_SOCKET_ENV "COREHOMED_MANAGER_SOCKET"

/* How long the CLI waits for the daemon's answer: reading a medium alone may take MEDIA_MOUNT_TIMEOUT. */
#define CLI_MANAGER_TIMEOUT (5 * 60 * USEC_PER_SEC)

/* Runs operation method ("Import", "List", ...) with parameters. Returns 0 with *ret (a report or a view,
 * see operations.h), or an exit status (EXIT_REFUSED, EXIT_USAGE) after printing why on stderr
 * ("corehomectl: PREFIX: message"). */
int cli_call(const CliContext *ctx, const char *method, json_t *parameters, OperationResult *ret);

/* Calls io.corehomed.Manager.<method> on the daemon (methods that exist only there: PollFleet). Returns 0
 * with *ret_reply, or an exit status after printing why. */
int cli_call_daemon(const char *method, json_t *parameters, json_t **ret_reply);
