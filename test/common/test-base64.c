/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base64.h"
#include "macros.h"

static void test_encode_rfc4648_vectors(void **state)
{
        static const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
        static const char *out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };

        for (size_t i = 0; i < ELEMENTSOF(in); i++) {
                _cleanup_free_ char *s = NULL;
                assert_int_equal(base64_encode(in[i], strlen(in[i]), &s), 0);
                assert_string_equal(s, out[i]);

                _cleanup_free_ uint8_t *d = NULL;
                size_t n;
                assert_int_equal(base64_decode(out[i], strlen(out[i]), &d, &n), 0);
                assert_int_equal(n, strlen(in[i]));
                assert_memory_equal(d, in[i], n);
        }
}

static void test_url_nopad_uses_url_alphabet(void **state)
{
        static const uint8_t data[] = { 0xfb, 0xff, 0xbf };
        _cleanup_free_ char *s = NULL;

        assert_int_equal(base64url_nopad_encode(data, 3, &s), 0);
        assert_string_equal(s, "-_-_");
        s = mfree(s);
        assert_int_equal(base64url_nopad_encode(data, 1, &s), 0);
        assert_string_equal(s, "-w");
}

static void test_decode_refuses_noncanonical_text(void **state)
{
        static const char *bad[] = {
                "Zg=",      /* wrong length */
                "Zh==",     /* unused bits set: another text for "f" */
                "Zm9=",     /* unused bits set */
                "Zm 9v",    /* white space */
                "Zm9v\n",   /* line break */
                "Zg==Zg==", /* padding in the middle */
                "====",     /* padding only */
                "Zm-v",     /* URL alphabet */
                "Z===",     /* too much padding */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ uint8_t *d = NULL;
                size_t n;
                assert_int_equal(base64_decode(bad[i], strlen(bad[i]), &d, &n), -EBADMSG);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_encode_rfc4648_vectors),
                cmocka_unit_test(test_url_nopad_uses_url_alphabet),
                cmocka_unit_test(test_decode_refuses_noncanonical_text),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
