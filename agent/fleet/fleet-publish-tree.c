/* SPDX-License-Identifier: MIT */
/* Generations of the published tree, and the one rename() that swaps them. */
#include "fleet-publish-tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"
#include "fleet-publish.h"
#include "home-tree.h"
#include "macros.h"
#include "string-util.h"

/* The web server runs as another user than the publisher: everything it serves is readable by all, and
 * the directory around DIR is where access is restricted (docs/fleet.md). */
#define TREE_DIR_MODE  0755
#define TREE_FILE_MODE 0644

/* "N": a generation's directory name, decimal without leading zeros. 0 when name is not one. */
static uint64_t generation_of(const char *name)
{
        uint64_t n = 0;

        if (!name[0] || name[0] == '0' || strlen(name) > 19 || strspn(name, "0123456789") != strlen(name))
                return 0;
        for (const char *c = name; *c; c++)
                n = n * 10 + (uint64_t) (*c - '0');
        return n;
}

static int open_dir_at(int dir_fd, const char *name)
{
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* mkdir + open, with the mode set whatever the umask. */
static int make_dir_at(int dir_fd, const char *name)
{
        int fd;

        if (mkdirat(dir_fd, name, TREE_DIR_MODE) < 0)
                return -errno;
        fd = open_dir_at(dir_fd, name);
        if (fd < 0)
                return fd;
        if (fchmod(fd, TREE_DIR_MODE) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        return fd;
}

/* The generation DIR points to: its target must be exactly "NAME.generations/N". */
static int read_current(PublishTree *t, const char *name, char **ret_error)
{
        char target[PATH_MAX];
        struct stat st;
        ssize_t n;
        const char *rest;

        if (lstat(t->out, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return error_set(ret_error, -errno, "%s: %s", t->out, strerror(errno));
        }
        if (!S_ISLNK(st.st_mode))
                return error_set(ret_error, -ENOTDIR,
                                 "%s exists and is not a publish symlink (to %s%s/N): move it away or "
                                 "choose another --out",
                                 t->out, name, FLEET_PUBLISH_GENERATIONS_SUFFIX);
        n = readlink(t->out, target, sizeof(target) - 1);
        if (n < 0)
                return error_set(ret_error, -errno, "%s: %s", t->out, strerror(errno));
        target[n] = '\0';
        rest = startswith(target, name);
        rest = rest ? startswith(rest, FLEET_PUBLISH_GENERATIONS_SUFFIX "/") : NULL;
        t->current = rest ? generation_of(rest) : 0;
        if (t->current == 0)
                return error_set(ret_error, -ENOTDIR,
                                 "%s points to %s, not to a generation %s%s/N: move it away or choose "
                                 "another --out",
                                 t->out, target, name, FLEET_PUBLISH_GENERATIONS_SUFFIX);
        return 0;
}

/* Removes every generation (and its manifest) but keep and keep_too; with newer_only, only those newer than
 * keep (what a crashed publish left half built). */
static int remove_generations(PublishTree *t, uint64_t keep, uint64_t keep_too, bool newer_only)
{
        _cleanup_close_ int fd = fcntl(t->generations_fd, F_DUPFD_CLOEXEC, 3);
        DIR *d;
        int r = 0;

        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -1; /* the DIR owns it now */
        /* A duplicate shares the file offset with generations_fd: an earlier pass left it at the end. */
        rewinddir(d);
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                _cleanup_free_ char *copy = strdup(de->d_name), *path = NULL;
                char *suffix;
                uint64_t g;

                if (!copy) {
                        r = -ENOMEM;
                        break;
                }
                suffix = strstr(copy, FLEET_PUBLISH_MANIFEST_SUFFIX);
                if (suffix && streq(suffix, FLEET_PUBLISH_MANIFEST_SUFFIX))
                        *suffix = '\0';
                g = generation_of(copy);
                if (g == 0 || g == keep || g == keep_too || (newer_only && g < keep))
                        continue;
                path = strprintf("%s/%s", t->generations, de->d_name);
                if (!path) {
                        r = -ENOMEM;
                        break;
                }
                r = home_tree_remove(path);
        }
        closedir(d);
        return r;
}

static void tree_close_fds(PublishTree *t)
{
        t->current_fd = safe_close(t->current_fd);
        t->next_fd = safe_close(t->next_fd);
        t->current_devices_fd = safe_close(t->current_devices_fd);
        t->next_devices_fd = safe_close(t->next_devices_fd);
        t->current_prerequisites_fd = safe_close(t->current_prerequisites_fd);
        t->next_prerequisites_fd = safe_close(t->next_prerequisites_fd);
}

int publish_tree_open(PublishTree *t, const char *out, char **ret_error)
{
        _cleanup_free_ char *copy = NULL;
        char next_name[24];
        const char *name;
        int r;

        *t = (PublishTree){ .generations_fd = -1,
                            .lock_fd = -1,
                            .current_fd = -1,
                            .next_fd = -1,
                            .current_devices_fd = -1,
                            .next_devices_fd = -1,
                            .current_prerequisites_fd = -1,
                            .next_prerequisites_fd = -1,
                            .now = time(NULL) };
        copy = strdup(out);
        if (!copy)
                return -ENOMEM;
        while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
                copy[strlen(copy) - 1] = '\0';
        name = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
        if (!*name || streq(name, ".") || streq(name, ".."))
                return error_set(ret_error, -EINVAL, "%s: --out must name a directory entry to create", out);
        t->out = strdup(copy);
        t->generations = strprintf("%s%s", copy, FLEET_PUBLISH_GENERATIONS_SUFFIX);
        if (!t->out || !t->generations)
                return -ENOMEM;

        if (mkdir(t->generations, TREE_DIR_MODE) < 0 && errno != EEXIST)
                return error_set(ret_error, -errno, "%s: cannot create: %s", t->generations,
                                 strerror(errno));
        t->generations_fd = open(t->generations, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (t->generations_fd < 0)
                return error_set(ret_error, -errno, "%s: %s", t->generations, strerror(errno));

        /* Two publishers building generations at once would remove each other's work. */
        t->lock_fd = openat(t->generations_fd, FLEET_PUBLISH_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                            0600);
        if (t->lock_fd < 0)
                return error_set(ret_error, -errno, "%s/%s: %s", t->generations, FLEET_PUBLISH_LOCK,
                                 strerror(errno));
        if (flock(t->lock_fd, LOCK_EX | LOCK_NB) < 0)
                return error_set(ret_error, errno == EWOULDBLOCK ? -EBUSY : -errno,
                                 "%s: another publish is running (it holds %s/%s)", out, t->generations,
                                 FLEET_PUBLISH_LOCK);

        r = read_current(t, name, ret_error);
        if (r < 0)
                return r;
        r = remove_generations(t, t->current, t->current, true);
        if (r < 0)
                return error_set(ret_error, r, "%s: cannot remove old generations: %s", t->generations,
                                 strerror(-r));
        if (t->current > 0) {
                (void) snprintf(next_name, sizeof(next_name), "%" PRIu64, t->current);
                t->current_fd = open_dir_at(t->generations_fd, next_name);
                if (t->current_fd < 0)
                        return error_set(ret_error, t->current_fd, "%s/%s: %s", t->generations, next_name,
                                         strerror(-t->current_fd));
                /* A generation without devices or prerequisites is possible: nothing to link from. */
                t->current_devices_fd = open_dir_at(t->current_fd, "devices");
                t->current_prerequisites_fd = open_dir_at(t->current_fd, FLEET_PUBLISH_PREREQUISITES_DIR);
                if (t->current_devices_fd < 0)
                        t->current_devices_fd = -1;
                if (t->current_prerequisites_fd < 0)
                        t->current_prerequisites_fd = -1;
        }

        t->next = t->current + 1;
        (void) snprintf(next_name, sizeof(next_name), "%" PRIu64, t->next);
        t->link_target = strprintf("%s%s/%s", name, FLEET_PUBLISH_GENERATIONS_SUFFIX, next_name);
        if (!t->link_target)
                return -ENOMEM;
        t->next_fd = make_dir_at(t->generations_fd, next_name);
        if (t->next_fd < 0)
                return error_set(ret_error, t->next_fd, "%s/%s: cannot create: %s", t->generations,
                                 next_name, strerror(-t->next_fd));
        t->next_devices_fd = make_dir_at(t->next_fd, "devices");
        if (t->next_devices_fd < 0)
                return error_set(ret_error, t->next_devices_fd, "%s/%s/devices: cannot create: %s",
                                 t->generations, next_name, strerror(-t->next_devices_fd));
        t->next_prerequisites_fd = make_dir_at(t->next_fd, FLEET_PUBLISH_PREREQUISITES_DIR);
        if (t->next_prerequisites_fd < 0)
                return error_set(ret_error, t->next_prerequisites_fd, "%s/%s/%s: cannot create: %s",
                                 t->generations, next_name, FLEET_PUBLISH_PREREQUISITES_DIR,
                                 strerror(-t->next_prerequisites_fd));
        return 0;
}

/* Whether old_dir/name is a regular file holding exactly data; *ret_st gets its stat (st_mtime 0: none). */
static int same_file(PublishTree *t, int old_dir, const char *name, const void *data, size_t size,
                     struct stat *ret_st)
{
        _cleanup_close_ int fd = -1;
        size_t done = 0;

        *ret_st = (struct stat){};
        if (old_dir < 0)
                return 0;
        fd = openat(old_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        if (fstat(fd, ret_st) < 0)
                return -errno;
        if (!S_ISREG(ret_st->st_mode) || (uint64_t) ret_st->st_size != size)
                return 0;
        if (size > t->allocated) {
                char *b = realloc(t->buffer, size);
                if (!b)
                        return -ENOMEM;
                t->buffer = b;
                t->allocated = size;
        }
        while (done < size) {
                ssize_t n = pread(fd, t->buffer + done, size - done, (off_t) done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0; /* shrank meanwhile: not ours to trust, rewrite it */
                done += (size_t) n;
        }
        return memcmp(t->buffer, data, size) == 0;
}

/* new_dir/name := data: a link to old_dir/name when identical, else a new file whose mtime is later than
 * the old file's (the ETag of "mtime-size" servers must change although both may be of this second). */
static int put_file(PublishTree *t, int old_dir, int new_dir, const char *name, const void *data,
                    size_t size, bool *ret_written)
{
        _cleanup_close_ int fd = -1;
        struct stat old;
        int r;

        r = same_file(t, old_dir, name, data, size, &old);
        if (r < 0)
                return r;
        if (r > 0) {
                if (linkat(old_dir, name, new_dir, name, 0) < 0)
                        return -errno;
                *ret_written = false;
                return 0;
        }

        fd = openat(new_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, TREE_FILE_MODE);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, TREE_FILE_MODE) < 0)
                return -errno;
        r = write_all(fd, data, size);
        if (r < 0)
                return r;
        if (old.st_mtime != 0) {
                time_t mtime = t->now > old.st_mtime ? t->now : old.st_mtime + 1;
                struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = mtime } };
                if (futimens(fd, times) < 0)
                        return -errno;
        }
        *ret_written = true;
        return 0;
}

int publish_tree_put_prerequisite(PublishTree *t, const char *type, const char *id, const void *data,
                                  size_t size, bool *ret_written)
{
        _cleanup_close_ int old_fd = -1, new_fd = -1;

        if (t->current_prerequisites_fd >= 0) {
                old_fd = open_dir_at(t->current_prerequisites_fd, type);
                if (old_fd < 0)
                        old_fd = -1;
        }
        new_fd = open_dir_at(t->next_prerequisites_fd, type);
        if (new_fd == -ENOENT)
                new_fd = make_dir_at(t->next_prerequisites_fd, type);
        if (new_fd < 0)
                return new_fd;
        return put_file(t, old_fd, new_fd, id, data, size, ret_written);
}

static int link_prerequisites(PublishTree *t, int assertions_fd, const PublishPrerequisiteName *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int from = -1, to = -1;

                /* Prerequisites come grouped by type: one directory pair per group. */
                from = open_dir_at(t->next_prerequisites_fd, p[i].type);
                if (from < 0)
                        return from;
                to = open_dir_at(assertions_fd, p[i].type);
                if (to == -ENOENT)
                        to = make_dir_at(assertions_fd, p[i].type);
                if (to < 0)
                        return to;
                for (; i < n; i++) {
                        if (linkat(from, p[i].id, to, p[i].id, 0) < 0)
                                return -errno;
                        if (i + 1 < n && !streq(p[i + 1].type, p[i].type))
                                break;
                }
        }
        return 0;
}

