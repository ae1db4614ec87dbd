/* SPDX-License-Identifier: MIT */
/* The media queue: every medium to import (a stick udev reported, a path given to ImportMedia) waits here
 * and is read and imported one at a time, so two sticks never race on the same grants. A block device is
 * read by a media worker (a child in its own mount namespace, media.h) while the loop keeps serving; a
 * directory is read in place. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon-media.h"
#include "json-util.h"
#include "last-media.h"
#include "macros.h"
#include "media.h"
#include "string-util.h"
#include "udev-monitor.h"

typedef struct MediaJob {
        char *path;
        bool from_udev;
        VarlinkCall *call; /* answered when the job is over; NULL for sticks */
        struct MediaJob *next;
} MediaJob;

struct MediaQueue {
        Daemon *daemon;
        UdevMonitor *udev; /* NULL when sticks are not watched (no udev: a container) */
        MediaJob *head, *tail;
        size_t n; /* waiting, the current one excluded */
        MediaJob *current;
        MediaWorker *worker;
        sd_event_source *kick; /* deferred start of the next job, outside of any callback */
};

static MediaJob *media_job_free(MediaJob *j)
{
        if (!j)
                return NULL;
        free(j->path);
        free(j);
        return NULL;
}

static void reply_failure(VarlinkCall *call, int error, const char *prefix, const char *message)
{
        _cleanup_json_ json_t *p =
                json_pack("{s:s, s:s, s:i}", "prefix", prefix, "message", message, "errno", -error);

        (void) varlink_call_error(call, MANAGER_ERROR_FAILED, p);
}

/* What `status` shows of the last medium; only a writer job (the root's lock held) records it. */
static void record_last_media(Daemon *d, const char *device, const char *error,
                              const ProvisionReport *report)
{
        int r = last_media_save(d->options.root, d->provisioner->now, device, error, report);

        if (r < 0)
                daemon_log(&d->log, LOG_WARNING, "cannot record the import of %s for the status: %s", device,
                           strerror(-r));
}

/* The read is over (data on success): import, log, answer. locked: in a writer job, which also records
 * the medium's fate (last-media.h). */
static void job_finish(MediaQueue *q, MediaJob *j, int error, const char *data, size_t size,
                       const char *reason, bool locked)
{
        Daemon *d = q->daemon;
        _cleanup_free_ char *label = strprintf("%s/%s", j->path, MEDIA_ASSERT_FILE);
        _cleanup_(operation_result_done) OperationResult result = {};
        _cleanup_(operation_error_done) OperationError err = {};
        const char *what = j->from_udev ? "stick" : "medium";
        char state[256];
        int r = error;

        if (r >= 0) {
                OperationContext oc;
                daemon_operation_context(d, &oc, state, sizeof(state));
                r = operation_import_media_data(&oc, label ? label : j->path, data, size, &result, &err);
        }
        if (r < 0) {
                const char *why = error < 0 ? strempty(reason) : err.message ? err.message : strerror(-r);
                /* The reader's reasons start with the device ("DEVNODE: why"); the line names it once. */
                const char *rest = startswith(why, j->path);
                if (rest && startswith(rest, ": "))
                        why = rest + 2;
                _cleanup_free_ char *message =
                        error < 0 || !err.prefix ? strdup(why) : strprintf("%s: %s", err.prefix, why);
                LogDecision dec = { .priority = LOG_WARNING,
                                    .decision = "refused",
                                    .revision = -1,
                                    .reason = message ? message : why,
                                    .device = j->path };
                daemon_log_decision(&d->log, &dec, "refused %s %s: %s", what, j->path, dec.reason);
                if (locked)
                        record_last_media(d, j->path, dec.reason, NULL);
                /* The caller gets the CLI's words: "PATH: why" from the reader, "LABEL" + why from the
                 * import. */
                if (j->call && error < 0)
                        reply_failure(j->call, r, "", strempty(reason));
                else if (j->call)
                        reply_failure(j->call, r, strempty(err.prefix),
                                      err.message ? err.message : strerror(-r));
        } else {
                const ProvisionReport *report = result.report;

                daemon_log_report(&d->log, report, j->path);
                if (locked)
                        record_last_media(d, j->path, NULL, report);
                if (report->note) {
                        LogDecision dec = { .priority = LOG_INFO,
                                            .decision = "skipped",
                                            .revision = -1,
                                            .reason = report->note,
                                            .device = j->path };
                        daemon_log_decision(&d->log, &dec, "%s %s: %s", what, j->path, report->note);
                }
                if (report->n_users > 0)
                        daemon_users_changed(d, report);
                if (j->call) {
                        _cleanup_json_ json_t *reply = operation_result_reply(&result);
                        (void) varlink_call_reply(j->call, reply);
                }
        }
        if (j->from_udev && q->udev)
                (void) udev_monitor_release(q->udev, j->path);
}

/* The core shows how many media wait in the daemon's status. */
static void count_changed(MediaQueue *q)
{
        q->daemon->media_waiting = q->n + (q->current ? 1 : 0);
}

static void job_done(MediaQueue *q)
{
        q->current = media_job_free(q->current);
        count_changed(q);
        if (q->head)
                (void) sd_event_source_set_enabled(q->kick, SD_EVENT_ONESHOT);
}

/* What a medium gave (its assertions, or why it could not be read), waiting for its turn in the daemon's
 * writer queue: the import changes state, and so does the record of the medium's fate. */
typedef struct MediaImport {
        MediaQueue *queue;
        int error; /* < 0: the medium could not be read */
        char *data;
        size_t size;
        char *reason; /* why, with error */
} MediaImport;

