/* SPDX-License-Identifier: MIT */
/* corehomectl export-key: prints a GnuPG key as assertions carry it, as `snap export-key` does: the public
 * key text (an account-key body), or with --account an account-key-request assertion signed by the key
 * itself, which the authority (the brand's root, or Canonical's store) turns into an account-key. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "assertion-sign.h"
#include "cli.h"

/* jansson >= 2.11 has json_decrefp(); common/json-util.h redefines it and cannot be included. */
#ifndef _cleanup_json_
#define _cleanup_json_ _cleanup_(json_decrefp)
#endif

/* --json: the key's name and id, its public key text, and the request when one was made. */
static int print_json(const SigningKey *key, const char *public_key, const char *request)
{
        _cleanup_json_ json_t *o =
                json_pack("{s:s, s:s, s:s, s:s?}", "name", key->name, "public-key-sha3-384",
                          key->public_key->id, "public-key", public_key, "account-key-request", request);

        if (!o) {
                cli_error("export-key", "out of memory");
                return EXIT_REFUSED;
        }
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_REFUSED;
}

static int print_request(const CliContext *ctx, SigningKey *key, const char *account)
{
        _cleanup_json_ json_t *headers = NULL;
        _cleanup_free_ char *body = NULL, *text = NULL;
        char since[RFC3339_MAX];
        AssertionError err = {};
        size_t size;
        int r;

        /* snapd writes since with whole seconds (time.RFC3339). */
        r = time_format_rfc3339(ctx->now / USEC_PER_SEC * USEC_PER_SEC, since);
        if (r >= 0)
                r = public_key_encode_text(key->public_key, &body);
        if (r < 0) {
                cli_error("export-key", "cannot encode the key: %s", strerror(-r));
                return EXIT_REFUSED;
        }
        headers =
                json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "account-key-request", "account-id", account,
                          "name", key->name, "public-key-sha3-384", key->public_key->id, "since", since);
        if (!headers) {
                cli_error("export-key", "out of memory");
                return EXIT_REFUSED;
        }
        r = assertion_sign(key, headers, body, strlen(body), &text, &size, &err);
        if (r < 0) {
                cli_error("export-key", "%s", err.message);
                return EXIT_REFUSED;
        }
        if (ctx->json)
                return print_json(key, body, text);
        fwrite(text, 1, size, stdout);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_REFUSED;
}

int verb_export_key(const CliContext *ctx, int argc, char **argv)
{
        enum { ARG_ACCOUNT = 0x100, ARG_GNUPG_HOME };
        static const struct option options[] = {
                { "account", required_argument, NULL, ARG_ACCOUNT },
                { "gnupg-home", required_argument, NULL, ARG_GNUPG_HOME },
                {},
        };
        _cleanup_signing_key_ SigningKey *key = NULL;
        _cleanup_free_ char *text = NULL;
        const char *account = NULL, *gnupg_home = NULL, *name = "default";
        AssertionError err = {};
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case ARG_ACCOUNT:
                        account = optarg;
                        break;
                case ARG_GNUPG_HOME:
                        gnupg_home = optarg;
                        break;
                default:
                        return EXIT_USAGE;
                }
        }
        if (argc - optind > 1) {
                cli_error("export-key", "too many arguments; usage: export-key [--account=ID] NAME");
                return EXIT_USAGE;
        }
        if (optind < argc)
                name = argv[optind];

        r = signing_key_open(gnupg_home, name, &key, &err);
        if (r < 0) {
                cli_error("export-key", "%s", err.message);
                return EXIT_REFUSED;
        }
        if (account)
                return print_request(ctx, key, account);

        r = public_key_encode_text(key->public_key, &text);
        if (r < 0) {
                cli_error("export-key", "cannot encode the key: %s", strerror(-r));
                return EXIT_REFUSED;
        }
        if (ctx->json)
                return print_json(key, text, NULL);
        printf("%s\n", text);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_REFUSED;
}
