/* SPDX-License-Identifier: MIT */
/* corehomectl: the command line of corehomed. With --root it works offline on that tree. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "file-util.h"
#include "macros.h"

typedef struct Verb {
        const char *name;
        VerbFunction function;
        const char *synopsis;
} Verb;

static const Verb verbs[] = {
        { "decode", verb_decode,
          "decode FILE|-                   print the assertions in FILE (no verification)" },
        { "verify", verb_verify,
          "verify FILE|-                   check signatures and chain, store nothing" },
        { "import", verb_import,
          "import FILE...|-                verify and store assertions; creates no users" },
        { "known", verb_known, "known TYPE [HEADER=VALUE...]    print stored assertions" },
        { "create-user", verb_create_user,
          "create-user --known [EMAIL]     create users from stored system-users" },
        { "import-media", verb_import_media,
          "import-media PATH               import auto-import.assert, create users" },
        { "list", verb_list, "list                            users managed here" },
        { "inspect", verb_inspect,
          "inspect USER                    the user record and where it came from" },
        { "remove", verb_remove, "remove USER                     remove the user and the home" },
        { "expire", verb_expire, "expire                          remove users whose grant has run out" },
        { "sign", verb_sign, "sign --key=NAME [--gnupg-home=DIR] [FILE|-]   sign headers as an assertion" },
        { "export-key", verb_export_key,
          "export-key [--account=ID] NAME  print a GnuPG key as an assertion key" },
        { "status", verb_status, "status                          device identity, trust roots, counts" },
        { "fleet", verb_fleet,
          "fleet publish --inventory=FILE --out=DIR --trusted=FILE ASSERTIONS...   build a fleet's tree" },
};

void cli_error(const char *prefix, const char *format, ...)
{
        va_list ap;

        fputs("corehomectl: ", stderr);
        if (prefix)
                fprintf(stderr, "%s: ", prefix);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}

int cli_read_input(const char *path, size_t max_size, char **ret_data, size_t *ret_size)
{
        int r;

        if (streq(path, "-"))
                r = read_fd_bounded(STDIN_FILENO, max_size, ret_data, ret_size);
        else
                r = read_file_bounded(AT_FDCWD, path, max_size, ret_data, ret_size);
        if (r == -E2BIG)
                cli_error(path, "larger than %zu bytes, refusing", max_size);
        else if (r == -ELOOP)
                cli_error(path, "is a symbolic link, refusing to follow it");
        else if (r == -EBADFD)
                cli_error(path, "not a regular file");
        else if (r < 0)
                cli_error(path, "cannot read: %s", strerror(-r));
        return r;
}

static void help(void)
{
        printf("Usage: corehomectl [--root=DIR [--now=RFC3339]] [--json] COMMAND ...\n\n"
               "Provision users from signed Ubuntu Core system-user assertions.\n\n"
               "Options:\n"
               "  --root=DIR       work offline on the tree below DIR (no daemon)\n"
               "  --now=TIME       with --root (or fleet publish): take TIME (RFC 3339) as the current "
               "time\n"
               "  --json           print machine-readable JSON on stdout\n"
               "  -h, --help       show this help\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %s\n", verbs[i].synopsis);
        printf("\nExit status: 0 success, 1 something was refused, 2 usage error.\n");
}

int main(int argc, char **argv)
{
        enum { ARG_ROOT = 0x100, ARG_NOW, ARG_JSON };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "root", required_argument, NULL, ARG_ROOT },
                { "now", required_argument, NULL, ARG_NOW },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        CliContext ctx = { .now = time_now_realtime() };
        int c;

        /* '+' stops at the verb, so each verb parses its own options. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return EXIT_OK;
                case ARG_ROOT:
                        ctx.root = optarg;
                        break;
                case ARG_NOW:
                        if (time_parse_rfc3339(optarg, &ctx.now) < 0) {
                                cli_error("--now",
                                          "'%s' is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)",
                                          optarg);
                                return EXIT_USAGE;
                        }
                        ctx.now_set = true;
                        break;
                case ARG_JSON:
                        ctx.json = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        }

        /* fleet publish works on files only, like --root: its time may be fixed too. */
        if (ctx.now_set && !ctx.root && !(optind < argc && streq(argv[optind], "fleet"))) {
                cli_error(NULL, "--now is only allowed together with --root");
                return EXIT_USAGE;
        }
        if (optind >= argc) {
                cli_error(NULL, "missing command; see --help");
                return EXIT_USAGE;
        }

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[optind], verbs[i].name)) {
                        int first = optind;
                        optind = 0; /* glibc: 0 re-initialises getopt for the verb's own options */
                        return verbs[i].function(&ctx, argc - first, argv + first);
                }

        cli_error(NULL, "unknown command '%s'; see --help", argv[optind]);
        return EXIT_USAGE;
}
