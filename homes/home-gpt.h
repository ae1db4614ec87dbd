/* SPDX-License-Identifier: MIT */
#pragma once

/* The partition table of a LUKS home image, as systemd-homed 252 writes and finds it: GPT (libfdisk, as
 * homed uses it) with one partition of homed's "user home" type, named after the user, starting at the
 * first usable LBA rounded up to 4 KiB and ending at the last usable one rounded down to 4 KiB. Found again
 * with libblkid, by type and name (and UUID when known), exactly once. Internal to libhomes. */

#include <stdint.h>

#include "id128.h"

/* SD_GPT_USER_HOME: "a home partition of systemd-homed". */
#define HOME_GPT_TYPE_USER_HOME "773f91ef-66d4-49b5-bd83-d683bf40ad16"

typedef struct HomeGptPartition {
        uint64_t offset; /* bytes from the start of the image */
        uint64_t size;   /* bytes */
        char uuid[ID128_UUID_STRING_MAX];
} HomeGptPartition;

/* Writes a new GPT on fd (a file of its final size, or a block device): the one partition named name with
 * partition_uuid. -ERANGE when fd is too small for a 4 KiB aligned partition. */
int home_gpt_make(int fd, const char *name, const char *partition_uuid, HomeGptPartition *ret);

/* Finds the home partition on fd: type HOME_GPT_TYPE_USER_HOME, name equal to name, and UUID equal to
 * partition_uuid unless that is NULL. -ENOPKG when there is no GPT, no such partition or more than one
 * (an image built to confuse us must not get to choose which one is opened), -EBADMSG for a partition
 * outside the image. */
int home_gpt_find(int fd, const char *name, const char *partition_uuid, HomeGptPartition *ret);
