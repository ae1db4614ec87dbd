/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 (Aumasson & Bernstein, 2012): a keyed 64-bit hash. We need it only to reproduce
 * systemd-homed's first UID candidate for a user name bit for bit (see uid-alloc.h); it is not used as a
 * MAC anywhere. The key is 16 bytes, read as two little-endian 64-bit words, as the reference does. */
#define SIPHASH24_KEY_SIZE 16

uint64_t siphash24(const void *data, size_t size, const uint8_t key[static SIPHASH24_KEY_SIZE]);
