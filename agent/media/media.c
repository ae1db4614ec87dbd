/* SPDX-License-Identifier: MIT */
#include "media.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"
#include "string-util.h"
#include "worker-process.h"

/* Where the worker mounts things, inside its own mount namespace only: a fresh tmpfs over /tmp (so no
 * directory is ever left behind on the real /tmp, even when the worker is killed) and the medium below it.
 */
#define WORKER_TMPFS_DIR   "/tmp"
#define WORKER_TMPFS_NAME  "corehomed-media"
#define WORKER_MEDIUM_DIR  WORKER_TMPFS_DIR "/medium"
#define WORKER_MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME)

/* The worker's answer on its pipe: int32 errno-style result, uint32 size, then size bytes. */
typedef struct MediaReply {
        unsigned char header[sizeof(int32_t) + sizeof(uint32_t)];
        size_t header_got;
        int32_t result;
        uint32_t size;
        char *data; /* size + 1 bytes once the header is complete */
        size_t data_got;
        bool complete;
        int error; /* the pipe failed or the worker broke the protocol */
} MediaReply;

struct MediaWorker {
        sd_event *event;
        char *devnode;
        MediaReadHandler cb;
        void *userdata;

        WorkerProcess process;
        bool done;

        MediaReply reply;
};

/* Both the child's mount(2) type and udev's ID_FS_TYPE use these names. */
static const char *const media_filesystems[] = { "ext4", "ext2", "vfat", "exfat", "iso9660" };

bool media_filesystem_allowed(const char *fstype)
{
        if (!fstype)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(media_filesystems); i++)
                if (strcmp(fstype, media_filesystems[i]) == 0)
                        return true;
        return false;
}

static const char *media_error_to_string(int r)
{
        switch (r) {
        case -ENOENT:
                return "no " MEDIA_ASSERT_FILE " at the top of the medium";
        case -ELOOP:
                return MEDIA_ASSERT_FILE " is a symbolic link; refusing to follow it";
        case -EBADFD:
                return MEDIA_ASSERT_FILE " is not a regular file";
        case -E2BIG:
                return MEDIA_ASSERT_FILE " is larger than 1 MiB";
        case -EMEDIUMTYPE:
                return "no supported file system (ext4, ext2, vfat, exfat, iso9660) on the medium";
        case -ETIMEDOUT:
                return "mounting or reading the medium took too long; the worker was killed";
        case -ENOTBLK:
                return "neither a directory nor a block device";
        case -ECHILD:
                return "the worker died without an answer";
        case -ENXIO:
                return "the device vanished or holds no medium";
        default:
                return strerror(-r);
        }
}

static int describe(char **ret_error, int r, const char *path)
{
        if (ret_error)
                *ret_error = strprintf("%s: %s", path, media_error_to_string(r));
        return r;
}

static int read_from_directory(const char *dir, char **ret_data, size_t *ret_size)
{
        _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dir_fd < 0)
                return -errno;
        return read_file_bounded(dir_fd, MEDIA_ASSERT_FILE, MEDIA_ASSERT_SIZE_MAX, ret_data, ret_size);
}

#define MEDIA_NODE_WAIT_TRIES 10
#define MEDIA_NODE_WAIT_STEP  (50 * 1000) /* microseconds */

/* Errors of mount(2) that say the device itself is unusable (gone, no medium, unreadable): trying the
 * next file system type would only repeat them, and the caller deserves the real reason. */
static bool mount_error_is_final(int err)
{
        return err == ENOENT || err == ENXIO || err == ENOMEDIUM || err == EACCES || err == EPERM ||
               err == ENOTBLK || err == EIO;
}

static int mount_medium(const char *device, const char *dir)
{
        for (size_t i = 0; i < ELEMENTSOF(media_filesystems); i++) {
                const char *fs = media_filesystems[i];
                /* A read-only ext4 mount still replays a dirty journal, i.e. writes to the medium;
                 * "noload" skips that, so the stick is never written and a crafted journal never runs. */
                const char *options = strcmp(fs, "ext4") == 0 ? "noload" : NULL;

                if (mount(device, dir, fs, WORKER_MOUNT_FLAGS, options) >= 0)
                        return 0;
                /* A device node that is gone must not read as "no auto-import.assert". */
                if (errno == ENOENT || errno == ENOMEDIUM)
                        return -ENXIO;
                if (mount_error_is_final(errno))
                        return -errno;
        }
        return -EMEDIUMTYPE;
}

