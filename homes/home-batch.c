/* SPDX-License-Identifier: MIT */
#include "home-batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"

int home_batch_begin(Home *h)
{
        if (h->batch)
                return -EBUSY;
        h->batch = calloc(1, sizeof(HomeBatch));
        return h->batch ? 0 : -ENOMEM;
}

bool home_sync_each(const Home *h)
{
        return !h->batch;
}

/* syncfs() of the file system holding root-relative dir, unless it is the one already synced (*synced_dev).
 * A missing directory holds nothing of the batch. */
static int sync_file_system_of(const Home *h, const char *dir, dev_t *synced_dev, bool *synced)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r = path_join_root(h->root, dir, &path);

        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (*synced && st.st_dev == *synced_dev)
                return 0;
        /* One syncfs() rather than an fsync() per file and directory of every home: the whole batch reaches
         * the disk in one journal commit. */
        if (syncfs(fd) < 0)
                return -errno;
        *synced_dev = st.st_dev;
        *synced = true;
        return 0;
}

int home_batch_end(Home *h)
{
        dev_t synced_dev = 0;
        bool synced = false;
        int r;

        if (!h->batch)
                return 0;
        uid_usage_free(h->batch->used);
        h->batch = mfree(h->batch);
        r = sync_file_system_of(h, HOME_HOST_RECORD_DIR, &synced_dev, &synced);
        if (r >= 0)
                r = sync_file_system_of(h, HOME_DIR, &synced_dev, &synced);
        return r;
}
