/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Opens path (relative to dir_fd, AT_FDCWD for the working directory) for reading, refusing anything but a
 * regular file: O_NOFOLLOW so a symlink in the last component is refused rather than followed (-ELOOP),
 * O_NONBLOCK so a FIFO cannot hang us, O_NOCTTY; then fstat() on the same descriptor (no TOCTOU window)
 * checks that it is a regular file (-EBADFD otherwise). *ret_stat (optional) gets that fstat(). */
int open_regular_file(int dir_fd, const char *path, int *ret_fd, struct stat *ret_stat);

/* Writes all of data to fd, retrying after EINTR and short writes. */
int write_all(int fd, const void *data, size_t size);

/* Reads a whole regular file that may come from a hostile medium. The file is opened relative to dir_fd
 * (AT_FDCWD for the working directory) with O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK, so a symlink in the last
 * component, a FIFO that would block or a device node is refused rather than followed or opened; its type
 * and size are checked with fstat() on the same descriptor (no TOCTOU window), and it is read exactly once.
 * Returns -ELOOP for a symlink, -EBADFD for anything but a regular file, -E2BIG above max_size.
 * *ret_data is NUL-terminated for convenience; *ret_size excludes the NUL. */
int read_file_bounded(int dir_fd, const char *path, size_t max_size, char **ret_data, size_t *ret_size);

/* Reads from an already open descriptor (a pipe, stdin) until EOF, refusing more than max_size bytes. */
int read_fd_bounded(int fd, size_t max_size, char **ret_data, size_t *ret_size);

/* Writes path atomically: a temporary file in the same directory is written, given mode/uid/gid, fsync'ed
 * and renamed over path, then the directory is fsync'ed. Readers see either the old or the new content,
 * never a partial file, even across a crash. uid/gid of (uid_t)-1 keep the caller's. */
int write_file_atomic(int dir_fd, const char *path, const void *data, size_t size, mode_t mode, uid_t uid,
                      gid_t gid);

/* As write_file_atomic() without either fsync(): the content and the rename are durable only after the
 * caller's later syncfs() (a batch made durable at once, see home_batch_begin()). Readers still see the old
 * or the new content, never a partial file; after a crash before that syncfs() either may be on disk. */
int write_file_atomic_unsynced(int dir_fd, const char *path, const void *data, size_t size, mode_t mode,
                               uid_t uid, gid_t gid);

/* Creates every missing directory of path (like mkdir -p) with mode. */
int mkdir_parents_and_self(const char *path, mode_t mode);

/* Joins root and an absolute path ("/etc/x") into a newly allocated string; root may be NULL or "/". */
int path_join_root(const char *root, const char *path, char **ret);
