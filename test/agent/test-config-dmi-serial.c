/* SPDX-License-Identifier: MIT */
/* The DMI serial: read under the root, bounded, trimmed, and refused when it cannot identify one device;
 * and "serial-from: dmi" in the configuration, which makes config_load() read it. Also the checks on the
 * configuration file itself (symlink, type, owner/mode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config-test-util.h"
#include "device-serial.h"

typedef struct DmiCase {
        const char *content;
        size_t size; /* 0: strlen(content) */
        int expected;
        const char *serial; /* on success */
} DmiCase;

static const DmiCase cases[] = {
        { "PF1ABCDE\n", 0, 0, "PF1ABCDE" },
        { "  PF1ABCDE  \n", 0, 0, "PF1ABCDE" },
        { "\tC02XK0AAJGH5\r\n", 0, 0, "C02XK0AAJGH5" },
        { "ABC 123\n", 0, 0, "ABC 123" },
        { "SN-0001", 0, 0, "SN-0001" },
        { "", 0, -EBADMSG, NULL },
        { "\n", 0, -EBADMSG, NULL },
        { "     \n", 0, -EBADMSG, NULL },
        { "To be filled by O.E.M.\n", 0, -EBADMSG, NULL },
        { "To Be Filled By O.E.M.\n", 0, -EBADMSG, NULL },
        { "TO BE FILLED BY OEM\n", 0, -EBADMSG, NULL },
        { "To be filled by O.E.M. (serial)\n", 0, -EBADMSG, NULL },
        { "Default string\n", 0, -EBADMSG, NULL },
        { "System Serial Number\n", 0, -EBADMSG, NULL },
        { "Not Specified\n", 0, -EBADMSG, NULL },
        { "None\n", 0, -EBADMSG, NULL },
        { "N/A\n", 0, -EBADMSG, NULL },
        { "0\n", 0, -EBADMSG, NULL },
        { "00000000\n", 0, -EBADMSG, NULL },
        { "XXXXXXXXXX\n", 0, -EBADMSG, NULL },
        { "123456789\n", 0, -EBADMSG, NULL },
        { "ABC\x01"
          "DEF\n",
          0, -EBADMSG, NULL },
        { "ABC\x7f"
          "DEF\n",
          0, -EBADMSG, NULL },
        { "caf\xc3\xa9\n", 0, -EBADMSG, NULL },
        { "AB\0CD\n", 6, -EBADMSG, NULL },
        { "AB/CD\n", 0, -EBADMSG, NULL },
        { "AB  CD\n", 0, -EBADMSG, NULL },
};

static void write_dmi(const char *root, const void *data, size_t size)
{
        scratch_root_write(root, DEVICE_SERIAL_DMI_PATH, data, size, 0400);
}

static void test_dmi_serial_cases(void **state)
{
        _cleanup_free_ char *root = scratch_root_new();

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *serial = NULL;
                const char *reason = NULL;
                size_t size = cases[i].size ? cases[i].size : strlen(cases[i].content);
                int r;

                write_dmi(root, cases[i].content, size);
                r = device_serial_read_dmi(root, &serial, &reason);
                if (r != cases[i].expected)
                        fail_msg("case %zu: returned %d, expected %d (%s)", i, r, cases[i].expected,
                                 strempty(reason));
                if (r < 0) {
                        assert_null(serial);
                        assert_non_null(reason);
                } else
                        assert_string_equal(serial, cases[i].serial);
        }
        scratch_root_remove(root);
}

static void test_dmi_serial_size_limit(void **state)
{
        _cleanup_free_ char *root = scratch_root_new(), *serial = NULL;
        char buf[DEVICE_SERIAL_MAX * 4];

        /* DEVICE_SERIAL_MAX bytes of serial (plus newline) are accepted, one more refused. */
        memset(buf, 'A', sizeof(buf));
        buf[0] = 'B';
        buf[DEVICE_SERIAL_MAX] = '\n';
        write_dmi(root, buf, DEVICE_SERIAL_MAX + 1);
        assert_int_equal(device_serial_read_dmi(root, &serial, NULL), 0);
        assert_int_equal(strlen(serial), DEVICE_SERIAL_MAX);

        buf[DEVICE_SERIAL_MAX] = 'A';
        buf[DEVICE_SERIAL_MAX + 1] = '\n';
        write_dmi(root, buf, DEVICE_SERIAL_MAX + 2);
        assert_int_equal(device_serial_read_dmi(root, &serial, NULL), -E2BIG);

        /* A huge file is refused without reading it all. */
        write_dmi(root, buf, sizeof(buf));
        assert_int_equal(device_serial_read_dmi(root, &serial, NULL), -E2BIG);
        scratch_root_remove(root);
}

static void test_dmi_serial_missing_symlink_and_fifo(void **state)
{
        _cleanup_free_ char *root = scratch_root_new(), *serial = NULL, *path = NULL, *target = NULL;

        assert_int_equal(device_serial_read_dmi(root, &serial, NULL), -ENOENT);

        write_dmi(root, "REAL123\n", 8);
        assert_int_equal(path_join_root(root, DEVICE_SERIAL_DMI_PATH, &path), 0);
        assert_true(asprintf(&target, "%s.target", path) > 0);
        assert_int_equal(rename(path, target), 0);
        assert_int_equal(symlink(target, path), 0);
        assert_int_equal(device_serial_read_dmi(root, &serial, NULL), -ELOOP);

        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkfifo(path, 0600), 0);
        assert_int_equal(device_serial_read_dmi(root, &serial, NULL), -EBADFD);
        assert_null(serial);
        scratch_root_remove(root);
}

