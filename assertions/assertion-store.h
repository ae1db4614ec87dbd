/* SPDX-License-Identifier: MIT */
#pragma once

/* The on-disk side of the trust database:
 *
 *   $ROOT/etc/corehomed/trusted/NAME.assert               trusted roots (streams), read-only for us
 *   $ROOT/var/lib/corehomed/assertions/TYPE/KEY.assert  one stored assertion per type + primary key
 *   $ROOT/var/lib/corehomed/assertions/time-floor      the newest signed timestamp ever accepted
 *
 * KEY is the primary-key values joined by ',' with every byte outside [A-Za-z0-9_@+-] and a leading '.'
 * percent-escaped, so no value can climb out of the directory or collide with another. Stored assertions
 * were verified when they were imported; the directory is root-only, so they are not verified again. */

#include "assertion.h"
#include "time-util.h"

#define ASSERTION_STORE_TRUSTED_DIR "/etc/corehomed/trusted"
#define ASSERTION_STORE_DIR         "/var/lib/corehomed/assertions"

/* "TYPE/KEY.assert" for an assertion, relative to ASSERTION_STORE_DIR. */
int assertion_store_relative_path(const Assertion *a, char **ret);

/* Reads every *.assert stream in dir (missing dir: empty list). Files are read with the same bounds as any
 * untrusted input. On error, err names the file and the line. */
int assertion_store_load_dir(const char *dir, bool recurse_one_level, AssertionList **ret, char **ret_error);

/* Writes a into the store below root atomically (0600, directories 0700). */
int assertion_store_save(const char *root, const Assertion *a);

int assertion_store_read_time_floor(const char *root, usec_t *ret);
int assertion_store_write_time_floor(const char *root, usec_t floor);
