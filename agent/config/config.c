/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "assertion-fields.h"
#include "device-serial.h"
#include "file-util.h"
#include "model.h"
#include "string-util.h"
#include "yaml-strict.h"

/* The messages below spell the limits out. */
_Static_assert(CONFIG_FILE_SIZE_MAX == 65536, "update the messages that name CONFIG_FILE_SIZE_MAX");
_Static_assert(CONFIG_VALUE_MAX == 4096, "update the messages that name CONFIG_VALUE_MAX");
_Static_assert(CONFIG_ADMIN_GROUPS_MAX == 32, "update the messages that name CONFIG_ADMIN_GROUPS_MAX");
_Static_assert(CONFIG_GROUP_NAME_MAX == 32, "update the messages that name CONFIG_GROUP_NAME_MAX");

typedef struct Parser {
        YamlStrict y; /* the strict reader shared with the fleet's device inventory (yaml-strict.h) */
        unsigned serial_from_line; /* where "serial-from: dmi" was, for config_load()'s DMI errors */
} Parser;

#define parser_error(p, line, key, r, ...) yaml_strict_fail(&(p)->y, (line), (key), (r), __VA_ARGS__)

static int parser_next(Parser *p, yaml_event_t *ret, const char *key)
{
        return yaml_strict_next(&p->y, ret, key);
}

static int value_string(Parser *p, const yaml_event_t *v, const char *key, const char **ret)
{
        return yaml_strict_string(&p->y, v, key, CONFIG_VALUE_MAX, ret);
}

static int value_bool(Parser *p, const yaml_event_t *v, const char *key, bool *ret)
{
        const char *s = NULL;

        /* Only the two YAML 1.2 spellings, unquoted: "yes", "on" or a quoted "true" are more likely a
         * mistake than a decision. */
        if (v->type != YAML_SCALAR_EVENT)
                return parser_error(p, yaml_event_line(v), key, -EBADMSG, "expected true or false, got %s",
                                    yaml_event_kind(v));
        s = (const char *) v->data.scalar.value;
        if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && streq(s, "true"))
                *ret = true;
        else if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && streq(s, "false"))
                *ret = false;
        else
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "expected true or false (unquoted)");
        return 0;
}

static int string_replace(char **field, const char *value)
{
        char *copy = strdup(value);

        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

static bool char_in_range(char c, const char *lo_hi_pairs)
{
        for (const char *r = lo_hi_pairs; r[0] && r[1]; r += 2)
                if (c >= r[0] && c <= r[1])
                        return true;
        return false;
}

/* A group name as useradd/systemd accept it portably: [a-z_][a-z0-9_-]*, at most 32 bytes. */
static bool group_name_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > CONFIG_GROUP_NAME_MAX || !char_in_range(s[0], "az__"))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!char_in_range(s[i], "az09__--"))
                        return false;
        return true;
}

/* An absolute path without control characters and without "." or ".." components: the paths name files
 * on this device, and a relative or dotted path resolves somewhere other than where it reads. */
