/* SPDX-License-Identifier: MIT */
/* The outcome of the last fleet poll, kept across restarts: the ETag of the last committed feed (so an
 * unchanged feed costs one 304), when we polled, what happened, and how many polls failed in a row. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "fleet.h"
#include "json-util.h"
#include "macros.h"

/* The state file is ours, but small and bounded anyway: a corrupt file must not exhaust memory. */
#define FLEET_STATE_SIZE_MAX (16 * 1024)

void fleet_state_done(FleetState *s)
{
        free(s->url);
        free(s->etag);
        free(s->result);
        *s = (FleetState){};
}

static int state_path(const char *root, char **ret)
{
        return path_join_root(root, FLEET_STATE_DIR "/" FLEET_STATE_FILE, ret);
}

static char *member_dup(json_t *o, const char *key)
{
        const char *s = json_string_value(json_object_get(o, key));
        return s ? strdup(s) : NULL;
}

int fleet_state_load(const char *root, FleetState *ret)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_json_ json_t *o = NULL;
        size_t size;
        int r;

        r = state_path(root, &path);
        if (r < 0)
                return r;
        r = read_file_bounded(AT_FDCWD, path, FLEET_STATE_SIZE_MAX, &data, &size);
        if (r == -ENOENT) {
                *ret = (FleetState){};
                return 0;
        }
        if (r < 0)
                return r;
        o = json_loadb(data, size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(o))
                return -EBADMSG;

        const char *last = json_string_value(json_object_get(o, "last-poll"));
        FleetState s = {
                .url = member_dup(o, "url"),
                .etag = member_dup(o, "etag"),
                .result = member_dup(o, "result"),
                .ok = json_is_true(json_object_get(o, "ok")),
                .failures = (unsigned) json_integer_value(json_object_get(o, "failures")),
        };
        if (last && time_parse_rfc3339(last, &s.last_poll) < 0)
                s.last_poll = 0;
        /* A stored ETag goes back into a request header: the same rule as for a fresh one. */
        if (s.etag && (strlen(s.etag) > FLEET_ETAG_MAX || strpbrk(s.etag, "\r\n"))) {
                free(s.etag);
                s.etag = NULL;
        }
        *ret = s;
        return 0;
}

json_t *fleet_state_json(const FleetState *s)
{
        char when[RFC3339_MAX];

        if (s->last_poll == 0 || time_format_rfc3339(s->last_poll, when) < 0)
                return json_null();
        return json_pack("{s:s?, s:s?, s:s, s:b, s:s?, s:I}", "url", s->url, "etag", s->etag, "last-poll",
                         when, "ok", s->ok, "result", s->result, "failures", (json_int_t) s->failures);
}

int fleet_state_save(const char *root, const FleetState *s)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        _cleanup_json_ json_t *o = fleet_state_json(s);
        int r;

        if (!o || !json_is_object(o))
                return -EINVAL;
        r = path_join_root(root, FLEET_STATE_DIR, &dir);
        if (r < 0)
                return r;
        r = mkdir_parents_and_self(dir, 0700);
        if (r < 0)
                return r;
        r = state_path(root, &path);
        if (r < 0)
                return r;
        text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (!text)
                return -ENOMEM;
        return write_file_atomic(AT_FDCWD, path, text, strlen(text), 0600, (uid_t) -1, (gid_t) -1);
}
