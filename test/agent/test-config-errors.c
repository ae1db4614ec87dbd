/* SPDX-License-Identifier: MIT */
/* Every way a configuration is refused: unknown and duplicate keys, wrong types for every key, invalid
 * values, YAML features refused as hostile (anchors, aliases, tags), broken YAML; each error names the file,
 * the line and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config-test-util.h"

typedef struct ErrorCase {
        const char *yaml;
        int error;
        unsigned line;
        const char *key;    /* "" when the error is not about a key */
        const char *reason; /* a substring of the message */
} ErrorCase;

#define DEV   "device:\n  brand-id: acme\n  model: m\n"
#define FLEET "fleet:\n  url: https://f.example\n"

static const ErrorCase cases[] = {
        /* unknown keys, at every level */
        { "devices:\n  model: m\n", -EBADMSG, 1, "devices", "unknown key" },
        { "device:\n  brand: acme\n", -EBADMSG, 2, "device.brand", "unknown key" },
        { "media:\n  create_users: never\n", -EBADMSG, 2, "media.create_users", "unknown key" },
        { "users:\n  groups: [sudo]\n", -EBADMSG, 2, "users.groups", "unknown key" },
        { FLEET "  insecure: true\n", -EBADMSG, 3, "fleet.insecure", "unknown key" },
        { "<<: {device: {}}\n", -EBADMSG, 1, "<<", "unknown key" },
        /* an unprintable key is masked, a long one cut */
        { "\"dev\\tice\": {}\n", -EBADMSG, 1, "dev?ice", "unknown key" },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: 1\n", -EBADMSG, 1,
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...", "unknown key" },
        /* a NUL inside a key must not make it look like a known one */
        { "\"device\\0x\": {}\n", -EBADMSG, 1, "device?x", "unknown key" },

        /* duplicate keys, at both levels */
        { "media: {}\nusers: {}\nmedia: {}\n", -EBADMSG, 3, "media", "duplicate key (first at line 1)" },
        { DEV "  model: n\n", -EBADMSG, 4, "device.model", "duplicate key (first at line 3)" },
        { "users:\n  shell: /bin/sh\n  shell: /bin/bash\n", -EBADMSG, 3, "users.shell", "duplicate key" },

        /* hostile YAML: anchors, aliases, tags, merge keys */
        { "device: &d\n  brand-id: acme\n  model: m\n", -EBADMSG, 1, "device", "anchors are not allowed" },
        { "users:\n  shell: &s /bin/sh\n", -EBADMSG, 2, "users.shell", "anchors are not allowed" },
        { "a: &a [x]\n", -EBADMSG, 1, "a", "unknown key" }, /* the key is refused before its value */
        { "users:\n  admin-groups: [*g]\n", -EBADMSG, 2, "users.admin-groups", "aliases are not allowed" },
        { "users: *u\n", -EBADMSG, 1, "users", "aliases are not allowed" },
        { "users:\n  shell: !!str /bin/sh\n", -EBADMSG, 2, "users.shell", "tags are not allowed" },
        { "media: !!map {}\n", -EBADMSG, 1, "media", "tags are not allowed" },
        { "--- !config\nmedia: {}\n", -EBADMSG, 1, "", "tags are not allowed" },
        { "fleet:\n  url: https://f.example\n  create-users: !!bool true\n", -EBADMSG, 3,
          "fleet.create-users", "tags are not allowed" },

        /* the document's shape */
        { "- device\n", -EBADMSG, 1, "", "top level must be a mapping" },
        { "just a string\n", -EBADMSG, 1, "", "top level must be a mapping" },
        { "---\n", -EBADMSG, 2, "", "top level must be a mapping" },
        { "media: {}\n---\nusers: {}\n", -EBADMSG, 2, "", "only one YAML document" },
        { "? [a, b]\n: c\n", -EBADMSG, 1, "", "keys must be plain names" },
        { "device: [acme]\n", -EBADMSG, 1, "device", "expected a mapping, got a list" },
        { "media: never\n", -EBADMSG, 1, "media", "expected a mapping, got a scalar" },
        { "users: 3\n", -EBADMSG, 1, "users", "expected a mapping" },
        { "fleet: [x]\n", -EBADMSG, 1, "fleet", "expected a mapping" },

        /* broken YAML reports libyaml's line */
        { "users:\n  admin-groups: [a\n", -EBADMSG, 3, "", "invalid YAML" },
        { "device:\n\tmodel: m\n", -EBADMSG, 2, "", "invalid YAML" },
        { "media: {devices: any\n", -EBADMSG, 2, "", "invalid YAML" },
        { "users:\n  shell: \"/bin/sh\n", -EBADMSG, 3, "", "invalid YAML" },

        /* wrong types, for every key */
        { "device:\n  brand-id: [acme]\n  model: m\n", -EBADMSG, 2, "device.brand-id",
          "expected a string, got a list" },
        { "device:\n  brand-id: acme\n  model: {a: b}\n", -EBADMSG, 3, "device.model",
          "expected a string, got a mapping" },
        { DEV "  serial: [SN]\n", -EBADMSG, 4, "device.serial", "expected a string, got a list" },
        { DEV "  serial-from: {dmi: 1}\n", -EBADMSG, 4, "device.serial-from", "expected a string" },
        { DEV "  series: [16]\n", -EBADMSG, 4, "device.series", "expected a string, got a list" },
        { "media:\n  create-users: [always]\n", -EBADMSG, 2, "media.create-users", "expected a string" },
        { "media:\n  devices: {any: 1}\n", -EBADMSG, 2, "media.devices", "expected a string" },
        { "users:\n  admin-groups: sudo\n", -EBADMSG, 2, "users.admin-groups", "expected a list" },
        { "users:\n  admin-groups: {sudo: 1}\n", -EBADMSG, 2, "users.admin-groups", "expected a list" },
        { "users:\n  admin-groups: [[sudo]]\n", -EBADMSG, 2, "users.admin-groups",
          "item 1: expected a group name, got a list" },
        { "users:\n  admin-groups:\n    - sudo\n    - {a: b}\n", -EBADMSG, 4, "users.admin-groups",
          "item 2: expected a group name, got a mapping" },
        { "users:\n  storage: [directory]\n", -EBADMSG, 2, "users.storage", "expected a string" },
        { "users:\n  shell: [/bin/sh]\n", -EBADMSG, 2, "users.shell", "expected a string" },
        { "fleet:\n  url: [https://f.example]\n", -EBADMSG, 2, "fleet.url", "expected a string" },
        { FLEET "  ca-file: [/a]\n", -EBADMSG, 3, "fleet.ca-file", "expected a string" },
        { FLEET "  client-cert: {a: b}\n", -EBADMSG, 3, "fleet.client-cert", "expected a string" },
        { FLEET "  client-key: [a]\n", -EBADMSG, 3, "fleet.client-key", "expected a string" },
        { FLEET "  interval: [15m]\n", -EBADMSG, 3, "fleet.interval", "expected a string" },
        { FLEET "  create-users: [true]\n", -EBADMSG, 3, "fleet.create-users", "expected true or false" },
        { FLEET "  create-users: \"true\"\n", -EBADMSG, 3, "fleet.create-users", "expected true or false" },
        { FLEET "  create-users: yes\n", -EBADMSG, 3, "fleet.create-users", "expected true or false" },
        { FLEET "  create-users: 1\n", -EBADMSG, 3, "fleet.create-users", "expected true or false" },
        /* null where a value is needed */
        { "device:\n  brand-id:\n  model: m\n", -EBADMSG, 2, "device.brand-id", "got no value" },
        { "users:\n  shell: ~\n", -EBADMSG, 2, "users.shell", "got no value" },
        { "users:\n  admin-groups:\n", -EBADMSG, 2, "users.admin-groups", "expected a list" },
        { "media:\n  devices: null\n", -EBADMSG, 2, "media.devices", "got no value" },
        { "device:\n  brand-id: \"acme\\0\"\n  model: m\n", -EBADMSG, 2, "device.brand-id", "NUL byte" },

        /* invalid values */
        { "device:\n  brand-id: a\n  model: m\n", -EBADMSG, 2, "device.brand-id", "not a valid account id" },
        { "device:\n  brand-id: Acme\n  model: m\n", -EBADMSG, 2, "device.brand-id",
          "not a valid account id" },
        { "device:\n  brand-id: acme\n  model: -m\n", -EBADMSG, 3, "device.model",
          "not a valid model name" },
        { "device:\n  brand-id: acme\n  model: m--x\n", -EBADMSG, 3, "device.model",
          "not a valid model name" },
        { "device:\n  brand-id: acme\n  model: m-\n", -EBADMSG, 3, "device.model",
          "not a valid model name" },
        { "device:\n  brand-id: acme\n  model: m_x\n", -EBADMSG, 3, "device.model",
          "not a valid model name" },
        { DEV "  serial: a/b\n", -EBADMSG, 4, "device.serial", "contains '/'" },
        { DEV "  serial: \"a\\tb\"\n", -EBADMSG, 4, "device.serial", "control or non-ASCII" },
        { DEV "  serial: \"é\"\n", -EBADMSG, 4, "device.serial", "control or non-ASCII" },
        { DEV "  serial: ' SN'\n", -EBADMSG, 4, "device.serial", "leading, trailing or repeated spaces" },
        { DEV "  serial: \"\"\n", -EBADMSG, 4, "device.serial", "serial is empty" },
        { DEV "  serial-from: bios\n", -EBADMSG, 4, "device.serial-from", "must be dmi" },
        { DEV "  series: sixteen\n", -EBADMSG, 4, "device.series", "must be a series number" },
        { DEV "  series: \"\"\n", -EBADMSG, 4, "device.series", "must be a series number" },
        { "media:\n  create-users: sometimes\n", -EBADMSG, 2, "media.create-users",
          "must be always, unmanaged-only or never" },
        { "media:\n  create-users: false\n", -EBADMSG, 2, "media.create-users", "must be always" },
        { "media:\n  devices: usb\n", -EBADMSG, 2, "media.devices", "must be removable or any" },
        { "users:\n  admin-groups: [Sudo]\n", -EBADMSG, 2, "users.admin-groups",
          "item 1: not a valid group name" },
        { "users:\n  admin-groups: [sudo, 1adm]\n", -EBADMSG, 2, "users.admin-groups",
          "item 2: not a valid group name" },
        { "users:\n  admin-groups: [\"\"]\n", -EBADMSG, 2, "users.admin-groups",
          "item 1: not a valid group name" },
        { "users:\n  admin-groups: [~]\n", -EBADMSG, 2, "users.admin-groups", "got no value" },
        { "users:\n  admin-groups: [sudo, adm, sudo]\n", -EBADMSG, 2, "users.admin-groups",
          "item 3: group 'sudo' is listed twice" },
        { "users:\n  storage: tmpfs\n", -EBADMSG, 2, "users.storage",
          "must be directory, subvolume or luks" },
        { "users:\n  activation: boot\n", -EBADMSG, 2, "users.activation", "must be start or login" },
        { "users:\n  activation: [login]\n", -EBADMSG, 2, "users.activation", "expected a string" },
        { "users:\n  disk-size: 20X\n", -EBADMSG, 2, "users.disk-size", "not a size" },
        { "users:\n  disk-size: G\n", -EBADMSG, 2, "users.disk-size", "not a size" },
        { "users:\n  disk-size: 1GB\n", -EBADMSG, 2, "users.disk-size", "not a size" },
        { "users:\n  disk-size: 5242879\n", -EBADMSG, 2, "users.disk-size", "between 5M and 5T" },
        { "users:\n  disk-size: 5497558138881\n", -EBADMSG, 2, "users.disk-size", "between 5M and 5T" },
        { "users:\n  disk-size: 99999999999999999999999\n", -EBADMSG, 2, "users.disk-size", "too large" },
        { "users:\n  shell: bash\n", -EBADMSG, 2, "users.shell", "must be an absolute path" },
        { "users:\n  shell: /bin/../tmp/sh\n", -EBADMSG, 2, "users.shell", "\"..\" component" },
        { "users:\n  shell: /bin/./sh\n", -EBADMSG, 2, "users.shell", "\"..\" component" },
        { "users:\n  shell: /bin//sh\n", -EBADMSG, 2, "users.shell", "empty component" },
        { "users:\n  shell: /bin/\n", -EBADMSG, 2, "users.shell", "ends with '/'" },
        { "users:\n  shell: \"/bin/sh\\n\"\n", -EBADMSG, 2, "users.shell", "control character" },
        { "fleet:\n  url: http://f.example\n", -EBADMSG, 2, "fleet.url", "must start with https://" },
        { "fleet:\n  url: HTTPS://f.example\n", -EBADMSG, 2, "fleet.url", "must start with https://" },
        { "fleet:\n  url: file:///etc/passwd\n", -EBADMSG, 2, "fleet.url", "must start with https://" },
        { "fleet:\n  url: https://\n", -EBADMSG, 2, "fleet.url", "no host" },
        { "fleet:\n  url: https:///x\n", -EBADMSG, 2, "fleet.url", "no host" },
        { "fleet:\n  url: https://:443/x\n", -EBADMSG, 2, "fleet.url", "no host" },
        { "fleet:\n  url: https://user:pw@f.example/\n", -EBADMSG, 2, "fleet.url", "credentials" },
        { "fleet:\n  url: \"https://f.example/a b\"\n", -EBADMSG, 2, "fleet.url", "space, control" },
        { FLEET "  ca-file: ca.pem\n", -EBADMSG, 3, "fleet.ca-file", "absolute path" },
        { FLEET "  client-cert: c.pem\n  client-key: /k\n", -EBADMSG, 3, "fleet.client-cert",
          "absolute path" },
        { FLEET "  client-cert: /c\n  client-key: k.pem\n", -EBADMSG, 4, "fleet.client-key",
          "absolute path" },
        { FLEET "  interval: 15\n", -EBADMSG, 3, "fleet.interval", "not a duration" },
        { FLEET "  interval: 15 m\n", -EBADMSG, 3, "fleet.interval", "not a duration" },
        { FLEET "  interval: 1w\n", -EBADMSG, 3, "fleet.interval", "not a duration" },
        { FLEET "  interval: -5m\n", -EBADMSG, 3, "fleet.interval", "not a duration" },
        { FLEET "  interval: m\n", -EBADMSG, 3, "fleet.interval", "not a duration" },
        { FLEET "  interval: 99999999999999999999s\n", -EBADMSG, 3, "fleet.interval", "not a duration" },
        { FLEET "  interval: 18446744073709551615d\n", -EBADMSG, 3, "fleet.interval", "not a duration" },
        { FLEET "  timeout: 30\n", -EBADMSG, 3, "fleet.timeout", "not a duration" },
        { FLEET "  timeout: [30s]\n", -EBADMSG, 3, "fleet.timeout", "expected a string" },

        /* keys that need each other; reported at the section's line */
        { "device:\n  model: m\n", -EBADMSG, 2, "device.brand-id", "missing (required when a model" },
        { "device:\n  serial: SN\n", -EBADMSG, 2, "device.brand-id", "missing" },
        { "device:\n  serial-from: dmi\n", -EBADMSG, 2, "device.brand-id", "missing" },
        { "device:\n  brand-id: acme\n", -EBADMSG, 2, "device.model", "missing (required with brand-id)" },
        { DEV "  serial: SN\n  serial-from: dmi\n", -EBADMSG, 2, "device.serial-from",
          "mutually exclusive" },
        { "fleet:\n  interval: 15m\n", -EBADMSG, 2, "fleet.url", "missing (required in a fleet section)" },
        { "fleet: {}\n", -EBADMSG, 1, "fleet.url", "missing" },
        { FLEET "  client-cert: /c.pem\n", -EBADMSG, 2, "fleet.client-key", "go together" },
        { FLEET "  client-key: /k.pem\n", -EBADMSG, 2, "fleet.client-cert", "go together" },
};