static const char *path_check(const char *s)
{
        if (s[0] != '/')
                return "must be an absolute path";
        for (const char *c = s; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return "path contains a control character";
        for (const char *c = s; *c; c++) {
                if (*c != '/')
                        continue;
                if (c[1] == '/')
                        return "path contains an empty component (\"//\")";
                if (streq(c + 1, ".") || startswith(c + 1, "./") || streq(c + 1, "..") ||
                    startswith(c + 1, "../"))
                        return "path contains a \".\" or \"..\" component";
        }
        if (strlen(s) > 1 && s[strlen(s) - 1] == '/')
                return "path ends with '/'";
        return NULL;
}

/* https only: the fleet server hands out grants, so its identity must be checked and the channel
 * protected; plain http would let anyone on the path inject grant bundles or watch the device. */
static const char *url_check(const char *s)
{
        const char *host = startswith(s, "https://");
        size_t host_len;

        if (!host)
                return "must start with https:// (other schemes are refused)";
        for (const char *c = s; *c; c++)
                if ((unsigned char) *c <= 0x20 || (unsigned char) *c >= 0x7f)
                        return "URL contains a space, control or non-ASCII character";
        host_len = strcspn(host, "/?#");
        if (memchr(host, '@', host_len))
                return "URL must not carry credentials (they would end up in logs); use client-cert";
        if (host_len == 0 || host[0] == ':')
                return "URL has no host";
        return NULL;
}

/* "30s", "15m", "1h", "7d", or a sum like "1h30m". */
static int duration_parse(const char *s, usec_t *ret)
{
        usec_t total = 0;

        if (!*s)
                return -EINVAL;
        while (*s) {
                uint64_t n = 0, unit;

                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                for (; isdigit((unsigned char) *s); s++) {
                        if (n > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        n = n * 10 + (uint64_t) (*s - '0');
                }
                switch (*s++) {
                case 's':
                        unit = USEC_PER_SEC;
                        break;
                case 'm':
                        unit = 60 * USEC_PER_SEC;
                        break;
                case 'h':
                        unit = 3600 * USEC_PER_SEC;
                        break;
                case 'd':
                        unit = 24 * 3600 * USEC_PER_SEC;
                        break;
                default:
                        return -EINVAL;
                }
                if (n > (UINT64_MAX - total) / unit)
                        return -ERANGE;
                total += n * unit;
        }
        *ret = total;
        return 0;
}

/* ---- fields ---- */

typedef int (*FieldParse)(Parser *p, const yaml_event_t *v, const char *key, Config *c);

typedef struct Field {
        const char *name;
        FieldParse parse;
} Field;

static int parse_brand_id(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        const char *s = NULL;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        if (!account_id_is_valid(s))
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "not a valid account id (2-28 of a-z, 0-9, '-', or 32 letters/digits)");
        return string_replace(&c->device.brand_id, s);
}

static int parse_model(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        const char *s = NULL;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        if (!model_name_is_valid(s))
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "not a valid model name (letters, digits and single inner '-')");
        return string_replace(&c->device.model, s);
}

static int parse_serial(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        const char *s = NULL, *reason = NULL;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        r = device_serial_validate(s, &reason);
        if (r < 0)
                return parser_error(p, yaml_event_line(v), key, r, "%s", reason);
        c->device.serial_source = CONFIG_SERIAL_LITERAL;
        return string_replace(&c->device.serial, s);
}

static int parse_serial_from(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        const char *s = NULL;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        if (!streq(s, "dmi"))
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "must be dmi (the only source known)");
        c->device.serial_source = CONFIG_SERIAL_DMI;
        p->serial_from_line = yaml_event_line(v);
        return 0;
}

static int parse_series(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        const char *s = NULL;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        if (!*s || strlen(s) > 8 || strspn(s, "0123456789") != strlen(s))
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "must be a series number such as \"16\"");
        return string_replace(&c->device.series, s);
}

static int parse_media_create_users(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        const char *s = NULL;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        if (streq(s, "always"))
                c->media.create_users = CONFIG_CREATE_USERS_ALWAYS;
        else if (streq(s, "unmanaged-only"))
                c->media.create_users = CONFIG_CREATE_USERS_UNMANAGED_ONLY;
        else if (streq(s, "never"))
                c->media.create_users = CONFIG_CREATE_USERS_NEVER;
        else
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "must be always, unmanaged-only or never");
        return 0;
}

static int parse_media_devices(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        const char *s = NULL;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        if (streq(s, "removable"))
                c->media.devices = CONFIG_MEDIA_DEVICES_REMOVABLE;
        else if (streq(s, "any"))
                c->media.devices = CONFIG_MEDIA_DEVICES_ANY;
        else
                return parser_error(p, yaml_event_line(v), key, -EBADMSG, "must be removable or any");
        return 0;
}

