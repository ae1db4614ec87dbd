/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>

#include "cli.h"
#include "provisioner.h"
#include "root-lock.h"

/* Takes the writer lock of ctx->root for a change, waiting for another writer (saying so on stderr, with
 * who holds it); the change counts as made (the root's generation moves on release). Reports failures. */
int cli_root_lock(const CliContext *ctx, RootLock **ret);

/* Opens the provisioner for ctx->root (offline: nothing is mounted); reports failures. */
int cli_provisioner_open(const CliContext *ctx, Provisioner **ret);
