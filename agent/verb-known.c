/* SPDX-License-Identifier: MIT */
/* corehomectl known TYPE [HEADER=VALUE...]: prints stored (and trusted) assertions in snapd's stream form.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli-batch.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"

typedef struct KnownOutput {
        json_t *array; /* --json */
        size_t n;
} KnownOutput;

static int print_one(const Assertion *a, bool trusted, void *userdata)
{
        KnownOutput *out = userdata;
        _cleanup_free_ char *wire = NULL;
        size_t size;
        int r;

        if (out->array) {
                json_t *o = assertion_to_json(a);
                if (!o || json_array_append_new(out->array, o) < 0)
                        return -ENOMEM;
                out->n++;
                return 0;
        }
        r = assertion_encode(a, &wire, &size);
        if (r < 0)
                return r;
        /* snapd separates the assertions of a stream with an empty line. */
        if (out->n++ > 0)
                putchar('\n');
        fwrite(wire, 1, size, stdout);
        return 0;
}

int verb_known(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_trust_db_ TrustDb *db = NULL;
        KnownOutput out = {};
        int r;

        if (argc < 2) {
                cli_error(argv[0], "needs an assertion TYPE, e.g. system-user");
                return EXIT_USAGE;
        }
        if (!assertion_type_primary_keys(argv[1])) {
                cli_error(argv[0], "unknown assertion type '%s'", argv[1]);
                return EXIT_USAGE;
        }
        for (int i = 2; i < argc; i++)
                if (!strchr(argv[i], '=') || argv[i][0] == '=') {
                        cli_error(argv[0], "'%s' is not a HEADER=VALUE filter", argv[i]);
                        return EXIT_USAGE;
                }
        if (cli_trust_db_open(ctx, &db) < 0)
                return EXIT_REFUSED;

        out.array = ctx->json ? json_array() : NULL;
        r = trust_db_foreach(db, argv[1], argv + 2, print_one, &out);
        if (r < 0) {
                json_decref(out.array);
                cli_error(argv[0], "cannot list assertions: %s", strerror(-r));
                return EXIT_REFUSED;
        }
        if (out.array) {
                json_dumpf(out.array, stdout, JSON_INDENT(2));
                putchar('\n');
                json_decref(out.array);
        }
        return EXIT_OK;
}
