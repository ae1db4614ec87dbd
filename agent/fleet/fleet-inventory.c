/* SPDX-License-Identifier: MIT */
/* The device inventory of a fleet publish: which devices exist, by serial and model. It decides which
 * grants each device's feed holds, so it is read as strictly as a device's own configuration. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion-fields.h"
#include "device-serial.h"
#include "file-util.h"
#include "fleet-publish.h"
#include "fleet.h"
#include "json-util.h"
#include "model.h"
#include "string-util.h"
#include "yaml-strict.h"

/* The messages below spell the limits out. */
_Static_assert(FLEET_INVENTORY_SIZE_MAX == 16777216,
               "update the messages that name FLEET_INVENTORY_SIZE_MAX");
_Static_assert(FLEET_INVENTORY_DEVICES_MAX == 100000,
               "update the messages that name FLEET_INVENTORY_DEVICES_MAX");
_Static_assert(FLEET_INVENTORY_LABELS_MAX == 32, "update the messages that name FLEET_INVENTORY_LABELS_MAX");

#define INVENTORY_VALUE_MAX                                                           \
        256 /* bytes of brand-id, series, serial or model: far more than any may have \
             */

typedef struct Parser {
        YamlStrict y;
        FleetInventory *inv;
        json_t *serials; /* serial -> line of its first entry: a serial listed twice is refused */
} Parser;

#define parser_error(p, line, key, r, ...) yaml_strict_fail(&(p)->y, (line), (key), (r), __VA_ARGS__)

static void device_done(FleetDevice *d)
{
        free(d->serial);
        free(d->model);
        strv_free(d->labels);
}

FleetInventory *fleet_inventory_free(FleetInventory *inv)
{
        if (!inv)
                return NULL;
        for (size_t i = 0; i < inv->n_devices; i++)
                device_done(&inv->devices[i]);
        free(inv->devices);
        free(inv->name);
        free(inv->brand_id);
        free(inv->series);
        return mfree(inv);
}

static int string_value(Parser *p, const yaml_event_t *v, const char *key, char **field)
{
        const char *s = NULL;
        char *copy;
        int r = yaml_strict_string(&p->y, v, key, INVENTORY_VALUE_MAX, &s);

        if (r < 0)
                return r;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

/* A label name: [a-z][a-z0-9-]*, like a header name; the value: printable ASCII. Labels are the operator's
 * notes (site, batch); they are checked so that nothing odd travels into reports and logs. */
static bool label_name_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > FLEET_INVENTORY_LABEL_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static bool label_value_is_valid(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || (unsigned char) *s >= 0x7f)
                        return false;
        return true;
}

static int parse_labels(Parser *p, const yaml_event_t *v, const char *key, FleetDevice *d)
{
        _cleanup_strv_free_ char **labels = NULL;
        size_t n = 0;
        int r;

        if (yaml_event_is_null(v))
                return 0;
        if (v->type != YAML_MAPPING_START_EVENT)
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "expected a mapping of NAME: VALUE, got %s", yaml_event_kind(v));
        labels = calloc(FLEET_INVENTORY_LABELS_MAX + 1, sizeof(char *));
        if (!labels)
                return -ENOMEM;
        for (;;) {
                _cleanup_yaml_event_ yaml_event_t k = {}, value = {};
                const char *name = NULL, *s = NULL;

                r = yaml_strict_next(&p->y, &k, key);
                if (r < 0)
                        return r;
                if (k.type == YAML_MAPPING_END_EVENT)
                        break;
                if (k.type != YAML_SCALAR_EVENT)
                        return parser_error(p, yaml_event_line(&k), key, -EBADMSG,
                                            "label names must be plain names, got %s", yaml_event_kind(&k));
                if (n == FLEET_INVENTORY_LABELS_MAX)
                        return parser_error(p, yaml_event_line(&k), key, -E2BIG, "more than 32 labels");
                r = yaml_strict_string(&p->y, &k, key, FLEET_INVENTORY_LABEL_NAME_MAX, &name);
                if (r < 0)
                        return r;
                if (!label_name_is_valid(name))
                        return parser_error(p, yaml_event_line(&k), key, -EBADMSG,
                                            "label name '%s' is not [a-z][a-z0-9-]*", name);
                for (size_t i = 0; i < n; i++)
                        if (startswith(labels[i], name) && labels[i][strlen(name)] == '=')
                                return parser_error(p, yaml_event_line(&k), key, -EBADMSG,
                                                    "label '%s' is given twice", name);
                r = yaml_strict_next(&p->y, &value, key);
                if (r < 0)
                        return r;
                r = yaml_strict_string(&p->y, &value, key, FLEET_INVENTORY_LABEL_VALUE_MAX, &s);
                if (r < 0)
                        return r;
                if (!label_value_is_valid(s))
                        return parser_error(p, yaml_event_line(&value), key, -EBADMSG,
                                            "label '%s': value contains a control or non-ASCII character",
                                            name);
                labels[n] = strprintf("%s=%s", name, s);
                if (!labels[n])
                        return -ENOMEM;
                n++;
        }
        strv_free(d->labels);
        d->labels = n > 0 ? TAKE_PTR(labels) : NULL;
        return 0;
}

