/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's log: the decision log every program shares (provision/decision-log.h), as "corehomed", with
 * each line printed on standard error too when that is not the journal (started by hand, by a test). */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "decision-log.h"
#include "report.h"

typedef DecisionLog DaemonLog;

void daemon_log_init(DaemonLog *log);

/* One decision; message is the whole line for a person. */
void daemon_log_decision(const DaemonLog *log, const LogDecision *d, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* A line that is not a decision (start, stop, activation trouble). */
void daemon_log(const DaemonLog *log, int priority, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* One decision per assertion and per user of a report (report.h), with the grant's fields. */
void daemon_log_report(const DaemonLog *log, const ProvisionReport *r, const char *device);
