/* SPDX-License-Identifier: MIT */
#include "home-gpt.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <libfdisk/libfdisk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macros.h"

#define SECTOR           512U
#define ROUND_UP_4K(x)   (((x) + 4095U) & ~UINT64_C(4095))
#define ROUND_DOWN_4K(x) ((x) & ~UINT64_C(4095))

DEFINE_TRIVIAL_CLEANUP_FUNC(struct fdisk_context *, fdisk_unref_context)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct fdisk_partition *, fdisk_unref_partition)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct fdisk_parttype *, fdisk_unref_parttype)
DEFINE_TRIVIAL_CLEANUP_FUNC(blkid_probe, blkid_free_probe)

int home_gpt_make(int fd, const char *name, const char *partition_uuid, HomeGptPartition *ret)
{
        _cleanup_(fdisk_unref_contextp) struct fdisk_context *c = NULL;
        _cleanup_(fdisk_unref_partitionp) struct fdisk_partition *p = NULL, *q = NULL;
        _cleanup_(fdisk_unref_parttypep) struct fdisk_parttype *t = NULL;
        uint64_t start, end;
        int r;

        t = fdisk_new_parttype();
        c = fdisk_new_context();
        p = fdisk_new_partition();
        if (!t || !c || !p)
                return -ENOMEM;
        r = fdisk_parttype_set_typestr(t, HOME_GPT_TYPE_USER_HOME);
        if (r < 0)
                return r;
        /* No dialogs: a library must never stop to ask on a terminal. */
        (void) fdisk_disable_dialogs(c, 1);
        r = fdisk_assign_device_by_fd(c, fd, "home-image", 0);
        if (r < 0)
                return r;
        r = fdisk_create_disklabel(c, "gpt");
        if (r < 0)
                return r;

        start = ROUND_UP_4K((uint64_t) fdisk_get_first_lba(c) * SECTOR);
        end = ROUND_DOWN_4K(((uint64_t) fdisk_get_last_lba(c) + 1) * SECTOR);
        if (end <= start)
                return -ERANGE;

        r = fdisk_partition_set_type(p, t);
        if (r >= 0)
                r = fdisk_partition_partno_follow_default(p, 1);
        if (r >= 0)
                r = fdisk_partition_set_start(p, start / SECTOR);
        if (r >= 0)
                r = fdisk_partition_set_size(p, (end - start) / SECTOR);
        if (r >= 0)
                r = fdisk_partition_set_name(p, name);
        if (r >= 0)
                r = fdisk_partition_set_uuid(p, partition_uuid);
        if (r >= 0)
                r = fdisk_add_partition(c, p, NULL);
        if (r >= 0)
                r = fdisk_write_disklabel(c);
        if (r < 0)
                return r;

        /* Read back what was written rather than trusting what was asked for. */
        r = fdisk_get_partition(c, 0, &q);
        if (r < 0)
                return r;
        if (!fdisk_partition_has_start(q) || !fdisk_partition_has_size(q))
                return -EBADMSG;
        ret->offset = (uint64_t) fdisk_partition_get_start(q) * SECTOR;
        ret->size = (uint64_t) fdisk_partition_get_size(q) * SECTOR;
        snprintf(ret->uuid, sizeof(ret->uuid), "%s", partition_uuid);
        return 0;
}

static void lower(char *s)
{
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                        *s = (char) (*s - 'A' + 'a');
}

int home_gpt_find(int fd, const char *name, const char *partition_uuid, HomeGptPartition *ret)
{
        _cleanup_(blkid_free_probep) blkid_probe b = NULL;
        const char *pttype = NULL;
        HomeGptPartition found = {};
        blkid_partlist pl;
        blkid_loff_t image_size;
        int n, r;
        bool have = false;

        b = blkid_new_probe();
        if (!b)
                return -ENOMEM;
        if (blkid_probe_set_device(b, fd, 0, 0) != 0)
                return -EIO;
        image_size = blkid_probe_get_size(b);
        (void) blkid_probe_enable_superblocks(b, 0);
        (void) blkid_probe_enable_partitions(b, 1);
        (void) blkid_probe_set_partitions_flags(b, BLKID_PARTS_ENTRY_DETAILS);

        r = blkid_do_safeprobe(b);
        if (r == 1 || r == -2) /* nothing found, or ambiguous */
                return -ENOPKG;
        if (r != 0)
                return -EIO;
        if (blkid_probe_lookup_value(b, "PTTYPE", &pttype, NULL) != 0 || !pttype || !streq(pttype, "gpt"))
                return -ENOPKG;
        pl = blkid_probe_get_partitions(b);
        if (!pl)
                return -ENOPKG;
        n = blkid_partlist_numof_partitions(pl);
        for (int i = 0; i < n; i++) {
                blkid_partition pp = blkid_partlist_get_partition(pl, i);
                const char *type, *pname, *uuid;
                char ubuf[ID128_UUID_STRING_MAX];
                blkid_loff_t start, size;

                if (!pp)
                        return -EIO;
                type = blkid_partition_get_type_string(pp);
                pname = blkid_partition_get_name(pp);
                uuid = blkid_partition_get_uuid(pp);
                if (!type || strcasecmp(type, HOME_GPT_TYPE_USER_HOME) != 0 || !pname || !streq(pname, name))
                        continue;
                if (!uuid || strlen(uuid) != 36)
                        continue;
                snprintf(ubuf, sizeof(ubuf), "%s", uuid);
                lower(ubuf);
                if (partition_uuid && !streq(ubuf, partition_uuid))
                        continue;
                if (have)
                        return -ENOPKG;
                start = blkid_partition_get_start(pp);
                size = blkid_partition_get_size(pp);
                if (start <= 0 || size <= 0 || start > INT64_MAX / SECTOR || size > INT64_MAX / SECTOR ||
                    (start + size) > image_size / SECTOR)
                        return -EBADMSG;
                found.offset = (uint64_t) start * SECTOR;
                found.size = (uint64_t) size * SECTOR;
                memcpy(found.uuid, ubuf, sizeof(ubuf));
                have = true;
        }
        if (!have)
                return -ENOPKG;
        *ret = found;
        return 0;
}
