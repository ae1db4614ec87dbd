/* SPDX-License-Identifier: MIT */
#include "intent-journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file-util.h"
#include "user-name.h"
#include "user-record.h"

#define INTENT_SIZE_MAX (512 * 1024)

static const char *const operation_names[] = {
        [INTENT_CREATE] = "create",
        [INTENT_UPDATE] = "update",
        [INTENT_REMOVE] = "remove",
};

void intent_done(Intent *i)
{
        i->user_name = mfree(i->user_name);
        if (i->record)
                json_decref(i->record);
        i->record = NULL;
}

static int intent_path(const char *root, const char *user_name, char **ret)
{
        _cleanup_free_ char *dir = NULL;
        int r = path_join_root(root, INTENT_JOURNAL_DIR, &dir);

        if (r < 0)
                return r;
        return asprintf(ret, "%s/%s.intent", dir, user_name) < 0 ? -ENOMEM : 0;
}

static int intent_write(const char *root, IntentOperation operation, const char *user_name, json_t *record,
                        bool sync)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        json_t *o;
        int r;

        if (!user_name_is_valid(user_name))
                return -EINVAL;
        r = path_join_root(root, INTENT_JOURNAL_DIR, &dir);
        if (r < 0)
                return r;
        r = mkdir_parents_and_self(dir, 0700);
        if (r < 0)
                return r;
        r = intent_path(root, user_name, &path);
        if (r < 0)
                return r;
        o = json_pack("{s:s, s:s}", "operation", operation_names[operation], "userName", user_name);
        if (!o)
                return -ENOMEM;
        if (record && json_object_set(o, "record", record) < 0) {
                json_decref(o);
                return -ENOMEM;
        }
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        return (sync ? write_file_atomic : write_file_atomic_unsynced)(AT_FDCWD, path, text, strlen(text),
                                                                       0600, (uid_t) -1, (gid_t) -1);
}

int intent_begin(const char *root, IntentOperation operation, const char *user_name, json_t *record)
{
        return intent_write(root, operation, user_name, record, true);
}

static int journal_dir_open(const char *root)
{
        _cleanup_free_ char *dir = NULL;
        int fd, r = path_join_root(root, INTENT_JOURNAL_DIR, &dir);

        if (r < 0)
                return r;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int intent_begin_many(const char *root, IntentOperation operation, char *const *user_names, size_t n)
{
        _cleanup_close_ int dir_fd = -1;
        int r = 0;

        if (n == 0)
                return 0;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = intent_write(root, operation, user_names[i], NULL, false);
        if (r >= 0) {
                dir_fd = journal_dir_open(root);
                r = dir_fd;
        }
        /* All entries durable before any of their operations starts: one journal commit for the lot. */
        if (r >= 0 && syncfs(dir_fd) < 0)
                r = -errno;
        if (r < 0)
                (void) intent_end_many(root, user_names, n);
        return r < 0 ? r : 0;
}

static int intent_remove(const char *root, const char *user_name)
{
        _cleanup_free_ char *path = NULL;
        int r = intent_path(root, user_name, &path);

        if (r < 0)
                return r;
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int intent_end_many(const char *root, char *const *user_names, size_t n)
{
        _cleanup_close_ int dir_fd = -1;
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                int k = intent_remove(root, user_names[i]);
                if (k < 0 && r >= 0)
                        r = k;
        }
        /* The completion is durable only once the directory entries are gone on disk too. */
        dir_fd = journal_dir_open(root);
        if (dir_fd >= 0)
                (void) fsync(dir_fd);
        return r;
}

int intent_end(const char *root, const char *user_name)
{
        return intent_end_many(root, (char *const[]){ (char *) user_name }, 1);
}

static int intent_parse(const char *text, size_t size, Intent *ret)
{
        json_error_t e;
        json_t *o = json_loadb(text, size, JSON_REJECT_DUPLICATES, &e);
        const char *op = NULL, *user = NULL;
        json_t *record = NULL;
        int r = -EBADMSG;

        if (!o)
                return -EBADMSG;
        if (json_unpack(o, "{s:s, s:s, s?o}", "operation", &op, "userName", &user, "record", &record) < 0 ||
            !user_name_is_valid(user))
                goto finish;
        for (size_t i = 0; i < ELEMENTSOF(operation_names); i++)
                if (streq(op, operation_names[i])) {
                        *ret = (Intent){ .operation = (IntentOperation) i, .user_name = strdup(user) };
                        if (record)
                                ret->record = json_incref(record);
                        r = ret->user_name ? 0 : -ENOMEM;
                }
        if (r == 0 && ret->operation == INTENT_UPDATE && !ret->record) {
                intent_done(ret);
                r = -EBADMSG;
        }
finish:
        json_decref(o);
        return r;
}

void intent_list_free(Intent *l, size_t n)
{
        for (size_t i = 0; l && i < n; i++)
                intent_done(&l[i]);
        free(l);
}

static int compare_intents(const void *a, const void *b)
{
        return strcmp(((const Intent *) a)->user_name, ((const Intent *) b)->user_name);
}

int intent_list(const char *root, Intent **ret, size_t *ret_n)
{
        _cleanup_free_ char *dir = NULL;
        Intent *list = NULL;
        size_t n = 0;
        DIR *d;
        int r;

        r = path_join_root(root, INTENT_JOURNAL_DIR, &dir);
        if (r < 0)
                return r;
        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *data = NULL;
                size_t size, l = strlen(de->d_name);
                Intent intent;

                /* Temporary files of an interrupted journal write start with ".#": never complete. */
                if (de->d_name[0] == '.' || l < 8 || !streq(de->d_name + l - 7, ".intent"))
                        continue;
                r = read_file_bounded(dirfd(d), de->d_name, INTENT_SIZE_MAX, &data, &size);
                if (r >= 0)
                        r = intent_parse(data, size, &intent);
                if (r < 0)
                        break;
                Intent *grown = realloc(list, (n + 1) * sizeof(Intent));
                if (!grown) {
                        intent_done(&intent);
                        r = -ENOMEM;
                        break;
                }
                list = grown;
                list[n++] = intent;
        }
        closedir(d);
        if (r < 0) {
                intent_list_free(list, n);
                return r;
        }
        if (n > 1)
                qsort(list, n, sizeof(Intent), compare_intents);
        *ret = list;
        *ret_n = n;
        return 0;
}
