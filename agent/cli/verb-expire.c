/* SPDX-License-Identifier: MIT */
/* corehomectl expire: removes every user whose until-expiration grant has run out. */
#include "cli-daemon.h"
#include "cli-provision.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"

int verb_expire(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_json_ json_t *reply = NULL;
        int status;

        if (argc > 1) {
                cli_error(argv[0], "takes no arguments");
                return EXIT_USAGE;
        }
        status = cli_call(ctx, "Expire", NULL, &reply);
        if (status != EXIT_OK)
                return status;
        return cli_provision_print_report(ctx, argv[0], json_object_get(reply, "users"), true);
}
