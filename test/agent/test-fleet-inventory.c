/* SPDX-License-Identifier: MIT */
/* The device inventory of a fleet publish: what it reads, what it refuses (with FILE:LINE and the key, as
 * the device configuration does), and its bounds at N and N+1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleet-publish.h"
#include "yaml-strict.h"

static int parse(const char *text, FleetInventory **ret, ConfigError *err)
{
        return fleet_inventory_parse(text, strlen(text), "inv.yaml", ret, err);
}

/* Parses text, expects failure r with exactly message. */
static void refused(const char *text, int r, const char *message)
{
        FleetInventory *inv = NULL;
        ConfigError err = {};

        assert_int_equal(parse(text, &inv, &err), r);
        assert_null(inv);
        assert_non_null(err.message);
        if (!streq(err.message, message))
                fail_msg("expected \"%s\", got \"%s\"", message, err.message);
        config_error_done(&err);
}

static void reads_devices_labels_and_defaults(void **state)
{
        FleetInventory *inv = NULL;
        ConfigError err = {};

        assert_int_equal(parse("# the fleet\n"
                               "brand-id: acme\n"
                               "series: \"16\"\n"
                               "devices:\n"
                               "  - serial: SN-0001\n"
                               "    model: appliance-1\n"
                               "    labels: {site: berlin, rack: \"7\"}\n"
                               "  - {serial: 'SN.0002_b~+=,', model: pc}\n"
                               "  - serial: SN-0003\n"
                               "    model: pc\n"
                               "    labels:\n",
                               &inv, &err),
                         0);
        assert_string_equal(inv->brand_id, "acme");
        assert_string_equal(inv->series, "16");
        assert_int_equal(inv->n_devices, 3);
        assert_string_equal(inv->devices[0].serial, "SN-0001");
        assert_string_equal(inv->devices[0].model, "appliance-1");
        assert_int_equal(inv->devices[0].line, 5);
        assert_string_equal(inv->devices[0].labels[0], "site=berlin");
        assert_string_equal(inv->devices[0].labels[1], "rack=7");
        assert_null(inv->devices[0].labels[2]);
        assert_string_equal(inv->devices[1].serial, "SN.0002_b~+=,");
        assert_null(inv->devices[1].labels);
        assert_null(inv->devices[2].labels);
        fleet_inventory_free(inv);

        assert_int_equal(parse("devices: []\n", &inv, &err), 0);
        assert_null(inv->brand_id);
        assert_null(inv->series);
        assert_int_equal(inv->n_devices, 0);
        fleet_inventory_free(inv);
}

static void unknown_and_duplicate_keys_are_refused_with_file_and_line(void **state)
{
        refused("devices:\n  - serial: SN-1\n    model: pc\n    modle: pc\n", -EBADMSG,
                "inv.yaml:4: key 'devices[1].modle': unknown key");
        refused("devices:\n  - serial: SN-1\n    model: pc\n    serial: SN-2\n", -EBADMSG,
                "inv.yaml:4: key 'devices[1].serial': duplicate key (first at line 2)");
        refused("brand: acme\ndevices: []\n", -EBADMSG,
                "inv.yaml:1: key 'brand': unknown key (the top level has brand-id, series, devices)");
        refused("devices: []\ndevices: []\n", -EBADMSG,
                "inv.yaml:2: key 'devices': duplicate key (first at line 1)");
        refused("brand-id: acme\n", -EBADMSG, "inv.yaml: key 'devices': missing (the list of devices)");
        refused("", -EBADMSG, "inv.yaml: key 'devices': missing (the file is empty)");
        refused("- serial: x\n", -EBADMSG,
                "inv.yaml:1: the top level must be a mapping (brand-id, series, devices), got a list");
        refused("devices: []\n---\ndevices: []\n", -EBADMSG,
                "inv.yaml:2: only one YAML document is allowed");
}

static void a_serial_listed_twice_is_refused(void **state)
{
        refused("devices:\n  - serial: SN-1\n    model: pc\n  - serial: SN-1\n    model: other\n", -EBADMSG,
                "inv.yaml:4: key 'devices[2].serial': serial 'SN-1' is listed twice (first at line 2)");
}

