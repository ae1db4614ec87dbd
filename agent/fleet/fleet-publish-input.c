/* SPDX-License-Identifier: MIT */
/* The input of a publish: read, checked against the devices' trusted roots, typed and encoded once. */
#include "fleet-publish-input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assertion-batch.h"
#include "assertion-fields.h"
#include "assertion-store.h"
#include "file-util.h"
#include "string-util.h"

/* The messages below spell the limit out. */
_Static_assert(FLEET_PUBLISH_ASSERTIONS_MAX == 16384,
               "update the messages that name FLEET_PUBLISH_ASSERTIONS_MAX");
_Static_assert(FLEET_PUBLISH_PREREQUISITES_MAX == 64,
               "update the messages that name FLEET_PUBLISH_PREREQUISITES_MAX");

static void item_done(PublishAssertion *a)
{
        assertion_free(a->assertion);
        free(a->key);
        free((char *) a->wire.data);
        system_user_free(a->user);
        model_free(a->model);
}

void publish_input_done(PublishInput *in)
{
        for (size_t i = 0; i < in->n; i++)
                item_done(&in->items[i]);
        free(in->items);
        free(in->users);
        free(in->models);
        free(in->prerequisites);
        trust_db_free(in->db);
        *in = (PublishInput){};
}

static int read_input_file(const char *path, char **ret, size_t *ret_size, char **ret_error)
{
        int r = read_file_bounded(AT_FDCWD, path, FLEET_BODY_MAX, ret, ret_size);

        if (r == -E2BIG)
                return error_set(ret_error, r, "%s: larger than %d bytes (what a device reads at most)",
                                 path, FLEET_BODY_MAX);
        if (r == -ELOOP)
                return error_set(ret_error, r, "%s: is a symbolic link, refusing to follow it", path);
        if (r == -EBADFD)
                return error_set(ret_error, r, "%s: not a regular file", path);
        if (r < 0)
                return error_set(ret_error, r, "%s: cannot read: %s", path, strerror(-r));
        return 0;
}

/* A root of its own for the devices' roots while the trust database is opened on it (trust_db_open() reads
 * the roots from $ROOT/etc/corehomed/trusted/): the same code and rules as a device's, nothing kept. */
typedef struct TrustedRoot {
        char *root;     /* the temporary directory, NULL once removed */
        char *dir;      /* root + ASSERTION_STORE_TRUSTED_DIR */
        size_t n_files; /* NNNNN.assert written so far */
} TrustedRoot;

static char *trusted_file(const TrustedRoot *t, size_t i)
{
        return strprintf("%s/%05zu.assert", t->dir, i);
}

/* Removes exactly what trusted_root_make() and the writes created, deepest first. */
static void trusted_root_done(TrustedRoot *t)
{
        if (t->root) {
                for (size_t i = 0; i < t->n_files; i++) {
                        _cleanup_free_ char *path = trusted_file(t, i);
                        if (path)
                                (void) unlink(path);
                }
                /* t->dir, then each of its parents up to the root. */
                _cleanup_free_ char *path = t->dir ? strdup(t->dir) : NULL;
                for (size_t n = strlen(t->root); path && strlen(path) > n;) {
                        (void) rmdir(path);
                        *strrchr(path, '/') = '\0';
                }
                (void) rmdir(t->root);
        }
        free(t->root);
        free(t->dir);
        *t = (TrustedRoot){};
}

