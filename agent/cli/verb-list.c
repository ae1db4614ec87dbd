/* SPDX-License-Identifier: MIT */
/* corehomectl list: the users whose homes live here, with where their grant came from. */
#include <stdio.h>

#include "cli-daemon.h"
#include "cli-report.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"

static void print_users(json_t *array)
{
        if (json_array_size(array) == 0) {
                printf("No users.\n");
                return;
        }
        printf("%-16s %-6s %-9s %-21s %-12s %s\n", "USER", "UID", "STATE", "EXPIRES", "BRAND", "EMAIL");
        size_t i;
        json_t *e;
        json_array_foreach (array, i, e) {
                const char *expires = json_string_value(json_object_get(e, "expires"));
                printf("%-16s %-6" JSON_INTEGER_FORMAT " %-9s %-21s %-12s %s\n",
                       strempty(json_string_value(json_object_get(e, "user"))),
                       json_integer_value(json_object_get(e, "uid")),
                       strempty(json_string_value(json_object_get(e, "state"))), expires ? expires : "never",
                       json_string_value(json_object_get(e, "brand")) ?: "-",
                       json_string_value(json_object_get(e, "email")) ?: "(not managed by corehomed)");
        }
}

/* The names denied here (deny-list.h): not users, but why a grant for them does nothing. */
static void print_denied(json_t *denied)
{
        size_t i;
        json_t *e;

        if (json_array_size(denied) == 0)
                return;
        printf("\nDenied here (corehomectl allow USER lifts it):\n");
        json_array_foreach (denied, i, e)
                printf("%-16s since %s\n", strempty(json_string_value(json_object_get(e, "user"))),
                       strempty(json_string_value(json_object_get(e, "since"))));
}

int verb_list(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_(operation_result_done) OperationResult result = {};
        int status;

        if (argc > 1) {
                cli_error(argv[0], "takes no arguments");
                return EXIT_USAGE;
        }
        status = cli_call(ctx, "List", NULL, &result);
        if (status != EXIT_OK)
                return status;
        json_t *array = json_object_get(result.view, "users");

        if (ctx->json) {
                json_dumpf(array, stdout, JSON_INDENT(2));
                putchar('\n');
                return EXIT_OK;
        }
        print_users(array);
        print_denied(json_object_get(result.view, "denied"));
        return EXIT_OK;
}
