/* SPDX-License-Identifier: MIT */
#pragma once

/* Strict YAML for the files that decide who gets an account on which device: the device configuration
 * (config.c) and a fleet's device inventory (agent/fleet/fleet-inventory.c). One reader, so both refuse the
 * same things: aliases and anchors (an alias can expand a small file into an enormous tree, the "billion
 * laughs" attack, and anchors exist only to be aliased), tags (they would let the file pick the type of a
 * value instead of the schema), NUL bytes in values and values beyond a bound. Messages are
 * "FILE:LINE: key 'KEY': reason" (ConfigError). */

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "config.h"
#include "macros.h"

typedef struct YamlStrict {
        yaml_parser_t yaml;
        const char *name; /* the file, as messages name it */
        ConfigError *err; /* optional */
} YamlStrict;

/* Sets err (when not NULL) to "NAME:LINE: key 'KEY': reason" (without the key part when key is NULL or
 * empty, without ":LINE" when line is 0) and returns r. */
int config_error_set(ConfigError *err, const char *name, unsigned line, const char *key, int r,
                     const char *format, ...) _printf_(6, 7);

/* The same for the file y reads. */
int yaml_strict_fail(YamlStrict *y, unsigned line, const char *key, int r, const char *format, ...)
        _printf_(5, 6);

/* The next event; refuses aliases, anchors and tags, and invalid YAML (-EBADMSG), naming key. */
int yaml_strict_next(YamlStrict *y, yaml_event_t *ret, const char *key);

/* The text of a scalar value: bounded by max bytes (-E2BIG), free of NUL bytes (a "\0" escape would cut the
 * value short where C sees it), not null ("key:", "~"). Borrowed from v. */
int yaml_strict_string(YamlStrict *y, const yaml_event_t *v, const char *key, size_t max, const char **ret);

/* 1-based line of an event. */
unsigned yaml_event_line(const yaml_event_t *e);
/* "a list", "a mapping", "a scalar" or "nothing": for "expected X, got Y". */
const char *yaml_event_kind(const yaml_event_t *e);
/* A plain scalar that YAML reads as null: "key:", "key: ~", "key: null". */
bool yaml_event_is_null(const yaml_event_t *e);

/* A key from the file for messages: "SECTION.NAME" (or "NAME" when section is NULL), a hostile name cut
 * short and its unprintable bytes masked, so a message cannot forge log lines. */
void yaml_strict_key_format(char *buf, size_t size, const char *section, const char *name, size_t len);

static inline void yaml_event_clear(yaml_event_t *e)
{
        yaml_event_delete(e);
}
#define _cleanup_yaml_event_ _cleanup_(yaml_event_clear)
