/* SPDX-License-Identifier: MIT */
#include "cli-batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "macros.h"
#include "operations.h"

int cli_batch_parameters(char *const *files, size_t n_files, json_t **ret)
{
        _cleanup_json_ json_t *array = json_array();
        size_t bytes = 0;

        if (!array)
                return -ENOMEM;
        if (n_files > OPERATION_FILES_MAX) {
                cli_error(NULL, "too many files in one import (more than %d)", OPERATION_FILES_MAX);
                return -E2BIG;
        }
        for (size_t i = 0; i < n_files; i++) {
                _cleanup_free_ char *data = NULL;
                size_t size;
                int r;

                r = cli_read_input(files[i], OPERATION_IMPORT_BYTES_MAX, &data, &size);
                if (r < 0)
                        return r;
                /* The same bound offline and through the daemon: the Manager's message limit fits it. */
                bytes += size;
                if (bytes > OPERATION_IMPORT_BYTES_MAX) {
                        cli_error(files[i],
                                  "more than %d bytes of assertions in one import (all files together)",
                                  OPERATION_IMPORT_BYTES_MAX);
                        return -E2BIG;
                }
                /* Assertions are UTF-8 text; JSON (the Manager's requests) carries nothing else. */
                json_t *text = json_stringn(data, size);
                if (!text) {
                        cli_error(files[i],
                                  "not UTF-8 text (or contains a NUL byte): not an assertion stream");
                        return -EBADMSG;
                }
                if (json_array_append_new(array,
                                          json_pack("{s:s, s:o}", "name", files[i], "assertions", text)) < 0)
                        return -ENOMEM;
        }
        *ret = json_pack("{s:O}", "files", array);
        return *ret ? 0 : -ENOMEM;
}

int cli_trust_db_open(const CliContext *ctx, TrustDb **ret)
{
        _cleanup_free_ char *error = NULL;
        int r;

        r = trust_db_open(ctx->root, ctx->now, ret, &error);
        if (r < 0) {
                cli_error(ctx->root, "cannot open the assertion database: %s", error ? error : strerror(-r));
                return r;
        }
        if (!ctx->now_set) /* on the real clock: not before this build */
                trust_db_raise_time_floor(*ret, trust_db_build_time_floor());
        return r;
}
