/* SPDX-License-Identifier: MIT */
#include "cli-provision.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json-util.h"
#include "macros.h"

int cli_provisioner_open(const CliContext *ctx, Provisioner **ret)
{
        _cleanup_free_ char *error = NULL;
        int r;

        if (!ctx->root) {
                cli_error(NULL, "the corehomed daemon is not available in this version; use --root=DIR "
                                "(--root=/ for this system) to work offline");
                return -EOPNOTSUPP;
        }
        r = provisioner_open(ctx->root, ctx->now, 0, ret, &error);
        if (r < 0)
                cli_error(ctx->root, "%s", error ? error : strerror(-r));
        return r;
}

json_t *cli_provision_report_json(const ProvisionReport *report)
{
        json_t *array = json_array();

        for (size_t i = 0; array && i < report->n; i++) {
                const ProvisionResult *e = &report->items[i];
                json_t *o = json_pack("{s:s?, s:s?, s:s}", "user", e->user_name, "assertion", e->assertion,
                                      "outcome", provision_outcome_to_string(e->outcome));
                if (o && e->reason[0])
                        json_object_set_new(o, "reason", json_string(e->reason));
                if (!o || json_array_append_new(array, o) < 0) {
                        json_decref(array);
                        return NULL;
                }
        }
        return array;
}

int cli_provision_print_report(const CliContext *ctx, const char *prefix, const ProvisionReport *report,
                               bool print_json)
{
        for (size_t i = 0; i < report->n; i++) {
                const ProvisionResult *e = &report->items[i];

                if (e->outcome == PROVISION_REFUSED) {
                        if (e->assertion)
                                cli_error(prefix, "%s: %s", e->assertion, e->reason);
                        else
                                cli_error(prefix, "%s%s%s", strempty(e->user_name), e->user_name ? ": " : "",
                                          e->reason);
                } else if (!ctx->json)
                        printf("%s: %s%s%s\n", e->user_name ? e->user_name : strempty(e->assertion),
                               provision_outcome_to_string(e->outcome), e->reason[0] ? ": " : "", e->reason);
        }
        if (ctx->json && print_json) {
                _cleanup_json_ json_t *array = cli_provision_report_json(report);
                if (array) {
                        json_dumpf(array, stdout, JSON_INDENT(2));
                        putchar('\n');
                }
        }
        return report->n_refused > 0 ? EXIT_REFUSED : EXIT_OK;
}
