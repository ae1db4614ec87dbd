/* SPDX-License-Identifier: MIT */
/* Every limit of the configuration loader, at N (accepted) and N+1 (refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config-test-util.h"
#include "device-serial.h"

/* A valid configuration of exactly size bytes: one section padded with a comment line. */
static char *config_of_size(size_t size)
{
        const char *head = "media:\n  devices: any\n#";
        char *buf = malloc(size + 1);

        assert_non_null(buf);
        assert_true(size >= strlen(head) + 1);
        memset(buf, 'x', size);
        memcpy(buf, head, strlen(head));
        buf[size - 1] = '\n';
        buf[size] = '\0';
        return buf;
}

static int load(const char *yaml, ConfigError *err)
{
        _cleanup_config_ Config *c = NULL;
        return config_load_from_buffer(yaml, strlen(yaml), "t.yaml", &c, err);
}

static void test_buffer_at_size_limit_loads_one_more_byte_is_refused(void **state)
{
        _cleanup_free_ char *at = config_of_size(CONFIG_FILE_SIZE_MAX),
                            *over = config_of_size(CONFIG_FILE_SIZE_MAX + 1);
        _cleanup_config_ Config *c = NULL;
        _cleanup_(config_error_done) ConfigError err = {};

        assert_int_equal(config_load_from_buffer(at, CONFIG_FILE_SIZE_MAX, "t.yaml", &c, &err), 0);
        assert_int_equal(c->media.devices, CONFIG_MEDIA_DEVICES_ANY);
        c = config_free(c);
        assert_int_equal(config_load_from_buffer(over, CONFIG_FILE_SIZE_MAX + 1, "t.yaml", &c, &err),
                         -E2BIG);
        assert_null(c);
        assert_string_equal(err.message, "t.yaml: file is larger than 65536 bytes");
        assert_int_equal(err.line, 0);
}

static void test_file_at_size_limit_loads_one_more_byte_is_refused(void **state)
{
        _cleanup_free_ char *root = scratch_root_new(), *at = config_of_size(CONFIG_FILE_SIZE_MAX),
                            *over = config_of_size(CONFIG_FILE_SIZE_MAX + 1);
        _cleanup_config_ Config *c = NULL;
        _cleanup_(config_error_done) ConfigError err = {};

        scratch_root_write(root, CONFIG_PATH, at, CONFIG_FILE_SIZE_MAX, 0644);
        assert_int_equal(config_load(root, &c, &err), 0);
        assert_true(c->from_file);
        c = config_free(c);

        scratch_root_write(root, CONFIG_PATH, over, CONFIG_FILE_SIZE_MAX + 1, 0644);
        assert_int_equal(config_load(root, &c, &err), -E2BIG);
        assert_non_null(
                strstr(err.message, "/etc/corehomed/corehomed.yaml: file is larger than 65536 bytes"));
        scratch_root_remove(root);
}

static void test_value_at_length_limit_loads_one_more_byte_is_refused(void **state)
{
        char path[CONFIG_VALUE_MAX + 2], yaml[CONFIG_VALUE_MAX + 64];
        _cleanup_(config_error_done) ConfigError err = {};

        memset(path, 'a', sizeof(path));
        path[0] = '/';
        path[CONFIG_VALUE_MAX] = '\0';
        snprintf(yaml, sizeof(yaml), "users:\n  shell: %s\n", path);
        assert_int_equal(load(yaml, &err), 0);

        path[CONFIG_VALUE_MAX] = 'a';
        path[CONFIG_VALUE_MAX + 1] = '\0';
        snprintf(yaml, sizeof(yaml), "users:\n  shell: %s\n", path);
        assert_int_equal(load(yaml, &err), -E2BIG);
        assert_string_equal(err.key, "users.shell");
        assert_non_null(strstr(err.message, "longer than 4096 bytes"));
}

static void test_admin_groups_at_count_limit_load_one_more_is_refused(void **state)
{
        char yaml[4096] = "users:\n  admin-groups:\n";
        _cleanup_config_ Config *c = NULL;
        _cleanup_(config_error_done) ConfigError err = {};

        for (int i = 0; i < CONFIG_ADMIN_GROUPS_MAX; i++)
                snprintf(yaml + strlen(yaml), sizeof(yaml) - strlen(yaml), "    - g%d\n", i);
        assert_int_equal(config_load_from_buffer(yaml, strlen(yaml), "t.yaml", &c, &err), 0);
        assert_int_equal(c->users.n_admin_groups, CONFIG_ADMIN_GROUPS_MAX);
        assert_string_equal(c->users.admin_groups[CONFIG_ADMIN_GROUPS_MAX - 1], "g31");
        assert_null(c->users.admin_groups[CONFIG_ADMIN_GROUPS_MAX]);

        strcat(yaml, "    - one-more\n");
        assert_int_equal(load(yaml, &err), -E2BIG);
        assert_int_equal(err.line, 3 + CONFIG_ADMIN_GROUPS_MAX);
        assert_non_null(strstr(err.message, "more than 32 groups"));
}

static void test_group_name_at_length_limit_loads_one_more_byte_is_refused(void **state)
{
        char name[CONFIG_GROUP_NAME_MAX + 2], yaml[256];
        _cleanup_(config_error_done) ConfigError err = {};

        memset(name, 'g', sizeof(name));
        name[CONFIG_GROUP_NAME_MAX] = '\0';
        snprintf(yaml, sizeof(yaml), "users:\n  admin-groups: [%s]\n", name);
        assert_int_equal(load(yaml, &err), 0);

        name[CONFIG_GROUP_NAME_MAX] = 'g';
        name[CONFIG_GROUP_NAME_MAX + 1] = '\0';
        snprintf(yaml, sizeof(yaml), "users:\n  admin-groups: [%s]\n", name);
        assert_int_equal(load(yaml, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "not a valid group name"));
}

