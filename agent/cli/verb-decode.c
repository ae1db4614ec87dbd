/* SPDX-License-Identifier: MIT */
/* corehomectl decode FILE|-: prints the assertions of a stream without verifying them. */
#include <stdio.h>
#include <string.h>

#include "assertion.h"
#include "cli.h"
#include "macros.h"

/* Untrusted text goes to a terminal: control characters (escape sequences could rewrite what the person
 * sees) are shown as \xNN; newlines only where keep_newlines allows them. */
static void print_sanitized(const char *s, size_t size, bool keep_newlines)
{
        for (size_t i = 0; i < size; i++) {
                unsigned char c = (unsigned char) s[i];

                if ((c == '\n' && keep_newlines) || c == '\t' || (c >= 0x20 && c != 0x7f))
                        putchar(c);
                else
                        printf("\\x%02x", c);
        }
}

static void print_value(const char *intro, json_t *v, size_t indent);

static void print_text(const char *s, size_t size, size_t indent)
{
        const char *end = s + size;

        for (;;) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));

                printf("\n%*s", (int) (indent + 4), "");
                print_sanitized(s, nl ? (size_t) (nl - s) : (size_t) (end - s), false);
                if (!nl)
                        return;
                s = nl + 1;
        }
}

/* Headers in their wire layout (text indented, "- " list entries, "key:" map entries), which is already
 * how people read assertions. */
static void print_value(const char *intro, json_t *v, size_t indent)
{
        const char *key;
        json_t *e;
        size_t i;

        printf("\n%*s%s", (int) indent, "", intro);
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                size_t size = json_string_length(v);

                if (memchr(s, '\n', size))
                        print_text(s, size, indent);
                else {
                        putchar(' ');
                        print_sanitized(s, size, false);
                }
        } else if (json_is_array(v))
                json_array_foreach (v, i, e)
                        print_value("-", e, indent + 2);
        else if (json_is_object(v))
                json_object_foreach (v, key, e) {
                        _cleanup_free_ char *k = NULL;
                        if (asprintf(&k, "%s:", key) >= 0)
                                print_value(k, e, indent + 2);
                }
}

static void print_assertion(const Assertion *a, size_t index)
{
        _cleanup_free_ char *description = assertion_describe(a);
        const char *name;
        json_t *v;

        printf("# assertion %zu (line %u): %s", index + 1, a->first_line, strempty(description));
        json_object_foreach (a->headers, name, v) {
                _cleanup_free_ char *intro = NULL;
                if (asprintf(&intro, "%s:", name) >= 0)
                        print_value(intro, v, 0);
        }
        putchar('\n');
        if (a->body_size > 0) {
                printf("# body (%zu bytes):\n", a->body_size);
                print_sanitized((const char *) a->body, a->body_size, true);
                putchar('\n');
        }
}

int verb_decode(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_assertion_list_ AssertionList *list = NULL;
        _cleanup_free_ char *data = NULL;
        AssertionError err = {};
        char message[512];
        size_t size;
        int r;

        if (argc != 2) {
                cli_error(argv[0], "expected exactly one FILE (or - for standard input)");
                return EXIT_USAGE;
        }
        if (cli_read_input(argv[1], ASSERTION_STREAM_BYTES_MAX, &data, &size) < 0)
                return EXIT_REFUSED;

        r = assertion_stream_decode(data, size, &list, &err);
        if (r < 0) {
                if (err.message[0])
                        cli_error(argv[1], "%s", assertion_error_format(&err, message, sizeof(message)));
                else
                        cli_error(argv[1], "cannot decode: %s", strerror(-r));
                return EXIT_REFUSED;
        }

        if (ctx->json) {
                _cleanup_free_ char *text = NULL;
                json_t *array = json_array();

                for (size_t i = 0; array && i < list->n; i++)
                        if (json_array_append_new(array, assertion_to_json(list->items[i])) < 0) {
                                json_decref(array);
                                array = NULL;
                        }
                text = array ? json_dumps(array, JSON_INDENT(2)) : NULL;
                json_decref(array);
                if (!text) {
                        cli_error(argv[1], "out of memory");
                        return EXIT_REFUSED;
                }
                puts(text);
                return EXIT_OK;
        }

        for (size_t i = 0; i < list->n; i++) {
                if (i > 0)
                        putchar('\n');
                print_assertion(list->items[i], i);
        }
        return EXIT_OK;
}