/* Runs in the worker child. Everything it mounts lives in its private mount namespace, so nothing is
 * visible to the system and every mount vanishes with the process, however it ends. */
static int worker_read_device(const char *device, char **ret_data, size_t *ret_size)
{
        int r;

        if (unshare(CLONE_NEWNS) < 0)
                return -errno;
        /* Without this, our mounts would propagate back into the host's shared mount tree. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        if (mount(WORKER_TMPFS_NAME, WORKER_TMPFS_DIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=0700,size=64k") < 0)
                return -errno;
        if (mkdir(WORKER_MEDIUM_DIR, 0700) < 0)
                return -errno;
        r = mount_medium(device, WORKER_MEDIUM_DIR);
        if (r < 0)
                return r;
        r = read_from_directory(WORKER_MEDIUM_DIR, ret_data, ret_size);
        (void) umount2(WORKER_MEDIUM_DIR, MNT_DETACH);
        return r;
}

static int worker_child(int out_fd, void *userdata)
{
        const char *device = userdata;
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int32_t r;

        r = worker_read_device(device, &data, &size);

        uint32_t n = r < 0 ? 0 : (uint32_t) size;
        if (write_all(out_fd, &r, sizeof(r)) < 0 || write_all(out_fd, &n, sizeof(n)) < 0 ||
            (n > 0 && write_all(out_fd, data, n) < 0))
                return EXIT_FAILURE;
        return EXIT_SUCCESS;
}

/* Reads whatever the pipe holds now. Returns 1 at EOF or on error (nothing more will come), else 0. */
static int reply_feed(MediaReply *reply, int fd)
{
        char spare;

        for (;;) {
                void *buf;
                size_t want;

                if (reply->header_got < sizeof(reply->header)) {
                        buf = reply->header + reply->header_got;
                        want = sizeof(reply->header) - reply->header_got;
                } else if (!reply->complete) {
                        buf = reply->data + reply->data_got;
                        want = reply->size - reply->data_got;
                } else {
                        /* Anything after a complete answer is a protocol violation: read one byte to
                         * see EOF or it. */
                        buf = &spare;
                        want = 1;
                }

                ssize_t k = read(fd, buf, want);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        reply->error = -errno;
                        return 1;
                }
                if (k == 0)
                        return 1;
                if (reply->complete) {
                        reply->error = -EBADMSG;
                        reply->complete = false;
                        return 1;
                }

                if (reply->header_got < sizeof(reply->header)) {
                        reply->header_got += (size_t) k;
                        if (reply->header_got < sizeof(reply->header))
                                continue;
                        memcpy(&reply->result, reply->header, sizeof(reply->result));
                        memcpy(&reply->size, reply->header + sizeof(reply->result), sizeof(reply->size));
                        /* The worker reads a hostile medium; its answer is bounded like the file. */
                        if (reply->result > 0 || reply->size > MEDIA_ASSERT_SIZE_MAX ||
                            (reply->result < 0 && reply->size > 0)) {
                                reply->error = -EBADMSG;
                                return 1;
                        }
                        reply->data = malloc((size_t) reply->size + 1);
                        if (!reply->data) {
                                reply->error = -ENOMEM;
                                return 1;
                        }
                } else
                        reply->data_got += (size_t) k;

                if (reply->data_got == reply->size) {
                        reply->data[reply->size] = '\0';
                        reply->complete = true;
                }
        }
}

static void worker_finish(MediaWorker *w, int r)
{
        _cleanup_free_ char *reason = NULL;

        w->done = true;
        worker_process_answered(&w->process);

        if (r < 0)
                (void) describe(&reason, r, w->devnode);
        /* Last: the handler may free w. */
        w->cb(w, w->devnode, r, r < 0 ? NULL : w->reply.data, r < 0 ? 0 : w->reply.size,
              r < 0 ? (reason ? reason : "out of memory") : NULL, w->userdata);
}

static int on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        MediaWorker *w = userdata;

        if (reply_feed(&w->reply, fd) > 0)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        MediaWorker *w = userdata;

        if (!worker_process_try_reap(&w->process))
                return 0;
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (w->done)
                return 0;

        /* The child is gone, so all it wrote sits in the pipe. */
        if (sd_event_source_get_enabled(w->process.pipe_source, NULL) > 0)
                (void) reply_feed(&w->reply, w->process.pipe_fd);
        if (w->reply.complete)
                worker_finish(w, w->reply.result);
        else
                worker_finish(w,
                              w->reply.error < 0 && w->reply.error != -EBADMSG ? w->reply.error : -ECHILD);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        MediaWorker *w = userdata;

        /* A medium that hangs mount or read (failing hardware, a crafted image) must not hold the
         * queue: kill the worker and report now; the pidfd source reaps it once the kernel lets go. */
        (void) kill(w->process.pid, SIGKILL);
        worker_finish(w, -ETIMEDOUT);
        return 0;
}

