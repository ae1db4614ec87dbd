/* SPDX-License-Identifier: MIT */
/* The fleet side of corehomectl import: fetching over HTTPS from the command line. Offline (--root) the
 * whole pipeline runs in process; against a running daemon the CLI fetches (the feed and any missing
 * prerequisite, decided against the local database) and hands the streams to the daemon's Import, so the
 * daemon's own database checks and stores them. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-batch.h"
#include "cli-daemon.h"
#include "cli-provision.h"
#include "cli-report.h"
#include "file-util.h"
#include "fleet-cli.h"
#include "fleet.h"
#include "import.h"
#include "json-util.h"
#include "macros.h"
#include "report-json.h"

bool fleet_cli_is_fleet_import(int argc, char **argv)
{
        for (int i = 1; i < argc; i++)
                if (strneq(argv[i], "https://", 8) || strneq(argv[i], "http://", 7) ||
                    streq(argv[i], "--fleet") || strneq(argv[i], "--timeout=", 10))
                        return true;
        return false;
}

static void print_prerequisites(const CliContext *ctx, json_t *fetched)
{
        json_t *e;
        size_t i;

        json_array_foreach (fetched, i, e) {
                const char *url = strempty(json_string_value(json_object_get(e, "url")));
                const char *result = strempty(json_string_value(json_object_get(e, "result")));
                if (streq(result, "fetched")) {
                        if (!ctx->json)
                                printf("%s: prerequisite fetched\n", url);
                } else
                        cli_error(url, "prerequisite %s", result);
        }
}

static int load_config(const CliContext *ctx, Config **ret)
{
        _cleanup_(config_error_done) ConfigError err = {};
        int r;

        r = config_load(ctx->root, ret, &err);
        if (r < 0)
                cli_error(NULL, "%s", err.message ? err.message : strerror(-r));
        return r;
}

/* What an import from the network did: the prerequisites fetched, refusals on stderr, one line per
 * assertion and per user on stdout (with --json: json, the reply as the daemon gives it, instead). */
static int finish(const CliContext *ctx, const char *what, const ProvisionReport *report,
                  json_t *prerequisites, json_t *json)
{
        int status = EXIT_OK;

        if (ctx->json)
                cli_print_json(json);
        print_prerequisites(ctx, prerequisites);
        size_t n_refused = cli_print_assertions(ctx, report, !ctx->json);
        if (report->users_applied)
                status = cli_print_users(ctx, what, report);
        if (n_refused > 0) {
                cli_error(what, "%zu of %zu assertions refused; nothing was stored", n_refused,
                          report->n_assertions);
                return EXIT_REFUSED;
        }
        return status;
}

static int finish_poll(const CliContext *ctx, const FleetPollResult *result)
{
        _cleanup_json_ json_t *json = fleet_poll_result_json(result);
        _cleanup_provision_report_ ProvisionReport *empty = NULL;
        const ProvisionReport *report = result->report;

        if (!json)
                return EXIT_REFUSED;
        if (!ctx->json)
                printf("%s: %s\n", strempty(result->source), strempty(result->result));
        /* A 304 brought nothing to report on. */
        if (!report) {
                if (provision_report_new(PROVISION_REPORT_FLEET, &empty) < 0)
                        return EXIT_REFUSED;
                report = empty;
        }
        return finish(ctx, "fleet", report, result->prerequisites, json);
}

/* The TLS files of the configuration, below --root when working offline on a tree. */
typedef struct TlsPaths {
        char *ca_file, *client_cert, *client_key;
} TlsPaths;

static void tls_paths_done(TlsPaths *t)
{
        free(t->ca_file);
        free(t->client_cert);
        free(t->client_key);
}

static int tls_paths_resolve(const char *root, const ConfigFleet *f, TlsPaths *t, FleetClient *client)
{
        if ((f->ca_file && path_join_root(root, f->ca_file, &t->ca_file) < 0) ||
            (f->client_cert && path_join_root(root, f->client_cert, &t->client_cert) < 0) ||
            (f->client_key && path_join_root(root, f->client_key, &t->client_key) < 0))
                return -ENOMEM;
        client->ca_file = t->ca_file;
        client->client_cert = t->client_cert;
        client->client_key = t->client_key;
        return 0;
}

