/* SPDX-License-Identifier: MIT */
#pragma once

/* Watching for media: a libudev monitor on the "block" subsystem, driven by sd-event.
 * udev/99-corehomed.rules tags removable (USB, MMC) block devices that carry a file system with
 * UDEV_MEDIA_TAG; in the default mode only those are media. With allow_any (media.devices: any, for tests)
 * untagged block devices such as loop devices and their partitions are media too. Either way a device must
 * carry a file system (ID_FS_USAGE=filesystem) of a type media_filesystem_allowed() accepts (ID_FS_TYPE).
 *
 * Only `add` events count (plugging a stick); at start the devices already present are enumerated
 * (coldplug: sticks inserted at boot) and delivered through the same handler.
 *
 * One read per device node at a time: once the handler has accepted a device node (returned >= 0), further
 * events for it (duplicates, or a re-plug while the old read is still running) are ignored until the
 * caller calls udev_monitor_release() for it, when its read is over. */

#include <stdbool.h>

#include <systemd/sd-event.h>

#include "macros.h"

#define UDEV_MEDIA_TAG "corehomed-media"

typedef struct UdevMonitor UdevMonitor;

/* What the filter looks at, taken from the udev device (pure data, so the rules are unit-tested). */
typedef struct MediaDeviceInfo {
        const char *action;    /* "add", "remove", ...; NULL for coldplug enumeration (counts as add) */
        const char *subsystem; /* "block" */
        const char *devtype;   /* "disk" or "partition" */
        const char *devnode;   /* "/dev/sdb1" */
        const char *fs_usage;  /* ID_FS_USAGE */
        const char *fs_type;   /* ID_FS_TYPE */
        bool tagged;           /* carries UDEV_MEDIA_TAG */
} MediaDeviceInfo;

/* Whether info describes media we read. 0: yes; else the negative errno and *ret_reason (optional, a
 * static string) says why not: -EPERM not tagged (and allow_any off), -EMEDIUMTYPE no file system or
 * one we do not mount, -EINVAL not a block device / no device node, -EAGAIN not an add event. */
int media_device_accept(const MediaDeviceInfo *info, bool allow_any, const char **ret_reason);

/* A device node to read. Return >= 0 when the read was started or queued (the node then counts as busy
 * until udev_monitor_release()), < 0 to decline (the node stays free). devnode is valid only during
 * the call. */
typedef int (*MediaAddedHandler)(UdevMonitor *m, const char *devnode, const char *fs_type, void *userdata);

/* Starts monitoring on e and runs the coldplug enumeration (the handler may be called before this
 * returns, with *ret not yet set: use the UdevMonitor argument of the handler). */
int udev_monitor_new(sd_event *e, bool allow_any, MediaAddedHandler cb, void *userdata, UdevMonitor **ret);

/* The read of devnode is over: the next add event for it is delivered again. Returns 0, or -ENOENT when
 * devnode was not busy. */
int udev_monitor_release(UdevMonitor *m, const char *devnode);

/* Whether devnode is busy (a read was accepted and not yet released). */
bool udev_monitor_is_busy(const UdevMonitor *m, const char *devnode);

UdevMonitor *udev_monitor_free(UdevMonitor *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(UdevMonitor *, udev_monitor_free)
#define _cleanup_udev_monitor_ _cleanup_(udev_monitor_freep)
