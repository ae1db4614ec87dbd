/* SPDX-License-Identifier: MIT */
/* The last medium imported here (last-media.h). */
#include "last-media.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "json-util.h"
#include "macros.h"
#include "report-json.h"

void last_media_done(LastMedia *m)
{
        free(m->device);
        free(m->error);
        provision_report_free(m->report);
        *m = (LastMedia){};
}

static json_t *record_json(usec_t time, const char *device, const char *error, const ProvisionReport *report)
{
        _cleanup_json_ json_t *o = NULL;
        char when[RFC3339_MAX];

        if (time == 0 || time_format_rfc3339(time, when) < 0)
                return json_null();
        o = json_pack("{s:s, s:s}", "time", when, "device", strempty(device));
        if (!o)
                return NULL;
        if (error && json_object_set_new(o, "error", json_string(error)) < 0)
                return NULL;
        if (report && json_object_set_new(o, "report", provision_report_to_json(report)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

json_t *last_media_to_json(const LastMedia *m)
{
        return record_json(m->time, m->device, m->error, m->report);
}

static int record_path(const char *root, char **ret)
{
        return path_join_root(root, LAST_MEDIA_DIR "/" LAST_MEDIA_FILE, ret);
}

int last_media_save(const char *root, usec_t time, const char *device, const char *error,
                    const ProvisionReport *report)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        _cleanup_json_ json_t *o = NULL;
        int r;

        if (time == 0 || !device || !error == !report)
                return -EINVAL;
        o = record_json(time, device, error, report);
        if (!o)
                return -ENOMEM;
        r = path_join_root(root, LAST_MEDIA_DIR, &dir);
        if (r >= 0)
                r = record_path(root, &path);
        if (r >= 0)
                r = mkdir_parents_and_self(dir, 0700);
        if (r < 0)
                return r;
        text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (!text)
                return -ENOMEM;
        return write_file_atomic(AT_FDCWD, path, text, strlen(text), 0600, (uid_t) -1, (gid_t) -1);
}

int last_media_load(const char *root, LastMedia *ret)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_json_ json_t *o = NULL;
        _cleanup_(last_media_done) LastMedia m = {};
        const char *when, *device, *error;
        json_t *report;
        size_t size;
        int r;

        r = record_path(root, &path);
        if (r < 0)
                return r;
        r = read_file_bounded(AT_FDCWD, path, LAST_MEDIA_SIZE_MAX, &data, &size);
        if (r == -ENOENT) {
                *ret = (LastMedia){};
                return 0;
        }
        if (r < 0)
                return r;
        o = json_loadb(data, size, JSON_REJECT_DUPLICATES, NULL);
        when = json_string_value(json_object_get(o, "time"));
        device = json_string_value(json_object_get(o, "device"));
        error = json_string_value(json_object_get(o, "error"));
        report = json_object_get(o, "report");
        /* Exactly one of error and report, as last_media_save() writes it. */
        if (!json_is_object(o) || !when || !device || !error == !report)
                return -EBADMSG;
        if (time_parse_rfc3339(when, &m.time) < 0 || m.time == 0)
                return -EBADMSG;
        m.device = strdup(device);
        if (!m.device || (error && !(m.error = strdup(error))))
                return -ENOMEM;
        if (report) {
                r = provision_report_from_json(report, PROVISION_REPORT_MEDIA, &m.report);
                if (r < 0)
                        return r;
        }
        *ret = m;
        m = (LastMedia){};
        return 0;
}
