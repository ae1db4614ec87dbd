/* SPDX-License-Identifier: MIT */
#include "daemon-log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "macros.h"

void daemon_log_init(DaemonLog *log)
{
        *log = (DaemonLog){ .identifier = "corehomed", .to_stderr = !decision_log_stderr_is_journal() };
}

void daemon_log_decision(const DaemonLog *log, const LogDecision *d, const char *format, ...)
{
        _cleanup_free_ char *message = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        if (message)
                decision_log_send(log, d->priority, d, message);
}

void daemon_log(const DaemonLog *log, int priority, const char *format, ...)
{
        _cleanup_free_ char *message = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);
        if (message)
                decision_log_send(log, priority, NULL, message);
}

void daemon_log_report(const DaemonLog *log, const ProvisionReport *r, const char *device)
{
        decision_log_report(log, r, device);
}
