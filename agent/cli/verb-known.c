/* SPDX-License-Identifier: MIT */
/* corehomectl known TYPE [HEADER=VALUE...]: prints stored (and trusted) assertions in snapd's stream form.
 */
#include <stdio.h>
#include <string.h>

#include "assertion.h"
#include "cli-daemon.h"
#include "cli-report.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"

int verb_known(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_json_ json_t *parameters = NULL, *filters = json_array();
        _cleanup_(operation_result_done) OperationResult result = {};
        int status;

        if (argc < 2) {
                cli_error(argv[0], "needs an assertion TYPE, e.g. system-user");
                return EXIT_USAGE;
        }
        if (!assertion_type_primary_keys(argv[1])) {
                cli_error(argv[0], "unknown assertion type '%s'", argv[1]);
                return EXIT_USAGE;
        }
        for (int i = 2; i < argc; i++) {
                if (!strchr(argv[i], '=') || argv[i][0] == '=') {
                        cli_error(argv[0], "'%s' is not a HEADER=VALUE filter", argv[i]);
                        return EXIT_USAGE;
                }
                if (!filters || json_array_append_new(filters, json_string(argv[i])) < 0)
                        return EXIT_REFUSED;
        }
        parameters = json_pack("{s:s, s:O}", "type", argv[1], "filters", filters);
        if (!parameters)
                return EXIT_REFUSED;
        status = cli_call(ctx, "Known", parameters, &result);
        json_t *reply = result.view;
        if (status != EXIT_OK)
                return status;

        if (ctx->json) {
                json_dumpf(json_object_get(reply, "assertions"), stdout, JSON_INDENT(2));
                putchar('\n');
        } else {
                json_t *stream = json_object_get(reply, "stream");
                fwrite(json_string_value(stream), 1, json_string_length(stream), stdout);
        }
        return EXIT_OK;
}