static void serials_that_are_not_plain_path_segments_are_refused(void **state)
{
        refused("devices:\n  - {serial: 'SN/1', model: pc}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].serial': serial contains '/', which snapd refuses in the "
                "serial key");
        refused("devices:\n  - {serial: 'SN 1', model: pc}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].serial': serial 'SN 1' cannot be a URL path segment as it is "
                "(only "
                "letters, digits and . - _ ~ + = , are allowed; not . or ..)");
        refused("devices:\n  - {serial: '..', model: pc}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].serial': serial '..' cannot be a URL path segment as it is "
                "(only "
                "letters, digits and . - _ ~ + = , are allowed; not . or ..)");
        refused("devices:\n  - {serial: 'SN%2F1', model: pc}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].serial': serial 'SN%2F1' cannot be a URL path segment as it is "
                "(only letters, digits and . - _ ~ + = , are allowed; not . or ..)");
        refused("devices:\n  - {serial: '', model: pc}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].serial': serial is empty");
}

static void entries_need_serial_and_model(void **state)
{
        refused("devices:\n  - serial: SN-1\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].model': missing (every device has a serial and a model)");
        refused("devices:\n  - model: pc\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].serial': missing (every device has a serial and a model)");
        refused("devices:\n  - SN-1\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1]': expected a mapping (serial, model, labels), got a scalar");
        refused("devices:\n  - {serial: SN-1, model: 'Not Valid'}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].model': not a valid model name (letters, digits and single "
                "inner "
                "'-')");
        refused("brand-id: ACME\ndevices: []\n", -EBADMSG,
                "inv.yaml:1: key 'brand-id': not a valid account id (2-28 of a-z, 0-9, '-', or 32 "
                "letters/digits)");
        refused("series: sixteen\ndevices: []\n", -EBADMSG,
                "inv.yaml:1: key 'series': must be a series number such as \"16\"");
}

static void yaml_features_a_schema_has_no_use_for_are_refused(void **state)
{
        refused("devices:\n  - &d {serial: SN-1, model: pc}\n", -EBADMSG,
                "inv.yaml:2: key 'devices': YAML anchors are not allowed");
        refused("devices:\n  - {serial: SN-1, model: !!str pc}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].model': YAML tags are not allowed");
        refused("devices:\n  - {serial: \"SN\\0-1\", model: pc}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].serial': value contains a NUL byte");
}

static void labels_are_checked(void **state)
{
        refused("devices:\n  - {serial: SN-1, model: pc, labels: {Site: x}}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].labels': label name 'Site' is not [a-z][a-z0-9-]*");
        refused("devices:\n  - {serial: SN-1, model: pc, labels: {site: x, site: y}}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].labels': label 'site' is given twice");
        refused("devices:\n  - {serial: SN-1, model: pc, labels: {site: \"a\\tb\"}}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].labels': label 'site': value contains a control or non-ASCII "
                "character");
        refused("devices:\n  - {serial: SN-1, model: pc, labels: [a]}\n", -EBADMSG,
                "inv.yaml:2: key 'devices[1].labels': expected a mapping of NAME: VALUE, got a list");
}

/* "devices:\n" and n entries; extra is appended to the first entry (labels). */
static char *inventory_of(size_t n, const char *labels)
{
        char *data = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&data, &size);

        fputs("devices:\n", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "  - {serial: SN-%zu, model: pc%s}\n", i, i == 0 && labels ? labels : "");
        fclose(f);
        return data;
}

static void devices_at_n_and_n_plus_one(void **state)
{
        FleetInventory *inv = NULL;
        ConfigError err = {};
        char *text = inventory_of(FLEET_INVENTORY_DEVICES_MAX, NULL);

        assert_int_equal(parse(text, &inv, &err), 0);
        assert_int_equal(inv->n_devices, FLEET_INVENTORY_DEVICES_MAX);
        fleet_inventory_free(inv);
        inv = NULL;
        free(text);

        text = inventory_of(FLEET_INVENTORY_DEVICES_MAX + 1, NULL);
        assert_int_equal(parse(text, &inv, &err), -E2BIG);
        assert_null(inv);
        assert_string_equal(err.message, "inv.yaml:100002: key 'devices': more than 100000 devices");
        config_error_done(&err);
        free(text);
}

