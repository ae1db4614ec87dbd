/* SPDX-License-Identifier: MIT */
#pragma once

/* Helpers of the LUKS tests: cheap PBKDF settings set in the record (never in the code), scratch image
 * files, and cryptsetup(8) as an independent reader of what libhomes wrote. */

#include <crypt.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "home-test-util.h"
#include "macros.h"

#define TEST_PASSWORD     "correct horse battery staple"
#define TEST_PASSWORD_NEW "tr0ub4dor&3 at last"

/* sha512crypt of password with a fixed salt (as a system-user assertion carries it). */
static inline char *test_hash(const char *password)
{
        struct crypt_data *cd = calloc(1, sizeof(*cd));
        char *out;

        assert_non_null(cd);
        out = crypt_rn(password, "$6$corehomedtest$", cd, (int) sizeof(*cd));
        assert_non_null(out);
        out = strdup(out);
        free(cd);
        assert_non_null(out);
        return out;
}

/* A record for a LUKS home of name: storage luks, the hash of password, and a PBKDF cheap enough for
 * tests (pbkdf2, 1 ms): what a test record may set, and what production records never do. */
static inline json_t *test_luks_record(const char *name, usec_t last_change, const char *password)
{
        json_t *j = test_record(name, last_change);
        char *hash = test_hash(password);

        assert_int_equal(json_object_set_new(j, "storage", json_string("luks")), 0);
        assert_int_equal(json_object_set_new(j, "luksPbkdfType", json_string("pbkdf2")), 0);
        assert_int_equal(json_object_set_new(j, "luksPbkdfTimeCostUSec", json_integer(1000)), 0);
        assert_int_equal(json_object_set_new(j, "privileged", json_pack("{s:[s]}", "hashedPassword", hash)),
                         0);
        free(hash);
        return j;
}

/* A sparse scratch file of size bytes; *ret_path must be unlinked by the caller. */
static inline int test_image_new(uint64_t size, char **ret_path)
{
        char *path = strdup("/tmp/test-home-luks.XXXXXX");
        int fd;

        assert_non_null(path);
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t) size), 0);
        *ret_path = path;
        return fd;
}

/* Runs a shell command and returns its standard output (NULL-terminated, caller frees). */
static inline char *test_output(const char *format, ...) _printf_(1, 2);
static inline char *test_output(const char *format, ...)
{
        _cleanup_free_ char *cmd = NULL;
        char *buf = NULL;
        size_t size = 0, n;
        char chunk[4096];
        va_list ap;
        FILE *p, *m;

        va_start(ap, format);
        assert_true(vasprintf(&cmd, format, ap) > 0);
        va_end(ap);
        p = popen(cmd, "r");
        assert_non_null(p);
        m = open_memstream(&buf, &size);
        assert_non_null(m);
        while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
                fwrite(chunk, 1, n, m);
        pclose(p);
        fclose(m);
        return buf;
}

/* cryptsetup's own view of the LUKS2 metadata of path (its JSON area). */
static inline json_t *test_luks_metadata(const char *path)
{
        _cleanup_free_ char *out =
                test_output("cryptsetup luksDump --dump-json-metadata '%s' 2>/dev/null", path);
        json_t *j = json_loads(out, 0, NULL);

        assert_non_null(j);
        return j;
}

/* Does password open path (cryptsetup open --test-passphrase, no device-mapper needed)? */
static inline bool test_password_opens(const char *path, const char *password)
{
        _cleanup_free_ char *cmd = NULL;
        FILE *p;

        assert_true(asprintf(&cmd, "cryptsetup open --test-passphrase --key-file=- '%s' 2>/dev/null", path) >
                    0);
        p = popen(cmd, "w");
        assert_non_null(p);
        fputs(password, p);
        return pclose(p) == 0;
}
