/* SPDX-License-Identifier: MIT */
#pragma once

/* Small helpers shared by the test-user-record-*.c programs. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "file-util.h"
#include "user-record.h"

/* Reads $dir_env/name (INTEROP_DIR or FIXTURES_DIR); exits 77 when the variable is unset. */
static inline char *test_read(const char *dir_env, const char *name, size_t *ret_size)
{
        const char *dir = getenv(dir_env);
        char path[4096];
        char *data = NULL;
        size_t size = 0;

        if (!dir) {
                printf("SKIP: %s is not set\n", dir_env);
                exit(77);
        }
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (read_file_bounded(AT_FDCWD, path, 1024 * 1024, &data, &size) < 0) {
                fprintf(stderr, "cannot read %s\n", path);
                abort();
        }
        if (ret_size)
                *ret_size = size;
        return data;
}

static inline json_t *test_load(const char *dir_env, const char *name)
{
        _cleanup_free_ char *text = NULL;
        RecordError err = {};
        json_t *record = NULL;
        size_t size;
        int r;

        text = test_read(dir_env, name, &size);
        r = user_record_load(text, size, &record, &err);
        if (r < 0) {
                fprintf(stderr, "%s: %s: %s (%d)\n", name, err.field, err.message, r);
                abort();
        }
        return record;
}

static inline json_t *test_parse(const char *text)
{
        json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        if (!v) {
                fprintf(stderr, "test JSON does not parse: %s\n", text);
                abort();
        }
        return v;
}

static inline EVP_PKEY *test_generate_key(void)
{
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
        EVP_PKEY *key = NULL;

        if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &key) != 1)
                abort();
        EVP_PKEY_CTX_free(ctx);
        return key;
}
