/* SPDX-License-Identifier: MIT */
#pragma once

/* The journal form of a decision, shared by the two programs: corehomed logs every decision it takes, and
 * corehomectl logs the ones it takes itself on the running system (--root=/ offline), so that
 * `journalctl COREHOMED_USER=alice` or `COREHOMED_DECISION=refused` finds them whoever decided. One
 * structured entry per decision (an assertion accepted or refused, a user created, updated, removed, denied
 * or left pending, a stick refused), with the grant's fields; the report (report.h) is logged field by
 * field, never parsed back from its text. */

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "report.h"

typedef struct DecisionLog {
        const char *identifier; /* SYSLOG_IDENTIFIER: "corehomed", "corehomectl" */
        bool to_stderr;         /* each line is also printed on standard error ("IDENTIFIER: message") */
} DecisionLog;

/* Whether standard error is the journal already ($JOURNAL_STREAM names its device and inode): a daemon
 * started by systemd need not print its lines twice. */
bool decision_log_stderr_is_journal(void);

typedef struct LogDecision {
        int priority;         /* LOG_INFO for what went through, LOG_WARNING for a refusal */
        const char *decision; /* COREHOMED_DECISION: accepted, refused, created, updated, removed, ... */
        const char *brand;    /* COREHOMED_BRAND */
        const char *email;    /* COREHOMED_EMAIL */
        int64_t revision;     /* COREHOMED_REVISION, < 0: none */
        const char *user;     /* COREHOMED_USER */
        const char *reason;   /* COREHOMED_REASON */
        const char *device;   /* COREHOMED_DEVICE: the stick (or the path) the decision is about */
} LogDecision;

/* One entry: d may be NULL for a line that is not a decision; message is the whole line for a person. */
void decision_log_send(const DecisionLog *log, int priority, const LogDecision *d, const char *message);

/* One decision per assertion and per user of a report, with the grant's fields. */
void decision_log_report(const DecisionLog *log, const ProvisionReport *r, const char *device);