static int parse_admin_groups(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        _cleanup_strv_free_ char **groups = NULL;
        size_t n = 0;
        int r;

        if (v->type != YAML_SEQUENCE_START_EVENT)
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "expected a list of group names ([] for none), got %s",
                                    yaml_event_kind(v));
        groups = calloc(CONFIG_ADMIN_GROUPS_MAX + 1, sizeof(char *));
        if (!groups)
                return -ENOMEM;

        for (;;) {
                _cleanup_yaml_event_ yaml_event_t item = {};
                const char *s = NULL;

                r = parser_next(p, &item, key);
                if (r < 0)
                        return r;
                if (item.type == YAML_SEQUENCE_END_EVENT)
                        break;
                if (item.type != YAML_SCALAR_EVENT)
                        return parser_error(p, yaml_event_line(&item), key, -EBADMSG,
                                            "item %zu: expected a group name, got %s", n + 1,
                                            yaml_event_kind(&item));
                if (n == CONFIG_ADMIN_GROUPS_MAX)
                        return parser_error(p, yaml_event_line(&item), key, -E2BIG, "more than 32 groups");
                r = value_string(p, &item, key, &s);
                if (r < 0)
                        return r;
                if (!group_name_is_valid(s))
                        return parser_error(
                                p, yaml_event_line(&item), key, -EBADMSG,
                                "item %zu: not a valid group name ([a-z_][a-z0-9_-]*, at most 32 "
                                "bytes)",
                                n + 1);
                for (size_t i = 0; i < n; i++)
                        if (streq(groups[i], s))
                                return parser_error(p, yaml_event_line(&item), key, -EBADMSG,
                                                    "item %zu: group '%s' is listed twice", n + 1, s);
                groups[n] = strdup(s);
                if (!groups[n])
                        return -ENOMEM;
                n++;
        }

        strv_free(c->users.admin_groups);
        c->users.admin_groups = TAKE_PTR(groups);
        c->users.n_admin_groups = n;
        return 0;
}

static int parse_storage(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        const char *s = NULL;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        if (streq(s, "directory"))
                c->users.storage = CONFIG_STORAGE_DIRECTORY;
        else if (streq(s, "subvolume"))
                c->users.storage = CONFIG_STORAGE_SUBVOLUME;
        else if (streq(s, "luks"))
                c->users.storage = CONFIG_STORAGE_LUKS;
        else
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "must be directory, subvolume or luks");
        return 0;
}

static int parse_activation(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        const char *s = NULL;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        if (streq(s, "start"))
                c->users.activation = CONFIG_ACTIVATION_START;
        else if (streq(s, "login"))
                c->users.activation = CONFIG_ACTIVATION_LOGIN;
        else
                return parser_error(p, yaml_event_line(v), key, -EBADMSG, "must be start or login");
        return 0;
}

/* Bytes, or a number with one of the suffixes K, M, G, T (powers of 1024), e.g. 20G. */
static int parse_disk_size(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        static const char suffixes[] = "KMGT";
        const char *s = NULL, *u;
        uint64_t n = 0;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        for (u = s; *u >= '0' && *u <= '9'; u++) {
                if (n > (UINT64_MAX - 9) / 10)
                        return parser_error(p, yaml_event_line(v), key, -EBADMSG, "too large");
                n = n * 10 + (uint64_t) (*u - '0');
        }
        if (u == s || (u[0] && (u[1] || !strchr(suffixes, u[0]))))
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "not a size (bytes, or a number with K, M, G or T, e.g. 20G)");
        for (const char *k = suffixes; u[0] && k <= strchr(suffixes, u[0]); k++) {
                if (n > UINT64_MAX / 1024)
                        return parser_error(p, yaml_event_line(v), key, -EBADMSG, "too large");
                n *= 1024;
        }
        if (n < CONFIG_DISK_SIZE_MIN || n > CONFIG_DISK_SIZE_MAX)
                return parser_error(p, yaml_event_line(v), key, -EBADMSG, "must be between 5M and 5T");
        c->users.disk_size = n;
        return 0;
}

static int parse_path(Parser *p, const yaml_event_t *v, const char *key, char **field)
{
        const char *s, *problem;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        problem = path_check(s);
        if (problem)
                return parser_error(p, yaml_event_line(v), key, -EBADMSG, "%s", problem);
        return string_replace(field, s);
}