static void media_import_run(int error, void *userdata)
{
        MediaImport *m = userdata;

        if (error < 0)
                job_finish(m->queue, m->queue->current, error, NULL, 0,
                           "cannot load the state to import into", false);
        else
                job_finish(m->queue, m->queue->current, m->error, m->data, m->size, m->reason, true);
        job_done(m->queue);
}

static void media_import_free(void *userdata)
{
        MediaImport *m = userdata;

        free(m->data);
        free(m->reason);
        free(m);
}

/* The read is over: the assertions, or the failure, go to the writer queue (a failure is answered at
 * once only when it cannot be queued). Takes data. */
static void job_read(MediaQueue *q, int error, char *data, size_t size, const char *reason)
{
        MediaImport *m = calloc(1, sizeof(MediaImport));
        int r = m ? 0 : -ENOMEM;

        if (m) {
                *m = (MediaImport){ .queue = q, .error = error, .data = data, .size = size };
                if (error < 0 && !(m->reason = strdup(reason ? reason : strerror(-error))))
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = daemon_write(q->daemon, media_import_run, media_import_free, m, false);
        else if (m)
                media_import_free(m);
        else
                free(data);
        if (r < 0) {
                _cleanup_free_ char *why =
                        strprintf("%s: cannot queue the import: %s", q->current->path, strerror(-r));
                job_finish(q, q->current, r, NULL, 0, why ? why : strerror(-r), false);
                job_done(q);
        }
}

static void on_read(MediaWorker *w, const char *devnode, int error, const char *data, size_t size,
                    const char *reason, void *userdata)
{
        MediaQueue *q = userdata;
        char *copy = NULL;

        /* The worker owns its buffer; the import runs later, so it gets a copy. */
        if (error >= 0 && !(copy = memdup_suffix0(data, size)))
                error = -ENOMEM;
        job_read(q, error, copy, size, reason);
        q->worker = media_worker_free(w);
}

static void job_start(MediaQueue *q, MediaJob *j)
{
        Daemon *d = q->daemon;
        _cleanup_free_ char *data = NULL, *reason = NULL;
        struct stat st;
        size_t size = 0;
        int r;

        q->current = j;
        if (stat(j->path, &st) >= 0 && S_ISBLK(st.st_mode)) {
                r = media_worker_start(d->event, j->path, on_read, q, &q->worker);
                if (r >= 0)
                        return; /* on_read() continues */
                reason = strprintf("%s: cannot start reading: %s", j->path, strerror(-r));
        } else
                r = media_read_auto_import(j->path, &data, &size, &reason);
        job_read(q, r, TAKE_PTR(data), size, reason);
}

static int on_kick(sd_event_source *s, void *userdata)
{
        MediaQueue *q = userdata;

        if (q->current || !q->head)
                return 0;
        MediaJob *j = q->head;
        q->head = j->next;
        if (!q->head)
                q->tail = NULL;
        q->n--;
        j->next = NULL;
        count_changed(q);
        job_start(q, j);
        return 0;
}

int media_queue_new(Daemon *d, MediaQueue **ret)
{
        MediaQueue *q = calloc(1, sizeof(MediaQueue));
        int r;

        if (!q)
                return -ENOMEM;
        q->daemon = d;
        r = sd_event_add_defer(d->event, &q->kick, on_kick, q);
        if (r >= 0)
                r = sd_event_source_set_enabled(q->kick, SD_EVENT_OFF);
        if (r < 0) {
                media_queue_free(q);
                return r;
        }
        *ret = q;
        return 0;
}

MediaQueue *media_queue_free(MediaQueue *q)
{
        if (!q)
                return NULL;
        q->udev = udev_monitor_free(q->udev);
        media_worker_free(q->worker);
        if (q->current && q->current->call)
                reply_failure(q->current->call, -ESHUTDOWN, "", "corehomed is stopping");
        media_job_free(q->current);
        while (q->head) {
                MediaJob *next = q->head->next;
                if (q->head->call)
                        reply_failure(q->head->call, -ESHUTDOWN, "", "corehomed is stopping");
                media_job_free(q->head);
                q->head = next;
        }
        sd_event_source_disable_unref(q->kick);
        free(q);
        return NULL;
}

int media_queue_push(MediaQueue *q, const char *path, bool from_udev, VarlinkCall *call)
{
        MediaJob *j;

        /* A flood of devices (a malicious USB hub) must not grow memory without bound. */
        if (q->n >= MEDIA_QUEUE_MAX)
                return -EBUSY;
        j = calloc(1, sizeof(MediaJob));
        if (!j || !(j->path = strdup(path))) {
                free(j);
                return -ENOMEM;
        }
        j->from_udev = from_udev;
        j->call = call;
        if (q->tail)
                q->tail->next = j;
        else
                q->head = j;
        q->tail = j;
        q->n++;
        count_changed(q);
        return sd_event_source_set_enabled(q->kick, SD_EVENT_ONESHOT);
}

static int on_media_added(UdevMonitor *m, const char *devnode, const char *fs_type, void *userdata)
{
        MediaQueue *q = userdata;
        int r;

        r = media_queue_push(q, devnode, true, NULL);
        if (r < 0) {
                LogDecision dec = { .priority = LOG_WARNING,
                                    .decision = "refused",
                                    .revision = -1,
                                    .reason = "too many media waiting",
                                    .device = devnode };
                daemon_log_decision(&q->daemon->log, &dec, "refused stick %s: too many media waiting (%d)",
                                    devnode, MEDIA_QUEUE_MAX);
        }
        return r;
}

int media_queue_watch_udev(MediaQueue *q, bool allow_any)
{
        return udev_monitor_new(q->daemon->event, allow_any, on_media_added, q, &q->udev);
}

bool media_queue_watches_udev(const MediaQueue *q)
{
        return q->udev;
}