int publish_tree_put_device(PublishTree *t, const char *serial, const void *feed, size_t size,
                            const PublishPrerequisiteName *prerequisites, size_t n_prerequisites,
                            bool *ret_written)
{
        _cleanup_close_ int device_fd = -1, assertions_fd = -1, old_fd = -1;
        _cleanup_free_ char *old_path = NULL;
        int r;

        device_fd = make_dir_at(t->next_devices_fd, serial);
        if (device_fd < 0)
                return device_fd;
        assertions_fd = make_dir_at(device_fd, "assertions");
        if (assertions_fd < 0)
                return assertions_fd;
        if (t->current_devices_fd >= 0) {
                old_path = strprintf("%s/assertions", serial);
                if (!old_path)
                        return -ENOMEM;
                old_fd = openat(t->current_devices_fd, old_path,
                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        r = put_file(t, old_fd, assertions_fd, FLEET_PUBLISH_FEED_FILE, feed, size, ret_written);
        if (r < 0)
                return r;
        return link_prerequisites(t, assertions_fd, prerequisites, n_prerequisites);
}

static char *manifest_name(uint64_t generation)
{
        return strprintf("%" PRIu64 "%s", generation, FLEET_PUBLISH_MANIFEST_SUFFIX);
}

int publish_tree_put_manifest(PublishTree *t, const void *data, size_t size)
{
        _cleanup_free_ char *name = manifest_name(t->next);

        if (!name)
                return -ENOMEM;
        return write_file_atomic(t->generations_fd, name, data, size, 0644, (uid_t) -1, (gid_t) -1);
}

int publish_tree_read_manifest(PublishTree *t, size_t max, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *name = NULL;

        if (t->current == 0)
                return -ENOENT;
        name = manifest_name(t->current);
        if (!name)
                return -ENOMEM;
        return read_file_bounded(t->generations_fd, name, max, ret, ret_size);
}

int publish_tree_commit(PublishTree *t, char **ret_error)
{
        _cleanup_free_ char *swap = NULL, *parent = NULL;
        _cleanup_close_ int parent_fd = -1;
        const char *slash;

        /* The links and files of the next generation must be on disk before anything points to them:
         * one syncfs() instead of an fsync() per file. */
        if (syncfs(t->next_fd) < 0)
                return error_set(ret_error, -errno, "%s: syncfs: %s", t->generations, strerror(errno));

        swap = strprintf("%s.swap", t->out);
        if (!swap)
                return -ENOMEM;
        (void) unlink(swap);
        if (symlink(t->link_target, swap) < 0)
                return error_set(ret_error, -errno, "%s: cannot create: %s", swap, strerror(errno));
        /* rename() replaces DIR in one step: a request resolves either the old or the new generation. */
        if (rename(swap, t->out) < 0) {
                int r = -errno;
                (void) unlink(swap);
                return error_set(ret_error, r, "%s: cannot replace: %s", t->out, strerror(-r));
        }
        t->committed = true;

        /* The previous generation stays until the next publish: requests that resolved DIR a moment ago
         * still read it, and it is the way back (ln -sfn). Older ones go. */
        (void) remove_generations(t, t->next, t->current, false);

        slash = strrchr(t->out, '/');
        parent = slash ? strndup(t->out, slash == t->out ? 1 : (size_t) (slash - t->out)) : strdup(".");
        if (!parent)
                return -ENOMEM;
        parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent_fd >= 0)
                (void) fsync(parent_fd);
        return 0;
}

void publish_tree_done(PublishTree *t)
{
        tree_close_fds(t);
        if (t->next > 0 && !t->committed && t->generations) {
                _cleanup_free_ char *path = strprintf("%s/%" PRIu64, t->generations, t->next),
                                    *manifest = strprintf("%s/%" PRIu64 "%s", t->generations, t->next,
                                                          FLEET_PUBLISH_MANIFEST_SUFFIX);
                if (path)
                        (void) home_tree_remove(path);
                if (manifest)
                        (void) unlink(manifest);
        }
        t->generations_fd = safe_close(t->generations_fd);
        t->lock_fd = safe_close(t->lock_fd); /* releases the lock */
        free(t->out);
        free(t->generations);
        free(t->link_target);
        free(t->buffer);
        *t = (PublishTree){ .generations_fd = -1,
                            .lock_fd = -1,
                            .current_fd = -1,
                            .next_fd = -1,
                            .current_devices_fd = -1,
                            .next_devices_fd = -1,
                            .current_prerequisites_fd = -1,
                            .next_prerequisites_fd = -1 };
}
