/* SPDX-License-Identifier: MIT */
/* Which block devices the udev monitor treats as media: the file system allow-list and the event filter
 * (tag, allow_any, add events only, file system usage and type). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "media.h"
#include "udev-monitor.h"

static MediaDeviceInfo usb_stick(void)
{
        return (MediaDeviceInfo){
                .action = "add",
                .subsystem = "block",
                .devtype = "partition",
                .devnode = "/dev/sdb1",
                .fs_usage = "filesystem",
                .fs_type = "vfat",
                .tagged = true,
        };
}

static void test_filesystem_allow_list_is_exact(void **state)
{
        const char *allowed[] = { "ext4", "ext2", "vfat", "exfat", "iso9660" };
        const char *refused[] = { "ext3",  "btrfs",       "xfs",  "ntfs", "squashfs", "hfsplus", "udf",
                                  "erofs", "crypto_LUKS", "swap", "",     "EXT4",     "ext4 ",   "ext" };

        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                assert_true(media_filesystem_allowed(allowed[i]));
        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                assert_false(media_filesystem_allowed(refused[i]));
        assert_false(media_filesystem_allowed(NULL));
}

static void test_tagged_usb_partition_with_vfat_is_accepted(void **state)
{
        MediaDeviceInfo info = usb_stick();
        const char *why = "unchanged";

        assert_int_equal(media_device_accept(&info, false, &why), 0);
        assert_string_equal(why, "unchanged"); /* set only on refusal */
        info.devtype = "disk";                 /* a stick without partition table */
        assert_int_equal(media_device_accept(&info, false, NULL), 0);
}

static void test_coldplug_counts_as_add(void **state)
{
        MediaDeviceInfo info = usb_stick();

        info.action = NULL;
        assert_int_equal(media_device_accept(&info, false, NULL), 0);
}

static void test_only_add_events_count(void **state)
{
        const char *actions[] = { "change", "remove", "move", "bind", "online", "" };
        MediaDeviceInfo info = usb_stick();
        const char *why = NULL;

        for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
                info.action = actions[i];
                assert_int_equal(media_device_accept(&info, true, &why), -EAGAIN);
                assert_string_equal(why, "not an add event");
        }
}

static void test_untagged_device_is_refused_unless_any(void **state)
{
        MediaDeviceInfo info = usb_stick();
        const char *why = NULL;

        info.tagged = false;
        info.devnode = "/dev/loop3p1";
        info.fs_type = "ext4";
        assert_int_equal(media_device_accept(&info, false, &why), -EPERM);
        assert_non_null(strstr(why, "not tagged corehomed-media"));
        assert_int_equal(media_device_accept(&info, true, NULL), 0);
}

static void test_device_without_file_system_is_refused(void **state)
{
        const char *usages[] = { "raid", "crypto", "other", "" };
        MediaDeviceInfo info = usb_stick();
        const char *why = NULL;

        for (size_t i = 0; i < ELEMENTSOF(usages); i++) {
                info.fs_usage = usages[i];
                assert_int_equal(media_device_accept(&info, true, &why), -EMEDIUMTYPE);
                assert_string_equal(why, "carries no file system");
        }
        info.fs_usage = NULL; /* blkid found nothing: a partition table disk, an empty stick */
        info.fs_type = NULL;
        assert_int_equal(media_device_accept(&info, true, NULL), -EMEDIUMTYPE);
}

static void test_unlisted_file_system_is_refused_even_when_tagged(void **state)
{
        MediaDeviceInfo info = usb_stick();
        const char *why = NULL;

        info.fs_type = "ntfs";
        assert_int_equal(media_device_accept(&info, true, &why), -EMEDIUMTYPE);
        assert_string_equal(why, "file system type is not one we mount");
        info.fs_type = NULL;
        assert_int_equal(media_device_accept(&info, true, NULL), -EMEDIUMTYPE);
}

static void test_non_block_or_nodeless_devices_are_refused(void **state)
{
        MediaDeviceInfo info = usb_stick();

        info.subsystem = "usb";
        assert_int_equal(media_device_accept(&info, true, NULL), -EINVAL);
        info = usb_stick();
        info.subsystem = NULL;
        assert_int_equal(media_device_accept(&info, true, NULL), -EINVAL);
        info = usb_stick();
        info.devnode = NULL;
        assert_int_equal(media_device_accept(&info, true, NULL), -EINVAL);
        info = usb_stick();
        info.devnode = "sdb1"; /* not an absolute path */
        assert_int_equal(media_device_accept(&info, true, NULL), -EINVAL);
        info = usb_stick();
        info.devtype = NULL;
        assert_int_equal(media_device_accept(&info, true, NULL), -EINVAL);
        info.devtype = "whole";
        assert_int_equal(media_device_accept(&info, true, NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_filesystem_allow_list_is_exact),
                cmocka_unit_test(test_tagged_usb_partition_with_vfat_is_accepted),
                cmocka_unit_test(test_coldplug_counts_as_add),
                cmocka_unit_test(test_only_add_events_count),
                cmocka_unit_test(test_untagged_device_is_refused_unless_any),
                cmocka_unit_test(test_device_without_file_system_is_refused),
                cmocka_unit_test(test_unlisted_file_system_is_refused_even_when_tagged),
                cmocka_unit_test(test_non_block_or_nodeless_devices_are_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
