/* SPDX-License-Identifier: MIT */
#pragma once

/* The file system inside a LUKS home, made and checked with the distribution's tools as systemd-homed 252
 * does (mkfs.ext4 / mkfs.btrfs with homed's options, fsck -aTl before mounting). Internal to libhomes. */

#include <stdbool.h>

/* The tools run with this PATH only: a daemon's or a test's PATH must not choose which mkfs runs as root. */
#define HOME_TOOL_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

/* Makes a file system of fs_type (ext4 | btrfs) on node, with label and uuid. -EPROTONOSUPPORT for another
 * type, -ENOENT when the tool is not installed, -EIO when it fails. */
int home_mkfs(const char *node, const char *fs_type, const char *label, const char *uuid, bool discard);

/* fsck -aTl node: 0 clean or repaired (also when no fsck exists for the type, as homed), -EIO when errors
 * are left. */
int home_fsck(const char *node);

/* Mount options homed uses per type (ext4 "noquota,user_xattr", btrfs "noacl,compress=zstd:1") plus
 * discard or nodiscard. */
const char *home_mount_options(const char *fs_type, bool discard);

/* Runs argv[0] (searched in HOME_TOOL_PATH) with stdin/stdout/stderr on /dev/null and that PATH as its
 * only environment; returns its exit status (>= 0), 128+signal when killed, -ENOENT when not found. */
int home_run_tool(char *const argv[]);
