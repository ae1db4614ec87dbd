/* SPDX-License-Identifier: MIT */
/* corehomectl status: who this device is, whom it trusts, and what it holds. */
#include <stdio.h>

#include "cli-daemon.h"
#include "cli-report.h"
#include "cli.h"
#include "fleet.h"
#include "json-util.h"
#include "macros.h"

static const char *member(json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

static bool string_in_array(json_t *array, const char *s)
{
        size_t i;
        json_t *e;

        json_array_foreach (array, i, e)
                if (s && streq(strempty(json_string_value(e)), s))
                        return true;
        return false;
}

int verb_status(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_(operation_result_done) OperationResult result = {};
        int status;

        if (argc > 1) {
                cli_error(argv[0], "takes no arguments");
                return EXIT_USAGE;
        }
        status = cli_call(ctx, "Status", NULL, &result);
        if (status != EXIT_OK)
                return status;
        json_t *o = result.view;
        /* The last fleet poll, from its state file (written by the daemon or by import --fleet). */
        _cleanup_(fleet_state_done) FleetState fleet = {};
        if (fleet_state_load(ctx->root, &fleet) >= 0)
                json_object_set_new(o, "fleet", fleet_state_json(&fleet));
        if (ctx->json) {
                json_dumpf(o, stdout, JSON_INDENT(2));
                putchar('\n');
                return EXIT_OK;
        }

        const char *device = member(o, "device");
        printf("Root:              %s\n", strempty(member(o, "root")));
        printf("Device:            %s\n", device ? device : "(none)");
        if (!device)
                printf("                   %s\n", strempty(member(o, "device-error")));
        printf("Trusted accounts: ");
        size_t i;
        json_t *e;
        json_array_foreach (json_object_get(o, "trusted-accounts"), i, e)
                printf(" %s%s", strempty(json_string_value(e)),
                       string_in_array(json_object_get(o, "unchained-roots"), json_string_value(e))
                               ? " (nothing stored chains to it)"
                               : "");
        if (member(o, "trust-warning"))
                printf(" none\n                   %s", member(o, "trust-warning"));
        printf("\nStored assertions:");
        const char *type;
        json_object_foreach (json_object_get(o, "stored"), type, e)
                printf(" %s=%" JSON_INTEGER_FORMAT, type, json_integer_value(e));
        printf("\nUsers:             %" JSON_INTEGER_FORMAT "\n",
               json_integer_value(json_object_get(o, "users")));
        json_t *denied = json_object_get(o, "denied");
        if (json_array_size(denied) > 0) {
                printf("Denied here:      ");
                json_array_foreach (denied, i, e)
                        printf(" %s", strempty(json_string_value(json_object_get(e, "user"))));
                putchar('\n');
        }
        if (member(o, "clock-floor"))
                printf("Clock:             behind the newest signed timestamp; checks use %s\n",
                       member(o, "clock-floor"));
        json_t *f = json_object_get(o, "fleet");
        if (json_is_object(f))
                printf("Fleet:             last poll %s: %s\n", strempty(member(f, "last-poll")),
                       strempty(member(f, "result")));
        printf("Daemon:            %s\n", strempty(member(o, "daemon")));
        return EXIT_OK;
}
