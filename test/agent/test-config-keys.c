/* SPDX-License-Identifier: MIT */
/* Every key of corehomed.yaml: each accepted spelling yields the typed value, and every absent key its
 * documented default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config-test-util.h"

typedef struct KeyCase {
        const char *yaml;
        const char *key;
        const char *expected;
} KeyCase;

static const KeyCase cases[] = {
        /* device */
        { "device:\n  brand-id: acme\n  model: appliance-1\n", "device.brand-id", "acme" },
        { "device:\n  brand-id: acme\n  model: appliance-1\n", "device.model", "appliance-1" },
        { "device:\n  brand-id: acme\n  model: appliance-1\n", "device.serial", "(null)" },
        { "device:\n  brand-id: acme\n  model: appliance-1\n", "device.serial-source", "none" },
        { "device:\n  brand-id: ab\n  model: m\n", "device.brand-id", "ab" },
        { "device:\n  brand-id: ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\n  model: m\n", "device.brand-id",
          "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345" },
        { "device:\n  brand-id: developer1\n  model: testkeys-snapd-signed-core-20-amd64\n", "device.model",
          "testkeys-snapd-signed-core-20-amd64" },
        { "device:\n  brand-id: \"acme\"\n  model: 'Model-X'\n", "device.model", "Model-X" },
        { "device:\n  brand-id: acme\n  model: m\n  serial: SN-0001\n", "device.serial", "SN-0001" },
        { "device:\n  brand-id: acme\n  model: m\n  serial: SN-0001\n", "device.serial-source", "literal" },
        { "device:\n  brand-id: acme\n  model: m\n  serial: 'ABC 123'\n", "device.serial", "ABC 123" },
        { "device:\n  brand-id: acme\n  model: m\n  serial-from: dmi\n", "device.serial-source", "dmi" },
        /* from a buffer nothing is read: the DMI serial stays unknown */
        { "device:\n  brand-id: acme\n  model: m\n  serial-from: dmi\n", "device.serial", "(null)" },
        { "device:\n  brand-id: acme\n  model: m\n  series: \"16\"\n", "device.series", "16" },
        { "device:\n  brand-id: acme\n  model: m\n  series: 18\n", "device.series", "18" },
        { "device:\n", "device.brand-id", "(null)" },
        /* media */
        { "media:\n  create-users: always\n", "media.create-users", "always" },
        { "media:\n  create-users: unmanaged-only\n", "media.create-users", "unmanaged-only" },
        { "media:\n  create-users: never\n", "media.create-users", "never" },
        { "media:\n  devices: removable\n", "media.devices", "removable" },
        { "media:\n  devices: any\n", "media.devices", "any" },
        /* users */
        { "users:\n  admin-groups: [sudo, adm]\n", "users.admin-groups", "[sudo,adm]" },
        { "users:\n  admin-groups:\n    - wheel\n    - lpadmin\n", "users.admin-groups", "[wheel,lpadmin]" },
        { "users:\n  admin-groups: []\n", "users.admin-groups", "[]" },
        { "users:\n  admin-groups: [_svc, a-b_c9]\n", "users.admin-groups", "[_svc,a-b_c9]" },
        { "users:\n  storage: directory\n", "users.storage", "directory" },
        { "users:\n  storage: subvolume\n", "users.storage", "subvolume" },
        { "users:\n  storage: luks\n", "users.storage", "luks" },
        { "users:\n  activation: start\n", "users.activation", "start" },
        { "users:\n  activation: login\n", "users.activation", "login" },
        { "users:\n  disk-size: 5242880\n", "users.disk-size", "5242880" },
        { "users:\n  disk-size: 5T\n", "users.disk-size", "5497558138880" },
        { "users:\n  disk-size: 20G\n", "users.disk-size", "21474836480" },
        { "users:\n  disk-size: 512M\n", "users.disk-size", "536870912" },
        { "users:\n  shell: /bin/sh\n", "users.shell", "/bin/sh" },
        { "users:\n  shell: /usr/bin/zsh\n", "users.shell", "/usr/bin/zsh" },
        /* fleet */
        { "fleet:\n  url: https://fleet.example.com/devices/SN-0001\n", "fleet.url",
          "https://fleet.example.com/devices/SN-0001" },
        { "fleet:\n  url: https://fleet.example.com\n", "fleet.enabled", "true" },
        { "fleet:\n  url: https://fleet.example.com:8443/x?y=1\n", "fleet.url",
          "https://fleet.example.com:8443/x?y=1" },
        { "fleet:\n  url: https://f.example\n  ca-file: /etc/corehomed/fleet-ca.pem\n", "fleet.ca-file",
          "/etc/corehomed/fleet-ca.pem" },
        { "fleet:\n  url: https://f.example\n  client-cert: /etc/c.pem\n  client-key: /etc/k.pem\n",
          "fleet.client-cert", "/etc/c.pem" },
        { "fleet:\n  url: https://f.example\n  client-cert: /etc/c.pem\n  client-key: /etc/k.pem\n",
          "fleet.client-key", "/etc/k.pem" },
        { "fleet:\n  url: https://f.example\n  interval: 30s\n", "fleet.interval", "30s" },
        { "fleet:\n  url: https://f.example\n  interval: 15m\n", "fleet.interval", "900s" },
        { "fleet:\n  url: https://f.example\n  interval: 1h\n", "fleet.interval", "3600s" },
        { "fleet:\n  url: https://f.example\n  interval: 2d\n", "fleet.interval", "172800s" },
        { "fleet:\n  url: https://f.example\n  interval: 1h30m\n", "fleet.interval", "5400s" },
        { "fleet:\n  url: https://f.example\n  interval: \"45s\"\n", "fleet.interval", "45s" },
        { "fleet:\n  url: https://f.example\n  timeout: 3s\n", "fleet.timeout", "3s" },
        { "fleet:\n  url: https://f.example\n  timeout: 1m30s\n", "fleet.timeout", "90s" },
        { "fleet:\n  url: https://f.example\n  create-users: true\n", "fleet.create-users", "true" },
        { "fleet:\n  url: https://f.example\n  create-users: false\n", "fleet.create-users", "false" },
        /* a fleet section with every entry commented out is no fleet */
        { "fleet:\n  # url: https://f.example\n", "fleet.enabled", "false" },
        /* comments, document markers, flow style and key order do not matter */
        { "# corehomed\n---\nusers: {shell: /bin/zsh}\n...\n", "users.shell", "/bin/zsh" },
        { "device: {model: m, brand-id: acme}\n", "device.brand-id", "acme" },
        { "%YAML 1.1\n---\nmedia:\n  devices: any\n", "media.devices", "any" },
};

