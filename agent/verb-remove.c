/* SPDX-License-Identifier: MIT */
/* corehomectl remove USER: removes a user created by corehomed, with its home. */
#include <stdio.h>

#include "cli-provision.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"

int verb_remove(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_provisioner_ Provisioner *p = NULL;
        _cleanup_free_ char *error = NULL;

        if (argc != 2) {
                cli_error(argv[0], "needs exactly one USER");
                return EXIT_USAGE;
        }
        if (cli_provisioner_open(ctx, &p) < 0)
                return EXIT_REFUSED;
        if (provision_remove_user(p, argv[1], &error) < 0) {
                cli_error(argv[1], "%s", strempty(error));
                return EXIT_REFUSED;
        }
        if (ctx->json) {
                _cleanup_json_ json_t *o = json_pack("{s:s, s:s}", "user", argv[1], "outcome", "removed");
                if (o)
                        json_dumpf(o, stdout, 0);
                putchar('\n');
        } else
                printf("%s: removed\n", argv[1]);
        return EXIT_OK;
}