MediaWorker *media_worker_free(MediaWorker *w)
{
        if (!w)
                return NULL;

        worker_process_done(&w->process, w->event, "media-worker-orphan");

        free(w->reply.data);
        free(w->devnode);
        sd_event_unref(w->event);
        return mfree(w);
}

const char *media_worker_devnode(const MediaWorker *w)
{
        return w ? w->devnode : NULL;
}

pid_t media_worker_pid(const MediaWorker *w)
{
        return w ? w->process.pid : 0;
}

int media_worker_start(sd_event *e, const char *devnode, MediaReadHandler cb, void *userdata,
                       MediaWorker **ret)
{
        _cleanup_media_worker_ MediaWorker *w = NULL;
        struct stat st;
        int r;

        if (!e || !devnode || !cb || !ret)
                return -EINVAL;
        /* A partition that was just re-read (partx, a stick's table rescanned) can be announced while its
         * node is briefly gone: give it a moment before calling the device absent. */
        for (unsigned attempt = 0; stat(devnode, &st) < 0; attempt++) {
                if (errno != ENOENT || attempt >= MEDIA_NODE_WAIT_TRIES)
                        return -errno;
                (void) usleep(MEDIA_NODE_WAIT_STEP);
        }
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->process = WORKER_PROCESS_INIT;
        w->event = sd_event_ref(e);
        w->cb = cb;
        w->userdata = userdata;
        w->devnode = strdup(devnode);
        if (!w->devnode)
                return -ENOMEM;

        r = worker_process_fork(&w->process, worker_child, w->devnode);
        if (r < 0)
                return r;
        r = worker_process_watch(&w->process, e,
                                 &(const WorkerWatch){ .name = "media-worker",
                                                       .on_pipe = on_pipe,
                                                       .on_exit = on_child_exit,
                                                       .on_timeout = on_timeout,
                                                       .timeout = MEDIA_MOUNT_TIMEOUT,
                                                       .accuracy = USEC_PER_SEC / 10 },
                                 w);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(w);
        return 0;
}

/* The synchronous path runs the same worker on a private event loop. */
typedef struct SyncRead {
        int result;
        char *data;
        size_t size;
        char *reason;
} SyncRead;

static void on_sync_read(MediaWorker *w, const char *devnode, int error, const char *data, size_t size,
                         const char *reason, void *userdata)
{
        SyncRead *s = userdata;

        s->result = error;
        if (error < 0)
                s->reason = reason ? strdup(reason) : NULL;
        else {
                s->data = malloc(size + 1);
                if (s->data) {
                        memcpy(s->data, data, size + 1);
                        s->size = size;
                } else
                        s->result = -ENOMEM;
        }
        (void) sd_event_exit(w->event, 0);
}

static int read_from_device(const char *device, char **ret_data, size_t *ret_size, char **ret_error)
{
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_media_worker_ MediaWorker *w = NULL;
        SyncRead s = { .result = -ECHILD };
        int r;

        r = sd_event_new(&e);
        if (r < 0)
                return describe(ret_error, r, device);
        r = media_worker_start(e, device, on_sync_read, &s, &w);
        if (r < 0)
                return describe(ret_error, r, device);
        r = sd_event_loop(e);
        if (r < 0) {
                s.result = r;
                free(s.reason);
                s.reason = NULL;
        }
        if (s.result < 0) {
                free(s.data);
                if (ret_error && s.reason)
                        *ret_error = s.reason;
                else {
                        free(s.reason);
                        (void) describe(ret_error, s.result, device);
                }
                return s.result;
        }
        *ret_data = s.data;
        *ret_size = s.size;
        return 0;
}

int media_read_auto_import(const char *path, char **ret_data, size_t *ret_size, char **ret_error)
{
        struct stat st;
        int r;

        if (stat(path, &st) < 0)
                return describe(ret_error, -errno, path);
        if (S_ISBLK(st.st_mode))
                return read_from_device(path, ret_data, ret_size, ret_error);
        if (!S_ISDIR(st.st_mode))
                return describe(ret_error, -ENOTBLK, path);
        r = read_from_directory(path, ret_data, ret_size);
        return r < 0 ? describe(ret_error, r, path) : 0;
}