/* The defaults that docs/configuration.md promises, for a file that does not mention the key. */
static const KeyCase defaults[] = {
        { "", "from-file", "true" },
        { "", "device.brand-id", "(null)" },
        { "", "device.model", "(null)" },
        { "", "device.serial", "(null)" },
        { "", "device.serial-source", "none" },
        { "", "device.series", "16" },
        { "", "media.create-users", "always" },
        { "", "media.devices", "removable" },
        { "", "users.admin-groups", "[sudo]" },
        { "", "users.storage", "directory" },
        { "", "users.activation", "start" },
        { "", "users.disk-size", "0" },
        { "", "users.shell", "/bin/bash" },
        { "", "fleet.enabled", "false" },
        { "", "fleet.url", "(null)" },
        { "", "fleet.ca-file", "(null)" },
        { "", "fleet.client-cert", "(null)" },
        { "", "fleet.client-key", "(null)" },
        { "", "fleet.interval", "900s" },
        { "", "fleet.timeout", "120s" },
        { "", "fleet.create-users", "false" },
        { "# only a comment\n", "users.admin-groups", "[sudo]" },
        { "media:\n  devices: any\n", "media.create-users", "always" },
        { "fleet:\n  url: https://f.example\n", "fleet.interval", "900s" },
        { "fleet:\n  url: https://f.example\n", "fleet.timeout", "120s" },
        { "fleet:\n  url: https://f.example\n", "fleet.create-users", "false" },
        { "device:\n  brand-id: acme\n  model: m\n", "device.series", "16" },
};

static void check_cases(const KeyCase *table, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_config_ Config *c = NULL;
                _cleanup_free_ char *got = NULL;
                _cleanup_(config_error_done) ConfigError err = {};
                int r;

                r = config_load_from_buffer(table[i].yaml, strlen(table[i].yaml), "test.yaml", &c, &err);
                if (r < 0)
                        fail_msg("case %zu (%s): refused: %s", i, table[i].key, err.message);
                got = config_value_text(c, table[i].key);
                if (!streq(got, table[i].expected))
                        fail_msg("case %zu: %s = '%s', expected '%s'", i, table[i].key, got,
                                 table[i].expected);
        }
}

