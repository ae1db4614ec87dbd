/* SPDX-License-Identifier: MIT */
/* corehomectl expire: removes every user whose until-expiration grant has run out. */
#include "cli-provision.h"
#include "cli.h"
#include "macros.h"

int verb_expire(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_provisioner_ Provisioner *p = NULL;
        _cleanup_provision_report_ ProvisionReport *report = NULL;
        int r;

        if (argc > 1) {
                cli_error(argv[0], "takes no arguments");
                return EXIT_USAGE;
        }
        if (cli_provisioner_open(ctx, &p) < 0)
                return EXIT_REFUSED;
        r = provision_expire(p, &report);
        if (r < 0) {
                cli_error(argv[0], "%s", strerror(-r));
                return EXIT_REFUSED;
        }
        return cli_provision_print_report(ctx, argv[0], report, true);
}
