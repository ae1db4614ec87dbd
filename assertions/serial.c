/* SPDX-License-Identifier: MIT */
#include "serial.h"

#include <errno.h>
#include <string.h>

#include "macros.h"
#include "public-key.h"

#define SERIAL_FORMAT_MAX 0

Serial *serial_free(Serial *s)
{
        if (!s)
                return NULL;
        free(s->brand_id);
        free(s->model);
        free(s->serial);
        free(s->device_key_sha3_384);
        free(s->device_key);
        free(s->authority_id);
        free(s->sign_key);
        free(s);
        return NULL;
}

/* The device key must hash to device-key-sha3-384, or the serial would vouch for one key under another's
 * id (and the device could be impersonated by whoever holds the other key). */
static int serial_check_device_key(const Assertion *a, Serial *s, AssertionError *err)
{
        _cleanup_public_key_ PublicKey *pk = NULL;
        AssertionError key_err = {};
        int r;

        r = assertion_field_string(a, "device-key", &s->device_key, err);
        if (r < 0)
                return r;
        s->device_key_size = strlen(s->device_key);
        r = public_key_from_text(s->device_key, s->device_key_size, &pk, &key_err);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return assertion_field_error(a, err, "%s", key_err.message);
        r = assertion_field_string(a, "device-key-sha3-384", &s->device_key_sha3_384, err);
        if (r < 0)
                return r;
        if (!streq(s->device_key_sha3_384, pk->id))
                return assertion_field_error(a, err, "device key does not match provided key id");
        return 0;
}

static int serial_check(const Assertion *a, Serial *s, AssertionError *err)
{
        char q[ASSERTION_QUOTE_MAX];
        int r;

        r = assertion_field_check_format(a, s->format, SERIAL_FORMAT_MAX, err);
        if (r < 0)
                return r;
        r = assertion_field_primary_key(a, "brand-id", &s->brand_id, err);
        if (r < 0)
                return r;
        /* brand-id and authority-id may differ (the model's serial-authority decides), so at least the
         * brand-id must be a well-formed account id. */
        if (!account_id_is_valid(s->brand_id))
                return assertion_field_error(a, err, "\"brand-id\" header contains invalid characters: %s",
                                             assertion_quote(s->brand_id, q));
        r = assertion_field_primary_key(a, "model", &s->model, err);
        if (r < 0)
                return r;
        for (const char *c = s->model; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        return assertion_field_error(a, err,
                                                     "\"model\" header cannot contain uppercase letters");
        if (s->model[0] == '-' || s->model[strlen(s->model) - 1] == '-' || strstr(s->model, "--") ||
            strspn(s->model, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s->model))
                return assertion_field_error(a, err, "\"model\" header contains invalid characters: %s",
                                             assertion_quote(s->model, q));
        r = assertion_field_primary_key(a, "serial", &s->serial, err);
        if (r < 0)
                return r;
        r = serial_check_device_key(a, s, err);
        if (r < 0)
                return r;
        return assertion_field_date(a, "timestamp", &s->timestamp, NULL, err);
}

int serial_from_assertion(const Assertion *a, Serial **ret, AssertionError *err)
{
        _cleanup_(serial_freep) Serial *s = NULL;
        int r;

        s = calloc(1, sizeof(Serial));
        if (!s)
                return -ENOMEM;
        r = assertion_field_common(a, "serial", &s->authority_id, &s->sign_key, &s->revision, &s->format,
                                   err);
        if (r < 0)
                return r;
        r = serial_check(a, s, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}
