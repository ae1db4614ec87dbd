/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Nesting beyond this in a skeleton is refused (-ELOOP) rather than recursed into: it bounds our stack and
 * descriptor use, and no sane skeleton comes close. Removal descends at most this deep too, but handles
 * any depth (see home_tree_remove()). */
#define HOME_TREE_DEPTH_MAX 64U

/* Copies the contents of the directory src_fd into the directory dst_fd: directories and regular files
 * keep their permission bits (set-user-ID and set-group-ID bits are dropped: a skeleton must not become a
 * way to plant privileged executables), symlinks are copied as symlinks and never followed, anything else
 * (devices, FIFOs, sockets) is skipped. Everything created is owned by uid:gid. Entries already present in
 * dst_fd are refused (-EEXIST): the destination is a fresh directory. -ELOOP beyond HOME_TREE_DEPTH_MAX.
 * sync: each file and directory made is fsync'ed; without, the caller makes the whole tree durable later
 * (one syncfs() for a batch of homes). */
int home_tree_copy(int src_fd, int dst_fd, uid_t uid, gid_t gid, bool sync);

/* Removes path and everything below it without following symlinks and without crossing into other file
 * systems or mounts below it (-EXDEV: something is still mounted inside, removing through it would delete
 * data that is not ours). Any depth: subtrees deeper than HOME_TREE_DEPTH_MAX are moved up to the top of
 * path and removed in a further pass, so a user cannot make their home unremovable by nesting. -ENOTEMPTY
 * when something keeps writing into the tree meanwhile. A missing path is not an error. */
int home_tree_remove(const char *path);
