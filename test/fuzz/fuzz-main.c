/* SPDX-License-Identifier: MIT */
/* Replays every file of a corpus directory through LLVMFuzzerTestOneInput() when the build has no
 * libFuzzer, so the sanitizers see every seed and every input that once crashed, on every `make check`. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "file-util.h"
#include "macros.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
        _cleanup_close_ int dir_fd = -1;
        unsigned count = 0;
        DIR *d;

        if (argc != 2) {
                fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
                return 2;
        }
        dir_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 || !(d = fdopendir(dup(dir_fd)))) {
                fprintf(stderr, "cannot open corpus %s\n", argv[1]);
                return 1;
        }
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *data = NULL;
                size_t size;

                if (de->d_name[0] == '.')
                        continue;
                if (read_file_bounded(dir_fd, de->d_name, 16 * 1024 * 1024, &data, &size) < 0) {
                        fprintf(stderr, "cannot read %s/%s\n", argv[1], de->d_name);
                        closedir(d);
                        return 1;
                }
                LLVMFuzzerTestOneInput((const uint8_t *) data, size);
                count++;
        }
        closedir(d);
        printf("%u corpus inputs replayed\n", count);
        /* A corpus that is empty proves nothing. */
        return count > 0 ? 0 : 1;
}
