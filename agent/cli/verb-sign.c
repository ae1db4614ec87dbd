/* SPDX-License-Identifier: MIT */
/* corehomectl sign: the brand's signing tool. Reads headers (+ an optional "body" pseudo-header) as JSON, as
 * `snap sign` does, or as YAML, and prints the signed assertion in snapd's canonical order. Every scalar
 * must be a string, as `snap sign` requires: in YAML, a plain 16, true or 2024-01-01 is not a string and
 * must be quoted. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "assertion-sign.h"
#include "cli.h"

/* jansson >= 2.11 has json_decrefp(); common/json-util.h redefines it and cannot be included. */
#ifndef _cleanup_json_
#define _cleanup_json_ _cleanup_(json_decrefp)
#endif

/* Headers plus a body of the largest size a device accepts, with room for JSON escaping. */
#define SIGN_INPUT_MAX (ASSERTION_HEADERS_MAX + 2 * ASSERTION_BODY_MAX)

typedef struct YamlReader {
        yaml_parser_t parser;
        char message[256];
} YamlReader;

static int yaml_fail(YamlReader *y, const yaml_event_t *e, const char *format, ...) _printf_(3, 4);
static int yaml_fail(YamlReader *y, const yaml_event_t *e, const char *format, ...)
{
        va_list ap;
        int n = 0;

        if (e)
                n = snprintf(y->message, sizeof(y->message), "line %zu: ", e->start_mark.line + 1);
        va_start(ap, format);
        (void) vsnprintf(y->message + n, sizeof(y->message) - (size_t) n, format, ap);
        va_end(ap);
        return -EBADMSG;
}

static int yaml_next(YamlReader *y, yaml_event_t *e)
{
        if (!yaml_parser_parse(&y->parser, e))
                return yaml_fail(y, NULL, "line %zu: %s", y->parser.problem_mark.line + 1,
                                 strempty(y->parser.problem));
        return 0;
}

/* A plain (unquoted) YAML scalar that YAML resolves to null, a boolean, a number or a timestamp rather than
 * a string: snap sign would see a non-string there, so we refuse it the same way and say how to fix it. */
static bool yaml_plain_is_not_string(const char *s, size_t n)
{
        static const char *const words[] = { "~",     "null",  "Null",  "NULL", "true", "True", "TRUE",
                                             "false", "False", "FALSE", "yes",  "Yes",  "YES",  "no",
                                             "No",    "NO",    "on",    "On",   "ON",   "off",  "Off",
                                             "OFF",   "y",     "Y",     "n",    "N" };
        const char *p = s;

        if (n == 0)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strlen(words[i]) == n && strneq(words[i], s, n))
                        return true;
        if (*p == '+' || *p == '-')
                p++;
        if (*p == '.')
                p++;
        return (size_t) (p - s) < n &&
               ((*p >= '0' && *p <= '9') || strncasecmp(p, "inf", 3) == 0 || strncasecmp(p, "nan", 3) == 0);
}

static int yaml_node(YamlReader *y, yaml_event_t *e, unsigned depth, json_t **ret);