static int poll_offline(const CliContext *ctx, FleetClient *client)
{
        _cleanup_(tls_paths_done) TlsPaths tls = {};
        _cleanup_root_lock_ RootLock *lock = NULL;
        _cleanup_provisioner_ Provisioner *p = NULL;
        _cleanup_(fleet_poll_result_done) FleetPollResult result = {};
        _cleanup_free_ char *error = NULL;
        int r;

        /* A poll imports, creates users and writes the poll state: all of it under the lock (a one-off
         * command; the transfer is bounded by the client's timeouts). */
        if (cli_root_lock(ctx, &lock) < 0 || cli_provisioner_open(ctx, &p) < 0)
                return EXIT_REFUSED;
        r = provision_recover(p, &error);
        if (r < 0) {
                cli_error(ctx->root, "%s", error ? error : strerror(-r));
                return EXIT_REFUSED;
        }
        if (!p->config->fleet.enabled) {
                cli_error(NULL, "no fleet configured (fleet.url in %s)", CONFIG_PATH);
                return EXIT_REFUSED;
        }
        if (tls_paths_resolve(ctx->root, &p->config->fleet, &tls, client) < 0)
                return EXIT_REFUSED;
        FleetPoll poll = { .root = ctx->root,
                           .now = ctx->now,
                           .config = &p->config->fleet,
                           .db = p->db,
                           .provisioner = p,
                           .client = *client };
        r = fleet_poll(&poll, &result, &error);
        if (r < 0) {
                cli_error("fleet", "%s", error ? error : strerror(-r));
                return EXIT_REFUSED;
        }
        cli_log_report(ctx, result.report);
        return finish_poll(ctx, &result);
}

/* Fetches url into b and resolves prerequisites against db (stored when store). */
static int fetch_bundle(FleetClient *client, TrustDb *db, const char *url, bool store, AssertionBatch *b,
                        json_t *fetched, TrustReport **ret)
{
        _cleanup_(fleet_response_done) FleetResponse response = {};
        _cleanup_free_ char *error = NULL, *base = NULL;
        int r;

        r = fleet_url_base_of(url, &base);
        if (r < 0) {
                cli_error(url,
                          "not a valid https URL (no query, fragment, user or \"..\"; see docs/fleet.md)");
                return r;
        }
        r = fleet_fetch(client, url, NULL, &response, &error);
        if (r >= 0)
                r = fleet_feed_add(b, url, response.body, response.size, &error);
        if (r < 0) {
                cli_error(NULL, "%s", error ? error : strerror(-r));
                return r;
        }
        r = fleet_import_batch(client, db, base, b, store, fetched, ret);
        if (r < 0)
                cli_error(url, "cannot %s the assertions: %s", store ? "store" : "check", strerror(-r));
        return r;
}

static int import_offline(const CliContext *ctx, FleetClient *client, const char *url)
{
        _cleanup_trust_db_ TrustDb *db = NULL;
        _cleanup_(assertion_batch_done) AssertionBatch b = {};
        _cleanup_trust_report_ TrustReport *report = NULL;
        _cleanup_provision_report_ ProvisionReport *imported = NULL;
        _cleanup_root_lock_ RootLock *lock = NULL;
        _cleanup_json_ json_t *fetched = json_array(), *reply = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        /* The network first, with the database only read (which prerequisites are missing); then the
         * store, under the lock, on the database as it is at that moment. */
        if (!fetched || cli_trust_db_open(ctx, &db) < 0)
                return EXIT_REFUSED;
        if (fetch_bundle(client, db, url, false, &b, fetched, &report) < 0)
                return EXIT_REFUSED;
        db = trust_db_free(db);
        report = trust_report_free(report);
        if (cli_root_lock(ctx, &lock) < 0 || cli_trust_db_open(ctx, &db) < 0)
                return EXIT_REFUSED;
        r = provision_report_new(PROVISION_REPORT_IMPORT, &imported);
        if (r >= 0)
                r = provision_import(db, NULL, &b, IMPORT_USERS_NONE, imported, &error);
        if (r < 0) {
                cli_error(url, "%s", error ? error : strerror(-r));
                return EXIT_REFUSED;
        }
        cli_log_report(ctx, imported);
        reply = provision_report_to_json(imported);
        if (!reply || json_object_set(reply, "prerequisites", fetched) < 0)
                return EXIT_REFUSED;
        return finish(ctx, "import", imported, fetched, reply);
}

