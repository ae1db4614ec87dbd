/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assertion-store-internal.h"
#include "crash-point.h"
#include "file-util.h"
#include "macros.h"
#include "string-util.h"

/* --- the old per-file layout --- */

static bool has_assert_suffix(const char *name)
{
        size_t l = strlen(name);
        return name[0] != '.' && l > 7 && streq(name + l - 7, ".assert");
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int store_list_names(int dir_fd, const char *path, bool want_dir, char ***ret, size_t *ret_n)
{
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        DIR *d;
        int fd;

        fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL; /* a directory that does not exist yet holds nothing */
                *ret_n = 0;
                return 0;
        }
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                if (want_dir ? de->d_type != DT_DIR
                             : (de->d_type != DT_REG || !has_assert_suffix(de->d_name)))
                        continue;
                char **grown = reallocarray(names, n + 2, sizeof(char *));
                if (!grown) {
                        closedir(d);
                        return -ENOMEM;
                }
                names = grown;
                names[n] = strdup(de->d_name);
                names[++n] = NULL;
                if (!names[n - 1]) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof(char *), compare_strings);
        *ret = TAKE_PTR(names);
        *ret_n = n;
        return 0;
}

int store_read_stream_file(int dir_fd, const char *path, size_t max, AssertionList **ret, char **ret_error,
                           const char *dir_for_messages)
{
        _cleanup_free_ char *data = NULL;
        AssertionError err = {};
        char reason[300];
        size_t size;
        int r;

        r = read_file_bounded(dir_fd, path, max, &data, &size);
        if (r == -ENOENT)
                return r;
        if (r >= 0)
                r = assertion_stream_decode(data, size, ret, &err);
        if (r < 0)
                return error_set(ret_error, r, "%s/%s: %s", dir_for_messages, path,
                                 err.message[0] ? assertion_error_format(&err, reason, sizeof(reason))
                                                : strerror(-r));
        return 0;
}

static int compare_legacy(const void *a, const void *b)
{
        return strcmp(((const LegacyEntry *) a)->key, ((const LegacyEntry *) b)->key);
}

static int legacy_add(AssertionStore *s, AssertionList *l, char **ret_error)
{
        LegacyEntry *grown = reallocarray(s->legacy, s->n_legacy + l->n + 1, sizeof(LegacyEntry));

        if (!grown)
                return -ENOMEM;
        s->legacy = grown;
        for (size_t i = 0; i < l->n; i++) {
                LegacyEntry *e = &s->legacy[s->n_legacy];
                int r = assertion_store_key(l->items[i], &e->key);
                if (r < 0)
                        return error_set(ret_error, -EBADMSG,
                                         "%s: a stored %s assertion without a primary key", s->dir,
                                         strempty(l->items[i]->type));
                e->assertion = TAKE_PTR(l->items[i]);
                s->n_legacy++;
        }
        l->n = 0;
        return 0;
}

/* Keeps one entry per key, the highest revision (the old layout had one file per key; this only guards
 * against a hand-made tree). */
static void legacy_sort(AssertionStore *s)
{
        size_t out = 0;

        if (s->n_legacy == 0)
                return;
        qsort(s->legacy, s->n_legacy, sizeof(LegacyEntry), compare_legacy);
        for (size_t i = 0; i < s->n_legacy; i++) {
                if (out > 0 && streq(s->legacy[out - 1].key, s->legacy[i].key)) {
                        LegacyEntry *kept = &s->legacy[out - 1];
                        if (s->legacy[i].assertion->revision > kept->assertion->revision) {
                                LegacyEntry t = *kept;
                                *kept = s->legacy[i];
                                s->legacy[i] = t;
                        }
                        free(s->legacy[i].key);
                        assertion_free(s->legacy[i].assertion);
                        continue;
                }
                s->legacy[out++] = s->legacy[i];
        }
        s->n_legacy = out;
}

void store_legacy_clear(AssertionStore *s)
{
        for (size_t i = 0; i < s->n_legacy; i++) {
                free(s->legacy[i].key);
                assertion_free(s->legacy[i].assertion);
        }
        s->legacy = mfree(s->legacy);
        s->n_legacy = 0;
        s->legacy_files = strv_free(s->legacy_files);
        s->legacy_floor = 0;
        s->legacy_floor_file = false;
}