static int trusted_root_make(TrustedRoot *t)
{
        const char *tmp = getenv("TMPDIR");
        int r;

        t->root = strprintf("%s/corehomectl-publish.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!t->root)
                return -ENOMEM;
        if (!mkdtemp(t->root)) {
                r = -errno;
                t->root = mfree(t->root);
                return r;
        }
        r = path_join_root(t->root, ASSERTION_STORE_TRUSTED_DIR, &t->dir);
        if (r < 0)
                return r;
        return mkdir_parents_and_self(t->dir, 0700);
}

/* The devices' roots: every --trusted file, as a device loads its trusted/ directory (the later file wins
 * for one key, as there: the files are named in their order). */
static int load_trusted(PublishInput *in, const FleetPublishOptions *o, char **ret_error)
{
        _cleanup_(trusted_root_done) TrustedRoot t = {};
        int r;

        r = trusted_root_make(&t);
        if (r < 0)
                return error_set(ret_error, r, "cannot make a temporary directory for the trusted roots: %s",
                                 strerror(-r));
        for (size_t i = 0; i < o->n_trusted; i++) {
                _cleanup_assertion_list_ AssertionList *l = NULL;
                _cleanup_free_ char *data = NULL, *path = NULL;
                AssertionError err = {};
                char reason[300];
                size_t size;

                r = read_input_file(o->trusted[i], &data, &size, ret_error);
                if (r < 0)
                        return r;
                /* Decoded here first, so a malformed root is blamed on the operator's file name. */
                r = assertion_stream_decode(data, size, &l, &err);
                if (r < 0)
                        return error_set(ret_error, r, "%s: %s", o->trusted[i],
                                         assertion_error_format(&err, reason, sizeof(reason)));
                path = trusted_file(&t, i);
                if (!path)
                        return -ENOMEM;
                r = write_file_atomic(AT_FDCWD, path, data, size, 0600, (uid_t) -1, (gid_t) -1);
                if (r < 0)
                        return error_set(ret_error, r, "%s: cannot copy it to %s: %s", o->trusted[i], path,
                                         strerror(-r));
                t.n_files = i + 1;
        }
        /* The database holds the roots in memory once opened: the directory goes away on return. */
        return trust_db_open(t.root, o->now, &in->db, ret_error);
}

/* One input file: a plain stream or a framed feed, as a device reads its feed (fleet_feed_add()). */
static int load_input_file(PublishInput *in, const char *path, char **ret_error)
{
        _cleanup_(assertion_batch_done) AssertionBatch b = {};
        _cleanup_free_ char *data = NULL;
        PublishAssertion *items;
        size_t size;
        int r;

        r = read_input_file(path, &data, &size, ret_error);
        if (r < 0)
                return r;
        r = fleet_feed_add(&b, path, data, size, ret_error);
        if (r < 0)
                return r;
        if (b.list.n > FLEET_PUBLISH_ASSERTIONS_MAX - in->n)
                return error_set(ret_error, -E2BIG,
                                 "%s: more than 16384 assertions in the input of one publish", path);
        items = reallocarray(in->items, in->n + b.list.n, sizeof(PublishAssertion));
        if (!items)
                return -ENOMEM;
        in->items = items;
        for (size_t i = 0; i < b.list.n; i++)
                in->items[in->n++] =
                        (PublishAssertion){ .assertion = TAKE_PTR(b.list.items[i]), .origin = path };
        return 0;
}

/* "TYPE\x1fVALUE..." of the type's primary key: the trust database's identity of an assertion. */
static char *assertion_key(const Assertion *a)
{
        const char *const *names = assertion_type_primary_keys(a->type);
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!names)
                return NULL;
        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        fputs(a->type, f);
        for (size_t i = 0; names[i]; i++)
                fprintf(f, "\x1f%s", strempty(assertion_header_string(a, names[i])));
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* By key; of one key, the one a trust batch keeps first (snapd's Batch.Add): the higher revision, then the
 * earlier in the input (the items are in input order). */
static int compare_keys(const void *x, const void *y)
{
        const PublishAssertion *a = *(const PublishAssertion *const *) x,
                               *b = *(const PublishAssertion *const *) y;
        int c = strcmp(a->key, b->key);

        if (c != 0)
                return c;
        if (a->assertion->revision != b->assertion->revision)
                return a->assertion->revision > b->assertion->revision ? -1 : 1;
        return a < b ? -1 : a > b;
}

static int check_types(PublishInput *in, char **ret_error)
{
        size_t n_prerequisites = 0;

        for (size_t i = 0; i < in->n; i++) {
                const Assertion *a = in->items[i].assertion;
                _cleanup_free_ char *what = NULL;

                if (streq(a->type, "account") || streq(a->type, "account-key")) {
                        if (++n_prerequisites > FLEET_PUBLISH_PREREQUISITES_MAX)
                                return error_set(
                                        ret_error, -E2BIG,
                                        "%s: more than 64 accounts and account-keys in the input (each "
                                        "is a file in every device's directory)",
                                        in->items[i].origin);
                        continue;
                }
                if (streq(a->type, "model") || streq(a->type, "system-user"))
                        continue;
                /* A feed is imported whole: one assertion a device has no use for is still stored, and one
                 * it refuses takes the whole feed with it. Serve what the publisher can reason about. */
                what = assertion_describe(a);
                return error_set(
                        ret_error, -EBADMSG,
                        "%s: %s: a fleet serves account, account-key, model and system-user assertions only",
                        in->items[i].origin, strempty(what));
        }
        return 0;
}

static bool is_prerequisite(const Assertion *a)
{
        return streq(a->type, "account") || streq(a->type, "account-key");
}

/* Checks batch (the prerequisites, then the others of one chunk) and copies its verdicts to their inputs'
 * places in merged (at[i]: the input index of batch item i); a prerequisite's first verdict stands. */
static int verify_chunk(PublishInput *in, const AssertionList *batch, const size_t *at,
                        size_t n_prerequisites, bool first, TrustReport *merged)
{
        _cleanup_trust_report_ TrustReport *report = NULL;
        int r;

        r = trust_db_check(in->db, batch, &report);
        if (r < 0)
                return r;
        for (size_t i = first ? 0 : n_prerequisites; i < report->n; i++) {
                TrustVerdict *v = &merged->verdicts[at[i]];
                *v = report->verdicts[i];
                v->kept_index = TRUST_KEPT_STORED; /* a batch position means nothing here */
                merged->n_refused += v->kind == TRUST_VERDICT_REFUSED;
                merged->n_skipped += v->kind == TRUST_VERDICT_SKIPPED;
        }
        return 0;
}

/* The input may hold more than one trust batch (ASSERTION_BATCH_MAX): it is checked in chunks, each
 * carrying every account and account-key of the input (at most FLEET_PUBLISH_PREREQUISITES_MAX), so a grant
 * is checked with its chain as a device checks its feed. Two assertions with one key in different chunks
 * are not compared by the check: sort_unique() keeps the one a batch would keep. */
static int verify(PublishInput *in, TrustReport **ret_report, ProvisionReport *verification)
{
        _cleanup_free_ Assertion **view = calloc(ASSERTION_BATCH_MAX + 1, sizeof(Assertion *));
        _cleanup_free_ size_t *at = calloc(ASSERTION_BATCH_MAX + 1, sizeof(size_t));
        _cleanup_free_ char **origins = calloc(in->n + 1, sizeof(char *));
        _cleanup_trust_report_ TrustReport *merged = calloc(1, sizeof(TrustReport));
        size_t n_prerequisites = 0, next = 0;
        bool first = true;
        int r;

        if (!view || !at || !origins || !merged)
                return -ENOMEM;
        merged->verdicts = calloc(in->n + 1, sizeof(TrustVerdict));
        if (!merged->verdicts)
                return -ENOMEM;
        merged->n = in->n;
        for (size_t i = 0; i < in->n; i++) {
                origins[i] = (char *) in->items[i].origin;
                if (is_prerequisite(in->items[i].assertion)) {
                        /* check_types() bounds them well below a batch */
                        at[n_prerequisites] = i;
                        view[n_prerequisites++] = in->items[i].assertion;
                }
        }
        _Static_assert(FLEET_PUBLISH_PREREQUISITES_MAX < ASSERTION_BATCH_MAX,
                       "a chunk holds the prerequisites and at least one other assertion");

        do {
                AssertionList list = { .items = view, .n = n_prerequisites };

                for (; next < in->n && list.n < ASSERTION_BATCH_MAX; next++)
                        if (!is_prerequisite(in->items[next].assertion)) {
                                at[list.n] = next;
                                view[list.n++] = in->items[next].assertion;
                        }
                r = verify_chunk(in, &list, at, n_prerequisites, first, merged);
                if (r < 0)
                        return r;
                first = false;
        } while (next < in->n);

        r = provision_report_add_verdicts(verification, merged, origins);
        if (r < 0)
                return r;
        *ret_report = TAKE_PTR(merged);
        return (*ret_report)->n_refused > 0 ? -EKEYREJECTED : 0;
}

/* Types, keys and wire forms, grouped. */
static int prepare(PublishInput *in, char **ret_error)
{
        in->users = calloc(in->n + 1, sizeof(PublishAssertion *));
        in->models = calloc(in->n + 1, sizeof(PublishAssertion *));
        in->prerequisites = calloc(in->n + 1, sizeof(PublishAssertion *));
        if (!in->users || !in->models || !in->prerequisites)
                return -ENOMEM;

        for (size_t i = 0; i < in->n; i++) {
                PublishAssertion *a = &in->items[i];
                AssertionError err = {};
                int r = 0;

                a->key = assertion_key(a->assertion);
                if (!a->key)
                        return -ENOMEM;
                r = assertion_encode(a->assertion, (char **) &a->wire.data, &a->wire.size);
                if (r < 0)
                        return r;
                if (streq(a->assertion->type, "system-user")) {
                        r = system_user_from_assertion(a->assertion, &a->user, &err);
                        if (r >= 0)
                                in->users[in->n_users++] = a;
                } else if (streq(a->assertion->type, "model")) {
                        r = model_from_assertion(a->assertion, &a->model, &err);
                        if (r >= 0)
                                in->models[in->n_models++] = a;
                } else
                        in->prerequisites[in->n_prerequisites++] = a;
                if (r < 0) /* the trust check has accepted it: it decodes */
                        return error_set(ret_error, r, "%s: %s", a->origin, err.message);
        }
        return 0;
}

/* Sorts a group by key and keeps one assertion of each key, the one a device's batch keeps; drops copies of
 * trusted roots. */
static void sort_unique(PublishInput *in, PublishAssertion **group, size_t *n)
{
        size_t kept = 0;

        qsort(group, *n, sizeof(PublishAssertion *), compare_keys);
        for (size_t i = 0; i < *n; i++) {
                const PublishAssertion *a = group[i];
                const Assertion *trusted = NULL;
                const char *const *names = assertion_type_primary_keys(a->assertion->type);
                const char *values[8] = {};

                if (kept > 0 && streq(group[kept - 1]->key, a->key))
                        continue; /* a copy, a lower revision, or one a batch skips for the first */
                for (size_t k = 0; names && names[k] && k + 1 < ELEMENTSOF(values); k++)
                        values[k] = assertion_header_string(a->assertion, names[k]);
                trusted = trust_db_find(in->db, a->assertion->type, values);
                if (trusted && trusted->content_size == a->assertion->content_size &&
                    memcmp(trusted->content, a->assertion->content, trusted->content_size) == 0)
                        continue;
                group[kept++] = group[i];
        }
        *n = kept;
}

static int check_prerequisite_names(PublishInput *in, char **ret_error)
{
        for (size_t i = 0; i < in->n_prerequisites; i++) {
                const Assertion *a = in->prerequisites[i]->assertion;
                bool key = streq(a->type, "account-key");
                const char *id = assertion_header_string(a, key ? "public-key-sha3-384" : "account-id");

                /* The id becomes a file name: only what a device would put into its request's URL. */
                if (!id || (key ? !fleet_key_id_is_valid(id) : !account_id_is_valid(id)))
                        return error_set(ret_error, -EBADMSG, "%s: %s id '%s' cannot name a file",
                                         in->prerequisites[i]->origin, a->type, strempty(id));
        }
        return 0;
}

int publish_input_load(PublishInput *in, const FleetPublishOptions *o, ProvisionReport *verification,
                       char **ret_error)
{
        _cleanup_trust_report_ TrustReport *report = NULL;
        int r;

        *in = (PublishInput){};
        r = load_trusted(in, o, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < o->n_inputs; i++) {
                r = load_input_file(in, o->inputs[i], ret_error);
                if (r < 0)
                        return r;
        }
        r = check_types(in, ret_error);
        if (r < 0)
                return r;
        r = verify(in, &report, verification);
        if (r == -EKEYREJECTED)
                return error_set(ret_error, r, "%zu of %zu input assertions refused: nothing published",
                                 report->n_refused, report->n);
        if (r < 0)
                return r;
        r = prepare(in, ret_error);
        if (r < 0)
                return r;
        sort_unique(in, in->users, &in->n_users);
        sort_unique(in, in->models, &in->n_models);
        sort_unique(in, in->prerequisites, &in->n_prerequisites);
        return check_prerequisite_names(in, ret_error);
}

const FleetWire *publish_input_account(PublishInput *in, const char *account_id, FleetWire *ret_owned)
{
        const char *values[] = { account_id, NULL };
        const Assertion *trusted;

        for (size_t i = 0; i < in->n_prerequisites; i++) {
                const Assertion *a = in->prerequisites[i]->assertion;
                if (streq(a->type, "account") &&
                    streq(strempty(assertion_header_string(a, "account-id")), account_id))
                        return &in->prerequisites[i]->wire;
        }
        trusted = trust_db_find(in->db, "account", values);
        if (!trusted || assertion_encode(trusted, (char **) &ret_owned->data, &ret_owned->size) < 0)
                return NULL;
        return ret_owned;
}