static int parse_shell(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        return parse_path(p, v, key, &c->users.shell);
}

static int parse_fleet_url(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        const char *s, *problem;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        problem = url_check(s);
        if (problem)
                return parser_error(p, yaml_event_line(v), key, -EBADMSG, "%s", problem);
        return string_replace(&c->fleet.url, s);
}

static int parse_fleet_ca_file(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        return parse_path(p, v, key, &c->fleet.ca_file);
}

static int parse_fleet_client_cert(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        return parse_path(p, v, key, &c->fleet.client_cert);
}

static int parse_fleet_client_key(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        return parse_path(p, v, key, &c->fleet.client_key);
}

/* A duration between min and max; example and range name them in the messages. */
static int parse_duration_between(Parser *p, const yaml_event_t *v, const char *key, usec_t min, usec_t max,
                                  const char *example, const char *range, usec_t *ret)
{
        const char *s = NULL;
        usec_t t;
        int r = value_string(p, v, key, &s);

        if (r < 0)
                return r;
        r = duration_parse(s, &t);
        if (r < 0)
                return parser_error(p, yaml_event_line(v), key, -EBADMSG,
                                    "not a duration (a number and a unit s, m, h or d, e.g. %s)", example);
        if (t < min || t > max)
                return parser_error(p, yaml_event_line(v), key, -EBADMSG, "must be between %s", range);
        *ret = t;
        return 0;
}

static int parse_fleet_interval(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        /* Polling more often than every 10 s would hammer the fleet server; less often than weekly
         * would leave revocations unapplied for too long. */
        return parse_duration_between(p, v, key, CONFIG_INTERVAL_MIN, CONFIG_INTERVAL_MAX, "15m",
                                      "10s and 7d", &c->fleet.interval);
}

static int parse_fleet_timeout(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        /* The whole poll, prerequisites included, must end: a stalled server costs at most this much.
         * A PollFleet that arrives during a poll waits for it and for its own, so twice the maximum must
         * stay within the CLI's wait for the daemon (CLI_MANAGER_TIMEOUT, 5 min). */
        return parse_duration_between(p, v, key, CONFIG_FLEET_TIMEOUT_MIN, CONFIG_FLEET_TIMEOUT_MAX, "30s",
                                      "1s and 2m", &c->fleet.timeout);
}

static int parse_fleet_create_users(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        return value_bool(p, v, key, &c->fleet.create_users);
}

static const Field device_fields[] = {
        { "brand-id", parse_brand_id },       { "model", parse_model },   { "serial", parse_serial },
        { "serial-from", parse_serial_from }, { "series", parse_series },
};

static const Field media_fields[] = {
        { "create-users", parse_media_create_users },
        { "devices", parse_media_devices },
};

static const Field users_fields[] = {
        { "admin-groups", parse_admin_groups },
        { "storage", parse_storage },
        { "activation", parse_activation },
        { "disk-size", parse_disk_size },
        { "shell", parse_shell },
};

static const Field fleet_fields[] = {
        { "url", parse_fleet_url },
        { "ca-file", parse_fleet_ca_file },
        { "client-cert", parse_fleet_client_cert },
        { "client-key", parse_fleet_client_key },
        { "interval", parse_fleet_interval },
        { "timeout", parse_fleet_timeout },
        { "create-users", parse_fleet_create_users },
};

#define FIELDS_MAX 8

/* Parses the entries of a mapping whose MAPPING_START was consumed, dispatching each key to its field.
 * Duplicate keys are refused: with YAML's "last one wins" a second, later line could silently override a
 * reviewed value. */
