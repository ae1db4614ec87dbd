/* SPDX-License-Identifier: MIT */
#include "media.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file-util.h"
#include "string-util.h"
#include "macros.h"

static const char *const media_filesystems[] = { "ext4", "ext2", "vfat", "exfat", "iso9660" };

static int describe(char **ret_error, int r, const char *path)
{
        const char *why;

        switch (r) {
        case -ENOENT:
                why = "no " MEDIA_ASSERT_FILE " at the top of the medium";
                break;
        case -ELOOP:
                why = MEDIA_ASSERT_FILE " is a symbolic link; refusing to follow it";
                break;
        case -EBADFD:
                why = MEDIA_ASSERT_FILE " is not a regular file";
                break;
        case -E2BIG:
                why = MEDIA_ASSERT_FILE " is larger than 1 MiB";
                break;
        case -EMEDIUMTYPE:
                why = "no supported file system (ext4, ext2, vfat, exfat, iso9660) on the medium";
                break;
        case -ETIMEDOUT:
                why = "mounting or reading the medium took too long";
                break;
        default:
                why = strerror(-r);
        }
        if (ret_error)
                *ret_error = strprintf("%s: %s", path, why);
        return r;
}

static int read_from_directory(const char *dir, char **ret_data, size_t *ret_size)
{
        _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dir_fd < 0)
                return -errno;
        return read_file_bounded(dir_fd, MEDIA_ASSERT_FILE, MEDIA_ASSERT_SIZE_MAX, ret_data, ret_size);
}

static int write_all(int fd, const void *data, size_t size)
{
        for (const char *p = data; size > 0;) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

/* In the child: a private mount namespace, so nothing it mounts is ever visible to the system and every
 * mount vanishes with the process, whatever happens to it. Reports "errno(int32) size(uint32) bytes". */
static _Noreturn void child_read_device(const char *device, int out_fd)
{
        char dir[] = "/tmp/corehomed-media-XXXXXX";
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int32_t r = -EMEDIUMTYPE;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                r = -errno;
        else if (!mkdtemp(dir))
                r = -errno;
        else {
                for (size_t i = 0; i < ELEMENTSOF(media_filesystems); i++) {
                        if (mount(device, dir, media_filesystems[i],
                                  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME, NULL) < 0)
                                continue;
                        r = read_from_directory(dir, &data, &size);
                        (void) umount2(dir, MNT_DETACH);
                        break;
                }
                (void) rmdir(dir);
        }

        uint32_t n = r < 0 ? 0 : (uint32_t) size;
        if (write_all(out_fd, &r, sizeof(r)) < 0 || write_all(out_fd, &n, sizeof(n)) < 0 ||
            (n > 0 && write_all(out_fd, data, n) < 0))
                _exit(1);
        _exit(0);
}

static int read_exact(int fd, void *buf, size_t size, usec_t deadline)
{
        for (char *p = buf; size > 0;) {
                usec_t now = time_now_realtime();
                if (now >= deadline)
                        return -ETIMEDOUT;
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int k = poll(&pfd, 1, (int) ((deadline - now) / 1000 + 1));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -ETIMEDOUT;
                ssize_t l = read(fd, p, size);
                if (l < 0 && errno == EINTR)
                        continue;
                if (l < 0)
                        return -errno;
                if (l == 0)
                        return -EPIPE;
                p += l;
                size -= (size_t) l;
        }
        return 0;
}

static int read_from_device(const char *device, char **ret_data, size_t *ret_size)
{
        _cleanup_close_ int rfd = -1, wfd = -1;
        _cleanup_free_ char *data = NULL;
        usec_t deadline = time_now_realtime() + MEDIA_MOUNT_TIMEOUT;
        int fds[2], status;
        int32_t child_r;
        uint32_t n;
        pid_t pid;
        int r;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        rfd = fds[0];
        wfd = fds[1];
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                rfd = safe_close(rfd);
                child_read_device(device, wfd);
        }
        wfd = safe_close(wfd);

        r = read_exact(rfd, &child_r, sizeof(child_r), deadline);
        if (r >= 0)
                r = read_exact(rfd, &n, sizeof(n), deadline);
        if (r >= 0 && child_r >= 0) {
                if (n > MEDIA_ASSERT_SIZE_MAX)
                        r = -E2BIG;
                else if (!(data = malloc((size_t) n + 1)))
                        r = -ENOMEM;
                else
                        r = read_exact(rfd, data, n, deadline);
        }
        /* A child stuck in mount (a dying medium) must not keep the caller waiting: kill it. */
        if (r < 0)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        if (child_r < 0)
                return child_r;
        data[n] = '\0';
        *ret_data = TAKE_PTR(data);
        *ret_size = n;
        return 0;
}

int media_read_auto_import(const char *path, char **ret_data, size_t *ret_size, char **ret_error)
{
        struct stat st;
        int r;

        if (stat(path, &st) < 0)
                return describe(ret_error, -errno, path);
        if (S_ISDIR(st.st_mode))
                r = read_from_directory(path, ret_data, ret_size);
        else if (S_ISBLK(st.st_mode))
                r = read_from_device(path, ret_data, ret_size);
        else
                r = -ENOTBLK;
        if (r == -ENOTBLK) {
                if (ret_error)
                        *ret_error = strprintf("%s: neither a directory nor a block device", path);
                return r;
        }
        return r < 0 ? describe(ret_error, r, path) : 0;
}
