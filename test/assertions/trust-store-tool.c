/* SPDX-License-Identifier: MIT */
/* Not a test: drives the trust database the way a writer or a reader of a root does, for
 * test-trust-store-crash.sh (which kills it at crash points) and by hand.
 *
 *   trust-store-tool ROOT NOW import FILE...   one batch from the files; exit 0 stored, 1 refused
 *   trust-store-tool ROOT NOW recover          what the next writer runs first (prints what it removed)
 *   trust-store-tool ROOT NOW dump             what a reader sees: every assertion, then the time floor
 *
 * NOW is RFC 3339. The tool takes no lock: the test runs one process at a time. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "macros.h"
#include "trust-db.h"

static int import(TrustDb *db, char **files, int n)
{
        _cleanup_assertion_list_ AssertionList *batch = calloc(1, sizeof(AssertionList));
        _cleanup_trust_report_ TrustReport *report = NULL;
        int r;

        if (!batch)
                return 1;
        for (int i = 0; i < n; i++) {
                _cleanup_assertion_list_ AssertionList *l = NULL;
                _cleanup_free_ char *data = NULL;
                AssertionError err = {};
                size_t size;

                if (read_file_bounded(AT_FDCWD, files[i], ASSERTION_STREAM_BYTES_MAX, &data, &size) < 0 ||
                    assertion_stream_decode(data, size, &l, &err) < 0) {
                        fprintf(stderr, "%s: cannot read: %s\n", files[i], err.message);
                        return 1;
                }
                Assertion **items = reallocarray(batch->items, batch->n + l->n + 1, sizeof(Assertion *));
                if (!items)
                        return 1;
                batch->items = items;
                for (size_t k = 0; k < l->n; k++)
                        batch->items[batch->n++] = TAKE_PTR(l->items[k]);
                l->n = 0;
        }
        r = trust_db_import(db, batch, &report);
        if (r < 0) {
                fprintf(stderr, "import: %s\n", strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < report->n; i++) {
                _cleanup_free_ char *what = assertion_describe(report->verdicts[i].assertion);
                printf("%s: %s%s%s\n", strempty(what),
                       trust_verdict_kind_to_string(report->verdicts[i].kind),
                       report->verdicts[i].reason[0] ? ": " : "", report->verdicts[i].reason);
        }
        return report->committed ? 0 : 1;
}

static int print_one(const Assertion *a, bool trusted, void *userdata)
{
        _cleanup_free_ char *what = assertion_describe(a);

        printf("%s%s revision=%lld signature=%.16s\n", trusted ? "trusted " : "", strempty(what),
               (long long) a->revision, a->signature);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_trust_db_ TrustDb *db = NULL;
        _cleanup_free_ char *error = NULL;
        char floor[RFC3339_MAX] = "none";
        usec_t now;
        int r;

        if (argc < 4 || time_parse_rfc3339(argv[2], &now) < 0) {
                fprintf(stderr, "usage: %s ROOT NOW import FILE...|recover|dump\n", argv[0]);
                return 2;
        }
        r = trust_db_open(argv[1], now, &db, &error);
        if (r < 0) {
                fprintf(stderr, "open: %s\n", error ? error : strerror(-r));
                return 1;
        }
        if (streq(argv[3], "import"))
                return import(db, argv + 4, argc - 4);
        if (streq(argv[3], "recover")) {
                r = trust_db_recover(db, &error);
                if (r < 0) {
                        fprintf(stderr, "recover: %s\n", error ? error : strerror(-r));
                        return 1;
                }
                printf("removed %d\n", r);
                return 0;
        }
        if (streq(argv[3], "dump")) {
                r = trust_db_foreach(db, NULL, NULL, print_one, NULL);
                if (r < 0) {
                        fprintf(stderr, "dump: %s\n", strerror(-r));
                        return 1;
                }
                if (trust_db_time_floor(db, NULL) > 0)
                        (void) time_format_rfc3339(trust_db_time_floor(db, NULL), floor);
                printf("time floor: %s\n", floor);
                return 0;
        }
        fprintf(stderr, "unknown command %s\n", argv[3]);
        return 2;
}
