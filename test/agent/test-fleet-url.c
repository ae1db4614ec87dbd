/* SPDX-License-Identifier: MIT */
/* Fleet URLs: only https, no user information, query, fragment, '%' or dot segments; prerequisite URLs
 * only from a valid key id / account-id, so nothing from the network shapes a request path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleet.h"

#define KEY "ANvNxgp3na8z9_X4m-n0F0ollw-DlASD1dhfBs4CPqU34DQw__nFsnBErazAINv1"

static void valid_urls_are_accepted(void **state)
{
        assert_true(fleet_url_is_valid("https://fleet.example.com"));
        assert_true(fleet_url_is_valid("https://fleet.example.com/"));
        assert_true(fleet_url_is_valid("https://127.0.0.1:8443/devices/SN-0001"));
        assert_true(fleet_url_is_valid("https://[::1]:8443/d"));
        assert_true(fleet_url_is_valid("https://h/a_b~c/d.assert"));
}

static void dangerous_urls_are_refused(void **state)
{
        const char *bad[] = {
                NULL,
                "",
                "http://h/x",
                "HTTPS://h/x",
                "file:///etc/passwd",
                "https://",
                "https:///x",
                "https://user@h/x",
                "https://h/x?y=1",
                "https://h/x#f",
                "https://h/a/../b",
                "https://h/a/./b",
                "https://h/..",
                "https://h//x",
                "https://h/a%2Fb",
                "https://h/a b",
                "https://h/a\\b",
                "https://h/a\nb",
                "https://h:0/x",
                "https://h:65536/x",
                "https://h:/x",
                "https://h:8a/x",
                "https://[::1/x",
                "https://[]/x",
                "https://h/x\r",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (fleet_url_is_valid(bad[i]))
                        fail_msg("accepted: %s", bad[i] ? bad[i] : "(null)");
}

static void url_length_limit_is_exact(void **state)
{
        char url[FLEET_URL_MAX + 2];
        size_t prefix = strlen("https://h/");

        memcpy(url, "https://h/", prefix);
        memset(url + prefix, 'a', FLEET_URL_MAX - prefix);
        url[FLEET_URL_MAX] = '\0';
        assert_true(fleet_url_is_valid(url)); /* N */
        url[FLEET_URL_MAX] = 'a';
        url[FLEET_URL_MAX + 1] = '\0';
        assert_false(fleet_url_is_valid(url)); /* N + 1 */
}

static void feed_url_is_base_plus_assertions(void **state)
{
        char *u = NULL;
        assert_int_equal(fleet_url_feed("https://h/devices/SN-1", &u), 0);
        assert_string_equal(u, "https://h/devices/SN-1/assertions");
        free(u);
        assert_int_equal(fleet_url_feed("https://h/devices/SN-1/", &u), 0);
        assert_string_equal(u, "https://h/devices/SN-1/assertions");
        free(u);
        assert_int_equal(fleet_url_feed("http://h/x", &u), -EINVAL);
}

static void prerequisite_urls_take_only_valid_ids(void **state)
{
        char *u = NULL;

        assert_int_equal(fleet_url_prerequisite("https://h/d", "account-key", KEY, &u), 0);
        assert_string_equal(u, "https://h/d/assertions/account-key/" KEY);
        free(u);
        assert_int_equal(fleet_url_prerequisite("https://h/d", "account", "acme", &u), 0);
        assert_string_equal(u, "https://h/d/assertions/account/acme");
        free(u);
        assert_int_equal(
                fleet_url_prerequisite("https://h/d", "account", "AbCdEfGhIjKlMnOpQrStUvWxYz012345", &u), 0);
        free(u);

        const char *bad_accounts[] = { "../x", "a", "acme/x", "acme?x", "Acme", "a%2f", "", "acme#" };
        for (size_t i = 0; i < sizeof(bad_accounts) / sizeof(bad_accounts[0]); i++)
                assert_int_equal(fleet_url_prerequisite("https://h/d", "account", bad_accounts[i], &u),
                                 -EINVAL);
        const char *bad_keys[] = { "short", KEY "A", "../../../../etc/passwd",
                                   "AN/Nxgp3na8z9_X4m-n0F0ollw-DlASD1dhfBs4CPqU34DQw__nFsnBErazAINv1",
                                   "ANvNxgp3na8z9_X4m-n0F0ollw-DlASD1dhfBs4CPqU34DQw__nFsnBErazAIN=1" };
        for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++)
                assert_int_equal(fleet_url_prerequisite("https://h/d", "account-key", bad_keys[i], &u),
                                 -EINVAL);
        assert_int_equal(fleet_url_prerequisite("https://h/d", "system-user", "acme", &u), -EINVAL);
        assert_int_equal(fleet_url_prerequisite("https://h/d", "../account", "acme", &u), -EINVAL);
}

static void base_of_a_bundle_url(void **state)
{
        const char *cases[][2] = {
                { "https://h/d/SN/assertions", "https://h/d/SN" },
                { "https://h/d/SN/assertions/", "https://h/d/SN" },
                { "https://h/d/SN/assertions/today", "https://h/d/SN" },
                { "https://h/pub/bundle.assert", "https://h/pub" },
                { "https://h/bundle.assert", "https://h" },
                { "https://h/assertions", "https://h" },
                { "https://h", "https://h" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *b = NULL;
                assert_int_equal(fleet_url_base_of(cases[i][0], &b), 0);
                assert_string_equal(b, cases[i][1]);
                free(b);
        }
        char *b = NULL;
        assert_int_equal(fleet_url_base_of("https://h/x?y", &b), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(valid_urls_are_accepted),
                cmocka_unit_test(dangerous_urls_are_refused),
                cmocka_unit_test(url_length_limit_is_exact),
                cmocka_unit_test(feed_url_is_base_plus_assertions),
                cmocka_unit_test(prerequisite_urls_take_only_valid_ids),
                cmocka_unit_test(base_of_a_bundle_url),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
