/* SPDX-License-Identifier: MIT */
#include "udev-monitor.h"

#include <errno.h>
#include <libudev.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"

/* Kernel socket buffer for udev events: a burst (a hub with several sticks, coldplug at boot) must not be
 * dropped while the loop is busy. */
#define UDEV_MONITOR_RCVBUF (4 * 1024 * 1024)

struct UdevMonitor {
        sd_event *event;
        bool allow_any;
        MediaAddedHandler cb;
        void *userdata;

        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *source;

        /* Device nodes accepted and not yet released. */
        char **busy;
        size_t n_busy;
};

static bool streq_ptr(const char *a, const char *b)
{
        return a && b && strcmp(a, b) == 0;
}

int media_device_accept(const MediaDeviceInfo *info, bool allow_any, const char **ret_reason)
{
        const char *why = NULL;
        int r = 0;

        if (info->action && !streq_ptr(info->action, "add")) {
                r = -EAGAIN;
                why = "not an add event";
        } else if (!streq_ptr(info->subsystem, "block") || !info->devnode || info->devnode[0] != '/') {
                r = -EINVAL;
                why = "not a block device with a device node";
        } else if (!streq_ptr(info->devtype, "disk") && !streq_ptr(info->devtype, "partition")) {
                r = -EINVAL;
                why = "neither a disk nor a partition";
        } else if (!info->tagged && !allow_any) {
                /* Without our rule's tag the device is not removable media (it may be the system's own
                 * disk): only tests may widen this, with media.devices: any. */
                r = -EPERM;
                why = "not tagged " UDEV_MEDIA_TAG " (not removable media)";
        } else if (!streq_ptr(info->fs_usage, "filesystem")) {
                r = -EMEDIUMTYPE;
                why = "carries no file system";
        } else if (!media_filesystem_allowed(info->fs_type)) {
                /* Every file system driver is attack surface for a crafted image: only a few common,
                 * well-fuzzed ones are ever mounted. */
                r = -EMEDIUMTYPE;
                why = "file system type is not one we mount";
        }

        if (r < 0 && ret_reason)
                *ret_reason = why;
        return r;
}

bool udev_monitor_is_busy(const UdevMonitor *m, const char *devnode)
{
        if (!m || !devnode)
                return false;
        for (size_t i = 0; i < m->n_busy; i++)
                if (strcmp(m->busy[i], devnode) == 0)
                        return true;
        return false;
}

static int busy_add(UdevMonitor *m, const char *devnode)
{
        char **n;
        char *copy;

        copy = strdup(devnode);
        if (!copy)
                return -ENOMEM;
        n = realloc(m->busy, (m->n_busy + 1) * sizeof(char *));
        if (!n) {
                free(copy);
                return -ENOMEM;
        }
        m->busy = n;
        m->busy[m->n_busy++] = copy;
        return 0;
}

int udev_monitor_release(UdevMonitor *m, const char *devnode)
{
        if (!m || !devnode)
                return -EINVAL;
        for (size_t i = 0; i < m->n_busy; i++) {
                if (strcmp(m->busy[i], devnode) != 0)
                        continue;
                free(m->busy[i]);
                m->busy[i] = m->busy[--m->n_busy];
                return 0;
        }
        return -ENOENT;
}

/* action NULL: found by the coldplug enumeration. */
static void monitor_offer(UdevMonitor *m, struct udev_device *d, const char *action)
{
        MediaDeviceInfo info = {
                .action = action,
                .subsystem = udev_device_get_subsystem(d),
                .devtype = udev_device_get_devtype(d),
                .devnode = udev_device_get_devnode(d),
                .fs_usage = udev_device_get_property_value(d, "ID_FS_USAGE"),
                .fs_type = udev_device_get_property_value(d, "ID_FS_TYPE"),
                .tagged = udev_device_has_tag(d, UDEV_MEDIA_TAG) > 0,
        };

        if (media_device_accept(&info, m->allow_any, NULL) < 0)
                return;
        /* One read per device node at a time: a duplicate event (change storms, the same device seen by
         * the enumeration and the monitor) must not mount the medium twice at once. */
        if (udev_monitor_is_busy(m, info.devnode))
                return;
        if (busy_add(m, info.devnode) < 0)
                return;
        if (m->cb(m, info.devnode, info.fs_type, m->userdata) < 0)
                (void) udev_monitor_release(m, info.devnode);
}

static int on_udev_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        UdevMonitor *m = userdata;

        /* Drain the socket: each wakeup may carry several events. */
        for (;;) {
                struct udev_device *d = udev_monitor_receive_device(m->monitor);
                if (!d)
                        break;
                monitor_offer(m, d, udev_device_get_action(d));
                udev_device_unref(d);
        }
        return 0;
}

static int monitor_coldplug(UdevMonitor *m)
{
        struct udev_enumerate *en;
        struct udev_list_entry *entry;
        int r;

        en = udev_enumerate_new(m->udev);
        if (!en)
                return -ENOMEM;
        r = udev_enumerate_add_match_subsystem(en, "block");
        if (r >= 0 && !m->allow_any)
                r = udev_enumerate_add_match_tag(en, UDEV_MEDIA_TAG);
        /* Devices udev has not processed yet carry no properties; their add event follows. */
        if (r >= 0)
                r = udev_enumerate_add_match_is_initialized(en);
        if (r >= 0)
                r = udev_enumerate_scan_devices(en);
        if (r < 0) {
                udev_enumerate_unref(en);
                return r;
        }

        udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(en))
        {
                struct udev_device *d =
                        udev_device_new_from_syspath(m->udev, udev_list_entry_get_name(entry));
                if (!d)
                        continue; /* gone meanwhile */
                monitor_offer(m, d, NULL);
                udev_device_unref(d);
        }
        udev_enumerate_unref(en);
        return 0;
}

UdevMonitor *udev_monitor_free(UdevMonitor *m)
{
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->source);
        udev_monitor_unref(m->monitor);
        udev_unref(m->udev);
        sd_event_unref(m->event);
        for (size_t i = 0; i < m->n_busy; i++)
                free(m->busy[i]);
        free(m->busy);
        return mfree(m);
}

int udev_monitor_new(sd_event *e, bool allow_any, MediaAddedHandler cb, void *userdata, UdevMonitor **ret)
{
        _cleanup_udev_monitor_ UdevMonitor *m = NULL;
        int r;

        if (!e || !cb || !ret)
                return -EINVAL;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->allow_any = allow_any;
        m->cb = cb;
        m->userdata = userdata;

        m->udev = udev_new();
        if (!m->udev)
                return errno > 0 ? -errno : -ENOMEM;
        /* "udev": events after udev's rules ran, so ID_FS_* and our tag are set. */
        m->monitor = udev_monitor_new_from_netlink(m->udev, "udev");
        if (!m->monitor)
                return errno > 0 ? -errno : -ENOMEM;
        r = udev_monitor_filter_add_match_subsystem_devtype(m->monitor, "block", NULL);
        if (r < 0)
                return r;
        (void) udev_monitor_set_receive_buffer_size(m->monitor, UDEV_MONITOR_RCVBUF);
        /* Listen before enumerating, so a stick plugged in between is not missed (at worst it is seen
         * twice, which the busy set and an idempotent import absorb). */
        r = udev_monitor_enable_receiving(m->monitor);
        if (r < 0)
                return r;
        r = sd_event_add_io(e, &m->source, udev_monitor_get_fd(m->monitor), EPOLLIN, on_udev_event, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(m->source, "udev-monitor");

        r = monitor_coldplug(m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}