static char *labels_of(size_t n, size_t name_length, size_t value_length)
{
        char *data = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&data, &size);

        fputs(", labels: {", f);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "%sl%0*zu: ", i > 0 ? ", " : "", (int) name_length - 1, i);
                for (size_t j = 0; j < value_length; j++)
                        fputc('v', f);
        }
        fputs("}", f);
        fclose(f);
        return data;
}

static void labels_at_n_and_n_plus_one(void **state)
{
        struct {
                size_t n, name, value;
                int r;
                const char *message;
        } cases[] = {
                { FLEET_INVENTORY_LABELS_MAX, 4, 1, 0, NULL },
                { FLEET_INVENTORY_LABELS_MAX + 1, 4, 1, -E2BIG,
                  "inv.yaml:2: key 'devices[1].labels': more than 32 labels" },
                { 1, FLEET_INVENTORY_LABEL_NAME_MAX, 1, 0, NULL },
                { 1, FLEET_INVENTORY_LABEL_NAME_MAX + 1, 1, -E2BIG,
                  "inv.yaml:2: key 'devices[1].labels': value is longer than 63 bytes" },
                { 1, 4, FLEET_INVENTORY_LABEL_VALUE_MAX, 0, NULL },
                { 1, 4, FLEET_INVENTORY_LABEL_VALUE_MAX + 1, -E2BIG,
                  "inv.yaml:2: key 'devices[1].labels': value is longer than 256 bytes" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *labels = labels_of(cases[i].n, cases[i].name, cases[i].value);
                char *text = inventory_of(1, labels);
                FleetInventory *inv = NULL;
                ConfigError err = {};

                assert_int_equal(parse(text, &inv, &err), cases[i].r);
                if (cases[i].r == 0) {
                        size_t n = 0;
                        while (inv->devices[0].labels[n])
                                n++;
                        assert_int_equal(n, cases[i].n);
                } else
                        assert_string_equal(err.message, cases[i].message);
                fleet_inventory_free(inv);
                config_error_done(&err);
                free(text);
                free(labels);
        }
}

/* A valid inventory of exactly size bytes: one device, then a comment that fills the rest. */
static char *inventory_of_size(size_t size)
{
        static const char head[] = "devices: [{serial: SN-1, model: pc}]\n#";
        char *data = malloc(size + 1);

        memcpy(data, head, strlen(head));
        memset(data + strlen(head), 'x', size - strlen(head) - 1);
        data[size - 1] = '\n';
        data[size] = '\0';
        return data;
}

static void file_size_at_n_and_n_plus_one(void **state)
{
        FleetInventory *inv = NULL;
        ConfigError err = {};
        char *text = inventory_of_size(FLEET_INVENTORY_SIZE_MAX);

        assert_int_equal(fleet_inventory_parse(text, FLEET_INVENTORY_SIZE_MAX, "inv.yaml", &inv, &err), 0);
        assert_int_equal(inv->n_devices, 1);
        fleet_inventory_free(inv);
        inv = NULL;
        free(text);

        text = inventory_of_size(FLEET_INVENTORY_SIZE_MAX + 1);
        assert_int_equal(fleet_inventory_parse(text, FLEET_INVENTORY_SIZE_MAX + 1, "inv.yaml", &inv, &err),
                         -E2BIG);
        assert_string_equal(err.message, "inv.yaml: file is larger than 16777216 bytes");
        config_error_done(&err);
        free(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(reads_devices_labels_and_defaults),
                cmocka_unit_test(unknown_and_duplicate_keys_are_refused_with_file_and_line),
                cmocka_unit_test(a_serial_listed_twice_is_refused),
                cmocka_unit_test(serials_that_are_not_plain_path_segments_are_refused),
                cmocka_unit_test(entries_need_serial_and_model),
                cmocka_unit_test(yaml_features_a_schema_has_no_use_for_are_refused),
                cmocka_unit_test(labels_are_checked),
                cmocka_unit_test(devices_at_n_and_n_plus_one),
                cmocka_unit_test(labels_at_n_and_n_plus_one),
                cmocka_unit_test(file_size_at_n_and_n_plus_one),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
