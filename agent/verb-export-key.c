/* SPDX-License-Identifier: MIT */
#include "cli.h"

int verb_export_key(const CliContext *ctx, int argc, char **argv)
{
        cli_error(argv[0], "not available in this build yet");
        return EXIT_REFUSED;
}