static int parse_mapping(Parser *p, const char *section, const Field *fields, size_t n_fields, Config *c)
{
        unsigned seen[FIELDS_MAX] = {};

        assert(n_fields <= FIELDS_MAX);
        for (;;) {
                _cleanup_yaml_event_ yaml_event_t k = {}, v = {};
                char key[sizeof(((ConfigError *) NULL)->key)];
                const char *name;
                size_t i;
                int r;

                r = parser_next(p, &k, section);
                if (r < 0)
                        return r;
                if (k.type == YAML_MAPPING_END_EVENT)
                        return 0;
                if (k.type != YAML_SCALAR_EVENT)
                        return parser_error(p, yaml_event_line(&k), section, -EBADMSG,
                                            "keys must be plain names, got %s", yaml_event_kind(&k));
                name = (const char *) k.data.scalar.value;
                yaml_strict_key_format(key, sizeof(key), section, name, k.data.scalar.length);

                for (i = 0; i < n_fields; i++)
                        if (strlen(name) == k.data.scalar.length && streq(fields[i].name, name))
                                break;
                if (i == n_fields)
                        return parser_error(p, yaml_event_line(&k), key, -EBADMSG, "unknown key");
                if (seen[i] > 0)
                        return parser_error(p, yaml_event_line(&k), key, -EBADMSG,
                                            "duplicate key (first at line %u)", seen[i]);
                seen[i] = yaml_event_line(&k);

                r = parser_next(p, &v, key);
                if (r < 0)
                        return r;
                r = fields[i].parse(p, &v, key, c);
                if (r < 0)
                        return r;
        }
}

/* A section's value: a mapping, or nothing ("fleet:" with every entry commented out). */
static int parse_section_body(Parser *p, const yaml_event_t *v, const char *key, const Field *fields,
                              size_t n_fields, Config *c)
{
        if (yaml_event_is_null(v))
                return 0;
        if (v->type != YAML_MAPPING_START_EVENT)
                return parser_error(p, yaml_event_line(v), key, -EBADMSG, "expected a mapping, got %s",
                                    yaml_event_kind(v));
        return parse_mapping(p, key, fields, n_fields, c);
}

static int parse_device(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        unsigned line = yaml_event_line(v);
        int r = parse_section_body(p, v, key, device_fields, ELEMENTSOF(device_fields), c);

        if (r < 0)
                return r;
        /* A serial or a model alone identifies nothing: grants are scoped by brand first. */
        if (!c->device.brand_id && (c->device.model || c->device.serial_source != CONFIG_SERIAL_NONE))
                return parser_error(p, line, "device.brand-id", -EBADMSG,
                                    "missing (required when a model or serial is configured)");
        if (c->device.brand_id && !c->device.model)
                return parser_error(p, line, "device.model", -EBADMSG, "missing (required with brand-id)");
        if (c->device.serial && c->device.serial_source == CONFIG_SERIAL_DMI)
                return parser_error(p, line, "device.serial-from", -EBADMSG,
                                    "serial and serial-from are mutually exclusive");
        return 0;
}

static int parse_media(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        return parse_section_body(p, v, key, media_fields, ELEMENTSOF(media_fields), c);
}

static int parse_users(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        return parse_section_body(p, v, key, users_fields, ELEMENTSOF(users_fields), c);
}

static int parse_fleet(Parser *p, const yaml_event_t *v, const char *key, Config *c)
{
        unsigned line = yaml_event_line(v);
        int r;

        /* "fleet:" with every entry commented out: no fleet, as if the section were absent. */
        if (yaml_event_is_null(v))
                return 0;
        r = parse_section_body(p, v, key, fleet_fields, ELEMENTSOF(fleet_fields), c);
        if (r < 0)
                return r;
        if (!c->fleet.url)
                return parser_error(p, line, "fleet.url", -EBADMSG, "missing (required in a fleet section)");
        if (!c->fleet.client_cert != !c->fleet.client_key)
                return parser_error(p, line, c->fleet.client_cert ? "fleet.client-key" : "fleet.client-cert",
                                    -EBADMSG, "missing (client-cert and client-key go together)");
        c->fleet.enabled = true;
        return 0;
}

static const Field sections[] = {
        { "device", parse_device },
        { "media", parse_media },
        { "users", parse_users },
        { "fleet", parse_fleet },
};

