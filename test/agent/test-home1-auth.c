/* SPDX-License-Identifier: MIT */
/* Authentication for org.freedesktop.home1 as systemd-homed 252 does it, without a bus: the secret
 * argument (its limits at N and N+1), homed's rate limit (every attempt counts, the burst, the window, a
 * clock that went back), a record's validity window at login (notBefore/notAfter/locked, at the instant),
 * and the password against hashedPassword. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "home1-auth.h"
#include "json-util.h"

#define NOW ((usec_t) 1700000000000000ULL)
/* openssl passwd -6 -salt S4ltS4ltS4lt secret */
#define HASH_SECRET                                                              \
        "$6$S4ltS4ltS4lt$2lmgVEWYrqrzCFw7zCLKPB7itIMvnPXiZnCQOiY1GoPf5fm3A5bss/" \
        "pCW.Ax9E.XntDTpZz4SVqKxEUZkjbdP/"

static void test_secret_parse(void **state)
{
        _cleanup_passwords_ char **p = NULL;

        assert_int_equal(home1_secret_parse("{\"password\":[\"a\",\"b\"]}", &p), 0);
        assert_string_equal(p[0], "a");
        assert_string_equal(p[1], "b");
        assert_null(p[2]);
        p = home1_passwords_free(p);

        /* homectl's first try sends no secret at all; tokens we do not use are ignored. */
        assert_int_equal(home1_secret_parse("", &p), 0);
        assert_null(p[0]);
        p = home1_passwords_free(p);
        assert_int_equal(home1_secret_parse("{\"tokenPin\":[\"1234\"]}", &p), 0);
        assert_null(p[0]);
        p = home1_passwords_free(p);

        assert_int_equal(home1_secret_parse("[\"a\"]", &p), -EINVAL);
        assert_int_equal(home1_secret_parse("{\"password\":\"a\"}", &p), -EINVAL);
        assert_int_equal(home1_secret_parse("{\"password\":[1]}", &p), -EINVAL);
        assert_int_equal(home1_secret_parse("{\"password\":[\"a\"],\"password\":[\"b\"]}", &p), -EINVAL);
        assert_int_equal(home1_secret_parse("{", &p), -EINVAL);
}

static char *secret_with(size_t n_passwords, size_t text_size)
{
        size_t size = text_size ? text_size : 64 + n_passwords * 6;
        char *s = malloc(size + 1), *w = s;

        assert_non_null(s);
        w += sprintf(w, "{\"password\":[");
        for (size_t i = 0; i < n_passwords; i++)
                w += sprintf(w, "%s\"p%zu\"", i ? "," : "", i % 10);
        if (text_size) {
                /* Padding with white space up to exactly text_size bytes. */
                size_t used = (size_t) (w - s) + 2;
                assert_true(used <= text_size);
                memset(w, ' ', text_size - used);
                w += text_size - used;
        }
        w += sprintf(w, "]}");
        return s;
}

static void test_secret_limits(void **state)
{
        _cleanup_passwords_ char **p = NULL;
        _cleanup_free_ char *at = secret_with(HOME1_SECRET_PASSWORDS_MAX, 0);
        _cleanup_free_ char *over = secret_with(HOME1_SECRET_PASSWORDS_MAX + 1, 0);
        _cleanup_free_ char *size_at = secret_with(1, HOME1_SECRET_TEXT_MAX);
        _cleanup_free_ char *size_over = secret_with(1, HOME1_SECRET_TEXT_MAX + 1);

        assert_int_equal(home1_secret_parse(at, &p), 0);
        assert_non_null(p[HOME1_SECRET_PASSWORDS_MAX - 1]);
        p = home1_passwords_free(p);
        assert_int_equal(home1_secret_parse(over, &p), -E2BIG);
        assert_int_equal(strlen(size_at), HOME1_SECRET_TEXT_MAX);
        assert_int_equal(home1_secret_parse(size_at, &p), 0);
        p = home1_passwords_free(p);
        assert_int_equal(home1_secret_parse(size_over, &p), -E2BIG);
}

