/* SPDX-License-Identifier: MIT */
#include "deny-list.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "json-util.h"
#include "macros.h"
#include "string-util.h"
#include "user-name.h"

void deny_list_done(DenyList *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->entries[i].user_name);
        free(l->entries);
        *l = (DenyList){};
}

/* The index of user_name, or where it would go (*ret_found false). */
static size_t deny_list_position(const DenyList *l, const char *user_name, bool *ret_found)
{
        size_t lo = 0, hi = l->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(l->entries[mid].user_name, user_name);
                if (c == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}

const DenyEntry *deny_list_find(const DenyList *l, const char *user_name)
{
        bool found;
        size_t i;

        if (!user_name)
                return NULL;
        i = deny_list_position(l, user_name, &found);
        return found ? &l->entries[i] : NULL;
}

int deny_list_add(DenyList *l, const char *user_name, usec_t since)
{
        DenyEntry *entries;
        bool found;
        size_t i;

        if (!user_name_is_valid_syntax(user_name))
                return -EINVAL;
        i = deny_list_position(l, user_name, &found);
        if (found)
                return -EEXIST;
        if (l->n >= DENY_LIST_MAX)
                return -E2BIG;
        entries = reallocarray(l->entries, l->n + 1, sizeof(DenyEntry));
        if (!entries)
                return -ENOMEM;
        l->entries = entries;
        char *name = strdup(user_name);
        if (!name)
                return -ENOMEM;
        memmove(&l->entries[i + 1], &l->entries[i], (l->n - i) * sizeof(DenyEntry));
        l->entries[i] = (DenyEntry){ .user_name = name, .since = since };
        l->n++;
        return 0;
}

int deny_list_remove(DenyList *l, const char *user_name)
{
        bool found;
        size_t i = deny_list_position(l, user_name, &found);

        if (!found)
                return -ENOENT;
        free(l->entries[i].user_name);
        memmove(&l->entries[i], &l->entries[i + 1], (l->n - i - 1) * sizeof(DenyEntry));
        l->n--;
        return 0;
}

json_t *deny_list_to_json(const DenyList *l)
{
        _cleanup_json_ json_t *a = json_array();

        if (!a)
                return NULL;
        for (size_t i = 0; i < l->n; i++) {
                char since[RFC3339_MAX];
                if (time_format_rfc3339(l->entries[i].since, since) < 0)
                        return NULL;
                if (json_array_append_new(
                            a, json_pack("{s:s, s:s}", "user", l->entries[i].user_name, "since", since)) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

static int parse_entry(json_t *e, DenyList *l, char **ret_error)
{
        const char *user = json_string_value(json_object_get(e, "user"));
        const char *since = json_string_value(json_object_get(e, "since"));
        usec_t t;
        int r;

        if (!user || !since || time_parse_rfc3339(since, &t) < 0)
                return error_set(ret_error, -EBADMSG,
                                 "%s: an entry needs \"user\" and an RFC 3339 \"since\"", DENY_LIST_PATH);
        r = deny_list_add(l, user, t);
        if (r == -EINVAL)
                return error_set(ret_error, -EBADMSG, "%s: \"%s\" is not a valid user name", DENY_LIST_PATH,
                                 user);
        if (r == -EEXIST)
                return error_set(ret_error, -EBADMSG, "%s: \"%s\" is listed twice", DENY_LIST_PATH, user);
        if (r == -E2BIG)
                return error_set(ret_error, r, "%s: more than %d names", DENY_LIST_PATH, DENY_LIST_MAX);
        return r;
}

int deny_list_load(const char *root, DenyList *ret, char **ret_error)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_json_ json_t *o = NULL;
        _cleanup_(deny_list_done) DenyList l = {};
        json_t *array, *e;
        size_t size, i;
        int r;

        r = path_join_root(root, DENY_LIST_PATH, &path);
        if (r < 0)
                return r;
        r = read_file_bounded(AT_FDCWD, path, DENY_LIST_SIZE_MAX, &data, &size);
        if (r == -ENOENT) {
                *ret = (DenyList){};
                return 0;
        }
        if (r == -E2BIG)
                return error_set(ret_error, r, "%s: larger than %d bytes", path, DENY_LIST_SIZE_MAX);
        if (r < 0)
                return error_set(ret_error, r, "cannot read %s: %s", path, strerror(-r));
        o = json_loadb(data, size, JSON_REJECT_DUPLICATES, NULL);
        array = json_object_get(o, "denied");
        if (!json_is_array(array))
                return error_set(ret_error, -EBADMSG, "%s: not a deny list ({\"denied\": [...]})", path);
        json_array_foreach (array, i, e) {
                r = parse_entry(e, &l, ret_error);
                if (r < 0)
                        return r;
        }
        *ret = l;
        l = (DenyList){};
        return 0;
}

int deny_list_save(const char *root, const DenyList *l)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        _cleanup_json_ json_t *o = json_pack("{s:o}", "denied", deny_list_to_json(l));
        int r;

        if (!o)
                return -ENOMEM;
        r = path_join_root(root, DENY_LIST_DIR, &dir);
        if (r >= 0)
                r = mkdir_parents_and_self(dir, 0700);
        if (r >= 0)
                r = path_join_root(root, DENY_LIST_PATH, &path);
        if (r < 0)
                return r;
        text = json_dumps(o, JSON_INDENT(2));
        if (!text)
                return -ENOMEM;
        return write_file_atomic(AT_FDCWD, path, text, strlen(text), 0600, (uid_t) -1, (gid_t) -1);
}
