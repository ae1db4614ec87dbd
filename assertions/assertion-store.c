/* SPDX-License-Identifier: MIT */
#include "assertion-store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file-util.h"
#include "macros.h"

/* Escapes one primary-key value so that it is a safe, unique file name component. */
static int escape_key_value(FILE *f, const char *value)
{
        for (const char *p = value; *p; p++) {
                unsigned char c = (unsigned char) *p;
                bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                             c == '_' || c == '@' || c == '+' || c == '-' || (c == '.' && p != value);
                if (plain)
                        fputc(c, f);
                else
                        fprintf(f, "%%%02X", c);
        }
        return 0;
}

int assertion_store_relative_path(const Assertion *a, char **ret)
{
        const char *const *keys = assertion_type_primary_keys(a->type);
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!keys)
                return -EINVAL;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s/", a->type);
        for (size_t i = 0; keys[i]; i++) {
                const char *v = assertion_header_string(a, keys[i]);
                if (!v) {
                        fclose(f);
                        free(buf);
                        return -EINVAL;
                }
                if (i > 0)
                        fputc(',', f);
                escape_key_value(f, v);
        }
        fputs(".assert", f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

static int append_list(AssertionList *to, AssertionList *from)
{
        Assertion **n = realloc(to->items, (to->n + from->n) * sizeof(Assertion *));
        if (!n)
                return -ENOMEM;
        to->items = n;
        for (size_t i = 0; i < from->n; i++)
                to->items[to->n++] = TAKE_PTR(from->items[i]);
        from->n = 0;
        return 0;
}

static bool has_assert_suffix(const char *name)
{
        size_t l = strlen(name);
        return name[0] != '.' && l > 7 && streq(name + l - 7, ".assert");
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Sorted names of the entries of dir that match want_dir (subdirectories) or *.assert files. */
static int list_dir(const char *dir, bool want_dir, char ***ret, size_t *ret_n)
{
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        DIR *d = opendir(dir);

        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL; /* a directory that does not exist yet holds nothing */
                *ret_n = 0;
                return 0;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                if (want_dir ? de->d_type != DT_DIR
                             : (de->d_type != DT_REG || !has_assert_suffix(de->d_name)))
                        continue;
                char **grown = realloc(names, (n + 2) * sizeof(char *));
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

static int load_files(const char *dir, AssertionList *list, char **ret_error)
{
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dir_fd = -1;
        size_t n;
        int r;

        r = list_dir(dir, false, &names, &n);
        if (r < 0 || n == 0)
                return r;
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;

        for (size_t i = 0; i < n; i++) {
                _cleanup_assertion_list_ AssertionList *l = NULL;
                _cleanup_free_ char *data = NULL;
                AssertionError err = {};
                size_t size;

                r = read_file_bounded(dir_fd, names[i], ASSERTION_STREAM_BYTES_MAX, &data, &size);
                if (r >= 0)
                        r = assertion_stream_decode(data, size, &l, &err);
                if (r < 0) {
                        char reason[300];
                        if (ret_error &&
                            asprintf(ret_error, "%s/%s: %s", dir, names[i],
                                     err.message[0] ? assertion_error_format(&err, reason, sizeof(reason))
                                                    : strerror(-r)) < 0)
                                *ret_error = NULL;
                        return r;
                }
                r = append_list(list, l);
                if (r < 0)
                        return r;
        }
        return 0;
}

int assertion_store_load_dir(const char *dir, bool recurse_one_level, AssertionList **ret, char **ret_error)
{
        _cleanup_assertion_list_ AssertionList *list = calloc(1, sizeof(AssertionList));
        int r;

        if (!list)
                return -ENOMEM;

        r = load_files(dir, list, ret_error);
        if (r < 0)
                return r;

        if (recurse_one_level) {
                _cleanup_strv_free_ char **subdirs = NULL;
                size_t n;

                r = list_dir(dir, true, &subdirs, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *sub = NULL;
                        if (asprintf(&sub, "%s/%s", dir, subdirs[i]) < 0)
                                return -ENOMEM;
                        r = load_files(sub, list, ret_error);
                        if (r < 0)
                                return r;
                }
        }

        *ret = TAKE_PTR(list);
        return 0;
}

int assertion_store_save(const char *root, const Assertion *a)
{
        _cleanup_free_ char *store = NULL, *relative = NULL, *path = NULL, *data = NULL;
        size_t size;
        int r;

        r = path_join_root(root, ASSERTION_STORE_DIR, &store);
        if (r < 0)
                return r;
        r = assertion_store_relative_path(a, &relative);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/%s", store, relative) < 0)
                return -ENOMEM;
        *strrchr(path, '/') = '\0';
        r = mkdir_parents_and_self(path, 0700);
        if (r < 0)
                return r;
        path[strlen(path)] = '/';

        r = assertion_encode(a, &data, &size);
        if (r < 0)
                return r;
        return write_file_atomic(AT_FDCWD, path, data, size, 0600, (uid_t) -1, (gid_t) -1);
}

static int time_floor_path(const char *root, char **ret)
{
        return path_join_root(root, ASSERTION_STORE_DIR "/time-floor", ret);
}

int assertion_store_read_time_floor(const char *root, usec_t *ret)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t size;
        int r;

        r = time_floor_path(root, &path);
        if (r < 0)
                return r;
        r = read_file_bounded(AT_FDCWD, path, 64, &data, &size);
        if (r == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (r < 0)
                return r;
        data[strcspn(data, "\n")] = '\0';
        return time_parse_rfc3339(data, ret) < 0 ? -EBADMSG : 0;
}

int assertion_store_write_time_floor(const char *root, usec_t floor)
{
        _cleanup_free_ char *path = NULL, *dir = NULL;
        char text[RFC3339_MAX + 1];
        int r;

        r = time_floor_path(root, &path);
        if (r < 0)
                return r;
        r = path_join_root(root, ASSERTION_STORE_DIR, &dir);
        if (r < 0)
                return r;
        r = mkdir_parents_and_self(dir, 0700);
        if (r < 0)
                return r;
        r = time_format_rfc3339(floor, text);
        if (r < 0)
                return r;
        strcat(text, "\n");
        return write_file_atomic(AT_FDCWD, path, text, strlen(text), 0600, (uid_t) -1, (gid_t) -1);
}
