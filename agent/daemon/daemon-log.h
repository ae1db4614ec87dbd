/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's log: one structured journal entry per decision (an assertion accepted or refused, a user
 * created, updated, removed or left pending, a stick refused), with the grant's fields, so that
 * `journalctl COREHOMED_USER=alice` or `COREHOMED_DECISION=refused` finds them. When standard error is not
 * the journal (started by hand, by a test), each line is printed there too. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "report.h"

typedef struct LogDecision LogDecision;

/* Told of every decision as it is logged, with the line written for a person (the monitors follow
 * decisions live through it: daemon-monitor.h). */
typedef void (*DaemonLogObserver)(const LogDecision *d, const char *message, void *userdata);

typedef struct DaemonLog {
        bool to_stderr; /* standard error is not connected to the journal */
        DaemonLogObserver observer;
        void *observer_userdata;
} DaemonLog;

/* Whether standard error is the journal ($JOURNAL_STREAM names its device and inode). */
void daemon_log_init(DaemonLog *log);

/* Sets the one observer of decisions (NULL: none). The core does not know who follows: the assembly wires
 * it. */
void daemon_log_set_observer(DaemonLog *log, DaemonLogObserver observer, void *userdata);

struct LogDecision {
        int priority;         /* LOG_INFO for what went through, LOG_WARNING for a refusal */
        const char *decision; /* COREHOMED_DECISION: accepted, refused, created, updated, removed, ... */
        const char *brand;    /* COREHOMED_BRAND */
        const char *email;    /* COREHOMED_EMAIL */
        int64_t revision;     /* COREHOMED_REVISION, < 0: none */
        const char *user;     /* COREHOMED_USER */
        const char *reason;   /* COREHOMED_REASON */
        const char *device;   /* COREHOMED_DEVICE: the stick (or the path) the decision is about */
        const char *what;     /* the assertion or grant in words ("system-user brand-id=acme email=...");
                                 for observers (the journal line has it in its message) */
};

/* One decision; message is the whole line for a person. */
void daemon_log_decision(const DaemonLog *log, const LogDecision *d, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* A line that is not a decision (start, stop, activation trouble). */
void daemon_log(const DaemonLog *log, int priority, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* One decision per assertion and per user of a report (report.h), with the grant's fields. */
void daemon_log_report(const DaemonLog *log, const ProvisionReport *r, const char *device);