static void test_each_refusal_names_file_line_key_and_reason(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const ErrorCase *t = &cases[i];
                _cleanup_config_ Config *c = NULL;
                char prefix[256];
                _cleanup_(config_error_done) ConfigError err = {};
                int r;

                r = config_load_from_buffer(t->yaml, strlen(t->yaml), "etc/corehomed.yaml", &c, &err);
                if (r != t->error)
                        fail_msg("case %zu: returned %d, expected %d (%s) for:\n%s", i, r, t->error,
                                 err.message, t->yaml);
                assert_null(c);
                if (err.line != t->line || !streq(err.key, t->key) || !strstr(err.message, t->reason))
                        fail_msg("case %zu: got line %u key '%s' message '%s'; expected line %u key '%s' "
                                 "reason '%s'",
                                 i, err.line, err.key, err.message, t->line, t->key, t->reason);
                /* The message a person sees: "FILE:LINE: key 'KEY': reason". */
                if (*t->key)
                        snprintf(prefix, sizeof(prefix), "etc/corehomed.yaml:%u: key '%s': ", t->line,
                                 t->key);
                else
                        snprintf(prefix, sizeof(prefix), "etc/corehomed.yaml:%u: ", t->line);
                if (!startswith(err.message, prefix))
                        fail_msg("case %zu: message '%s' does not start with '%s'", i, err.message, prefix);
        }
}

static void test_error_struct_is_optional(void **state)
{
        _cleanup_config_ Config *c = NULL;

        assert_int_equal(config_load_from_buffer("x: 1\n", 5, "f", &c, NULL), -EBADMSG);
        assert_null(c);
}

/* An alias bomb is refused at the first alias: nothing is expanded. */
static void test_alias_bomb_is_refused_at_first_alias(void **state)
{
        const char *bomb = "a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n"
                           "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                           "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                           "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                           "users:\n  admin-groups: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n";
        const char *bomb_in_schema = "users:\n  admin-groups: &a [sudo]\n";
        _cleanup_config_ Config *c = NULL;
        _cleanup_(config_error_done) ConfigError err = {};

        assert_int_equal(config_load_from_buffer(bomb, strlen(bomb), "f", &c, &err), -EBADMSG);
        assert_int_equal(config_load_from_buffer(bomb_in_schema, strlen(bomb_in_schema), "f", &c, &err),
                         -EBADMSG);
        assert_non_null(strstr(err.message, "anchors are not allowed"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_each_refusal_names_file_line_key_and_reason),
                cmocka_unit_test(test_error_struct_is_optional),
                cmocka_unit_test(test_alias_bomb_is_refused_at_first_alias),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
