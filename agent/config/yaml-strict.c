/* SPDX-License-Identifier: MIT */
#include "yaml-strict.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "string-util.h"

/* Longest key name quoted in a message; longer (hostile) keys are cut. */
#define KEY_NAME_SHOWN_MAX 40

static int error_setv(ConfigError *err, const char *name, unsigned line, const char *key, int r,
                      const char *format, va_list ap) _printf_(6, 0);
static int error_setv(ConfigError *err, const char *name, unsigned line, const char *key, int r,
                      const char *format, va_list ap)
{
        _cleanup_free_ char *reason = NULL, *where = NULL;

        if (!err)
                return r;
        if (vasprintf(&reason, format, ap) < 0)
                reason = NULL;
        where = line > 0 ? strprintf("%s:%u", name, line) : strdup(name);

        err->line = line;
        (void) snprintf(err->key, sizeof(err->key), "%s", strempty(key));
        free(err->message);
        if (key && *key)
                err->message = strprintf("%s: key '%s': %s", strempty(where), key, strempty(reason));
        else
                err->message = strprintf("%s: %s", strempty(where), strempty(reason));
        return r;
}

int config_error_set(ConfigError *err, const char *name, unsigned line, const char *key, int r,
                     const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        r = error_setv(err, name, line, key, r, format, ap);
        va_end(ap);
        return r;
}

void config_error_done(ConfigError *err)
{
        err->message = mfree(err->message);
}

int yaml_strict_fail(YamlStrict *y, unsigned line, const char *key, int r, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        r = error_setv(y->err, y->name, line, key, r, format, ap);
        va_end(ap);
        return r;
}

unsigned yaml_event_line(const yaml_event_t *e)
{
        return (unsigned) e->start_mark.line + 1;
}

int yaml_strict_next(YamlStrict *y, yaml_event_t *ret, const char *key)
{
        const char *anchor = NULL, *tag = NULL;

        if (!yaml_parser_parse(&y->yaml, ret)) {
                unsigned line = (unsigned) y->yaml.problem_mark.line + 1;
                if (y->yaml.error == YAML_MEMORY_ERROR)
                        return -ENOMEM;
                if (y->yaml.context)
                        return yaml_strict_fail(y, line, NULL, -EBADMSG, "invalid YAML: %s %s",
                                                y->yaml.context, strempty(y->yaml.problem));
                return yaml_strict_fail(y, line, NULL, -EBADMSG, "invalid YAML: %s",
                                        y->yaml.problem ? y->yaml.problem : "parse error");
        }

        switch (ret->type) {
        case YAML_ALIAS_EVENT:
                return yaml_strict_fail(y, yaml_event_line(ret), key, -EBADMSG,
                                        "YAML aliases are not allowed");
        case YAML_SCALAR_EVENT:
                anchor = (const char *) ret->data.scalar.anchor;
                tag = (const char *) ret->data.scalar.tag;
                break;
        case YAML_SEQUENCE_START_EVENT:
                anchor = (const char *) ret->data.sequence_start.anchor;
                tag = (const char *) ret->data.sequence_start.tag;
                break;
        case YAML_MAPPING_START_EVENT:
                anchor = (const char *) ret->data.mapping_start.anchor;
                tag = (const char *) ret->data.mapping_start.tag;
                break;
        default:
                break;
        }
        if (anchor)
                return yaml_strict_fail(y, yaml_event_line(ret), key, -EBADMSG,
                                        "YAML anchors are not allowed");
        if (tag)
                return yaml_strict_fail(y, yaml_event_line(ret), key, -EBADMSG, "YAML tags are not allowed");
        return 0;
}

const char *yaml_event_kind(const yaml_event_t *e)
{
        switch (e->type) {
        case YAML_SEQUENCE_START_EVENT:
                return "a list";
        case YAML_MAPPING_START_EVENT:
                return "a mapping";
        case YAML_SCALAR_EVENT:
                return "a scalar";
        default:
                return "nothing";
        }
}

bool yaml_event_is_null(const yaml_event_t *e)
{
        const char *v = (const char *) e->data.scalar.value;

        if (e->type != YAML_SCALAR_EVENT || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        return streq(v, "") || streq(v, "~") || streq(v, "null") || streq(v, "Null") || streq(v, "NULL");
}

int yaml_strict_string(YamlStrict *y, const yaml_event_t *v, const char *key, size_t max, const char **ret)
{
        if (v->type != YAML_SCALAR_EVENT)
                return yaml_strict_fail(y, yaml_event_line(v), key, -EBADMSG, "expected a string, got %s",
                                        yaml_event_kind(v));
        if (yaml_event_is_null(v))
                return yaml_strict_fail(y, yaml_event_line(v), key, -EBADMSG,
                                        "expected a string, got no value");
        if (v->data.scalar.length > max)
                return yaml_strict_fail(y, yaml_event_line(v), key, -E2BIG, "value is longer than %zu bytes",
                                        max);
        if (strlen((const char *) v->data.scalar.value) != v->data.scalar.length)
                return yaml_strict_fail(y, yaml_event_line(v), key, -EBADMSG, "value contains a NUL byte");
        *ret = (const char *) v->data.scalar.value;
        return 0;
}

void yaml_strict_key_format(char *buf, size_t size, const char *section, const char *name, size_t len)
{
        char shown[KEY_NAME_SHOWN_MAX + 4];
        size_t i;

        for (i = 0; i < len && i < KEY_NAME_SHOWN_MAX; i++)
                shown[i] =
                        ((unsigned char) name[i] < 0x20 || (unsigned char) name[i] >= 0x7f) ? '?' : name[i];
        shown[i] = '\0';
        if (i < len)
                strcat(shown, "...");
        if (section)
                (void) snprintf(buf, size, "%s.%s", section, shown);
        else
                (void) snprintf(buf, size, "%s", shown);
}