static void test_every_key_gives_its_typed_value(void **state)
{
        check_cases(cases, ELEMENTSOF(cases));
}

static void test_absent_keys_take_documented_defaults(void **state)
{
        check_cases(defaults, ELEMENTSOF(defaults));
}

static void test_default_config_has_no_device_identity(void **state)
{
        _cleanup_config_ Config *c = NULL;

        assert_int_equal(config_new_default(&c), 0);
        assert_false(c->from_file);
        assert_null(c->device.brand_id);
        assert_null(c->device.model);
        assert_null(c->device.serial);
        assert_string_equal(c->device.series, "16");
        assert_string_equal(c->users.admin_groups[0], "sudo");
        assert_null(c->users.admin_groups[1]);
        assert_int_equal(c->users.n_admin_groups, 1);
}

static void test_missing_file_loads_defaults(void **state)
{
        _cleanup_free_ char *root = scratch_root_new();
        _cleanup_config_ Config *c = NULL;
        _cleanup_(config_error_done) ConfigError err = {};

        assert_int_equal(config_load(root, &c, &err), 0);
        assert_false(c->from_file);
        assert_null(c->device.brand_id);
        assert_string_equal(c->users.shell, "/bin/bash");
        scratch_root_remove(root);
}

static void test_file_under_root_is_loaded(void **state)
{
        _cleanup_free_ char *root = scratch_root_new();
        _cleanup_config_ Config *c = NULL;
        const char *yaml = "device:\n  brand-id: acme\n  model: appliance-1\n  serial: SN-0001\n";
        _cleanup_(config_error_done) ConfigError err = {};

        scratch_root_write(root, CONFIG_PATH, yaml, strlen(yaml), 0644);
        assert_int_equal(config_load(root, &c, &err), 0);
        assert_true(c->from_file);
        assert_string_equal(c->device.brand_id, "acme");
        assert_string_equal(c->device.serial, "SN-0001");
        scratch_root_remove(root);
}

/* docs/corehomed.yaml.example shows every key: it must load, and give the values it documents. */
static void test_documented_example_loads(void **state)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_config_ Config *c = NULL;
        const char *source = getenv("SOURCE_DIR");
        _cleanup_(config_error_done) ConfigError err = {};
        size_t size;

        if (!source) {
                print_message("SKIP: SOURCE_DIR not set\n");
                skip();
        }
        assert_true(asprintf(&path, "%s/docs/corehomed.yaml.example", source) > 0);
        assert_int_equal(read_file_bounded(AT_FDCWD, path, CONFIG_FILE_SIZE_MAX, &data, &size), 0);
        if (config_load_from_buffer(data, size, path, &c, &err) < 0)
                fail_msg("%s", err.message);
        assert_string_equal(c->device.brand_id, "acme");
        assert_string_equal(c->device.model, "appliance-1");
        assert_string_equal(c->device.serial, "SN-0001");
        assert_string_equal(c->device.series, "16");
        assert_int_equal(c->media.create_users, CONFIG_CREATE_USERS_ALWAYS);
        assert_int_equal(c->media.devices, CONFIG_MEDIA_DEVICES_REMOVABLE);
        assert_int_equal(c->users.n_admin_groups, 1);
        assert_string_equal(c->users.shell, "/bin/bash");
        assert_true(c->fleet.enabled);
        assert_string_equal(c->fleet.client_key, "/etc/corehomed/fleet-client.key");
        assert_int_equal(c->fleet.interval, 15 * 60 * USEC_PER_SEC);
        assert_int_equal(c->fleet.timeout, 2 * 60 * USEC_PER_SEC);
        assert_false(c->fleet.create_users);
}

static void test_free_accepts_null(void **state)
{
        assert_null(config_free(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_key_gives_its_typed_value),
                cmocka_unit_test(test_absent_keys_take_documented_defaults),
                cmocka_unit_test(test_default_config_has_no_device_identity),
                cmocka_unit_test(test_missing_file_loads_defaults),
                cmocka_unit_test(test_file_under_root_is_loaded),
                cmocka_unit_test(test_documented_example_loads),
                cmocka_unit_test(test_free_accepts_null),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
