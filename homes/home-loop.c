/* SPDX-License-Identifier: MIT */
#include "home-loop.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Another process may take the device LOOP_CTL_GET_FREE handed us before we configure it (EBUSY): try a
 * few more before giving up. */
#define HOME_LOOP_ATTEMPTS 16

HomeLoop *home_loop_free(HomeLoop *l)
{
        if (!l)
                return NULL;
        if (l->fd >= 0) {
                if (!l->relinquished)
                        (void) ioctl(l->fd, LOOP_CLR_FD);
                safe_close(l->fd);
        }
        free(l);
        return NULL;
}

int home_loop_attach(int image_fd, uint64_t offset, uint64_t size, uint32_t block_size, HomeLoop **ret)
{
        _cleanup_close_ int control = -1;
        _cleanup_(home_loop_freep) HomeLoop *l = NULL;
        struct loop_config config = {
                .fd = (uint32_t) image_fd,
                .block_size = block_size,
                .info = {
                        .lo_offset = offset,
                        .lo_sizelimit = size,
                        /* Detached by the kernel once the last user closes it: a process that dies (crash
                         * points, SIGKILL) leaves no loop device behind. */
                        .lo_flags = LO_FLAGS_AUTOCLEAR,
                },
        };

        control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (control < 0)
                return -errno;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->fd = -1;

        for (unsigned attempt = 0;; attempt++) {
                int n = ioctl(control, LOOP_CTL_GET_FREE);

                if (n < 0)
                        return -errno;
                snprintf(l->node, sizeof(l->node), "/dev/loop%d", n);
                l->fd = open(l->node, O_RDWR | O_CLOEXEC | O_NONBLOCK);
                if (l->fd < 0)
                        return -errno;
                if (ioctl(l->fd, LOOP_CONFIGURE, &config) >= 0)
                        break;
                int r = -errno;
                l->fd = safe_close(l->fd);
                if (r != -EBUSY || attempt + 1 >= HOME_LOOP_ATTEMPTS)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int home_loop_relinquish(HomeLoop *l)
{
        /* Autoclear is set from the start; all that is left is not to detach it ourselves. */
        l->relinquished = true;
        return 0;
}
