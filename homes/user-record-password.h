/* SPDX-License-Identifier: MIT */
#pragma once

/* The record's privileged.hashedPassword against a password someone typed, as systemd-homed 252 checks it
 * (crypt_r(3) of the password with each hash as its own salt; any entry that reproduces itself matches). */

#include <jansson.h>

/* A password longer than this is refused before hashing: crypt() of a megabyte-long "password" would be a
 * cheap way to burn CPU on every login attempt. libxcrypt refuses anything longer itself
 * (CRYPT_MAX_PASSPHRASE_SIZE 512, including the NUL), so no longer password could match any hash. */
#define USER_RECORD_PASSWORD_MAX 511U

/* 1: password matches one of the hashes; 0: it matches none (or is too long); -ENOKEY: the record has no
 * hashedPassword at all (nothing to check against: such a record can never key an encrypted home);
 * -ENOMEM. */
int user_record_test_password(json_t *record, const char *password);

/* The first of passwords (NULL-terminated) that user_record_test_password() accepts: its index (>= 0), or
 * -EKEYREJECTED when none does, -ENOKEY as above. */
int user_record_find_password(json_t *record, char *const *passwords);
