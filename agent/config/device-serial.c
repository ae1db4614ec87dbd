/* SPDX-License-Identifier: MIT */
#include "device-serial.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"
#include "macros.h"

/* The messages below spell the limit out. */
_Static_assert(DEVICE_SERIAL_MAX == 128, "update the messages that name DEVICE_SERIAL_MAX");

static void set_reason(const char **ret_reason, const char *reason)
{
        if (ret_reason)
                *ret_reason = reason;
}

int device_serial_validate(const char *serial, const char **ret_reason)
{
        size_t n = strlen(serial);

        if (n == 0) {
                set_reason(ret_reason, "serial is empty");
                return -EBADMSG;
        }
        if (n > DEVICE_SERIAL_MAX) {
                set_reason(ret_reason, "serial is longer than 128 bytes");
                return -E2BIG;
        }
        /* Control characters or non-ASCII bytes would let a serial forge extra lines in logs and assertion
         * headers, and could never match a serial assertion byte for byte. */
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) serial[i];

                if (c < 0x20 || c > 0x7e) {
                        set_reason(ret_reason, "serial contains a control or non-ASCII character");
                        return -EBADMSG;
                }
                if (c == '/') {
                        set_reason(ret_reason, "serial contains '/', which snapd refuses in the serial key");
                        return -EBADMSG;
                }
                if (c == ' ' && (i == 0 || i == n - 1 || serial[i + 1] == ' ')) {
                        set_reason(ret_reason, "serial has leading, trailing or repeated spaces");
                        return -EBADMSG;
                }
        }
        set_reason(ret_reason, NULL);
        return 0;
}

int device_serial_is_placeholder(const char *serial)
{
        /* Strings firmware vendors leave in the DMI tables of unprogrammed boards (compared ignoring
         * case). The list is not exhaustive; the repeated-character rule below catches most of the rest. */
        static const char *const placeholders[] = {
                "To be filled by O.E.M.",
                "To be filled by O.E.M",
                "To be filled by OEM",
                "Default string",
                "System Serial Number",
                "Chassis Serial Number",
                "Base Board Serial Number",
                "Serial Number",
                "SerialNumber",
                "Not Specified",
                "Not Applicable",
                "Not Available",
                "Not Present",
                "None",
                "N/A",
                "NA",
                "OEM",
                "O.E.M.",
                "Unknown",
                "Invalid",
                "Empty",
                "Undefined",
                "123456789",
                "1234567890",
                "0123456789",
        };
        bool repeated = true;

        for (size_t i = 0; i < ELEMENTSOF(placeholders); i++)
                if (strcasecmp(serial, placeholders[i]) == 0)
                        return 1;
        if (strncasecmp(serial, "To be filled", strlen("To be filled")) == 0)
                return 1;

        /* "0000000", "XXXXXXXX", "........": one character repeated is a filler, not a serial. */
        for (const char *p = serial; *p; p++)
                if (*p != serial[0])
                        repeated = false;
        return repeated;
}

/* sysfs attributes report a size of 4096 whatever their content, so read_file_bounded()'s fstat() size check
 * cannot be used; the read itself is bounded instead. */
static int read_attribute_bounded(const char *path, char *buf, size_t size, size_t *ret_len)
{
        _cleanup_close_ int fd = -1;
        size_t len = 0;
        int r;

        /* A symlink planted in a prepared root must not redirect the read; a FIFO must not hang the agent.
         */
        r = open_regular_file(AT_FDCWD, path, &fd, NULL);
        if (r < 0)
                return r;

        for (;;) {
                ssize_t k = read(fd, buf + len, size - len);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len == size)
                        return -E2BIG;
        }
        *ret_len = len;
        return 0;
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int device_serial_read_dmi(const char *root, char **ret_serial, const char **ret_reason)
{
        _cleanup_free_ char *path = NULL;
        /* The file holds the serial plus a newline, possibly padded by firmware with spaces: allow slack
         * for the padding but keep the read small. */
        char buf[DEVICE_SERIAL_MAX * 2 + 2];
        size_t len = 0;
        char *start, *end, *copy;
        int r;

        r = path_join_root(root, DEVICE_SERIAL_DMI_PATH, &path);
        if (r < 0)
                return r;
        r = read_attribute_bounded(path, buf, sizeof(buf) - 1, &len);
        if (r == -E2BIG) {
                set_reason(ret_reason, "DMI serial is larger than 128 bytes");
                return r;
        }
        if (r == -ELOOP) {
                set_reason(ret_reason, "DMI serial file is a symlink");
                return r;
        }
        if (r == -EBADFD) {
                set_reason(ret_reason, "DMI serial file is not a regular file");
                return r;
        }
        if (r < 0)
                return r;
        buf[len] = '\0';
        if (strlen(buf) != len) {
                set_reason(ret_reason, "DMI serial contains a NUL byte");
                return -EBADMSG;
        }

        start = buf;
        while (is_space(*start))
                start++;
        end = start + strlen(start);
        while (end > start && is_space(end[-1]))
                end--;
        *end = '\0';

        if (*start == '\0') {
                set_reason(ret_reason, "DMI serial is empty");
                return -EBADMSG;
        }
        r = device_serial_validate(start, ret_reason);
        if (r < 0)
                return r;
        if (device_serial_is_placeholder(start)) {
                set_reason(ret_reason, "DMI serial is a vendor placeholder, not a real serial");
                return -EBADMSG;
        }

        copy = strdup(start);
        if (!copy)
                return -ENOMEM;
        *ret_serial = copy;
        set_reason(ret_reason, NULL);
        return 0;
}
