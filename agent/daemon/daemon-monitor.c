/* SPDX-License-Identifier: MIT */
/* The monitors (daemon-monitor.h): every decision, live, to the clients that follow. */
#include "daemon-monitor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "macros.h"
#include "operations.h"
#include "string-util.h"

typedef struct Monitor {
        VarlinkCall *call; /* NULL: a free slot */
        pid_t pid;         /* for the log line when it is dropped */
} Monitor;

struct MonitorHub {
        Daemon *daemon;
        Monitor monitors[MONITORS_MAX];
        size_t n;
};

int monitor_hub_new(Daemon *d, MonitorHub **ret)
{
        MonitorHub *h = calloc(1, sizeof(MonitorHub));

        if (!h)
                return -ENOMEM;
        h->daemon = d;
        *ret = h;
        return 0;
}

static Monitor *monitor_find(MonitorHub *h, VarlinkCall *call)
{
        for (size_t i = 0; i < MONITORS_MAX; i++)
                if (h->monitors[i].call == call)
                        return &h->monitors[i];
        return NULL;
}

static void monitor_forget(MonitorHub *h, Monitor *m)
{
        m->call = NULL;
        m->pid = 0;
        h->n--;
}

static void end_with_error(VarlinkCall *call, int error, const char *message)
{
        _cleanup_json_ json_t *p =
                json_pack("{s:s, s:s, s:i}", "prefix", "monitor", "message", message, "errno", error);

        (void) varlink_call_error(call, MANAGER_ERROR_FAILED, p);
}

MonitorHub *monitor_hub_free(MonitorHub *h)
{
        if (!h)
                return NULL;
        for (size_t i = 0; i < MONITORS_MAX; i++)
                if (h->monitors[i].call) {
                        VarlinkCall *call = h->monitors[i].call;

                        /* Finished here, so the connection's end tells nobody afterwards. */
                        monitor_forget(h, &h->monitors[i]);
                        end_with_error(call, ESHUTDOWN, "corehomed is stopping");
                }
        free(h);
        return NULL;
}

size_t monitor_hub_count(const MonitorHub *h)
{
        return h ? h->n : 0;
}

/* The client went away (closed, or was closed for not reading): its slot is free again. */
static void on_disconnected(VarlinkCall *call, void *userdata)
{
        MonitorHub *h = userdata;
        Monitor *m = monitor_find(h, call);

        if (m)
                monitor_forget(h, m);
        (void) varlink_call_reply(call, NULL); /* orphaned: only frees it */
}

int monitor_hub_add(MonitorHub *h, VarlinkCall *call)
{
        _cleanup_json_ json_t *ready = json_pack("{s:b}", "ready", true);
        Monitor *m;
        pid_t pid = 0;
        int r;

        if (!ready)
                return -ENOMEM;
        /* Each monitor holds one of the Manager's connections for as long as it follows: the others are
         * for the calls that change things. */
        if (h->n >= MONITORS_MAX) {
                _cleanup_free_ char *why =
                        strprintf("%d monitors follow corehomed already, the most it serves; stop one first",
                                  MONITORS_MAX);
                end_with_error(call, EBUSY, why ? why : "too many monitors");
                return 0;
        }
        m = monitor_find(h, NULL);
        (void) varlink_call_peer(call, NULL, &pid);
        /* What a client that does not read can make us hold: the rest is dropped with the connection. */
        r = varlink_call_set_output_max(call, MONITOR_BACKLOG_MAX);
        if (r >= 0)
                r = varlink_call_set_disconnected(call, on_disconnected, h);
        if (r < 0)
                return r; /* the server answers io.systemd.System */
        *m = (Monitor){ .call = call, .pid = pid };
        h->n++;
        /* From here on the client misses nothing: it may act on "ready" (a test, a screen drawing its
         * first state). A failure closed the connection, and on_disconnected() has freed the slot. */
        (void) varlink_call_reply_more(call, ready);
        return 0;
}

static json_t *decision_json(const LogDecision *d, const char *message)
{
        char when[RFC3339_MAX] = "";
        _cleanup_json_ json_t *o = NULL;

        (void) time_format_rfc3339(time_now_realtime(), when);
        o = json_pack("{s:s, s:s, s:s}", "time", when, "decision", strempty(d->decision), "message",
                      message);
        if (!o)
                return NULL;
        if ((d->user && json_object_set_new(o, "user", json_string(d->user)) < 0) ||
            (d->what && json_object_set_new(o, "grant", json_string(d->what)) < 0) ||
            (d->brand && json_object_set_new(o, "brand", json_string(d->brand)) < 0) ||
            (d->email && json_object_set_new(o, "email", json_string(d->email)) < 0) ||
            (d->revision >= 0 && json_object_set_new(o, "revision", json_integer(d->revision)) < 0) ||
            (d->reason && json_object_set_new(o, "reason", json_string(d->reason)) < 0) ||
            (d->device && json_object_set_new(o, "device", json_string(d->device)) < 0))
                return NULL;
        return TAKE_PTR(o);
}

void monitor_hub_publish(const LogDecision *d, const char *message, void *userdata)
{
        MonitorHub *h = userdata;
        _cleanup_json_ json_t *event = NULL;

        if (!h || h->n == 0)
                return;
        event = decision_json(d, message);
        if (!event) {
                daemon_log(&h->daemon->log, LOG_ERR, "cannot tell monitors of a decision: out of memory");
                return;
        }
        for (size_t i = 0; i < MONITORS_MAX; i++) {
                VarlinkCall *call = h->monitors[i].call;
                pid_t pid = h->monitors[i].pid;
                int r;

                if (!call)
                        continue;
                r = varlink_call_reply_more(call, event);
                /* On -E2BIG the connection is closed already and on_disconnected() has freed the slot (or
                 * will, once the loop is back): nothing of the call may be touched here. */
                if (r == -E2BIG)
                        daemon_log(&h->daemon->log, LOG_WARNING,
                                   "disconnected monitor (pid %d): it left more than %u bytes of decisions "
                                   "unread",
                                   (int) pid, MONITOR_BACKLOG_MAX);
        }
}