static void test_interval_bounds_are_inclusive(void **state)
{
        static const struct {
                const char *interval;
                int expected;
        } cases[] = {
                { "10s", 0 },         { "9s", -EBADMSG },     { "0s", -EBADMSG },
                { "7d", 0 },          { "604800s", 0 },       { "604801s", -EBADMSG },
                { "6d23h59m60s", 0 }, { "168h1s", -EBADMSG }, { "8d", -EBADMSG },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char yaml[256];
                _cleanup_(config_error_done) ConfigError err = {};

                snprintf(yaml, sizeof(yaml), "fleet:\n  url: https://f.example\n  interval: %s\n",
                         cases[i].interval);
                if (load(yaml, &err) != cases[i].expected)
                        fail_msg("interval %s: expected %d (%s)", cases[i].interval, cases[i].expected,
                                 err.message);
                if (cases[i].expected < 0)
                        assert_non_null(strstr(err.message, "must be between 10s and 7d"));
        }
}

static void test_fleet_timeout_bounds_are_inclusive(void **state)
{
        static const struct {
                const char *timeout;
                int expected;
        } cases[] = {
                { "1s", 0 },    { "0s", -EBADMSG },   { "2m", 0 },          { "120s", 0 },
                { "1m60s", 0 }, { "121s", -EBADMSG }, { "2m1s", -EBADMSG }, { "1h", -EBADMSG },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char yaml[256];
                _cleanup_(config_error_done) ConfigError err = {};

                snprintf(yaml, sizeof(yaml), "fleet:\n  url: https://f.example\n  timeout: %s\n",
                         cases[i].timeout);
                if (load(yaml, &err) != cases[i].expected)
                        fail_msg("timeout %s: expected %d (%s)", cases[i].timeout, cases[i].expected,
                                 err.message);
                if (cases[i].expected < 0)
                        assert_non_null(strstr(err.message, "must be between 1s and 2m"));
        }
}

static void test_serial_at_length_limit_loads_one_more_byte_is_refused(void **state)
{
        char serial[DEVICE_SERIAL_MAX + 2], yaml[512];
        _cleanup_(config_error_done) ConfigError err = {};

        memset(serial, 'S', sizeof(serial));
        serial[0] = 'A'; /* not a repeated-character placeholder (irrelevant for literal serials anyway) */
        serial[DEVICE_SERIAL_MAX] = '\0';
        snprintf(yaml, sizeof(yaml), "device:\n  brand-id: acme\n  model: m\n  serial: %s\n", serial);
        assert_int_equal(load(yaml, &err), 0);

        serial[DEVICE_SERIAL_MAX] = 'S';
        serial[DEVICE_SERIAL_MAX + 1] = '\0';
        snprintf(yaml, sizeof(yaml), "device:\n  brand-id: acme\n  model: m\n  serial: %s\n", serial);
        assert_int_equal(load(yaml, &err), -E2BIG);
        assert_string_equal(err.key, "device.serial");
}

static void test_brand_id_lengths_follow_snapd(void **state)
{
        static const struct {
                const char *brand;
                int expected;
        } cases[] = {
                { "ab", 0 },
                { "a", -EBADMSG },
                { "abcdefghijklmnopqrstuvwxyz-0", 0 },         /* 28 */
                { "abcdefghijklmnopqrstuvwxyz-01", -EBADMSG }, /* 29 */
                { "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 0 },     /* 32 mixed case */
                { "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234", -EBADMSG },
                { "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", -EBADMSG },
                { "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234-", -EBADMSG },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char yaml[256];
                _cleanup_(config_error_done) ConfigError err = {};

                snprintf(yaml, sizeof(yaml), "device:\n  brand-id: %s\n  model: m\n", cases[i].brand);
                if (load(yaml, &err) != cases[i].expected)
                        fail_msg("brand-id %s: expected %d (%s)", cases[i].brand, cases[i].expected,
                                 err.message);
        }
}

/* Nesting is bounded by the schema, not by libyaml: a deeply nested value is refused at its first level
 * without descending into it. */
static void test_deep_nesting_is_refused_at_first_level(void **state)
{
        size_t depth = 60000;
        _cleanup_free_ char *yaml = malloc(depth + 32);
        _cleanup_(config_error_done) ConfigError err = {};

        assert_non_null(yaml);
        strcpy(yaml, "users:\n  shell: ");
        memset(yaml + strlen(yaml), '[', depth);
        yaml[16 + depth] = '\0';
        assert_int_equal(load(yaml, &err), -EBADMSG);
        assert_string_equal(err.key, "users.shell");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_buffer_at_size_limit_loads_one_more_byte_is_refused),
                cmocka_unit_test(test_file_at_size_limit_loads_one_more_byte_is_refused),
                cmocka_unit_test(test_value_at_length_limit_loads_one_more_byte_is_refused),
                cmocka_unit_test(test_admin_groups_at_count_limit_load_one_more_is_refused),
                cmocka_unit_test(test_group_name_at_length_limit_loads_one_more_byte_is_refused),
                cmocka_unit_test(test_interval_bounds_are_inclusive),
                cmocka_unit_test(test_fleet_timeout_bounds_are_inclusive),
                cmocka_unit_test(test_serial_at_length_limit_loads_one_more_byte_is_refused),
                cmocka_unit_test(test_brand_id_lengths_follow_snapd),
                cmocka_unit_test(test_deep_nesting_is_refused_at_first_level),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
