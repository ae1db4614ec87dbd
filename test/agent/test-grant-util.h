/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the test-grant-*.c and test-device-identity*.c programs: fixture files, system-user and model
 * assertions built from text, and device identities built by hand. */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assertion.h"
#include "device-identity.h"
#include "file-util.h"
#include "model.h"
#include "system-user.h"

#define GRANT_TEST_SIGNATURE "AcLBUgQAAQoABgUCV8p2GwAKCRBV6vt4ch5ywkn2D/0fixturesignaturenotverified+/AAAA"
#define GRANT_TEST_SIGN_KEY  "XCIC_Wvj9_hiAt0b10sDon74oGr3a6xGODkMZqrj63ZzNYUD5N87-ojjPoeN7f1Y"

static inline char *grant_test_path(const char *env, const char *rel)
{
        const char *dir = getenv(env);
        char *p = NULL;

        assert_non_null(dir);
        assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
        return p;
}

static inline char *grant_test_read(const char *path, size_t *ret_size)
{
        char *data = NULL;
        size_t size = 0;
        int r = read_file_bounded(AT_FDCWD, path, 1024 * 1024, &data, &size);

        if (r < 0)
                fail_msg("cannot read %s: %s", path, strerror(-r));
        if (ret_size)
                *ret_size = size;
        return data;
}

/* Headers (each line "name: value", no trailing blank line) + the fixture signature -> an assertion. */
static inline Assertion *grant_test_assertion(const char *headers)
{
        _cleanup_free_ char *text = NULL;
        AssertionError err = {};
        Assertion *a = NULL;
        int r;

        assert_true(asprintf(&text, "%s\nsign-key-sha3-384: %s\n\n%s\n", headers, GRANT_TEST_SIGN_KEY,
                             GRANT_TEST_SIGNATURE) > 0);
        r = assertion_decode(text, strlen(text), &a, &err);
        if (r < 0)
                fail_msg("decode: line %u: %s\n%s", err.line, err.message, text);
        return a;
}

static inline SystemUser *grant_test_system_user(const Assertion *a)
{
        AssertionError err = {};
        SystemUser *u = NULL;

        if (system_user_from_assertion(a, &u, &err) < 0)
                fail_msg("system-user: line %u: %s", err.line, err.message);
        return u;
}

static inline Model *grant_test_model(const char *headers)
{
        _cleanup_assertion_ Assertion *a = grant_test_assertion(headers);
        AssertionError err = {};
        Model *m = NULL;

        if (model_from_assertion(a, &m, &err) < 0)
                fail_msg("model: line %u: %s", err.line, err.message);
        return m;
}

/* A device built by hand, as device_identity_load() would return it. m (may be NULL) is taken. */
static inline DeviceIdentity *grant_test_device(const char *brand, const char *model, const char *series,
                                                const char *serial, Model *m)
{
        DeviceIdentity *d = calloc(1, sizeof *d);

        assert_non_null(d);
        d->brand_id = strdup(brand);
        d->model = strdup(model);
        d->series = strdup(series);
        d->serial = serial ? strdup(serial) : NULL;
        d->model_assertion = m;
        d->sources = DEVICE_IDENTITY_FROM_CONFIG | (m ? DEVICE_IDENTITY_FROM_MODEL : 0);
        assert_non_null(d->brand_id);
        assert_non_null(d->model);
        assert_non_null(d->series);
        return d;
}