static int check_serial(Parser *p, const yaml_event_t *v, const char *key, const char *serial)
{
        const char *reason = NULL;
        json_t *first;
        int r;

        r = device_serial_validate(serial, &reason);
        if (r < 0)
                return parser_error(p, yaml_event_line(v), key, r, "%s", reason);
        /* The serial becomes a path segment of the tree and of the device's fleet.url: only characters
         * a URL path carries as they are, so the device's URL and the file name are the same bytes. */
        if (!fleet_url_segment_is_valid(serial))
                return parser_error(
                        p, yaml_event_line(v), key, -EBADMSG,
                        "serial '%s' cannot be a URL path segment as it is (only letters, digits "
                        "and . - _ ~ + = , are allowed; not . or ..)",
                        serial);
        first = json_object_get(p->serials, serial);
        if (first)
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "serial '%s' is listed twice (first at line %lld)", serial,
                                    (long long) json_integer_value(first));
        if (json_object_set_new(p->serials, serial, json_integer(yaml_event_line(v))) < 0)
                return -ENOMEM;
        return 0;
}

/* One entry of devices: a mapping of serial, model, labels. */
static int parse_device(Parser *p, const yaml_event_t *start, size_t index)
{
        _cleanup_(device_done) FleetDevice d = { .line = yaml_event_line(start) };
        char section[32], key[64];
        unsigned seen_serial = 0, seen_model = 0, seen_labels = 0;
        int r;

        (void) snprintf(section, sizeof(section), "devices[%zu]", index + 1);
        if (start->type != YAML_MAPPING_START_EVENT)
                return parser_error(p, yaml_event_line(start), section, -EBADMSG,
                                    "expected a mapping (serial, model, labels), got %s",
                                    yaml_event_kind(start));
        for (;;) {
                _cleanup_yaml_event_ yaml_event_t k = {}, v = {};
                const char *name;
                unsigned *seen;

                r = yaml_strict_next(&p->y, &k, section);
                if (r < 0)
                        return r;
                if (k.type == YAML_MAPPING_END_EVENT)
                        break;
                if (k.type != YAML_SCALAR_EVENT)
                        return parser_error(p, yaml_event_line(&k), section, -EBADMSG,
                                            "keys must be plain names, got %s", yaml_event_kind(&k));
                name = (const char *) k.data.scalar.value;
                yaml_strict_key_format(key, sizeof(key), section, name, k.data.scalar.length);
                if (strlen(name) != k.data.scalar.length)
                        return parser_error(p, yaml_event_line(&k), key, -EBADMSG, "unknown key");
                seen = streq(name, "serial")   ? &seen_serial
                       : streq(name, "model")  ? &seen_model
                       : streq(name, "labels") ? &seen_labels
                                               : NULL;
                if (!seen)
                        return parser_error(p, yaml_event_line(&k), key, -EBADMSG, "unknown key");
                if (*seen > 0)
                        return parser_error(p, yaml_event_line(&k), key, -EBADMSG,
                                            "duplicate key (first at line %u)", *seen);
                *seen = yaml_event_line(&k);

                r = yaml_strict_next(&p->y, &v, key);
                if (r < 0)
                        return r;
                if (seen == &seen_labels) {
                        r = parse_labels(p, &v, key, &d);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = string_value(p, &v, key, seen == &seen_serial ? &d.serial : &d.model);
                if (r < 0)
                        return r;
                if (seen == &seen_serial)
                        r = check_serial(p, &v, key, d.serial);
                else if (!model_name_is_valid(d.model))
                        r = parser_error(p, yaml_event_line(&v), key, -EBADMSG,
                                         "not a valid model name (letters, digits and single inner '-')");
                if (r < 0)
                        return r;
        }
        if (!d.serial || !d.model) {
                (void) snprintf(key, sizeof(key), "%s.%s", section, d.serial ? "model" : "serial");
                return parser_error(p, d.line, key, -EBADMSG,
                                    "missing (every device has a serial and a model)");
        }
        p->inv->devices[p->inv->n_devices++] = d;
        d = (FleetDevice){};
        return 0;
}

static int parse_devices(Parser *p, const yaml_event_t *v)
{
        size_t allocated = 0;

        if (v->type != YAML_SEQUENCE_START_EVENT)
                return parser_error(p, yaml_event_line(v), "devices", -EBADMSG, "expected a list, got %s",
                                    yaml_event_kind(v));
        for (size_t i = 0;; i++) {
                _cleanup_yaml_event_ yaml_event_t item = {};
                int r = yaml_strict_next(&p->y, &item, "devices");

                if (r < 0)
                        return r;
                if (item.type == YAML_SEQUENCE_END_EVENT)
                        return 0;
                if (i == FLEET_INVENTORY_DEVICES_MAX)
                        return parser_error(p, yaml_event_line(&item), "devices", -E2BIG,
                                            "more than 100000 devices");
                if (i == allocated) {
                        size_t room = allocated == 0 ? 16 : 2 * allocated;
                        FleetDevice *d = reallocarray(p->inv->devices, room, sizeof(FleetDevice));
                        if (!d)
                                return -ENOMEM;
                        p->inv->devices = d;
                        allocated = room;
                }
                r = parse_device(p, &item, i);
                if (r < 0)
                        return r;
        }
}

static int parse_top(Parser *p)
{
        unsigned seen[3] = {};
        static const char *const names[] = { "brand-id", "series", "devices" };

        for (;;) {
                _cleanup_yaml_event_ yaml_event_t k = {}, v = {};
                char key[64];
                const char *name;
                size_t i;
                int r;

                r = yaml_strict_next(&p->y, &k, NULL);
                if (r < 0)
                        return r;
                if (k.type == YAML_MAPPING_END_EVENT)
                        break;
                if (k.type != YAML_SCALAR_EVENT)
                        return parser_error(p, yaml_event_line(&k), NULL, -EBADMSG,
                                            "keys must be plain names, got %s", yaml_event_kind(&k));
                name = (const char *) k.data.scalar.value;
                yaml_strict_key_format(key, sizeof(key), NULL, name, k.data.scalar.length);
                for (i = 0; i < ELEMENTSOF(names); i++)
                        if (strlen(name) == k.data.scalar.length && streq(name, names[i]))
                                break;
                if (i == ELEMENTSOF(names))
                        return parser_error(p, yaml_event_line(&k), key, -EBADMSG,
                                            "unknown key (the top level has brand-id, series, devices)");
                if (seen[i] > 0)
                        return parser_error(p, yaml_event_line(&k), key, -EBADMSG,
                                            "duplicate key (first at line %u)", seen[i]);
                seen[i] = yaml_event_line(&k);

                r = yaml_strict_next(&p->y, &v, key);
                if (r < 0)
                        return r;
                if (i == 0) {
                        r = string_value(p, &v, key, &p->inv->brand_id);
                        if (r >= 0 && !account_id_is_valid(p->inv->brand_id))
                                r = parser_error(p, yaml_event_line(&v), key, -EBADMSG,
                                                 "not a valid account id (2-28 of a-z, 0-9, '-', or 32 "
                                                 "letters/digits)");
                } else if (i == 1) {
                        r = string_value(p, &v, key, &p->inv->series);
                        if (r >= 0 && (strlen(p->inv->series) > 8 ||
                                       strspn(p->inv->series, "0123456789") != strlen(p->inv->series)))
                                r = parser_error(p, yaml_event_line(&v), key, -EBADMSG,
                                                 "must be a series number such as \"16\"");
                } else
                        r = parse_devices(p, &v);
                if (r < 0)
                        return r;
        }
        if (!seen[2])
                return parser_error(p, 0, "devices", -EBADMSG, "missing (the list of devices)");
        return 0;
}

static int parse_stream(Parser *p)
{
        _cleanup_yaml_event_ yaml_event_t start = {}, doc = {}, top = {}, doc_end = {}, end = {};
        int r;

        r = yaml_strict_next(&p->y, &start, NULL);
        if (r < 0)
                return r;
        r = yaml_strict_next(&p->y, &doc, NULL);
        if (r < 0)
                return r;
        if (doc.type == YAML_STREAM_END_EVENT)
                return parser_error(p, 0, "devices", -EBADMSG, "missing (the file is empty)");
        r = yaml_strict_next(&p->y, &top, NULL);
        if (r < 0)
                return r;
        if (top.type != YAML_MAPPING_START_EVENT)
                return parser_error(p, yaml_event_line(&top), NULL, -EBADMSG,
                                    "the top level must be a mapping (brand-id, series, devices), got %s",
                                    yaml_event_kind(&top));
        r = parse_top(p);
        if (r < 0)
                return r;
        r = yaml_strict_next(&p->y, &doc_end, NULL);
        if (r < 0)
                return r;
        r = yaml_strict_next(&p->y, &end, NULL);
        if (r < 0)
                return r;
        if (end.type != YAML_STREAM_END_EVENT)
                return parser_error(p, yaml_event_line(&end), NULL, -EBADMSG,
                                    "only one YAML document is allowed");
        return 0;
}

int fleet_inventory_parse(const void *data, size_t size, const char *name, FleetInventory **ret,
                          ConfigError *err)
{
        _cleanup_fleet_inventory_ FleetInventory *inv = NULL;
        _cleanup_json_ json_t *serials = NULL;
        Parser p = { .y = { .name = name, .err = err } };
        int r;

        if (size > FLEET_INVENTORY_SIZE_MAX)
                return config_error_set(err, name, 0, NULL, -E2BIG, "file is larger than 16777216 bytes");
        inv = calloc(1, sizeof(FleetInventory));
        serials = json_object();
        if (!inv || !serials)
                return -ENOMEM;
        inv->name = strdup(name);
        if (!inv->name)
                return -ENOMEM;
        p.inv = inv;
        p.serials = serials;

        if (!yaml_parser_initialize(&p.y.yaml))
                return -ENOMEM;
        yaml_parser_set_input_string(&p.y.yaml, data, size);
        r = parse_stream(&p);
        yaml_parser_delete(&p.y.yaml);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(inv);
        return 0;
}

int fleet_inventory_load(const char *path, FleetInventory **ret, ConfigError *err)
{
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        r = read_file_bounded(AT_FDCWD, path, FLEET_INVENTORY_SIZE_MAX, &data, &size);
        if (r == -E2BIG)
                return config_error_set(err, path, 0, NULL, r, "file is larger than 16777216 bytes");
        if (r == -ELOOP)
                return config_error_set(err, path, 0, NULL, r, "is a symlink (refused)");
        if (r == -EBADFD)
                return config_error_set(err, path, 0, NULL, r, "is not a regular file");
        if (r < 0)
                return config_error_set(err, path, 0, NULL, r, "cannot read: %s", strerror(-r));
        return fleet_inventory_parse(data, size, path, ret, err);
}
