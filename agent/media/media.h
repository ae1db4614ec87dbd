/* SPDX-License-Identifier: MIT */
#pragma once

/* Reading auto-import.assert from a medium a technician plugs in: a hostile medium. The file must be a
 * regular file (no symlink is followed, no FIFO or device is opened) of at most MEDIA_ASSERT_SIZE_MAX
 * bytes at the top of the medium, and it is read exactly once; the bytes, not the medium, go on.
 *
 * A block device is read by a worker child process in a private mount namespace: it mounts the device
 * read-only, nosuid, nodev, noexec (ext4, ext2, vfat, exfat or iso9660 only) on a private tmpfs, reads the
 * file, unmounts and exits. Nothing it mounts is ever visible outside the child, and every mount vanishes
 * with it whatever happens. A worker that takes longer than MEDIA_MOUNT_TIMEOUT (a dying or malicious
 * medium that hangs mount) is killed with SIGKILL. Errors (also passed to MediaReadHandler):
 *   -ENOENT no file, -ELOOP symlink, -EBADFD not a regular file, -E2BIG too large,
 *   -EMEDIUMTYPE no supported file system, -ETIMEDOUT hung, -ENOTBLK neither directory nor block device,
 *   -ENXIO the device vanished or holds no medium, -ECHILD the worker died without an answer,
 *   other negative errnos from the system (-EIO, ...). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "macros.h"
#include "time-util.h"

#define MEDIA_ASSERT_FILE     "auto-import.assert"
#define MEDIA_ASSERT_SIZE_MAX (1024 * 1024)
#define MEDIA_MOUNT_TIMEOUT   (10 * USEC_PER_SEC)

/* True when fstype (as udev's blkid builtin names it in ID_FS_TYPE) is one we mount. */
bool media_filesystem_allowed(const char *fstype);

/* Synchronous: PATH is a directory holding auto-import.assert, or a block device (read by a worker, see
 * above). *ret_data is NUL-terminated; *ret_error (optional) says what went wrong in words, "PATH: why". */
int media_read_auto_import(const char *path, char **ret_data, size_t *ret_size, char **ret_error);

typedef struct MediaWorker MediaWorker;

/* Called exactly once per worker, from the event loop, when the read is over.
 * error: 0 on success, else one of the negative errnos above; data/size: the file's bytes on success
 * (NUL-terminated, owned by the worker and valid only during the call: copy what you keep), NULL/0 on
 * failure; reason: NULL on success, else "DEVNODE: why" in words. The handler may call
 * media_worker_free() on this worker (it is the last thing the worker does with itself). */
typedef void (*MediaReadHandler)(MediaWorker *w, const char *devnode, int error, const char *data,
                                 size_t size, const char *reason, void *userdata);

/* Asynchronous: forks the worker for block device devnode and watches it from e (an io source on its pipe,
 * an io source on its pidfd, and a CLOCK_MONOTONIC timer for the MEDIA_MOUNT_TIMEOUT budget). Does not
 * block and needs no SIGCHLD setup. Returns -ENOTBLK when devnode is not a block device. */
int media_worker_start(sd_event *e, const char *devnode, MediaReadHandler cb, void *userdata,
                       MediaWorker **ret);

/* Stops watching; a child still running is killed (SIGKILL) and reaped in the background by e, so a
 * worker stuck in the kernel never blocks the caller. The handler is not called after this. */
MediaWorker *media_worker_free(MediaWorker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(MediaWorker *, media_worker_free)
#define _cleanup_media_worker_ _cleanup_(media_worker_freep)

const char *media_worker_devnode(const MediaWorker *w);
/* The worker child's pid (for logs and tests); it is gone once the handler ran. */
pid_t media_worker_pid(const MediaWorker *w);
