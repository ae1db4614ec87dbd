/* SPDX-License-Identifier: MIT */
#pragma once

/* Loop devices over a window of an image file: how systemd-homed reaches the LUKS2 partition inside
 * /home/<user>.home (a loop device with the partition's offset and size, no partition scanning).
 * Internal to libhomes. */

#include <stdbool.h>
#include <stdint.h>

#include "macros.h"

typedef struct HomeLoop {
        int fd;        /* the loop device, open read-write */
        char node[32]; /* /dev/loopN */
        bool relinquished;
} HomeLoop;

/* Attaches a free loop device to image_fd's bytes [offset, offset + size) with the given logical block
 * size (512..4096), set to detach itself when its last user closes it. */
int home_loop_attach(int image_fd, uint64_t offset, uint64_t size, uint32_t block_size, HomeLoop **ret);

/* Hands the device over to the kernel: it detaches by itself once nothing holds it open any more (the
 * dm-crypt device on top, once that is closed). home_loop_free() then only closes our descriptor. */
int home_loop_relinquish(HomeLoop *l);

/* Detaches (unless relinquished) and frees. */
HomeLoop *home_loop_free(HomeLoop *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(HomeLoop *, home_loop_free)
