/* SPDX-License-Identifier: MIT */
#pragma once

/* Reading auto-import.assert from a medium a technician plugs in: a hostile medium. The file must be a
 * regular file (no symlink is followed, no FIFO or device is opened) of at most MEDIA_ASSERT_SIZE_MAX
 * bytes at the top of the medium, and it is read exactly once; the bytes, not the medium, go on. */

#include <stddef.h>

#include "time-util.h"

#define MEDIA_ASSERT_FILE     "auto-import.assert"
#define MEDIA_ASSERT_SIZE_MAX (1024 * 1024)
#define MEDIA_MOUNT_TIMEOUT   (10 * USEC_PER_SEC)

/* PATH is a directory holding auto-import.assert, or a block device: then a child process in a private
 * mount namespace mounts it read-only, nosuid, nodev, noexec (ext4, ext2, vfat, exfat or iso9660 only),
 * reads the file and unmounts; a child that hangs longer than MEDIA_MOUNT_TIMEOUT is killed.
 * -ENOENT no file, -ELOOP symlink, -EBADFD not a regular file, -E2BIG too large, -EMEDIUMTYPE no
 * supported file system, -ETIMEDOUT hung. *ret_error says it in words. */
int media_read_auto_import(const char *path, char **ret_data, size_t *ret_size, char **ret_error);
