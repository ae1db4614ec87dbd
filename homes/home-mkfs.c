/* SPDX-License-Identifier: MIT */
#include "home-mkfs.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macros.h"

static int find_tool(const char *name, char *buf, size_t size)
{
        const char *p = HOME_TOOL_PATH;

        while (*p) {
                size_t n = strcspn(p, ":");

                if (snprintf(buf, size, "%.*s/%s", (int) n, p, name) < (int) size && access(buf, X_OK) == 0)
                        return 0;
                p += n;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

int home_run_tool(char *const argv[])
{
        char *const envp[] = { (char *) "PATH=" HOME_TOOL_PATH, (char *) "LC_ALL=C", NULL };
        posix_spawn_file_actions_t fa;
        char path[256];
        pid_t pid;
        int r, status;

        r = find_tool(argv[0], path, sizeof(path));
        if (r < 0)
                return r;
        if (posix_spawn_file_actions_init(&fa) != 0)
                return -ENOMEM;
        for (int fd = 0; fd <= 2; fd++)
                (void) posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY,
                                                        0);
        r = posix_spawn(&pid, path, &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int home_mkfs(const char *node, const char *fs_type, const char *label, const char *uuid, bool discard)
{
        int r;

        if (streq(fs_type, "ext4")) {
                /* homed's options: 256 byte inodes, no reserved blocks (a home has no root processes to keep
                 * space for), lazy inode table init (fast mkfs on a big image). */
                char *const argv[] = { (char *) "mkfs.ext4",
                                       (char *) "-q",
                                       (char *) "-F",
                                       (char *) "-L",
                                       (char *) label,
                                       (char *) "-U",
                                       (char *) uuid,
                                       (char *) "-I",
                                       (char *) "256",
                                       (char *) "-O",
                                       (char *) "has_journal",
                                       (char *) "-m",
                                       (char *) "0",
                                       (char *) "-E",
                                       (char *) (discard ? "discard,lazy_itable_init=1"
                                                         : "nodiscard,lazy_itable_init=1"),
                                       (char *) "-T",
                                       (char *) "default",
                                       (char *) node,
                                       NULL };
                r = home_run_tool(argv);
        } else if (streq(fs_type, "btrfs")) {
                char *const argv[] = { (char *) "mkfs.btrfs",
                                       (char *) "-q",
                                       (char *) "-f",
                                       (char *) "-L",
                                       (char *) label,
                                       (char *) "-U",
                                       (char *) uuid,
                                       (char *) node,
                                       discard ? NULL : (char *) "--nodiscard",
                                       NULL };
                r = home_run_tool(argv);
        } else
                return -EPROTONOSUPPORT;
        if (r < 0)
                return r;
        return r == 0 ? 0 : -EIO;
}

int home_fsck(const char *node)
{
        char *const argv[] = { (char *) "fsck", (char *) "-aTl", (char *) node, NULL };
        int r = home_run_tool(argv);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        /* fsck(8): 1 = errors corrected; anything beyond that (errors left, reboot needed, ...) refuses. */
        return (r & ~1) == 0 ? 0 : -EIO;
}

const char *home_mount_options(const char *fs_type, bool discard)
{
        if (streq(fs_type, "ext4"))
                return discard ? "noquota,user_xattr,discard" : "noquota,user_xattr,nodiscard";
        if (streq(fs_type, "btrfs"))
                return discard ? "noacl,compress=zstd:1,discard" : "noacl,compress=zstd:1,nodiscard";
        return discard ? "discard" : "nodiscard";
}