static int parse_stream(Parser *p, Config *c)
{
        _cleanup_yaml_event_ yaml_event_t start = {}, doc = {}, top = {}, doc_end = {}, end = {};
        int r;

        r = parser_next(p, &start, NULL);
        if (r < 0)
                return r;
        r = parser_next(p, &doc, NULL);
        if (r < 0)
                return r;
        if (doc.type == YAML_STREAM_END_EVENT)
                return 0; /* empty, or only comments: every default */

        r = parser_next(p, &top, NULL);
        if (r < 0)
                return r;
        if (top.type != YAML_MAPPING_START_EVENT)
                return parser_error(p, yaml_event_line(&top), NULL, -EBADMSG,
                                    "the top level must be a mapping of sections (device, media, users, "
                                    "fleet), got %s",
                                    yaml_event_kind(&top));
        r = parse_mapping(p, NULL, sections, ELEMENTSOF(sections), c);
        if (r < 0)
                return r;

        r = parser_next(p, &doc_end, NULL);
        if (r < 0)
                return r;
        r = parser_next(p, &end, NULL);
        if (r < 0)
                return r;
        if (end.type != YAML_STREAM_END_EVENT)
                return parser_error(p, yaml_event_line(&end), NULL, -EBADMSG,
                                    "only one YAML document is allowed");
        return 0;
}

/* ---- public API ---- */

Config *config_free(Config *c)
{
        if (!c)
                return NULL;
        free(c->device.brand_id);
        free(c->device.model);
        free(c->device.serial);
        free(c->device.series);
        strv_free(c->users.admin_groups);
        free(c->users.shell);
        free(c->fleet.url);
        free(c->fleet.ca_file);
        free(c->fleet.client_cert);
        free(c->fleet.client_key);
        free(c);
        return NULL;
}

int config_new_default(Config **ret)
{
        _cleanup_config_ Config *c = NULL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->device.series = strdup(CONFIG_SERIES_DEFAULT);
        c->users.shell = strdup(CONFIG_SHELL_DEFAULT);
        c->users.admin_groups = calloc(2, sizeof(char *));
        if (!c->device.series || !c->users.shell || !c->users.admin_groups)
                return -ENOMEM;
        c->users.admin_groups[0] = strdup(CONFIG_ADMIN_GROUP_DEFAULT);
        if (!c->users.admin_groups[0])
                return -ENOMEM;
        c->users.n_admin_groups = 1;
        c->media.create_users = CONFIG_CREATE_USERS_ALWAYS;
        c->media.devices = CONFIG_MEDIA_DEVICES_REMOVABLE;
        c->users.storage = CONFIG_STORAGE_DIRECTORY;
        c->users.activation = CONFIG_ACTIVATION_START;
        c->fleet.interval = CONFIG_FLEET_INTERVAL_DEFAULT;
        c->fleet.timeout = CONFIG_FLEET_TIMEOUT_DEFAULT;
        c->fleet.create_users = false;

        *ret = TAKE_PTR(c);
        return 0;
}

