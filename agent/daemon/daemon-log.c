/* SPDX-License-Identifier: MIT */
#include "daemon-log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "macros.h"

void daemon_log_init(DaemonLog *log)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        log->to_stderr = true;
        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 &&
            (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino)
                log->to_stderr = false;
}

#define FIELDS_MAX 10

static void add_field(struct iovec *iov, size_t *n, char **buf, const char *name, const char *value)
{
        if (!value || *n >= FIELDS_MAX || asprintf(&buf[*n], "%s=%s", name, value) < 0)
                return;
        iov[*n] = (struct iovec){ .iov_base = buf[*n], .iov_len = strlen(buf[*n]) };
        (*n)++;
}

static void log_send(const DaemonLog *log, int priority, const LogDecision *d, const char *message)
{
        struct iovec iov[FIELDS_MAX];
        char *buf[FIELDS_MAX] = {}, priority_text[4], revision[24];
        size_t n = 0;

        snprintf(priority_text, sizeof(priority_text), "%d", priority);
        add_field(iov, &n, buf, "MESSAGE", message);
        add_field(iov, &n, buf, "PRIORITY", priority_text);
        add_field(iov, &n, buf, "SYSLOG_IDENTIFIER", "corehomed");
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
                fprintf(stderr, "corehomed: %s\n", message);
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
                log_send(log, d->priority, d, message);
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
                log_send(log, priority, NULL, message);
}

static const char *member(json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

void daemon_log_assertions(const DaemonLog *log, json_t *report, const char *device)
{
        json_t *assertions = json_object_get(report, "assertions"), *v;
        bool committed = json_is_true(json_object_get(report, "committed"));
        size_t i;

        json_array_foreach (assertions, i, v) {
                const char *verdict = strempty(member(v, "verdict"));
                bool refused = streq(verdict, "refused");
                LogDecision d = {
                        .priority = refused ? LOG_WARNING : LOG_INFO,
                        .decision = refused ? "refused" : "accepted",
                        .brand = member(v, "brand-id"),
                        .email = member(v, "email"),
                        .revision = json_integer_value(json_object_get(v, "revision")),
                        .reason = refused ? member(v, "reason") : verdict,
                        .device = device,
                };
                /* A batch is stored whole or not at all: an assertion that passed is not stored when
                 * another one of its batch was refused. */
                if (!refused && !committed && !streq(verdict, "unchanged"))
                        d.reason = "valid, not stored: another assertion of the batch was refused";
                daemon_log_decision(log, &d, "%s assertion %s (revision %" PRId64 ") from %s: %s",
                                    refused ? "refused" : "accepted", strempty(member(v, "assertion")),
                                    d.revision, strempty(member(v, "file")), strempty(d.reason));
        }
}

/* "system-user brand-id=acme email=alice@example.com" -> the value of key (into buf). */
static const char *description_value(const char *description, const char *key, char *buf, size_t size)
{
        const char *p = description ? strstr(description, key) : NULL;

        if (!p || (p != description && p[-1] != ' '))
                return NULL;
        p += strlen(key);
        snprintf(buf, size, "%.*s", (int) strcspn(p, " "), p);
        return buf;
}

void daemon_log_users(const DaemonLog *log, TrustDb *db, json_t *users, const char *device)
{
        json_t *e;
        size_t i;

        json_array_foreach (users, i, e) {
                const char *outcome = strempty(member(e, "outcome")), *assertion = member(e, "assertion");
                const char *user = member(e, "user"), *reason = member(e, "reason");
                char brand[128], email[256];
                LogDecision d = {
                        .priority = streq(outcome, "refused") ? LOG_WARNING : LOG_INFO,
                        .decision = outcome,
                        .brand = description_value(assertion, "brand-id=", brand, sizeof(brand)),
                        .email = description_value(assertion, "email=", email, sizeof(email)),
                        .revision = -1,
                        .user = user,
                        .reason = reason,
                        .device = device,
                };
                if (d.brand && d.email) {
                        const char *key[] = { d.brand, d.email, NULL };
                        const Assertion *a = trust_db_find(db, "system-user", key);
                        const char *revision = a ? assertion_header_string(a, "revision") : NULL;
                        d.revision = a ? (revision ? atoll(revision) : 0) : -1;
                }
                daemon_log_decision(log, &d, "user %s: %s%s%s%s%s%s%s%s", user ? user : "(none)", outcome,
                                    reason ? ": " : "", strempty(reason), assertion ? " (" : "",
                                    strempty(assertion), assertion ? ")" : "", device ? " from " : "",
                                    strempty(device));
        }
}