static void test_config_serial_from_dmi_reads_under_root(void **state)
{
        _cleanup_free_ char *root = scratch_root_new();
        _cleanup_config_ Config *c = NULL;
        const char *yaml = "device:\n  brand-id: acme\n  model: m\n  serial-from: dmi\n";
        _cleanup_(config_error_done) ConfigError err = {};

        scratch_root_write(root, CONFIG_PATH, yaml, strlen(yaml), 0644);
        write_dmi(root, " PF1ABCDE \n", 11);
        assert_int_equal(config_load(root, &c, &err), 0);
        assert_int_equal(c->device.serial_source, CONFIG_SERIAL_DMI);
        assert_string_equal(c->device.serial, "PF1ABCDE");
        c = config_free(c);

        /* The configuration asked for the DMI serial: a placeholder fails the load, naming the key. */
        write_dmi(root, "To be filled by O.E.M.\n", 23);
        assert_int_equal(config_load(root, &c, &err), -EBADMSG);
        assert_null(c);
        assert_int_equal(err.line, 4);
        assert_string_equal(err.key, "device.serial-from");
        assert_non_null(strstr(err.message,
                               "corehomed.yaml:4: key 'device.serial-from': cannot use the DMI "
                               "serial (/sys/class/dmi/id/product_serial): DMI serial is a vendor "
                               "placeholder"));

        scratch_root_remove(root);
        free(root);
        root = scratch_root_new();
        scratch_root_write(root, CONFIG_PATH, yaml, strlen(yaml), 0644);
        assert_int_equal(config_load(root, &c, &err), -ENOENT);
        assert_non_null(strstr(err.message, "No such file or directory"));
        scratch_root_remove(root);
}

static void test_config_file_must_be_regular_not_symlink_not_writable_by_others(void **state)
{
        _cleanup_free_ char *root = scratch_root_new(), *path = NULL, *target = NULL;
        _cleanup_config_ Config *c = NULL;
        const char *yaml = "media:\n  devices: any\n";
        _cleanup_(config_error_done) ConfigError err = {};

        scratch_root_write(root, CONFIG_PATH, yaml, strlen(yaml), 0666);
        assert_int_equal(config_load(root, &c, &err), -EPERM);
        assert_non_null(strstr(err.message, "writable by group or others"));

        scratch_root_write(root, CONFIG_PATH, yaml, strlen(yaml), 0620);
        assert_int_equal(config_load(root, &c, &err), -EPERM);

        scratch_root_write(root, CONFIG_PATH, yaml, strlen(yaml), 0600);
        assert_int_equal(config_load(root, &c, &err), 0);
        c = config_free(c);

        assert_int_equal(path_join_root(root, CONFIG_PATH, &path), 0);
        assert_true(asprintf(&target, "%s.real", path) > 0);
        assert_int_equal(rename(path, target), 0);
        assert_int_equal(symlink(target, path), 0);
        assert_int_equal(config_load(root, &c, &err), -ELOOP);
        assert_non_null(strstr(err.message, "is a symlink"));

        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(config_load(root, &c, &err), -EBADFD);
        assert_non_null(strstr(err.message, "not a regular file"));
        assert_null(c);
        scratch_root_remove(root);
}

static void test_config_errors_name_the_file_under_root(void **state)
{
        _cleanup_free_ char *root = scratch_root_new(), *expected = NULL;
        _cleanup_config_ Config *c = NULL;
        const char *yaml = "media:\n  devices: usb\n";
        _cleanup_(config_error_done) ConfigError err = {};

        scratch_root_write(root, CONFIG_PATH, yaml, strlen(yaml), 0644);
        assert_int_equal(config_load(root, &c, &err), -EBADMSG);
        assert_true(asprintf(&expected,
                             "%s/etc/corehomed/corehomed.yaml:2: key 'media.devices': must be "
                             "removable or any",
                             root) > 0);
        assert_string_equal(err.message, expected);
        scratch_root_remove(root);
}

static void test_literal_serial_is_not_checked_against_placeholders(void **state)
{
        /* A serial written by the administrator is taken as written; only firmware values are suspect. */
        assert_int_equal(device_serial_validate("0", NULL), 0);
        assert_true(device_serial_is_placeholder("0"));
        assert_false(device_serial_is_placeholder("PF1ABCDE"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dmi_serial_cases),
                cmocka_unit_test(test_dmi_serial_size_limit),
                cmocka_unit_test(test_dmi_serial_missing_symlink_and_fifo),
                cmocka_unit_test(test_config_serial_from_dmi_reads_under_root),
                cmocka_unit_test(test_config_file_must_be_regular_not_symlink_not_writable_by_others),
                cmocka_unit_test(test_config_errors_name_the_file_under_root),
                cmocka_unit_test(test_literal_serial_is_not_checked_against_placeholders),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