static int import_via_daemon(const CliContext *ctx, FleetClient *client, const char *url)
{
        _cleanup_trust_db_ TrustDb *db = NULL;
        _cleanup_(assertion_batch_done) AssertionBatch b = {};
        _cleanup_trust_report_ TrustReport *report = NULL;
        _cleanup_json_ json_t *fetched = json_array(), *files = json_array(), *parameters = NULL,
                              *reply = NULL;
        int status;

        /* The local database only decides which prerequisites to fetch; the daemon decides what is stored.
         */
        if (!fetched || !files || cli_trust_db_open(&(CliContext){ .root = "/", .now = ctx->now }, &db) < 0)
                return EXIT_REFUSED;
        if (fetch_bundle(client, db, url, false, &b, fetched, &report) < 0)
                return EXIT_REFUSED;
        for (size_t i = 0; i < b.n_streams; i++)
                if (json_array_append_new(files,
                                          json_pack("{s:s, s:s%}", "name", b.streams[i].origin, "assertions",
                                                    b.streams[i].data, b.streams[i].size)) < 0)
                        return EXIT_REFUSED;
        parameters = json_pack("{s:O}", "files", files);
        if (!parameters)
                return EXIT_REFUSED;
        _cleanup_(operation_result_done) OperationResult result = {};
        status = cli_call(ctx, "Import", parameters, &result);
        if (status != EXIT_OK)
                return status;
        reply = provision_report_to_json(result.report);
        if (!reply || json_object_set(reply, "prerequisites", fetched) < 0)
                return EXIT_REFUSED;
        return finish(ctx, "import", result.report, fetched, reply);
}

int fleet_cli_import(const CliContext *ctx, int argc, char **argv)
{
        static const struct option options[] = {
                { "fleet", no_argument, NULL, 'f' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        FleetClient client;
        bool poll = false;
        int c;

        fleet_client_init(&client, NULL);
        optind = 0;
        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        poll = true;
                        break;
                case 't': {
                        char *end;
                        unsigned long s = strtoul(optarg, &end, 10);
                        if (*end || s == 0 || s > FLEET_TOTAL_TIMEOUT / USEC_PER_SEC) {
                                cli_error(argv[0], "--timeout takes 1..%llu seconds",
                                          (unsigned long long) (FLEET_TOTAL_TIMEOUT / USEC_PER_SEC));
                                return EXIT_USAGE;
                        }
                        client.total_timeout = s * USEC_PER_SEC;
                        if (client.connect_timeout > client.total_timeout)
                                client.connect_timeout = client.total_timeout;
                        break;
                }
                default:
                        return EXIT_USAGE;
                }
        }
        if (poll != (optind == argc) || argc - optind > 1) {
                cli_error(argv[0], "takes either --fleet or one https:// URL");
                return EXIT_USAGE;
        }

        if (poll) {
                if (ctx->root)
                        return poll_offline(ctx, &client);
                /* The daemon polls every fleet.interval; this asks it to poll now. */
                _cleanup_json_ json_t *reply = NULL;
                _cleanup_(fleet_poll_result_done) FleetPollResult result = {};
                int r = cli_call_daemon("PollFleet", NULL, &reply);
                if (r != 0)
                        return r;
                if (fleet_poll_result_from_json(reply, &result) < 0) {
                        cli_error("fleet", "corehomed's answer to PollFleet is not a poll's result");
                        return EXIT_REFUSED;
                }
                return finish_poll(ctx, &result);
        }
        const char *url = argv[optind];
        if (!strneq(url, "https://", 8)) {
                cli_error(url,
                          "only https:// URLs are fetched (the bytes must come over a verified channel)");
                return EXIT_USAGE;
        }
        /* The fleet's TLS settings (ca-file pin, client certificate) apply to every fetch. */
        _cleanup_config_ Config *config = NULL;
        _cleanup_(tls_paths_done) TlsPaths tls = {};
        if (load_config(ctx, &config) < 0 || tls_paths_resolve(ctx->root, &config->fleet, &tls, &client) < 0)
                return EXIT_REFUSED;
        return ctx->root ? import_offline(ctx, &client, url) : import_via_daemon(ctx, &client, url);
}
