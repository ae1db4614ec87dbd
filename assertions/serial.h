/* SPDX-License-Identifier: MIT */
#pragma once

/* The typed view of a "serial" assertion (snapd asserts/device_asserts.go): binds a device key to
 * brand-id/model/serial. Primary key: brand-id, model, serial. The body is the device public key (opaque).
 */

#include <stddef.h>
#include <stdint.h>

#include "assertion-fields.h"
#include "assertion.h"
#include "time-util.h"

typedef struct Serial {
        char *brand_id;
        char *model;
        char *serial;
        char *device_key_sha3_384;
        char *device_key; /* the device-key header (snapd's text form of the public key), verbatim */
        size_t device_key_size;
        usec_t timestamp;
        /* The headers every assertion carries. */
        char *authority_id;
        char *sign_key; /* sign-key-sha3-384 */
        uint64_t revision;
        unsigned format;
} Serial;

/* -EBADMSG with err filled ("assertion serial: ...") when a does not satisfy snapd's rules. */
int serial_from_assertion(const Assertion *a, Serial **ret, AssertionError *err);
Serial *serial_free(Serial *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Serial *, serial_free)
#define _cleanup_serial_ _cleanup_(serial_freep)