static int yaml_collection(YamlReader *y, bool mapping, unsigned depth, json_t **ret)
{
        _cleanup_json_ json_t *c = mapping ? json_object() : json_array();

        if (!c)
                return -ENOMEM;
        for (;;) {
                _cleanup_json_ json_t *key = NULL, *value = NULL;
                yaml_event_t e;
                int r;

                r = yaml_next(y, &e);
                if (r < 0)
                        return r;
                if (e.type == (mapping ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT)) {
                        yaml_event_delete(&e);
                        break;
                }
                if (mapping) {
                        if (e.type != YAML_SCALAR_EVENT) {
                                r = yaml_fail(y, &e, "map keys must be strings");
                                yaml_event_delete(&e);
                                return r;
                        }
                        key = json_stringn((const char *) e.data.scalar.value, e.data.scalar.length);
                        yaml_event_delete(&e);
                        if (!key)
                                return yaml_fail(y, NULL, "map key is not valid UTF-8");
                        r = yaml_next(y, &e);
                        if (r < 0)
                                return r;
                }
                r = yaml_node(y, &e, depth + 1, &value);
                if (r < 0)
                        return r;
                if (!mapping) {
                        if (json_array_append(c, value) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (json_object_get(c, json_string_value(key)))
                        return yaml_fail(y, NULL, "duplicate key \"%s\"", json_string_value(key));
                if (json_object_set(c, json_string_value(key), value) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* Consumes e (and the events of its children). */
static int yaml_node(YamlReader *y, yaml_event_t *e, unsigned depth, json_t **ret)
{
        int r;

        if (depth > ASSERTION_NESTING_MAX + 1) {
                r = yaml_fail(y, e, "nested deeper than %d levels", ASSERTION_NESTING_MAX);
                yaml_event_delete(e);
                return r;
        }
        switch (e->type) {
        case YAML_SCALAR_EVENT: {
                const char *s = (const char *) e->data.scalar.value;
                size_t n = e->data.scalar.length;

                if (e->data.scalar.anchor || e->data.scalar.tag)
                        r = yaml_fail(y, e, "anchors and tags are not supported");
                else if (memchr(s, 0, n))
                        r = yaml_fail(y, e, "NUL byte in a value");
                else if (e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && yaml_plain_is_not_string(s, n))
                        r = yaml_fail(
                                y, e,
                                "'%.*s' is not a string in YAML; quote it (\"%.*s\"): every value must be "
                                "a string, as snap sign requires",
                                (int) (n > 40 ? 40 : n), s, (int) (n > 40 ? 40 : n), s);
                else {
                        *ret = json_stringn(s, n);
                        r = *ret ? 0 : yaml_fail(y, e, "value is not valid UTF-8");
                }
                yaml_event_delete(e);
                return r;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
                bool mapping = e->type == YAML_MAPPING_START_EVENT;
                const yaml_char_t *anchor =
                        mapping ? e->data.mapping_start.anchor : e->data.sequence_start.anchor;

                if (anchor) {
                        r = yaml_fail(y, e, "anchors are not supported");
                        yaml_event_delete(e);
                        return r;
                }
                yaml_event_delete(e);
                return yaml_collection(y, mapping, depth, ret);
        }
        case YAML_ALIAS_EVENT:
                /* Aliases can multiply a small input into a huge one ("billion laughs"). */
                r = yaml_fail(y, e, "aliases are not supported");
                yaml_event_delete(e);
                return r;
        default:
                r = yaml_fail(y, e, "unexpected YAML structure");
                yaml_event_delete(e);
                return r;
        }
}

static int yaml_expect(YamlReader *y, yaml_event_type_t type)
{
        yaml_event_t e;
        int r = yaml_next(y, &e);

        if (r < 0)
                return r;
        r = e.type == type ? 0 : yaml_fail(y, &e, "expected exactly one YAML document holding a map");
        yaml_event_delete(&e);
        return r;
}

static int input_parse_yaml(const char *data, size_t size, json_t **ret, char *message, size_t message_size)
{
        _cleanup_json_ json_t *root = NULL;
        YamlReader y = {};
        yaml_event_t e;
        int r;

        if (!yaml_parser_initialize(&y.parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&y.parser, (const unsigned char *) data, size);
        r = yaml_expect(&y, YAML_STREAM_START_EVENT);
        if (r >= 0)
                r = yaml_expect(&y, YAML_DOCUMENT_START_EVENT);
        if (r >= 0)
                r = yaml_next(&y, &e);
        if (r >= 0) {
                if (e.type != YAML_MAPPING_START_EVENT) {
                        r = yaml_fail(&y, &e, "the input must be a map of headers");
                        yaml_event_delete(&e);
                } else
                        r = yaml_node(&y, &e, 0, &root);
        }
        if (r >= 0)
                r = yaml_expect(&y, YAML_DOCUMENT_END_EVENT);
        if (r >= 0)
                r = yaml_expect(&y, YAML_STREAM_END_EVENT);
        yaml_parser_delete(&y.parser);
        if (r < 0) {
                snprintf(message, message_size, "cannot parse the assertion input as YAML: %s", y.message);
                return r;
        }
        *ret = TAKE_PTR(root);
        return 0;
}

static int input_parse(const char *data, size_t size, json_t **ret, char *message, size_t message_size)
{
        size_t i = 0;

        while (i < size && strchr(" \t\r\n", data[i]))
                i++;
        if (i < size && data[i] == '{') {
                json_error_t e;
                json_t *j = json_loadb(data, size, JSON_REJECT_DUPLICATES, &e);
                if (!j) {
                        snprintf(message, message_size,
                                 "cannot parse the assertion input as JSON: line %d: %s", e.line, e.text);
                        return -EBADMSG;
                }
                *ret = j;
                return 0;
        }
        return input_parse_yaml(data, size, ret, message, message_size);
}

/* --json: the signed text with what a script wants to know without decoding it. */
static int print_json(json_t *headers, const SigningKey *key, const char *text, size_t text_size)
{
        _cleanup_json_ json_t *o =
                json_pack("{s:O, s:s, s:s%}", "type", json_object_get(headers, "type"), "sign-key-sha3-384",
                          key->public_key->id, "assertion", text, text_size);

        if (!o) {
                cli_error("sign", "out of memory");
                return EXIT_REFUSED;
        }
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_REFUSED;
}

int verb_sign(const CliContext *ctx, int argc, char **argv)
{
        enum { ARG_KEY = 0x100, ARG_GNUPG_HOME };
        static const struct option options[] = {
                { "key", required_argument, NULL, ARG_KEY },
                { "gnupg-home", required_argument, NULL, ARG_GNUPG_HOME },
                {},
        };
        _cleanup_signing_key_ SigningKey *key = NULL;
        _cleanup_json_ json_t *headers = NULL;
        _cleanup_free_ char *data = NULL, *text = NULL;
        const char *key_name = "default", *gnupg_home = NULL, *path = "-";
        char message[512];
        AssertionError err = {};
        const char *body = NULL;
        size_t size, body_size = 0, text_size;
        json_t *b;
        int c, r;

        while ((c = getopt_long(argc, argv, "k:", options, NULL)) >= 0) {
                switch (c) {
                case 'k':
                case ARG_KEY:
                        key_name = optarg;
                        break;
                case ARG_GNUPG_HOME:
                        gnupg_home = optarg;
                        break;
                default:
                        return EXIT_USAGE;
                }
        }
        if (argc - optind > 1) {
                cli_error("sign", "too many arguments; usage: sign --key=NAME [--gnupg-home=DIR] [FILE|-]");
                return EXIT_USAGE;
        }
        if (optind < argc)
                path = argv[optind];

        if (cli_read_input(path, SIGN_INPUT_MAX, &data, &size) < 0)
                return EXIT_REFUSED;
        if (input_parse(data, size, &headers, message, sizeof(message)) < 0) {
                cli_error(path, "%s", message);
                return EXIT_REFUSED;
        }
        if (!json_is_object(headers)) {
                cli_error(path, "the assertion input must be a map of headers");
                return EXIT_REFUSED;
        }
        b = json_object_get(headers, "body");
        if (b) {
                if (!json_is_string(b)) {
                        cli_error(path, "body if specified must be a string");
                        return EXIT_REFUSED;
                }
                body = json_string_value(b);
                body_size = json_string_length(b);
        }

        r = signing_key_open(gnupg_home, key_name, &key, &err);
        if (r < 0) {
                cli_error("sign", "%s", err.message);
                return EXIT_REFUSED;
        }
        /* The body pseudo-header is taken out only now: body points into it. */
        json_incref(b);
        _unused_ _cleanup_json_ json_t *body_ref = b;
        if (b)
                json_object_del(headers, "body");

        r = assertion_sign(key, headers, body, body_size, &text, &text_size, &err);
        if (r < 0) {
                cli_error(path, "%s", err.message);
                return EXIT_REFUSED;
        }
        if (ctx->json)
                return print_json(headers, key, text, text_size);
        if (fwrite(text, 1, text_size, stdout) != text_size || fflush(stdout) != 0) {
                cli_error("sign", "cannot write the signed assertion: %m");
                return EXIT_REFUSED;
        }
        return EXIT_OK;
}
