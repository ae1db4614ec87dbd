/* SPDX-License-Identifier: MIT */
#include "cli-report.h"

#include <stdio.h>

#include "json-util.h"
#include "macros.h"
#include "report-json.h"

size_t cli_print_assertions(const CliContext *ctx, const ProvisionReport *r, bool verbose)
{
        for (size_t i = 0; i < r->n_assertions; i++) {
                const AssertionResult *e = &r->assertions[i];
                const char *what = strempty(e->what.description);

                if (e->verdict == TRUST_VERDICT_REFUSED)
                        cli_error(e->origin, "%s: %s", what, strempty(e->reason));
                else if (verbose && !ctx->json && e->verdict == TRUST_VERDICT_SKIPPED)
                        /* Not stored whatever happens to the batch: the reason names the one kept. */
                        printf("%s: %s: skipped: %s\n", e->origin, what, strempty(e->reason));
                else if (verbose && !ctx->json)
                        printf("%s: %s: %s%s\n", e->origin, what, trust_verdict_kind_to_string(e->verdict),
                               r->n_assertions_refused > 0 && e->verdict != TRUST_VERDICT_UNCHANGED
                                       ? " (not stored)"
                                       : "");
        }
        return r->n_assertions_refused;
}

int cli_print_users(const CliContext *ctx, const char *prefix, const ProvisionReport *r)
{
        for (size_t i = 0; i < r->n_users; i++) {
                const UserResult *e = &r->users[i];
                const char *reason = strempty(e->reason);

                if (e->outcome == PROVISION_REFUSED) {
                        if (e->what.description)
                                cli_error(prefix, "%s: %s", e->what.description, reason);
                        else
                                cli_error(prefix, "%s%s%s", strempty(e->user_name), e->user_name ? ": " : "",
                                          reason);
                } else if (!ctx->json)
                        printf("%s: %s%s%s\n", e->user_name ? e->user_name : strempty(e->what.description),
                               provision_outcome_to_string(e->outcome), reason[0] ? ": " : "", reason);
        }
        return r->n_users_refused > 0 ? EXIT_REFUSED : EXIT_OK;
}

void cli_print_json(json_t *o)
{
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
}

void cli_print_report_json(const ProvisionReport *r, const char *member)
{
        _cleanup_json_ json_t *o = provision_report_to_json(r);

        if (o)
                cli_print_json(member ? json_object_get(o, member) : o);
}