int store_legacy_load(AssertionStore *s, char **ret_error)
{
        _cleanup_strv_free_ char **types = NULL;
        _cleanup_free_ char *floor_text = NULL;
        size_t n_types, n_files = 0, floor_size;
        int r;

        if (s->dir_fd < 0)
                return 0;
        r = store_list_names(s->dir_fd, ".", true, &types, &n_types);
        if (r < 0)
                return r;
        for (size_t t = 0; t < n_types; t++) {
                _cleanup_strv_free_ char **files = NULL;
                size_t n;

                r = store_list_names(s->dir_fd, types[t], false, &files, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++) {
                        _cleanup_assertion_list_ AssertionList *l = NULL;
                        _cleanup_free_ char *path = strprintf("%s/%s", types[t], files[i]);

                        if (!path)
                                return -ENOMEM;
                        r = store_read_stream_file(s->dir_fd, path, ENTRY_MAX, &l, ret_error, s->dir);
                        if (r == -ENOENT)
                                continue; /* migrated meanwhile: a pack holds it now */
                        if (r < 0)
                                return r;
                        r = legacy_add(s, l, ret_error);
                        if (r < 0)
                                return r;
                        char **grown = reallocarray(s->legacy_files, n_files + 2, sizeof(char *));
                        if (!grown)
                                return -ENOMEM;
                        s->legacy_files = grown;
                        s->legacy_files[n_files++] = TAKE_PTR(path);
                        s->legacy_files[n_files] = NULL;
                }
        }
        legacy_sort(s);

        r = read_file_bounded(s->dir_fd, LEGACY_TIME_FLOOR, 64, &floor_text, &floor_size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return error_set(ret_error, r, "%s/" LEGACY_TIME_FLOOR ": %s", s->dir, strerror(-r));
        floor_text[strcspn(floor_text, "\n")] = '\0';
        if (time_parse_rfc3339(floor_text, &s->legacy_floor) < 0)
                return error_set(ret_error, -EBADMSG, "%s/" LEGACY_TIME_FLOOR ": malformed", s->dir);
        s->legacy_floor_file = true;
        return 0;
}

bool store_legacy_present(const AssertionStore *s)
{
        return s->n_legacy > 0 || (s->legacy_files && s->legacy_files[0]) || s->legacy_floor_file;
}

const LegacyEntry *store_legacy_find(const AssertionStore *s, const char *key, size_t *ret_index)
{
        size_t lo = 0, hi = s->n_legacy;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(s->legacy[mid].key, key);
                if (c == 0) {
                        if (ret_index)
                                *ret_index = mid;
                        return &s->legacy[mid];
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

int store_legacy_migrate(AssertionStore *s)
{
        _cleanup_(store_item_buffer_done) ItemBuffer b = {};
        _cleanup_strv_free_ char **types = NULL;
        PackName name;
        size_t n_types;
        int r;

        for (size_t i = 0; i < s->n_legacy; i++) {
                bool in_pack = false;
                char *key;

                for (size_t k = 0; k < s->n_packs && !in_pack; k++) {
                        AssertionPackEntry e;
                        r = assertion_pack_index_find(s->packs[k].index, s->packs[k].header.index_size,
                                                      s->legacy[i].key, &e);
                        if (r < 0)
                                return r;
                        in_pack = r > 0;
                }
                if (in_pack)
                        continue;
                key = strdup(s->legacy[i].key);
                if (!key)
                        return -ENOMEM;
                r = store_item_buffer_add_assertion(&b, key, s->legacy[i].assertion);
                if (r < 0)
                        return r;
        }
        usec_t packs_floor = 0;
        for (size_t k = 0; k < s->n_packs; k++)
                if (s->packs[k].header.time_floor > packs_floor)
                        packs_floor = s->packs[k].header.time_floor;
        /* Also when only the old time floor is left to move: a pack of no assertions carries it. */
        if (b.n > 0 || s->legacy_floor > packs_floor) {
                uint64_t seq = assertion_store_sequence(s) + 1;
                usec_t floor = s->legacy_floor > packs_floor ? s->legacy_floor : packs_floor;
                r = store_pack_write(s, seq, seq, floor, b.items, b.n, "store-migrate", &name);
                if (r < 0)
                        return r;
                r = store_snapshot_add(s, &name);
                if (r < 0)
                        return r;
        }

        /* A pack holds every old file's assertions now: the files go, the time floor last. */
        for (size_t i = 0; s->legacy_files && s->legacy_files[i]; i++) {
                if (unlinkat(s->dir_fd, s->legacy_files[i], 0) < 0 && errno != ENOENT)
                        return -errno;
                crash_point("store-migrate:pruned-one");
        }
        r = store_list_names(s->dir_fd, ".", true, &types, &n_types);
        if (r < 0)
                return r;
        for (size_t t = 0; t < n_types; t++)
                (void) unlinkat(s->dir_fd, types[t], AT_REMOVEDIR); /* only when empty */
        if (s->legacy_floor_file && unlinkat(s->dir_fd, LEGACY_TIME_FLOOR, 0) < 0 && errno != ENOENT)
                return -errno;
        if (fsync(s->dir_fd) < 0)
                return -errno;
        store_legacy_clear(s);
        return 0;
}

/* --- directories of assertion files: the trusted roots --- */

int assertion_store_load_dir(const char *dir, AssertionList **ret, char **ret_error)
{
        _cleanup_assertion_list_ AssertionList *list = calloc(1, sizeof(AssertionList));
        _cleanup_strv_free_ char **names = NULL;
        size_t n;
        int r;

        if (!list)
                return -ENOMEM;
        r = store_list_names(AT_FDCWD, dir, false, &names, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_assertion_list_ AssertionList *l = NULL;
                _cleanup_free_ char *path = strprintf("%s/%s", dir, names[i]);
                Assertion **items;

                if (!path)
                        return -ENOMEM;
                r = store_read_stream_file(AT_FDCWD, path, ASSERTION_STREAM_BYTES_MAX, &l, ret_error, dir);
                if (r < 0)
                        return r;
                items = reallocarray(list->items, list->n + l->n + 1, sizeof(Assertion *));
                if (!items)
                        return -ENOMEM;
                list->items = items;
                for (size_t k = 0; k < l->n; k++)
                        list->items[list->n++] = TAKE_PTR(l->items[k]);
                l->n = 0;
        }
        *ret = TAKE_PTR(list);
        return 0;
}
