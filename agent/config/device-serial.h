/* SPDX-License-Identifier: MIT */
#pragma once

/* The device serial as a device identity: either written in the configuration or read from the firmware
 * (DMI). The serial is matched against serial-bound system-user grants, so a wrong or shared serial would
 * hand a user to the wrong devices; values that cannot be a real, unique serial are refused. */

/* Longest serial accepted, in bytes (a serial is a short identifier; DMI strings are far shorter). */
#define DEVICE_SERIAL_MAX 128

/* Where the firmware's serial lives, below the root prefix. */
#define DEVICE_SERIAL_DMI_PATH "/sys/class/dmi/id/product_serial"

/* Checks that serial can identify a device: 1..DEVICE_SERIAL_MAX bytes of printable ASCII, single inner
 * spaces allowed, no leading/trailing space, no '/' (snapd refuses it in the serial primary key).
 * Returns 0 or -EBADMSG / -E2BIG with *ret_reason (optional) set to a static sentence. */
int device_serial_validate(const char *serial, const char **ret_reason);

/* Whether serial is a vendor placeholder ("To be filled by O.E.M.", "Default string", "0000000", ...):
 * such a value is the same on many machines and would make a serial-bound grant apply to all of them. */
int device_serial_is_placeholder(const char *serial);

/* Reads ROOT/sys/class/dmi/id/product_serial (root NULL or "/" for the real one): bounded, trimmed of
 * surrounding whitespace, then refused if empty, a placeholder or not a valid serial (-EBADMSG), larger
 * than DEVICE_SERIAL_MAX (-E2BIG), missing (-ENOENT), a symlink (-ELOOP) or not a regular file (-EBADFD).
 * *ret_reason (optional) gets a static sentence on -EBADMSG/-E2BIG/-EBADFD/-ELOOP. */
int device_serial_read_dmi(const char *root, char **ret_serial, const char **ret_reason);
