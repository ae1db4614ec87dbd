/* SPDX-License-Identifier: MIT */
/* The parts of the conversion the golden files cannot show: the configuration's effect (admin groups,
 * shell), that the provenance is inside what our signature covers, that the record can be signed and
 * verified, and the failure contract (nothing returned, a message for a person). */
#include <openssl/evp.h>

#include "test-grant-util.h"

#include "config.h"
#include "grant-convert.h"
#include "user-record.h"

#define LAST_CHANGE ((usec_t) 1700000000000000ULL)
#define HEADERS                                                                                        \
        "type: system-user\nformat: 2\nauthority-id: acme\nbrand-id: acme\nemail: alice@example.com\n" \
        "models:\n  - appliance-1\nsince: 2024-01-01T00:00:00Z\nuntil: 2030-01-01T00:00:00Z\n"         \
        "user-presence: until-expiration\nusername: alice"

static json_t *convert(const char *headers, const Config *config, char **ret_error, int *ret_r)
{
        _cleanup_assertion_ Assertion *a = grant_test_assertion(headers);
        _cleanup_system_user_ SystemUser *u = grant_test_system_user(a);
        json_t *record = NULL;

        *ret_r = grant_to_user_record(u, a, config, LAST_CHANGE, &record, ret_error);
        return record;
}

static void set_groups(Config *config, const char *const *groups, size_t n)
{
        strv_free(config->users.admin_groups);
        config->users.admin_groups = calloc(n + 1, sizeof(char *));
        assert_non_null(config->users.admin_groups);
        for (size_t i = 0; i < n; i++)
                assert_non_null(config->users.admin_groups[i] = strdup(groups[i]));
        config->users.n_admin_groups = n;
}

static void test_convert_admin_groups_from_config(void **state)
{
        static const char *const groups[] = { "wheel", "adm" };
        _cleanup_config_ Config *config = NULL;
        _cleanup_json_ json_t *record = NULL, *none = NULL;
        int r;

        (void) state;
        assert_int_equal(config_new_default(&config), 0);
        set_groups(config, groups, 2);
        record = convert(HEADERS, config, NULL, &r);
        assert_int_equal(r, 0);
        json_t *m = json_object_get(record, "memberOf");
        assert_int_equal(json_array_size(m), 2);
        assert_string_equal(json_string_value(json_array_get(m, 0)), "wheel");
        assert_string_equal(json_string_value(json_array_get(m, 1)), "adm");

        /* users.admin-groups: [] -> an unprivileged user, no memberOf at all. */
        set_groups(config, NULL, 0);
        none = convert(HEADERS, config, NULL, &r);
        assert_int_equal(r, 0);
        assert_null(json_object_get(none, "memberOf"));
}

static void test_convert_shell_from_config(void **state)
{
        _cleanup_config_ Config *config = NULL;
        _cleanup_json_ json_t *record = NULL;
        int r;

        (void) state;
        assert_int_equal(config_new_default(&config), 0);
        free(config->users.shell);
        assert_non_null(config->users.shell = strdup("/usr/bin/zsh"));
        record = convert(HEADERS, config, NULL, &r);
        assert_int_equal(r, 0);
        assert_string_equal(json_string_value(json_object_get(record, "shell")), "/usr/bin/zsh");
        assert_string_equal(json_string_value(json_object_get(record, "storage")), "directory");
        assert_int_equal(json_integer_value(json_object_get(record, "lastChangeUSec")),
                         (json_int_t) LAST_CHANGE);
}

/* The provenance must be covered by our signature: it lives in the regular section, which the canonical
 * (signed) text includes; a record signed with a key verifies as exclusively signed by it. */