static int config_parse(const void *data, size_t size, const char *name, Config **ret,
                        unsigned *ret_serial_line, ConfigError *err)
{
        _cleanup_config_ Config *c = NULL;
        Parser p = { .y = { .name = name, .err = err } };
        int r;

        if (size > CONFIG_FILE_SIZE_MAX)
                return config_error_set(err, name, 0, NULL, -E2BIG, "file is larger than 65536 bytes");

        r = config_new_default(&c);
        if (r < 0)
                return r;
        c->from_file = true;

        if (!yaml_parser_initialize(&p.y.yaml))
                return -ENOMEM;
        yaml_parser_set_input_string(&p.y.yaml, data, size);
        r = parse_stream(&p, c);
        yaml_parser_delete(&p.y.yaml);
        if (r < 0)
                return r;

        if (ret_serial_line)
                *ret_serial_line = p.serial_from_line;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_load_from_buffer(const void *data, size_t size, const char *name, Config **ret, ConfigError *err)
{
        return config_parse(data, size, name, ret, NULL, err);
}

/* Reads the file once from an fd that was checked: a configuration that anyone but root (or the caller
 * running on a scratch root) could write would let a local user pick the brand whose grants this device
 * accepts, and with them an admin account. */
static int config_read_file(const char *path, char **ret_data, size_t *ret_size, ConfigError *err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        r = open_regular_file(AT_FDCWD, path, &fd, &st);
        if (r == -ELOOP)
                return config_error_set(err, path, 0, NULL, -ELOOP, "is a symlink (refused)");
        if (r == -ENOENT)
                return -ENOENT;
        if (r == -EBADFD)
                return config_error_set(err, path, 0, NULL, -EBADFD, "is not a regular file");
        if (r < 0)
                return config_error_set(err, path, 0, NULL, r, "cannot open: %s", strerror(-r));
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return config_error_set(err, path, 0, NULL, -EPERM, "is owned by uid %u, not root",
                                        (unsigned) st.st_uid);
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return config_error_set(err, path, 0, NULL, -EPERM,
                                        "is writable by group or others (mode %04o); refusing it",
                                        (unsigned) (st.st_mode & 07777));
        if ((uint64_t) st.st_size > CONFIG_FILE_SIZE_MAX)
                return config_error_set(err, path, 0, NULL, -E2BIG, "file is larger than 65536 bytes");
        r = read_fd_bounded(fd, CONFIG_FILE_SIZE_MAX, ret_data, ret_size);
        if (r == -E2BIG)
                return config_error_set(err, path, 0, NULL, -E2BIG, "file is larger than 65536 bytes");
        if (r < 0)
                return config_error_set(err, path, 0, NULL, r, "cannot read: %s", strerror(-r));
        return 0;
}

int config_load(const char *root, Config **ret, ConfigError *err)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_config_ Config *c = NULL;
        unsigned serial_line = 0;
        size_t size = 0;
        int r;

        r = path_join_root(root, CONFIG_PATH, &path);
        if (r < 0)
                return r;
        r = config_read_file(path, &data, &size, err);
        if (r == -ENOENT) {
                r = config_new_default(&c);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(c);
                return 0;
        }
        if (r < 0)
                return r;

        r = config_parse(data, size, path, &c, &serial_line, err);
        if (r < 0)
                return r;

        if (c->device.serial_source == CONFIG_SERIAL_DMI) {
                const char *reason = NULL;

                r = device_serial_read_dmi(root, &c->device.serial, &reason);
                if (r < 0)
                        return config_error_set(err, path, serial_line, "device.serial-from", r,
                                                "cannot use the DMI serial (%s): %s", DEVICE_SERIAL_DMI_PATH,
                                                reason ? reason : strerror(-r));
        }

        *ret = TAKE_PTR(c);
        return 0;
}

const char *config_create_users_to_string(ConfigCreateUsers v)
{
        switch (v) {
        case CONFIG_CREATE_USERS_ALWAYS:
                return "always";
        case CONFIG_CREATE_USERS_UNMANAGED_ONLY:
                return "unmanaged-only";
        case CONFIG_CREATE_USERS_NEVER:
                return "never";
        }
        return NULL;
}

const char *config_media_devices_to_string(ConfigMediaDevices v)
{
        switch (v) {
        case CONFIG_MEDIA_DEVICES_REMOVABLE:
                return "removable";
        case CONFIG_MEDIA_DEVICES_ANY:
                return "any";
        }
        return NULL;
}

const char *config_activation_to_string(ConfigActivation v)
{
        switch (v) {
        case CONFIG_ACTIVATION_START:
                return "start";
        case CONFIG_ACTIVATION_LOGIN:
                return "login";
        }
        return NULL;
}

const char *config_storage_to_string(ConfigStorage v)
{
        switch (v) {
        case CONFIG_STORAGE_DIRECTORY:
                return "directory";
        case CONFIG_STORAGE_SUBVOLUME:
                return "subvolume";
        case CONFIG_STORAGE_LUKS:
                return "luks";
        }
        return NULL;
}