static void test_ratelimit_burst(void **state)
{
        _cleanup_json_ json_t *rec =
                json_pack("{s:s, s:I, s:I}", "userName", "a", "rateLimitBurst", (json_int_t) 3,
                          "rateLimitIntervalUSec", (json_int_t) (60 * USEC_PER_SEC));
        Home1RateLimit rl = HOME1_RATELIMIT_INIT;

        assert_int_equal(home1_ratelimit_next_try(&rl, rec, NOW), USEC_INFINITY);
        /* N attempts pass, the N+1st is refused and not counted. */
        for (int i = 0; i < 3; i++)
                assert_int_equal(home1_ratelimit_try(&rl, rec, NOW + (usec_t) i), 1);
        assert_int_equal(rl.count, 3);
        assert_int_equal(home1_ratelimit_try(&rl, rec, NOW + 3), 0);
        assert_int_equal(rl.count, 3);
        assert_int_equal(home1_ratelimit_next_try(&rl, rec, NOW + 3), NOW + 60 * USEC_PER_SEC);
        /* One microsecond before the window ends: still refused; at its end: a new window. */
        assert_int_equal(home1_ratelimit_try(&rl, rec, NOW + 60 * USEC_PER_SEC - 1), 0);
        assert_int_equal(home1_ratelimit_try(&rl, rec, NOW + 60 * USEC_PER_SEC), 1);
        assert_int_equal(rl.begin, NOW + 60 * USEC_PER_SEC);
        assert_int_equal(rl.count, 1);
        assert_int_equal(home1_ratelimit_next_try(&rl, rec, NOW + 60 * USEC_PER_SEC), 0);
}

static void test_ratelimit_defaults_and_clock(void **state)
{
        Home1RateLimit rl = HOME1_RATELIMIT_INIT;

        /* homed's defaults: 30 per minute. */
        for (unsigned i = 0; i < HOME1_RATELIMIT_BURST_DEFAULT; i++)
                assert_int_equal(home1_ratelimit_try(&rl, NULL, NOW), 1);
        assert_int_equal(home1_ratelimit_try(&rl, NULL, NOW), 0);
        assert_int_equal(home1_ratelimit_try(&rl, NULL, NOW + HOME1_RATELIMIT_INTERVAL_DEFAULT), 1);

        /* The clock went back before the window's start: start over rather than lock the user out. */
        rl = (Home1RateLimit){ .begin = NOW, .count = HOME1_RATELIMIT_BURST_DEFAULT };
        assert_int_equal(home1_ratelimit_next_try(&rl, NULL, NOW - 1), USEC_INFINITY);
        assert_int_equal(home1_ratelimit_try(&rl, NULL, NOW - 1), 1);
        assert_int_equal(rl.begin, NOW - 1);
        assert_int_equal(rl.count, 1);
}

static void test_login_allowed(void **state)
{
        _cleanup_json_ json_t *rec = json_pack("{s:s, s:I, s:I}", "userName", "a", "notBeforeUSec",
                                               (json_int_t) NOW, "notAfterUSec", (json_int_t) (NOW + 10));
        _cleanup_json_ json_t *locked = json_pack("{s:s, s:b}", "userName", "a", "locked", 1);

        assert_int_equal(home1_record_login_allowed(rec, NOW - 1), -EL2HLT);
        assert_int_equal(home1_record_login_allowed(rec, NOW), 0);
        assert_int_equal(home1_record_login_allowed(rec, NOW + 9), 0);
        /* A grant ends at its until: that instant is already outside. */
        assert_int_equal(home1_record_login_allowed(rec, NOW + 10), -EL3HLT);
        assert_int_equal(home1_record_login_allowed(locked, NOW), -ENOLCK);
}

static void test_authenticate(void **state)
{
        _cleanup_json_ json_t *rec =
                json_pack("{s:s, s:{s:[s]}}", "userName", "a", "privileged", "hashedPassword", HASH_SECRET);
        _cleanup_json_ json_t *no_hash = json_pack("{s:s}", "userName", "a");
        char *none[] = { NULL };
        char *wrong[] = { "nope", NULL };
        char *right_second[] = { "nope", "secret", NULL };

        assert_int_equal(home1_authenticate(rec, none), -ENOKEY);
        assert_int_equal(home1_authenticate(rec, NULL), -ENOKEY);
        assert_int_equal(home1_authenticate(rec, wrong), -EKEYREJECTED);
        assert_int_equal(home1_authenticate(rec, right_second), 1);
        assert_int_equal(home1_authenticate(no_hash, right_second), -EKEYREVOKED);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_secret_parse),    cmocka_unit_test(test_secret_limits),
                cmocka_unit_test(test_ratelimit_burst), cmocka_unit_test(test_ratelimit_defaults_and_clock),
                cmocka_unit_test(test_login_allowed),   cmocka_unit_test(test_authenticate),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
