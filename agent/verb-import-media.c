/* SPDX-License-Identifier: MIT */
/* corehomectl import-media PATH: the physical-presence import. Reads auto-import.assert from PATH (a
 * directory or a block device), imports it as one batch, then creates the users of its system-user
 * assertions as media.create-users allows. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli-batch.h"
#include "cli-provision.h"
#include "cli.h"
#include "json-util.h"
#include "macros.h"
#include "media.h"

static const char *media_file_label(const char *path, char **buf)
{
        return asprintf(buf, "%s/%s", path, MEDIA_ASSERT_FILE) < 0 ? path : *buf;
}

int verb_import_media(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_provisioner_ Provisioner *p = NULL;
        _cleanup_trust_report_ TrustReport *trust = NULL;
        _cleanup_assertion_list_ AssertionList *list = NULL;
        _cleanup_free_ char *data = NULL, *error = NULL, *label_buf = NULL;
        AssertionError err = {};
        char reason[300];
        size_t size;
        int r, status = EXIT_OK;

        if (argc != 2) {
                cli_error(argv[0], "needs exactly one PATH (a directory or a block device)");
                return EXIT_USAGE;
        }
        const char *label = media_file_label(argv[1], &label_buf);

        if (cli_provisioner_open(ctx, &p) < 0)
                return EXIT_REFUSED;
        r = media_read_auto_import(argv[1], &data, &size, &error);
        if (r < 0) {
                cli_error(NULL, "%s", strempty(error));
                return EXIT_REFUSED;
        }
        r = assertion_stream_decode(data, size, &list, &err);
        if (r < 0) {
                cli_error(label, "%s", assertion_error_format(&err, reason, sizeof(reason)));
                return EXIT_REFUSED;
        }

        r = trust_db_import(p->db, list, &trust);
        if (r < 0) {
                cli_error(label, "cannot store the assertions: %s", strerror(-r));
                return EXIT_REFUSED;
        }
        const char *origins[list->n + 1];
        for (size_t i = 0; i < list->n; i++)
                origins[i] = label;
        CliBatch batch = { .list = list, .origin = origins };
        cli_batch_print_report(ctx, &batch, trust, !ctx->json);
        _cleanup_json_ json_t *users = json_array();
        if (!users)
                return EXIT_REFUSED;
        if (trust->n_refused > 0) {
                cli_error(label, "%zu of %zu assertions refused; nothing was imported", trust->n_refused,
                          trust->n);
                return EXIT_REFUSED;
        }

        const char *not_creating = NULL;
        if (p->config->media.create_users == CONFIG_CREATE_USERS_NEVER)
                not_creating = "users are not created from media (media.create-users: never)";
        else if (p->config->media.create_users == CONFIG_CREATE_USERS_UNMANAGED_ONLY &&
                 provision_device_is_managed(p) > 0)
                not_creating =
                        "this device already has users; none created (media.create-users: unmanaged-only)";
        if (not_creating && !ctx->json)
                printf("%s: %s\n", label, not_creating);

        /* Only the grants this medium brought: a stick is not a way to re-run older grants. */
        for (size_t i = 0; !not_creating && i < list->n; i++) {
                _cleanup_provision_report_ ProvisionReport *report = NULL;
                const Assertion *a = list->items[i];

                if (!streq(a->type, "system-user"))
                        continue;
                r = provision_create_users(p, assertion_header_string(a, "brand-id"),
                                           assertion_header_string(a, "email"), true, &report);
                if (r < 0) {
                        cli_error(label, "%s", strerror(-r));
                        return EXIT_REFUSED;
                }
                if (cli_provision_print_report(ctx, label, report, false) != EXIT_OK)
                        status = EXIT_REFUSED;
                _cleanup_json_ json_t *more = cli_provision_report_json(report);
                if (more)
                        json_array_extend(users, more);
        }
        if (ctx->json) {
                _cleanup_json_ json_t *o =
                        json_pack("{s:o, s:O, s:s?}", "assertions", cli_batch_report_json(&batch, trust),
                                  "users", users, "note", not_creating);
                if (o) {
                        json_dumpf(o, stdout, JSON_INDENT(2));
                        putchar('\n');
                }
        }
        return status;
}
