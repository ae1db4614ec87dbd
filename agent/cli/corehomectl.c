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
        const char *synopsis; /* the verb and its arguments */
        const char *summary;  /* one line, for --help */
        const char *help;     /* what VERB --help prints after the usage line: what it does, its options */
} Verb;

static const Verb verbs[] = {
        { "decode", verb_decode, "decode FILE|-", "print the assertions in FILE (no verification)",
          "Prints each assertion of the stream in FILE (- for standard input): its headers and body, "
          "without\n"
          "checking signatures. Control characters are shown as \\xNN.\n" },
        { "verify", verb_verify, "verify FILE...|-", "check signatures and chain, store nothing",
          "Checks every assertion of the files against the trust database (signatures, the chain to a "
          "trusted\n"
          "root, validity windows) as import would, and stores nothing. Exit status 1 when one is "
          "refused.\n" },
        { "import", verb_import, "import FILE...|- | URL | --fleet [--timeout=S]",
          "verify and store assertions; creates no users",
          "Verifies the assertions of the files (one batch: stored whole or not at all) and stores them.\n"
          "Creates no users: create-user --known does.\n\n"
          "  URL              fetch https://... and its missing prerequisites, then import them\n"
          "  --fleet          poll the configured fleet server now (fleet: in corehomed.yaml)\n"
          "  --timeout=S      give a network import at most S seconds\n" },
        { "known", verb_known, "known TYPE [HEADER=VALUE...]", "print stored assertions",
          "Prints the stored assertions of TYPE (account, account-key, model, serial, system-user) that "
          "match\n"
          "every HEADER=VALUE filter, as a stream snapd reads (with --json: as JSON).\n" },
        { "create-user", verb_create_user, "create-user --known [EMAIL]",
          "create users from stored system-users",
          "Applies every stored system-user assertion that is valid for this device now: creates, updates "
          "or\n"
          "revokes its user. With EMAIL only that grant, and it must apply (exit status 1 otherwise).\n"
          "A user name denied here (deny) is skipped, or refused when named by EMAIL.\n" },
        { "import-media", verb_import_media, "import-media PATH", "import auto-import.assert, create users",
          "Reads auto-import.assert from PATH (a directory, or a block device mounted read-only for the\n"
          "read), imports its assertions and creates the users of its grants as media.create-users allows:\n"
          "what a USB stick does when it is plugged in.\n" },
        { "list", verb_list, "list", "users managed here",
          "Lists the users whose homes live here: name, uid, state, expiry, the brand and email of their\n"
          "grant; then the user names denied here. With --json: the users only, as an array.\n" },
        { "inspect", verb_inspect, "inspect USER", "the user record and where it came from",
          "Prints the user record of USER, its state, its signature check and the system-user assertion it\n"
          "came from.\n" },
        { "remove", verb_remove, "remove USER", "remove the user and the home",
          "Removes USER (made by corehomed) and its home. A stored grant for USER creates it again at the\n"
          "next stick, fleet poll or create-user --known: to keep it away, use deny.\n" },
        { "expire", verb_expire, "expire", "remove users whose grant has run out",
          "Removes every user whose until-expiration grant has run out (the daemon does this on time by\n"
          "itself).\n" },
        { "deny", verb_deny, "deny USER", "remove USER and keep every grant for it from applying here",
          "The device owner's local revoke: removes USER (if corehomed made it) with its home, and from "
          "then\n"
          "on no grant for the name USER applies on this device, whichever brand or email it carries and\n"
          "however it comes (stick, fleet poll, create-user --known), across restarts. The brand's\n"
          "assertions stay stored and untouched. Lifted by allow.\n" },
        { "allow", verb_allow, "allow USER", "lift a deny",
          "Lifts deny USER: grants for USER apply again from the next stick, fleet poll or create-user\n"
          "--known. Creates nothing by itself.\n" },
        { "sign", verb_sign, "sign --key=NAME [--gnupg-home=DIR] [FILE|-]",
          "sign headers as an assertion (brand side)",
          "Reads assertion headers (+ an optional \"body\") as JSON or YAML from FILE or standard input "
          "and\n"
          "prints the signed assertion, as snap sign does. Input a device would refuse (a format it does\n"
          "not know, serials in a format-0 grant, a password hash it does not take, ...) is refused with\n"
          "the device's own words, and nothing is signed.\n\n"
          "  -k, --key=NAME   the GnuPG key whose user ID is exactly NAME (default: \"default\")\n"
          "  --gnupg-home=DIR the GnuPG home holding the key (default: $GNUPGHOME or ~/.gnupg)\n\n"
          "With --json (before COMMAND): {\"type\", \"sign-key-sha3-384\", \"assertion\": TEXT} on "
          "stdout.\n" },
        { "export-key", verb_export_key, "export-key [--account=ID] [--gnupg-home=DIR] [NAME]",
          "print a GnuPG key as an assertion key",
          "Prints the public key of the GnuPG key NAME (default: \"default\") as an account-key body, or "
          "with\n"
          "--account=ID an account-key-request for account ID signed by the key itself.\n\n"
          "  --account=ID     print an account-key-request for account ID\n"
          "  --gnupg-home=DIR the GnuPG home holding the key (default: $GNUPGHOME or ~/.gnupg)\n\n"
          "With --json (before COMMAND): {\"name\", \"public-key-sha3-384\", \"public-key\"[,\n"
          "\"account-key-request\"]} on stdout.\n" },
        { "status", verb_status, "status", "device identity, trust roots, counts, last stick",
          "Shows the device's identity, the trusted roots (and when none is there, or nothing stored\n"
          "chains to one), the stored assertions, the users, the names denied here, the last fleet poll,\n"
          "the last medium imported (when, which device, each grant's result) and the daemon.\n" },
        { "monitor", verb_monitor, "monitor", "follow the daemon's decisions live until interrupted",
          "Prints each decision corehomed takes (user, grant, result, reason) as it happens, one line each\n"
          "(with --json: one JSON object per line), until interrupted. Needs the running daemon.\n" },
        { "fleet", verb_fleet, "fleet publish --inventory=FILE --out=DIR --trusted=FILE ASSERTIONS...",
          "build the static tree a fleet's web server serves (brand side)",
          "Builds the tree a fleet's web server serves: devices/SERIAL/assertions/index (the feed of\n"
          "each device of the inventory, holding the grants that apply to it) and its account and\n"
          "account-key prerequisites. DIR is a symlink to the current generation in DIR.generations/,\n"
          "replaced in one step; unchanged files keep their inode (and ETag). Works on files only: --now\n"
          "(before COMMAND) is allowed without --root and takes TIME as the publish's time (grants whose\n"
          "since is later are held back).\n\n"
          "  --inventory=FILE the devices: YAML, devices: [{serial, model, labels}]\n"
          "  --out=DIR        the web server's document root (a symlink this command manages)\n"
          "  --trusted=FILE   a trusted root the devices have (their etc/corehomed/trusted/); repeatable\n"
          "  ASSERTIONS       the brand's assertion files (streams or framed feeds)\n" },
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

/* The column the summaries of --help start at; a longer synopsis gets a line of its own. */
#define HELP_SYNOPSIS_WIDTH 30

static void help(void)
{
        printf("Usage: corehomectl [--root=DIR [--now=RFC3339]] [--json] COMMAND ...\n\n"
               "Provision users from signed Ubuntu Core system-user assertions.\n\n"
               "Options:\n"
               "  --root=DIR       work offline on the tree below DIR (no daemon)\n"
               "  --now=TIME       with --root (or fleet publish): take TIME (RFC 3339) as the current "
               "time\n"
               "  --json           print machine-readable JSON on stdout\n"
               "  -h, --help       show this help (COMMAND --help: the command's)\n"
               "  --version        show the version\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strlen(verbs[i].synopsis) <= HELP_SYNOPSIS_WIDTH)
                        printf("  %-*s  %s\n", HELP_SYNOPSIS_WIDTH, verbs[i].synopsis, verbs[i].summary);
                else
                        printf("  %s\n  %-*s  %s\n", verbs[i].synopsis, HELP_SYNOPSIS_WIDTH, "",
                               verbs[i].summary);
        printf("\nExit status: 0 success, 1 something was refused, 2 usage error.\n"
               "See corehomectl(1).\n");
}

static void verb_help(const Verb *v)
{
        printf("Usage: corehomectl [--root=DIR [--now=RFC3339]] [--json] %s\n\n%s", v->synopsis, v->help);
        printf("\nExit status: 0 success, 1 something was refused, 2 usage error.\n"
               "See corehomectl(1).\n");
}

/* Whether the verb's own arguments ask for its help (before a "--" that ends the options). */
static bool wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--"))
                        return false;
                if (streq(argv[i], "--help") || streq(argv[i], "-h"))
                        return true;
        }
        return false;
}

int main(int argc, char **argv)
{
        enum { ARG_ROOT = 0x100, ARG_NOW, ARG_JSON, ARG_VERSION };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
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
                case ARG_VERSION:
                        printf("corehomectl %s\n", COREHOMED_VERSION);
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
                        if (wants_help(argc - first, argv + first)) {
                                verb_help(&verbs[i]);
                                return EXIT_OK;
                        }
                        optind = 0; /* glibc: 0 re-initialises getopt for the verb's own options */
                        return verbs[i].function(&ctx, argc - first, argv + first);
                }

        cli_error(NULL, "unknown command '%s'; see --help", argv[optind]);
        return EXIT_USAGE;
}
