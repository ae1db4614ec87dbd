/* SPDX-License-Identifier: MIT */
/* Bench helper for bench-daemon.sh: fills a root with many homes the daemon counts as its own (records
 * signed by the root's engine key, carrying the io.corehomed.grant extension), fast, without GnuPG.
 *
 *   make-bench-homes ROOT FIRST LAST PREFIX     creates PREFIX<FIRST> .. PREFIX<LAST> (4 digits at least)
 *
 * Each create reads every home already there (UID choice), so the cost grows with the square of the
 * homes in one root: bench-daemon.sh makes them in shards of ~100 (roots sharing the engine key), and moves
 * them into one root afterwards.
 *
 * The homes are made by the engine (home_create()), so layout, signature and binding are the real ones.
 * homed's UID range holds only 513 homes, fewer than the 1000 users the RSS figure asks for: after each
 * create the helper moves the home's binding to a UID above that range (the binding is outside the signed
 * part of a record, as in systemd), which keeps the range free for the next create. The daemon serves and
 * activates such homes like any other. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file-util.h"
#include "home.h"
#include "json-util.h"
#include "user-record.h"

#define BENCH_UID_BASE   100000U /* above homed's range, below the 16-bit-unsafe and nobody ranges */
#define BENCH_COUNT_MAX  100000U
#define BENCH_UNTIL_USEC 1893456000000000LL /* 2030-01-01T00:00:00Z */
#define BENCH_PASSWORD                                                    \
        "$6$S4ltS4ltS4lt$JJMkHPPOCWwCYm72g0S."                            \
        "IG547HUVw6XxyeKRXzEYaPBzYkq9lVZhMtUFGYUuEKiEIEDnpPkYRiZCYzXNwEx" \
        "fC."

/* The record grant_to_user_record() would make for a system-user of the test brand. */
static json_t *bench_record(const char *name, unsigned i)
{
        char email[96], digest[97];

        snprintf(email, sizeof(email), "%s@example.com", name);
        /* A distinct, well-formed digest per user; nothing compares it with a stored assertion here. */
        snprintf(digest, sizeof(digest), "%096x", i);
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:{s:[s]}, s:{s:s, s:s, s:i, s:i, s:s, s:s, s:I, "
                         "s:s}}",
                         "userName", name, "emailAddress", email, "disposition", "regular", "shell",
                         "/bin/bash", "storage", "directory", "lastChangeUSec",
                         (json_int_t) 1764000000000000LL, "privileged", "hashedPassword", BENCH_PASSWORD,
                         "io.corehomed.grant", "brandId", "acme", "email", email, "revision", 0, "format", 0,
                         "signKey", "bench", "authorityId", "acme", "until", (json_int_t) BENCH_UNTIL_USEC,
                         "assertionSha3_384", digest);
}

/* Moves the home of name (host record binding, owner of the home and of ~/.identity) to uid. */
static int home_rebind(Home *h, const char *name, json_t *host_record, uid_t uid)
{
        _cleanup_free_ char *rel_record = NULL, *record_path = NULL, *rel_image = NULL, *image = NULL,
                            *identity = NULL, *text = NULL;

        if (asprintf(&rel_record, "%s/%s.identity", HOME_HOST_RECORD_DIR, name) < 0 ||
            asprintf(&rel_image, "%s/%s.homedir", HOME_DIR, name) < 0)
                return -ENOMEM;
        if (path_join_root(h->root, rel_record, &record_path) < 0 ||
            path_join_root(h->root, rel_image, &image) < 0 || asprintf(&identity, "%s/.identity", image) < 0)
                return -ENOMEM;
        if (user_record_set_binding(host_record, h->machine_id, uid, (gid_t) uid, rel_image, "directory") <
                    0 ||
            user_record_format_pretty(host_record, &text) < 0)
                return -EINVAL;
        if (write_file_atomic(AT_FDCWD, record_path, text, strlen(text), 0600, 0, 0) < 0)
                return -EIO;
        if (lchown(identity, uid, (gid_t) uid) < 0 || lchown(image, uid, (gid_t) uid) < 0)
                return -errno;
        return 0;
}

static int parse_index(const char *s, unsigned long *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v == 0 || v > BENCH_COUNT_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_home_ Home *h = NULL;
        RecordError err = {};
        unsigned long first, last;

        if (argc != 5) {
                fprintf(stderr, "usage: make-bench-homes ROOT FIRST LAST PREFIX\n");
                return 2;
        }
        if (parse_index(argv[2], &first) < 0 || parse_index(argv[3], &last) < 0 || first > last) {
                fprintf(stderr, "make-bench-homes: need 1 <= FIRST <= LAST <= %u\n", BENCH_COUNT_MAX);
                return 2;
        }
        if (home_new(argv[1], 0, &h, &err) < 0) {
                fprintf(stderr, "make-bench-homes: %s\n", err.message);
                return 1;
        }
        for (unsigned i = (unsigned) first; i <= last; i++) {
                _cleanup_json_ json_t *record = NULL, *host = NULL;
                char name[64];
                int r;

                snprintf(name, sizeof(name), "%s%04u", argv[4], i);
                record = bench_record(name, i);
                if (!record) {
                        fprintf(stderr, "make-bench-homes: out of memory\n");
                        return 1;
                }
                r = home_create(h, record, &host, &err);
                if (r >= 0)
                        r = home_rebind(h, name, host, BENCH_UID_BASE + i);
                if (r < 0) {
                        fprintf(stderr, "make-bench-homes: %s: %s%s%s\n", name, err.field,
                                err.field[0] ? ": " : "", err.message[0] ? err.message : strerror(-r));
                        return 1;
                }
        }
        return 0;
}