static void test_convert_grant_extension_is_signed(void **state)
{
        _cleanup_config_ Config *config = NULL;
        _cleanup_json_ json_t *record = NULL, *signed_record = NULL;
        _cleanup_free_ char *canonical = NULL;
        UserRecordSignatureState st;
        EVP_PKEY *key;
        int r;

        (void) state;
        assert_int_equal(config_new_default(&config), 0);
        record = convert(HEADERS, config, NULL, &r);
        assert_int_equal(r, 0);
        assert_int_equal(user_record_canonical_text(record, &canonical), 0);
        assert_non_null(strstr(canonical, "\"io.corehomed.grant\":{\"assertionSha3_384\":\""));
        assert_non_null(strstr(canonical, "\"brandId\":\"acme\""));

        key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        assert_non_null(key);
        assert_int_equal(user_record_sign(record, key, &signed_record), 0);
        assert_int_equal(user_record_verify(signed_record, key, &st), 0);
        assert_int_equal(st, USER_RECORD_SIGNED_EXCLUSIVE);

        /* Changing the provenance breaks the signature. */
        json_object_set_new(json_object_get(signed_record, GRANT_RECORD_EXTENSION), "revision",
                            json_integer(99));
        assert_int_equal(user_record_verify(signed_record, key, &st), 0);
        assert_int_equal(st, USER_RECORD_FOREIGN);
        EVP_PKEY_free(key);
}

/* The digest covers the signature too: two assertions that differ only there are different grants. */
static void test_convert_digest_covers_signature(void **state)
{
        static const char *const sigs[] = { GRANT_TEST_SIGNATURE,
                                            "AcLBUgQAAQoABgUCV8p2GwAKCRBV6vt4ch5ywkn2D/"
                                            "0fixturesignaturenotverified+/AAAB" };
        _cleanup_config_ Config *config = NULL;
        char digests[2][97];

        (void) state;
        assert_int_equal(config_new_default(&config), 0);
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_assertion_ Assertion *a = NULL;
                _cleanup_system_user_ SystemUser *u = NULL;
                _cleanup_json_ json_t *record = NULL;

                assert_true(asprintf(&text, HEADERS "\nsign-key-sha3-384: %s\n\n%s\n", GRANT_TEST_SIGN_KEY,
                                     sigs[i]) > 0);
                assert_int_equal(assertion_decode(text, strlen(text), &a, NULL), 0);
                u = grant_test_system_user(a);
                assert_int_equal(grant_to_user_record(u, a, config, LAST_CHANGE, &record, NULL), 0);
                const char *d = json_string_value(json_object_get(
                        json_object_get(record, GRANT_RECORD_EXTENSION), "assertionSha3_384"));
                assert_non_null(d);
                assert_int_equal(strlen(d), 96);
                assert_int_equal(strspn(d, "0123456789abcdef"), 96);
                memcpy(digests[i], d, 97);
        }
        assert_string_not_equal(digests[0], digests[1]);
}

/* On failure nothing is returned, the error says why, and ret_error may be NULL. */
static void test_convert_failure_contract(void **state)
{
        _cleanup_config_ Config *config = NULL;
        _cleanup_assertion_ Assertion *a = NULL;
        _cleanup_system_user_ SystemUser *u = NULL;
        _cleanup_free_ char *error = NULL;
        json_t *record = (json_t *) 0x1;
        int r;

        (void) state;
        assert_int_equal(config_new_default(&config), 0);
        a = grant_test_assertion(
                "type: system-user\nauthority-id: acme\nbrand-id: acme\nemail: j@example.com\nmodels:\n"
                "  - appliance-1\nsince: 2024-01-01T00:00:00Z\nuntil: 2030-01-01T00:00:00Z\nusername: "
                "john.doe");
        u = grant_test_system_user(a);
        r = grant_to_user_record(u, a, config, LAST_CHANGE, &record, &error);
        assert_int_equal(r, -EBADMSG);
        assert_ptr_equal(record, (json_t *) 0x1);
        assert_non_null(error);
        assert_non_null(strstr(error, "valid for snapd but not for systemd"));
        assert_int_equal(grant_to_user_record(u, a, config, LAST_CHANGE, &record, NULL), -EBADMSG);
        assert_ptr_equal(record, (json_t *) 0x1);

        /* jansson integers are signed: a lastChangeUSec beyond INT64_MAX would turn negative. */
        free(u->username);
        assert_non_null(u->username = strdup("john"));
        assert_int_equal(grant_to_user_record(u, a, config, (usec_t) INT64_MAX + 1, &record, NULL), -ERANGE);
        assert_ptr_equal(record, (json_t *) 0x1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_convert_admin_groups_from_config),
                cmocka_unit_test(test_convert_shell_from_config),
                cmocka_unit_test(test_convert_grant_extension_is_signed),
                cmocka_unit_test(test_convert_digest_covers_signature),
                cmocka_unit_test(test_convert_failure_contract),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
