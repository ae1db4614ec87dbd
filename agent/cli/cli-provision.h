/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>

#include "cli.h"
#include "provisioner.h"
#include "report.h"
#include "root-lock.h"

/* Takes the writer lock of ctx->root for a change, waiting for another writer (saying so on stderr, with
 * who holds it); the change counts as made (the root's generation moves on release). Reports failures. */
int cli_root_lock(const CliContext *ctx, RootLock **ret);

/* Opens the provisioner for ctx->root (offline: nothing is mounted); reports failures. */
int cli_provisioner_open(const CliContext *ctx, Provisioner **ret);

/* Whether ctx works offline on the running system (--root=/): its decisions are then the system's and go
 * to the journal as the daemon's do. */
bool cli_root_is_running_system(const CliContext *ctx);

/* Logs what a change decided (one journal entry per assertion and per user, COREHOMED_* fields, as
 * "corehomectl") when it was taken on the running system; decisions on another tree are the image
 * builder's business and go nowhere but to the output. */
void cli_log_report(const CliContext *ctx, const ProvisionReport *r);
