/* SPDX-License-Identifier: MIT */
/* corehomectl inspect USER: the signed user record, the home's state, and the assertion it came from. */
#include <stdio.h>

#include "cli-daemon.h"
#include "cli-report.h"
#include "cli.h"
#include "grant-convert.h"
#include "json-util.h"
#include "macros.h"
#include "user-record.h"

int verb_inspect(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_json_ json_t *parameters = NULL;
        _cleanup_(operation_result_done) OperationResult result = {};
        _cleanup_free_ char *pretty = NULL;
        int status;

        if (argc != 2) {
                cli_error(argv[0], "needs exactly one USER");
                return EXIT_USAGE;
        }
        parameters = json_pack("{s:s}", "userName", argv[1]);
        if (!parameters)
                return EXIT_REFUSED;
        status = cli_call(ctx, "Inspect", parameters, &result);
        if (status != EXIT_OK)
                return status;
        json_t *reply = result.view;

        if (ctx->json) {
                json_dumpf(reply, stdout, JSON_INDENT(2));
                putchar('\n');
                return EXIT_OK;
        }

        json_t *record = json_object_get(reply, "record");
        json_t *grant = json_object_get(record, GRANT_RECORD_EXTENSION);
        printf("User:      %s\n", argv[1]);
        printf("State:     %s\n", strempty(json_string_value(json_object_get(reply, "state"))));
        printf("Signature: %s (corehomed engine key)\n",
               strempty(json_string_value(json_object_get(reply, "signature"))));
        if (grant)
                printf("Grant:     system-user brand-id=%s email=%s revision %" JSON_INTEGER_FORMAT "%s\n",
                       strempty(json_string_value(json_object_get(grant, "brandId"))),
                       strempty(json_string_value(json_object_get(grant, "email"))),
                       json_integer_value(json_object_get(grant, "revision")),
                       json_object_get(reply, "assertion") ? "" : " (assertion no longer stored)");
        else
                printf("Grant:     none (not created by corehomed)\n");
        if (json_is_object(record) && user_record_format_pretty(record, &pretty) >= 0)
                printf("Record:\n%s", pretty);
        return EXIT_OK;
}
