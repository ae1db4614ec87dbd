/* SPDX-License-Identifier: MIT */
/* corehomectl fleet publish: builds the static tree a fleet's web server serves (docs/fleet.md,
 * "Publishing"). It works on files only, never on a device or its daemon. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-report.h"
#include "cli.h"
#include "fleet-publish.h"
#include "json-util.h"
#include "yaml-strict.h"

#define FLEET_PUBLISH_TRUSTED_MAX 64 /* --trusted files: a device has a handful of roots */

static void print_grants(const FleetPublishReport *r)
{
        for (size_t i = 0; i < r->n_grants; i++) {
                const FleetGrantSummary *g = &r->grants[i];
                char when[RFC3339_MAX];

                printf("%s revision %lld: ", strempty(g->what.description), (long long) g->what.revision);
                switch (g->state) {
                case FLEET_GRANT_HELD_BACK:
                        (void) time_format_rfc3339(g->since, when);
                        printf("held back until its since, %s (publish again then)\n", when);
                        break;
                case FLEET_GRANT_REVOKING:
                        (void) time_format_rfc3339(g->until, when);
                        printf("revoking (until %s), in %zu feed%s\n", when, g->n_devices,
                               g->n_devices == 1 ? "" : "s");
                        break;
                case FLEET_GRANT_SERVED:
                        printf("served, in %zu feed%s\n", g->n_devices, g->n_devices == 1 ? "" : "s");
                        break;
                }
        }
}

static int publish(const CliContext *ctx, int argc, char **argv)
{
        enum { ARG_INVENTORY = 0x100, ARG_OUT, ARG_TRUSTED };
        static const struct option options[] = {
                { "inventory", required_argument, NULL, ARG_INVENTORY },
                { "out", required_argument, NULL, ARG_OUT },
                { "trusted", required_argument, NULL, ARG_TRUSTED },
                {},
        };
        _cleanup_fleet_inventory_ FleetInventory *inventory = NULL;
        _cleanup_(fleet_publish_report_done) FleetPublishReport report = {};
        _cleanup_(config_error_done) ConfigError err = {};
        _cleanup_free_ char *error = NULL;
        const char *inventory_path = NULL, *out = NULL;
        char *trusted[FLEET_PUBLISH_TRUSTED_MAX];
        size_t n_trusted = 0;
        int c, r;

        /* VERB --help is answered by main() from the table of verbs (corehomectl.c). */
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case ARG_INVENTORY:
                        inventory_path = optarg;
                        break;
                case ARG_OUT:
                        out = optarg;
                        break;
                case ARG_TRUSTED:
                        if (n_trusted == ELEMENTSOF(trusted)) {
                                cli_error("fleet publish", "more than %zu --trusted files",
                                          ELEMENTSOF(trusted));
                                return EXIT_USAGE;
                        }
                        trusted[n_trusted++] = optarg;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (!inventory_path || !out || n_trusted == 0 || optind >= argc) {
                cli_error("fleet publish",
                          "needs --inventory=FILE, --out=DIR, --trusted=FILE (the devices' "
                          "roots, to check the input against) and ASSERTIONS...; see --help");
                return EXIT_USAGE;
        }

        r = fleet_inventory_load(inventory_path, &inventory, &err);
        if (r < 0) {
                cli_error(NULL, "%s", err.message ? err.message : strerror(-r));
                return EXIT_REFUSED;
        }

        FleetPublishOptions o = {
                .out = out,
                .inputs = argv + optind,
                .n_inputs = (size_t) (argc - optind),
                .trusted = trusted,
                .n_trusted = n_trusted,
                .inventory = inventory,
                .now = ctx->now,
        };
        r = fleet_publish(&o, &report, &error);
        if (ctx->json) {
                _cleanup_json_ json_t *j = fleet_publish_report_json(&report);
                if (j)
                        cli_print_json(j);
        }
        if (report.verification)
                (void) cli_print_assertions(ctx, report.verification, false);
        if (r < 0) {
                cli_error(NULL, "%s", error ? error : strerror(-r));
                return EXIT_REFUSED;
        }
        for (size_t i = 0; report.notes && report.notes[i]; i++)
                cli_error("note", "%s", report.notes[i]);
        if (!ctx->json) {
                printf("published generation %llu: %s -> %s\n", (unsigned long long) report.generation, out,
                       report.generation_path);
                printf("%zu devices: %zu feeds written, %zu unchanged; %zu prerequisites, %zu written\n",
                       report.n_devices, report.n_feeds_written, report.n_feeds_unchanged,
                       report.n_prerequisites, report.n_prerequisites_written);
                print_grants(&report);
        }
        return EXIT_OK;
}

int verb_fleet(const CliContext *ctx, int argc, char **argv)
{
        if (argc < 2 || !streq(argv[1], "publish")) {
                cli_error(argv[0], "the only fleet command is 'publish'; see fleet publish --help");
                return EXIT_USAGE;
        }
        return publish(ctx, argc - 1, argv + 1);
}
