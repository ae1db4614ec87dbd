/* SPDX-License-Identifier: MIT */
#pragma once

/* Who this device is: brand, model, serial and series, from the configuration (device.*) and/or the model
 * and serial assertions stored in the trust database. Grants are decided against this identity, so when
 * both sources exist they must agree: a stored model assertion that names another model than the
 * configuration would otherwise let whichever source is consulted first decide which grants apply. */

#include <stdbool.h>

#include "config.h"
#include "macros.h"
#include "model.h"
#include "serial.h"
#include "trust-db.h"

/* Where the identity came from (flags, OR'ed). */
typedef enum DeviceIdentitySource {
        DEVICE_IDENTITY_FROM_CONFIG = 1U << 0, /* device.brand-id/model (and serial) in the config file */
        DEVICE_IDENTITY_FROM_MODEL = 1U << 1,  /* a stored model assertion */
        DEVICE_IDENTITY_FROM_SERIAL = 1U << 2, /* a stored serial assertion */
} DeviceIdentitySource;

typedef struct DeviceIdentity {
        char *brand_id; /* never NULL */
        char *model;    /* never NULL */
        char *serial;   /* NULL: the device is not registered yet (serial-bound grants stay pending) */
        char *series;   /* never NULL ("16" by default) */
        Model *model_assertion;   /* the stored model assertion, NULL when none is stored */
        Serial *serial_assertion; /* the stored serial assertion, NULL when none is stored */
        unsigned sources;         /* DeviceIdentitySource flags */
} DeviceIdentity;

DeviceIdentity *device_identity_free(DeviceIdentity *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(DeviceIdentity *, device_identity_free)
#define _cleanup_device_identity_ _cleanup_(device_identity_freep)

/* Builds the identity from config (device.brand-id, device.model, device.serial, device.series) and the
 * assertions in db (db may be NULL: configuration only):
 * - model assertion: the stored one for series + brand-id + model when the config names them (stored models
 *   of other brands or models are not this device's and are ignored; the same brand and model under another
 *   series is a disagreement); without a configured identity, the only stored model assertion (several ->
 *   -ENOTUNIQ). It is signed by its brand (the model type guarantees that).
 * - serial assertion: the stored one for brand-id + model + serial when the serial is configured, else the
 *   only stored serial assertion for brand-id + model (several -> -ENOTUNIQ). Its signer must be the brand
 *   or one of the model's serial-authority accounts.
 * Returns 0, or:
 *   -ENODEV   no identity at all ("no device identity: set device.brand-id and device.model in FILE or
 *             import the model assertion");
 *   -EXDEV    the configuration and a stored assertion disagree (the message names both values);
 *   -ENOTUNIQ several stored assertions could be this device and the configuration does not say which;
 *   -EKEYREJECTED a stored serial assertion signed by an account the model does not accept;
 *   -EBADMSG  a stored model/serial assertion that does not decode into its typed view;
 *   -ENOMEM.
 * *ret_error (optional) receives a newly allocated sentence for a person on failure. */
int device_identity_load(const Config *config, TrustDb *db, DeviceIdentity **ret, char **ret_error);

/* "brand/model" plus " serial SERIAL" (or " (not registered)") for messages; newly allocated. */
char *device_identity_describe(const DeviceIdentity *d);
