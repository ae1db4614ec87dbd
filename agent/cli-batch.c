/* SPDX-License-Identifier: MIT */
#include "cli-batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "macros.h"

void cli_batch_done(CliBatch *b)
{
        b->list = assertion_list_free(b->list);
        b->origin = mfree(b->origin);
}

static int batch_append(CliBatch *b, AssertionList *from, const char *origin)
{
        size_t n = b->list->n + from->n;

        if (n > ASSERTION_STREAM_MAX * 16) {
                cli_error(origin, "too many assertions in one import (more than %d)",
                          ASSERTION_STREAM_MAX * 16);
                return -E2BIG;
        }
        Assertion **items = realloc(b->list->items, n * sizeof(Assertion *));
        if (!items)
                return -ENOMEM;
        b->list->items = items;
        const char **origins = realloc(b->origin, n * sizeof(char *));
        if (!origins)
                return -ENOMEM;
        b->origin = origins;
        for (size_t i = 0; i < from->n; i++) {
                b->origin[b->list->n] = origin;
                b->list->items[b->list->n++] = TAKE_PTR(from->items[i]);
        }
        from->n = 0;
        return 0;
}

int cli_batch_load(char *const *files, size_t n_files, CliBatch *ret)
{
        CliBatch b = { .list = calloc(1, sizeof(AssertionList)) };
        int r = 0;

        if (!b.list)
                return -ENOMEM;
        for (size_t i = 0; i < n_files && r >= 0; i++) {
                _cleanup_assertion_list_ AssertionList *l = NULL;
                _cleanup_free_ char *data = NULL;
                AssertionError err = {};
                char reason[300];
                size_t size;

                r = cli_read_input(files[i], ASSERTION_STREAM_BYTES_MAX, &data, &size);
                if (r < 0)
                        break;
                r = assertion_stream_decode(data, size, &l, &err);
                if (r < 0) {
                        cli_error(files[i], "%s", assertion_error_format(&err, reason, sizeof(reason)));
                        break;
                }
                if (l->n == 0) {
                        cli_error(files[i], "holds no assertions");
                        r = -ENODATA;
                        break;
                }
                r = batch_append(&b, l, files[i]);
        }
        if (r < 0) {
                cli_batch_done(&b);
                return r;
        }
        *ret = b;
        return 0;
}

int cli_trust_db_open(const CliContext *ctx, TrustDb **ret)
{
        _cleanup_free_ char *error = NULL;
        int r;

        if (!ctx->root) {
                cli_error(NULL, "the corehomed daemon is not available in this version; use --root=DIR "
                                "(--root=/ for this system) to work offline");
                return -EOPNOTSUPP;
        }
        r = trust_db_open(ctx->root, ctx->now, ret, &error);
        if (r < 0)
                cli_error(ctx->root, "cannot open the assertion database: %s", error ? error : strerror(-r));
        return r;
}

static const char *verdict_name(TrustVerdictKind kind)
{
        switch (kind) {
        case TRUST_VERDICT_ADDED:
                return "added";
        case TRUST_VERDICT_UPDATED:
                return "updated";
        case TRUST_VERDICT_UNCHANGED:
                return "unchanged";
        case TRUST_VERDICT_REFUSED:
                return "refused";
        }
        return "unknown";
}

json_t *cli_batch_report_json(const CliBatch *b, const TrustReport *report)
{
        json_t *array = json_array();

        for (size_t i = 0; array && i < report->n; i++) {
                const TrustVerdict *v = &report->verdicts[i];
                _cleanup_free_ char *what = assertion_describe(v->assertion);
                json_t *o =
                        json_pack("{s:s, s:s, s:s, s:s}", "file", b->origin[i], "assertion", strempty(what),
                                  "type", v->assertion->type, "verdict", verdict_name(v->kind));
                if (o && v->kind == TRUST_VERDICT_REFUSED)
                        json_object_set_new(o, "reason", json_string(v->reason));
                if (!o || json_array_append_new(array, o) < 0) {
                        json_decref(array);
                        return NULL;
                }
        }
        return array;
}

void cli_batch_print_report(const CliContext *ctx, const CliBatch *b, const TrustReport *report,
                            bool verbose)
{
        for (size_t i = 0; i < report->n; i++) {
                const TrustVerdict *v = &report->verdicts[i];
                _cleanup_free_ char *what = assertion_describe(v->assertion);

                /* Every refused assertion gets its own line, with its own reason. */
                if (v->kind == TRUST_VERDICT_REFUSED)
                        cli_error(b->origin[i], "%s: %s", strempty(what), v->reason);
                else if (verbose && !ctx->json)
                        printf("%s: %s: %s%s\n", b->origin[i], strempty(what), verdict_name(v->kind),
                               report->n_refused > 0 && v->kind != TRUST_VERDICT_UNCHANGED ? " (not stored)"
                                                                                           : "");
        }
        if (ctx->json && verbose) {
                _cleanup_json_ json_t *summary =
                        json_pack("{s:o, s:b}", "assertions", cli_batch_report_json(b, report), "committed",
                                  report->committed);
                if (summary) {
                        json_dumpf(summary, stdout, JSON_INDENT(2));
                        putchar('\n');
                }
        }
}
