/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the typed-view tests: load a fixture from test/fixtures/types/, change one header, run a view
 * and compare its verdict with the rule's. */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "account-key.h"
#include "account.h"
#include "assertion.h"
#include "file-util.h"
#include "macros.h"
#include "model.h"
#include "serial.h"
#include "system-user.h"

/* One rule check: set header to json_value (a JSON text; NULL deletes it), expect the view to accept
 * (expected == NULL) or to refuse with a message containing expected. */
typedef struct TypesCase {
        const char *what;
        const char *header;
        const char *json_value;
        const char *expected;
        const char *header2; /* an optional second change, for rules that involve two headers */
        const char *json_value2;
} TypesCase;

typedef int (*TypesView)(const Assertion *a, AssertionError *err);

static inline int types_view_system_user(const Assertion *a, AssertionError *err)
{
        SystemUser *u = NULL;
        int r = system_user_from_assertion(a, &u, err);
        system_user_free(u);
        return r;
}

static inline int types_view_model(const Assertion *a, AssertionError *err)
{
        Model *m = NULL;
        int r = model_from_assertion(a, &m, err);
        model_free(m);
        return r;
}

static inline int types_view_account(const Assertion *a, AssertionError *err)
{
        Account *acc = NULL;
        int r = account_from_assertion(a, &acc, err);
        account_free(acc);
        return r;
}

static inline int types_view_account_key(const Assertion *a, AssertionError *err)
{
        AccountKey *k = NULL;
        int r = account_key_from_assertion(a, &k, err);
        account_key_free(k);
        return r;
}

static inline int types_view_serial(const Assertion *a, AssertionError *err)
{
        Serial *s = NULL;
        int r = serial_from_assertion(a, &s, err);
        serial_free(s);
        return r;
}

/* The view for an assertion's type; NULL for types without one. */
static inline TypesView types_view_for(const char *type)
{
        if (streq(type, "system-user"))
                return types_view_system_user;
        if (streq(type, "model"))
                return types_view_model;
        if (streq(type, "account"))
                return types_view_account;
        if (streq(type, "account-key"))
                return types_view_account_key;
        if (streq(type, "serial"))
                return types_view_serial;
        return NULL;
}

static inline int types_read_file(const char *dir, const char *name, char **ret, size_t *ret_size)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return read_file_bounded(fd, name, ASSERTION_STREAM_BYTES_MAX, ret, ret_size);
}

static inline Assertion *types_load_fixture(const char *name)
{
        _cleanup_free_ char *dir = NULL, *file = NULL, *data = NULL;
        const char *fixtures = getenv("FIXTURES_DIR");
        AssertionError err = {};
        Assertion *a = NULL;
        size_t size;

        assert_non_null(fixtures);
        assert_true(asprintf(&dir, "%s/types", fixtures) > 0);
        assert_true(asprintf(&file, "%s.assert", name) > 0);
        assert_int_equal(types_read_file(dir, file, &data, &size), 0);
        if (assertion_decode(data, size, &a, &err) < 0)
                fail_msg("%s: line %u: %s", name, err.line, err.message);
        return a;
}

static inline void types_set_header(Assertion *a, const char *header, const char *json_value)
{
        json_error_t jerr;
        json_t *v;

        if (!json_value) {
                (void) json_object_del(a->headers, header);
                return;
        }
        v = json_loads(json_value, JSON_DECODE_ANY, &jerr);
        if (!v)
                fail_msg("bad JSON in test table for %s: %s", header, json_value);
        assert_int_equal(json_object_set_new(a->headers, header, v), 0);
}

/* Runs every case against a fresh copy of the fixture; each failure names the case. */
static inline void types_run_cases(const char *fixture, TypesView view, const TypesCase *cases, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_(assertion_freep) Assertion *a = types_load_fixture(fixture);
                AssertionError err = {};
                int r;

                if (cases[i].header)
                        types_set_header(a, cases[i].header, cases[i].json_value);
                if (cases[i].header2)
                        types_set_header(a, cases[i].header2, cases[i].json_value2);
                r = view(a, &err);
                if (!cases[i].expected) {
                        if (r < 0)
                                fail_msg("%s: refused: %s", cases[i].what, err.message);
                        continue;
                }
                if (r != -EBADMSG)
                        fail_msg("%s: expected refusal (%s), got %d", cases[i].what, cases[i].expected, r);
                if (!strstr(err.message, cases[i].expected))
                        fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].what, err.message,
                                 cases[i].expected);
                if (!startswith(err.message, "assertion "))
                        fail_msg("%s: message \"%s\" does not name the assertion", cases[i].what,
                                 err.message);
        }
}
