/* SPDX-License-Identifier: MIT */
#include "decision-log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "macros.h"

bool decision_log_stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        return e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 &&
               (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

#define FIELDS_MAX 10

static void add_field(struct iovec *iov, size_t *n, char **buf, const char *name, const char *value)
{
        if (!value || *n >= FIELDS_MAX || asprintf(&buf[*n], "%s=%s", name, value) < 0)
                return;
        iov[*n] = (struct iovec){ .iov_base = buf[*n], .iov_len = strlen(buf[*n]) };
        (*n)++;
}

void decision_log_send(const DecisionLog *log, int priority, const LogDecision *d, const char *message)
{
        struct iovec iov[FIELDS_MAX];
        char *buf[FIELDS_MAX] = {}, priority_text[4], revision[24];
        size_t n = 0;

        snprintf(priority_text, sizeof(priority_text), "%d", priority);
        add_field(iov, &n, buf, "MESSAGE", message);
        add_field(iov, &n, buf, "PRIORITY", priority_text);
        add_field(iov, &n, buf, "SYSLOG_IDENTIFIER", log->identifier);
        if (d) {
                add_field(iov, &n, buf, "COREHOMED_DECISION", d->decision);
                add_field(iov, &n, buf, "COREHOMED_BRAND", d->brand);
                add_field(iov, &n, buf, "COREHOMED_EMAIL", d->email);
                if (d->revision >= 0) {
                        snprintf(revision, sizeof(revision), "%" PRId64, d->revision);
                        add_field(iov, &n, buf, "COREHOMED_REVISION", revision);
                }
                add_field(iov, &n, buf, "COREHOMED_USER", d->user);
                add_field(iov, &n, buf, "COREHOMED_REASON", d->reason);
                add_field(iov, &n, buf, "COREHOMED_DEVICE", d->device);
        }
        /* No journal (a container, a test): the line on standard error is all there is. */
        (void) sd_journal_sendv(iov, (int) n);
        for (size_t i = 0; i < n; i++)
                free(buf[i]);
        if (log->to_stderr)
                fprintf(stderr, "%s: %s\n", log->identifier, message);
}

static void log_assertion(const DecisionLog *log, const ProvisionReport *r, const AssertionResult *e,
                          const char *device)
{
        _cleanup_free_ char *message = NULL;
        bool refused = e->verdict == TRUST_VERDICT_REFUSED, skipped = e->verdict == TRUST_VERDICT_SKIPPED;
        const char *verdict = trust_verdict_kind_to_string(e->verdict);
        const char *decision = refused ? "refused" : skipped ? "skipped" : "accepted";
        LogDecision d = {
                .priority = refused   ? LOG_WARNING
                            : skipped ? LOG_NOTICE
                                      : LOG_INFO,
                .decision = decision,
                .brand = e->what.brand_id,
                .email = e->what.email,
                .revision = e->what.revision,
                .reason = refused || skipped ? e->reason : verdict,
                .device = device,
        };

        /* A batch is stored whole or not at all: an assertion that passed is not stored when another one
         * of its batch was refused. A skipped one (snapd's rule) is never stored: its reason names the one
         * kept. */
        if (!refused && !skipped && !r->committed && e->verdict != TRUST_VERDICT_UNCHANGED)
                d.reason = "valid, not stored: another assertion of the batch was refused";
        if (asprintf(&message, "%s assertion %s (revision %" PRId64 ") from %s: %s", decision,
                     strempty(e->what.description), e->what.revision < 0 ? 0 : e->what.revision,
                     strempty(e->origin), strempty(d.reason)) < 0)
                return;
        decision_log_send(log, d.priority, &d, message);
}

static void log_user(const DecisionLog *log, const UserResult *e, const char *device)
{
        _cleanup_free_ char *message = NULL;
        const char *outcome = provision_outcome_to_string(e->outcome), *what = e->what.description;
        LogDecision d = {
                .priority = e->outcome == PROVISION_REFUSED ? LOG_WARNING : LOG_INFO,
                .decision = outcome,
                .brand = e->what.brand_id,
                .email = e->what.email,
                .revision = e->what.revision,
                .user = e->user_name,
                .reason = e->reason,
                .device = device,
        };

        if (asprintf(&message, "user %s: %s%s%s%s%s%s%s%s", e->user_name ? e->user_name : "(none)", outcome,
                     e->reason ? ": " : "", strempty(e->reason), what ? " (" : "", strempty(what),
                     what ? ")" : "", device ? " from " : "", strempty(device)) < 0)
                return;
        decision_log_send(log, d.priority, &d, message);
}

void decision_log_report(const DecisionLog *log, const ProvisionReport *r, const char *device)
{
        for (size_t i = 0; i < r->n_assertions; i++)
                log_assertion(log, r, &r->assertions[i], device);
        for (size_t i = 0; i < r->n_users; i++)
                log_user(log, &r->users[i], device);
}
