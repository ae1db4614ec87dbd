/* SPDX-License-Identifier: MIT */
/* The trust database's rules, on real signatures: our test chain (test/fixtures/trust, made with
 * corehomectl sign) and snapd's own vectors (testrootorg -> developer1, Canonical's root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assertion-sign.h"
#include "assertion-store.h"
#include "file-util.h"
#include "json-util.h"
#include "macros.h"
#include "signature-verify-many.h"
#include "trust-db.h"

#define T_2016_06 ((usec_t) 1464739200ULL * USEC_PER_SEC) /* 2016-06-01, while the "old" key was valid */
#define T_2026_11 ((usec_t) 1795651200ULL * USEC_PER_SEC) /* 2026-11-25 */

typedef struct TestRoot {
        char path[64];
} TestRoot;

static void run(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *format, ...)
{
        _cleanup_free_ char *cmd = NULL;
        va_list ap;

        va_start(ap, format);
        assert_true(vasprintf(&cmd, format, ap) > 0);
        va_end(ap);
        assert_int_equal(system(cmd), 0);
}

/* A scratch root whose trusted/ holds the given files (relative to the fixture or interop dirs). */
static void root_setup(TestRoot *root, const char *const *trusted)
{
        strcpy(root->path, "/tmp/corehomed-trust-XXXXXX");
        assert_non_null(mkdtemp(root->path));
        run("mkdir -p '%s/etc/corehomed/trusted'", root->path);
        for (size_t i = 0; trusted && trusted[i]; i++)
                run("cp '%s' '%s/etc/corehomed/trusted/t%zu.assert'", trusted[i], root->path, i);
}

static void root_cleanup(TestRoot *root)
{
        run("rm -rf '%s'", root->path);
}

static char *fixture(const char *name)
{
        char *p;
        assert_true(asprintf(&p, "%s/trust/%s", getenv("FIXTURES_DIR"), name) > 0);
        return p;
}

static char *interop(const char *name)
{
        char *p;
        assert_true(asprintf(&p, "%s/snapd/%s", getenv("INTEROP_DIR"), name) > 0);
        return p;
}

/* Decodes the given files into one batch; mutate (optional) may change the bytes before decoding. */
static AssertionList *batch_of(char *const *paths, void (*mutate)(char *data, size_t size))
{
        AssertionList *all = calloc(1, sizeof(AssertionList));
        assert_non_null(all);

        for (size_t i = 0; paths[i]; i++) {
                _cleanup_assertion_list_ AssertionList *l = NULL;
                _cleanup_free_ char *data = NULL;
                AssertionError err = {};
                size_t size;

                assert_int_equal(read_file_bounded(AT_FDCWD, paths[i], 1 << 20, &data, &size), 0);
                if (mutate)
                        mutate(data, size);
                assert_int_equal(assertion_stream_decode(data, size, &l, &err), 0);
                all->items = realloc(all->items, (all->n + l->n) * sizeof(Assertion *));
                for (size_t k = 0; k < l->n; k++)
                        all->items[all->n++] = TAKE_PTR(l->items[k]);
                l->n = 0;
        }
        return all;
}

static void free_paths(char **paths)
{
        for (size_t i = 0; paths[i]; i++)
                free(paths[i]);
}

/* Imports files at time now; returns the report (caller frees). */
static TrustReport *import_files(const TestRoot *root, usec_t now, char **paths, bool commit)
{
        _cleanup_trust_db_ TrustDb *db = NULL;
        _cleanup_assertion_list_ AssertionList *batch = batch_of(paths, NULL);
        _cleanup_free_ char *error = NULL;
        TrustReport *report = NULL;

        assert_int_equal(trust_db_open(root->path, now, &db, &error), 0);
        assert_int_equal((commit ? trust_db_import : trust_db_check)(db, batch, &report), 0);
        /* The report borrows the batch's assertions; keep only what the tests read. */
        for (size_t i = 0; i < report->n; i++)
                report->verdicts[i].assertion = NULL;
        return report;
}

static bool store_exists(const TestRoot *root)
{
        _cleanup_free_ char *p = NULL;
        struct stat st;
        assert_true(asprintf(&p, "%s" ASSERTION_STORE_DIR, root->path) > 0);
        return stat(p, &st) == 0;
}

/* The name header of alice's stored grant, as a fresh reader of the root sees it. */
static const char *stored_name(const TestRoot *root)
{
        static char name[64];
        _cleanup_trust_db_ TrustDb *db = NULL;
        const char *const key[] = { "acme", "alice@example.com", NULL };
        const Assertion *a;

        assert_int_equal(trust_db_open(root->path, T_2026_11, &db, NULL), 0);
        a = trust_db_find(db, "system-user", key);
        assert_non_null(a);
        snprintf(name, sizeof(name), "%s", strempty(assertion_header_string(a, "name")));
        return name;
}

static void setup_our_root(TestRoot *root)
{
        _cleanup_free_ char *trusted = fixture("trusted/root.assert");
        const char *const list[] = { trusted, NULL };
        root_setup(root, list);
}

static void test_chain_in_any_order_is_accepted_and_reimport_is_a_no_op(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("stick.assert"), NULL };

        setup_our_root(&root);
        _cleanup_trust_report_ TrustReport *first = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(first->n, 3);
        assert_int_equal(first->n_refused, 0);
        assert_true(first->committed);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(first->verdicts[i].kind, TRUST_VERDICT_ADDED);

        /* Re-plugging the same stick must not be an error. */
        _cleanup_trust_report_ TrustReport *again = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(again->n_refused, 0);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(again->verdicts[i].kind, TRUST_VERDICT_UNCHANGED);

        /* Reopened, the database knows what was stored. */
        _cleanup_trust_db_ TrustDb *db = NULL;
        assert_int_equal(trust_db_open(root.path, T_2026_11, &db, NULL), 0);
        const char *const key[] = { "acme", "alice@example.com", NULL };
        assert_non_null(trust_db_find(db, "system-user", key));
        assert_true(trust_db_is_trusted_account(db, "testroot"));
        assert_false(trust_db_is_trusted_account(db, "acme"));

        free_paths(paths);
        root_cleanup(&root);
}

static void test_unknown_signer_is_refused_and_nothing_is_stored(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("acme.account"), fixture("alice.system-user"), NULL };

        setup_our_root(&root);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(r->n_refused, 1);
        assert_int_equal(r->verdicts[0].kind, TRUST_VERDICT_ADDED);
        assert_int_equal(r->verdicts[1].kind, TRUST_VERDICT_REFUSED);
        assert_int_equal(r->verdicts[1].error, -ENOKEY);
        assert_non_null(strstr(r->verdicts[1].reason, "unknown signer"));
        assert_false(r->committed);
        assert_false(store_exists(&root));
        free_paths(paths);
        root_cleanup(&root);
}

static void test_key_of_an_unknown_authority_is_refused(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("alice-by-unknown-key.system-user"), NULL };

        setup_our_root(&root);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, false);
        assert_int_equal(r->verdicts[0].error, -ENOKEY);
        free_paths(paths);
        root_cleanup(&root);
}

static void test_expired_key_is_refused_but_valid_in_its_window(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("acme.account"), fixture("acme-expired.account-key"),
                          fixture("alice-by-expired-key.system-user"), NULL };

        setup_our_root(&root);
        _cleanup_trust_report_ TrustReport *now = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(now->n_refused, 1);
        assert_int_equal(now->verdicts[2].error, -EKEYEXPIRED);
        assert_non_null(strstr(now->verdicts[2].reason, "expired public key"));
        assert_false(store_exists(&root));

        _cleanup_trust_report_ TrustReport *then = import_files(&root, T_2016_06, paths, false);
        assert_int_equal(then->n_refused, 0);
        free_paths(paths);
        root_cleanup(&root);
}

static void test_time_floor_defeats_a_reset_clock(void **state)
{
        TestRoot root;
        char *setup[] = { fixture("acme.account"), fixture("acme.account-key"), fixture("appliance-1.model"),
                          NULL };
        char *paths[] = { fixture("acme-expired.account-key"), fixture("alice-by-expired-key.system-user"),
                          NULL };
        usec_t floor;

        setup_our_root(&root);
        /* The model's timestamp (2026-01-01) proves that time has reached at least that point. */
        _cleanup_trust_report_ TrustReport *s = import_files(&root, T_2016_06, setup, true);
        assert_int_equal(s->n_refused, 0);
        assert_int_equal(assertion_store_read_time_floor(root.path, &floor), 0);
        assert_int_equal(floor, (usec_t) 1767225600ULL * USEC_PER_SEC);

        /* A clock reset to 2016 would make the expired key look valid; the floor does not. */
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2016_06, paths, false);
        assert_int_equal(r->verdicts[1].error, -EKEYEXPIRED);
        free_paths(setup);
        free_paths(paths);
        root_cleanup(&root);
}

static void test_only_a_trusted_root_may_sign_accounts_and_keys(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("acme.account"), fixture("acme.account-key"),
                          fixture("evil-by-brand.account"), fixture("rogue-by-brand.account-key"), NULL };

        setup_our_root(&root);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(r->n_refused, 2);
        assert_int_equal(r->verdicts[2].error, -EPERM);
        assert_int_equal(r->verdicts[3].error, -EPERM);
        assert_non_null(strstr(r->verdicts[3].reason, "not signed by a directly trusted authority"));
        assert_false(store_exists(&root));
        free_paths(paths);
        root_cleanup(&root);
}

static void test_account_key_needs_its_account(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("acme.account-key"), NULL };

        setup_our_root(&root);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, false);
        assert_int_equal(r->verdicts[0].error, -ENOKEY);
        assert_non_null(strstr(r->verdicts[0].reason, "does not have a matching account"));
        free_paths(paths);
        root_cleanup(&root);
}

static void flip_name(char *data, size_t size)
{
        char *p = strstr(data, "name: Alice");
        assert_non_null(p);
        p[strlen("name: Alic")] = 'f';
}

static void flip_signature(char *data, size_t size)
{
        /* A character in the middle of the last signature block. */
        char *p = data + size - 40;
        *p = *p == 'A' ? 'B' : 'A';
}

static void check_tampered(void (*mutate)(char *, size_t))
{
        TestRoot root;
        char *prereq[] = { fixture("acme.account"), fixture("acme.account-key"), NULL };
        char *paths[] = { fixture("alice.system-user"), NULL };
        _cleanup_trust_db_ TrustDb *db = NULL;
        _cleanup_trust_report_ TrustReport *r = NULL, *p = NULL;

        setup_our_root(&root);
        p = import_files(&root, T_2026_11, prereq, true);
        assert_int_equal(p->n_refused, 0);

        _cleanup_assertion_list_ AssertionList *batch = batch_of(paths, mutate);
        assert_int_equal(trust_db_open(root.path, T_2026_11, &db, NULL), 0);
        assert_int_equal(trust_db_import(db, batch, &r), 0);
        assert_int_equal(r->n_refused, 1);
        assert_int_equal(r->verdicts[0].error, -EKEYREJECTED);
        assert_false(r->committed);
        free_paths(prereq);
        free_paths(paths);
        root_cleanup(&root);
}

static void test_one_changed_byte_in_content_fails(void **state)
{
        check_tampered(flip_name);
}

static void test_one_changed_byte_in_signature_fails(void **state)
{
        check_tampered(flip_signature);
}

static void test_revisions_update_replay_and_conflict(void **state)
{
        TestRoot root;
        char *base[] = { fixture("stick.assert"), NULL };
        char *r1[] = { fixture("alice-r1.system-user"), NULL };
        char *r0[] = { fixture("alice.system-user"), NULL };
        char *conflict[] = { fixture("alice-r1-conflict.system-user"), NULL };
        char *forged[] = { fixture("alice-by-unknown-key.system-user"), NULL };

        setup_our_root(&root);
        _cleanup_trust_report_ TrustReport *a = import_files(&root, T_2026_11, base, true);
        assert_int_equal(a->n_refused, 0);
        /* The stored revision (0) with other content is kept out only once it verifies: a forgery is refused
         * (snapd's Database.Add checks first). */
        _cleanup_trust_report_ TrustReport *f = import_files(&root, T_2026_11, forged, true);
        assert_int_equal(f->n_refused, 1);
        assert_int_equal(f->verdicts[0].error, -ENOKEY);
        _cleanup_trust_report_ TrustReport *b = import_files(&root, T_2026_11, r1, true);
        assert_int_equal(b->verdicts[0].kind, TRUST_VERDICT_UPDATED);
        _cleanup_trust_report_ TrustReport *c = import_files(&root, T_2026_11, r0, true);
        assert_int_equal(c->verdicts[0].error, -ESTALE);
        assert_non_null(strstr(c->verdicts[0].reason, "replay"));
        /* The same revision with other content: the stored one stays and the batch goes on (snapd). */
        _cleanup_trust_report_ TrustReport *d = import_files(&root, T_2026_11, conflict, true);
        assert_int_equal(d->n_refused, 0);
        assert_int_equal(d->verdicts[0].kind, TRUST_VERDICT_SKIPPED);
        assert_int_equal(d->verdicts[0].kept_index, TRUST_KEPT_STORED);
        assert_non_null(strstr(d->verdicts[0].reason, "already stored with different content"));
        assert_string_equal(stored_name(&root), "Alice Liddell");
        _cleanup_trust_report_ TrustReport *e = import_files(&root, T_2026_11, r1, true);
        assert_int_equal(e->verdicts[0].kind, TRUST_VERDICT_UNCHANGED);
        free_paths(base);
        free_paths(r1);
        free_paths(r0);
        free_paths(conflict);
        free_paths(forged);
        root_cleanup(&root);
}

static void test_two_revisions_in_one_batch_keep_the_higher(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("stick.assert"), fixture("alice-r1.system-user"), NULL };

        setup_our_root(&root);
        /* stick.assert: alice (revision 0), acme's key, acme; then alice revision 1. */
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(r->n_refused, 0);
        assert_int_equal(r->n_skipped, 1);
        assert_int_equal(r->verdicts[0].kind, TRUST_VERDICT_SKIPPED);
        assert_int_equal(r->verdicts[0].kept_index, 3);
        assert_non_null(strstr(r->verdicts[0].reason, "superseded by revision 1"));
        assert_int_equal(r->verdicts[3].kind, TRUST_VERDICT_ADDED);
        assert_true(r->committed);
        assert_string_equal(stored_name(&root), "Alice Liddell");
        free_paths(paths);
        root_cleanup(&root);
}

static void test_lower_revision_after_a_higher_one_is_skipped(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("acme.account"), fixture("acme.account-key"),
                          fixture("alice-r1.system-user"), fixture("alice.system-user"), NULL };

        setup_our_root(&root);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(r->n_refused, 0);
        assert_int_equal(r->verdicts[2].kind, TRUST_VERDICT_ADDED);
        assert_int_equal(r->verdicts[3].kind, TRUST_VERDICT_SKIPPED);
        assert_int_equal(r->verdicts[3].kept_index, 2);
        assert_non_null(strstr(r->verdicts[3].reason, "older than revision 1"));
        assert_string_equal(stored_name(&root), "Alice Liddell");
        free_paths(paths);
        root_cleanup(&root);
}

/* snapd keeps the first of two different assertions with one key and one revision, whichever it is. */
static void check_same_revision_keeps_the_first(const char *first, const char *second, const char *kept)
{
        TestRoot root;
        char *paths[] = { fixture("acme.account"), fixture("acme.account-key"), fixture(first),
                          fixture(second), NULL };

        setup_our_root(&root);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(r->n_refused, 0);
        assert_int_equal(r->verdicts[2].kind, TRUST_VERDICT_ADDED);
        assert_int_equal(r->verdicts[3].kind, TRUST_VERDICT_SKIPPED);
        assert_int_equal(r->verdicts[3].kept_index, 2);
        assert_non_null(strstr(r->verdicts[3].reason, "comes first in this batch (#3) and is kept"));
        assert_true(r->committed);
        assert_string_equal(stored_name(&root), kept);
        free_paths(paths);
        root_cleanup(&root);
}

static void test_same_revision_in_one_batch_keeps_the_first(void **state)
{
        check_same_revision_keeps_the_first("alice-r1.system-user", "alice-r1-conflict.system-user",
                                            "Alice Liddell");
        check_same_revision_keeps_the_first("alice-r1-conflict.system-user", "alice-r1.system-user",
                                            "Alice Conflict");
}

static void test_identical_copy_in_one_batch_is_unchanged(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("stick.assert"), fixture("alice.system-user"), NULL };

        setup_our_root(&root);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(r->n_refused, 0);
        assert_int_equal(r->n_skipped, 0);
        assert_int_equal(r->verdicts[0].kind, TRUST_VERDICT_ADDED);
        assert_int_equal(r->verdicts[3].kind, TRUST_VERDICT_UNCHANGED);
        free_paths(paths);
        root_cleanup(&root);
}

/* A skipped assertion is not checked (snapd drops it at Batch.Add): a forged copy after the real one does
 * not spoil the batch, and is never stored. */
static void flip_second_name(char *data, size_t size)
{
        char *p = strstr(data, "name: Alice Liddell");
        assert_non_null(p);
        p[strlen("name: Alice Lidde")] = 'x';
}

static void test_forged_duplicate_after_the_real_one_is_skipped_unchecked(void **state)
{
        TestRoot root;
        char *prereq[] = { fixture("acme.account"), fixture("acme.account-key"),
                           fixture("alice-r1.system-user"), NULL };
        char *forged[] = { fixture("alice-r1.system-user"), NULL };
        _cleanup_assertion_list_ AssertionList *batch = batch_of(prereq, NULL),
                                               *tail = batch_of(forged, flip_second_name);
        _cleanup_trust_db_ TrustDb *db = NULL;
        _cleanup_trust_report_ TrustReport *r = NULL;

        setup_our_root(&root);
        batch->items = realloc(batch->items, (batch->n + 1) * sizeof(Assertion *));
        batch->items[batch->n++] = TAKE_PTR(tail->items[0]);
        tail->n = 0;
        assert_int_equal(trust_db_open(root.path, T_2026_11, &db, NULL), 0);
        assert_int_equal(trust_db_import(db, batch, &r), 0);
        assert_int_equal(r->n_refused, 0);
        assert_int_equal(r->verdicts[3].kind, TRUST_VERDICT_SKIPPED);
        assert_true(r->committed);
        assert_string_equal(stored_name(&root), "Alice Liddell");
        free_paths(prereq);
        free_paths(forged);
        root_cleanup(&root);
}

static AssertionList *batch_of_n_copies(const char *name, size_t n)
{
        char *paths[] = { fixture(name), NULL };
        _cleanup_assertion_list_ AssertionList *one = batch_of(paths, NULL);
        AssertionList *l = calloc(1, sizeof(AssertionList));
        _cleanup_free_ char *wire = NULL;
        size_t size;

        assert_non_null(l);
        assert_int_equal(assertion_encode(one->items[0], &wire, &size), 0);
        l->items = calloc(n, sizeof(Assertion *));
        for (size_t i = 0; i < n; i++)
                assert_int_equal(assertion_decode(wire, size, &l->items[l->n++], NULL), 0);
        free_paths(paths);
        return l;
}

static void test_batch_limit(void **state)
{
        TestRoot root;
        char *prereq[] = { fixture("acme.account"), fixture("acme.account-key"), NULL };
        _cleanup_assertion_list_ AssertionList *at = batch_of_n_copies("alice.system-user",
                                                                       ASSERTION_BATCH_MAX),
                                               *over = batch_of_n_copies("alice.system-user",
                                                                         ASSERTION_BATCH_MAX + 1);
        _cleanup_trust_report_ TrustReport *p = NULL, *r = NULL, *none = NULL;
        _cleanup_trust_db_ TrustDb *db = NULL;

        setup_our_root(&root);
        p = import_files(&root, T_2026_11, prereq, true);
        assert_int_equal(p->n_refused, 0);
        assert_int_equal(trust_db_open(root.path, T_2026_11, &db, NULL), 0);
        assert_int_equal(trust_db_import(db, over, &none), -E2BIG);
        assert_null(none);
        assert_int_equal(trust_db_import(db, at, &r), 0);
        assert_int_equal(r->n, ASSERTION_BATCH_MAX);
        assert_int_equal(r->n_refused, 0);
        assert_int_equal(r->verdicts[0].kind, TRUST_VERDICT_ADDED);
        assert_int_equal(r->verdicts[ASSERTION_BATCH_MAX - 1].kind, TRUST_VERDICT_UNCHANGED);
        free_paths(prereq);
        root_cleanup(&root);
}

static void expect_all_accepted(char **paths)
{
        TestRoot root;
        _cleanup_free_ char *ta = interop("testrootorg.account"),
                            *tk = interop("testrootorg-root.account-key");
        const char *const trusted[] = { ta, tk, NULL };

        root_setup(&root, trusted);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, true);
        for (size_t i = 0; i < r->n; i++)
                if (r->verdicts[i].kind == TRUST_VERDICT_REFUSED)
                        fail_msg("verdict %zu refused: %s", i, r->verdicts[i].reason);
        assert_true(r->committed);
        free_paths(paths);
        root_cleanup(&root);
}

static void test_snapd_developer1_bundles_verify(void **state)
{
        /* The auto-import bundles carry developer1's key signed by the testrootorg root key itself. */
        char *core20[] = { interop("developer1-20-auto-import.assert"), NULL };
        char *core22[] = { interop("developer1-22-auto-import.assert"),
                           interop("developer1-22-signed.model"), NULL };
        char *core24[] = { interop("developer1-24-auto-import.assert"), NULL };

        expect_all_accepted(core20);
        expect_all_accepted(core22);
        expect_all_accepted(core24);
}

static void test_snapd_developer1_chain_through_store_key_verifies(void **state)
{
        char *paths[] = { interop("developer1.account-key"), interop("developer1.account"),
                          interop("testrootorg-store.account-key"), interop("developer1-22-signed.model"),
                          NULL };

        expect_all_accepted(paths);
}

static void test_snapd_chain_without_store_key_is_refused(void **state)
{
        TestRoot root;
        _cleanup_free_ char *ta = interop("testrootorg.account"),
                            *tk = interop("testrootorg-root.account-key");
        const char *const trusted[] = { ta, tk, NULL };
        char *paths[] = { interop("developer1.account"), interop("developer1.account-key"), NULL };

        root_setup(&root, trusted);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, false);
        /* developer1's account and account-key are signed by the store key, which is missing. */
        assert_int_equal(r->n_refused, 2);
        assert_int_equal(r->verdicts[0].error, -ENOKEY);
        assert_int_equal(r->verdicts[1].error, -ENOKEY);
        free_paths(paths);
        root_cleanup(&root);
}

static void test_model_older_than_its_signing_key_is_refused(void **state)
{
        TestRoot root;
        _cleanup_free_ char *ta = interop("testrootorg.account"),
                            *tk = interop("testrootorg-root.account-key");
        const char *const trusted[] = { ta, tk, NULL };
        /* The core20 model's timestamp (2018-09-11) predates the bundle's key (since 2020-09-11): snapd's
         * CheckTimestampVsSigningKeyValidity refuses this combination, and so do we. */
        char *paths[] = { interop("developer1-20-auto-import.assert"), interop("developer1-20-signed.model"),
                          NULL };

        root_setup(&root, trusted);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, false);
        assert_int_equal(r->n_refused, 1);
        assert_int_equal(r->verdicts[3].error, -EKEYEXPIRED);
        assert_non_null(strstr(r->verdicts[3].reason, "outside of the signing key's validity"));
        free_paths(paths);
        root_cleanup(&root);
}

static void test_canonical_root_reimport_is_unchanged(void **state)
{
        TestRoot root;
        _cleanup_free_ char *ca = interop("canonical.account"), *ck = interop("canonical-root.account-key");
        const char *const trusted[] = { ca, ck, NULL };
        char *paths[] = { interop("canonical.account"), interop("canonical-root.account-key"), NULL };

        root_setup(&root, trusted);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(r->n_refused, 0);
        assert_int_equal(r->verdicts[0].kind, TRUST_VERDICT_UNCHANGED);
        assert_int_equal(r->verdicts[1].kind, TRUST_VERDICT_UNCHANGED);
        free_paths(paths);
        root_cleanup(&root);
}

static int collect_name(const Assertion *a, bool trusted, void *userdata)
{
        char *names = userdata;
        strcat(names, strempty(assertion_header_string(a, "name")));
        strcat(names, trusted ? "(trusted);" : ";");
        return 0;
}

static void expect_foreach(TrustDb *db, const char *type, char **filters, const char *expected)
{
        char names[512] = "";
        assert_int_equal(trust_db_foreach(db, type, filters, collect_name, names), 0);
        assert_string_equal(names, expected);
}

/* Filters on the leading primary keys narrow the walk to a key range; the result is what filtering every
 * assertion of the type gives. */
static void test_foreach_filters(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("stick.assert"), fixture("appliance-1.model"), NULL };
        _cleanup_trust_db_ TrustDb *db = NULL;

        setup_our_root(&root);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(r->n_refused, 0);
        assert_int_equal(trust_db_open(root.path, T_2026_11, &db, NULL), 0);
        expect_foreach(db, "system-user", (char *[]){ "brand-id=acme", "email=alice@example.com", NULL },
                       "Alice;");
        expect_foreach(db, "system-user", (char *[]){ "email=alice@example.com", "brand-id=acme", NULL },
                       "Alice;");
        expect_foreach(db, "system-user", (char *[]){ "brand-id=acme", NULL }, "Alice;");
        expect_foreach(db, "system-user", (char *[]){ "email=alice@example.com", NULL }, "Alice;");
        expect_foreach(db, "system-user", (char *[]){ "brand-id=acm", NULL }, "");
        expect_foreach(db, "system-user", (char *[]){ "brand-id=acme", "email=alice@example.co", NULL }, "");
        expect_foreach(db, "system-user", (char *[]){ "username=alice", NULL }, "Alice;");
        expect_foreach(db, "system-user", NULL, "Alice;");
        expect_foreach(db, "account", NULL, ";(trusted);"); /* acme, then testroot (trusted): key order */
        expect_foreach(db, "no-such-type", NULL, "");
        free_paths(paths);
        root_cleanup(&root);
}

/* --- snapd's batch rule on snapd's own vectors (issue 16, item 3) --- */

static void setup_testrootorg(TestRoot *root)
{
        _cleanup_free_ char *ta = interop("testrootorg.account"),
                            *tk = interop("testrootorg-root.account-key");
        const char *const trusted[] = { ta, tk, NULL };

        root_setup(root, trusted);
}

/* The sign-key-sha3-384 of what the store holds for developer1's account and account-key. */
static void expect_stored_signed_by(const TestRoot *root, const char *key_id)
{
        _cleanup_trust_db_ TrustDb *db = NULL;
        const char *const account[] = { "developer1", NULL };
        const char *const key[] = { "EAD4DbLxK_kn0gzNCXOs3kd6DeMU3f-L6BEsSEuJGBqCORR0gXkdDxMbOm11mRFu",
                                    NULL };
        const Assertion *a, *k;

        assert_int_equal(trust_db_open(root->path, T_2026_11, &db, NULL), 0);
        a = trust_db_find(db, "account", account);
        k = trust_db_find(db, "account-key", key);
        assert_non_null(a);
        assert_non_null(k);
        assert_string_equal(assertion_header_string(a, "sign-key-sha3-384"), key_id);
        assert_string_equal(assertion_header_string(k, "sign-key-sha3-384"), key_id);
}

#define STORE_KEY "XCIC_Wvj9_hiAt0b10sDon74oGr3a6xGODkMZqrj63ZzNYUD5N87-ojjPoeN7f1Y"
#define ROOT_KEY  "hIedp1AvrWlcDI4uS_qjoFLzjKl5enu4G2FYJpgB3Pj-tUzGlTQBxMBsBmi-tnJR"

static void test_snapd_developer1_files_and_bundle_together(void **state)
{
        TestRoot root;

        /* The bundle carries developer1's account and key again, with the same revision (0) but signed by
         * the root key instead of the store key: the first copy is kept, the bundle's are skipped. */
        char *paths[] = { interop("testrootorg-store.account-key"), interop("developer1.account"),
                          interop("developer1.account-key"), interop("developer1-22-auto-import.assert"),
                          NULL };

        setup_testrootorg(&root);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, true);
        for (size_t i = 0; i < r->n; i++)
                if (r->verdicts[i].kind == TRUST_VERDICT_REFUSED)
                        fail_msg("verdict %zu refused: %s", i, r->verdicts[i].reason);
        assert_int_equal(r->n, 6);
        assert_int_equal(r->n_skipped, 2);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(r->verdicts[i].kind, TRUST_VERDICT_ADDED);
        assert_int_equal(r->verdicts[3].kind, TRUST_VERDICT_SKIPPED); /* the bundle's account */
        assert_int_equal(r->verdicts[3].kept_index, 1);
        assert_int_equal(r->verdicts[4].kind, TRUST_VERDICT_SKIPPED); /* the bundle's account-key */
        assert_int_equal(r->verdicts[4].kept_index, 2);
        assert_non_null(
                strstr(r->verdicts[4].reason, "same key and revision 0 comes first in this batch (#3)"));
        assert_int_equal(r->verdicts[5].kind, TRUST_VERDICT_ADDED); /* the system-user */
        assert_true(r->committed);
        expect_stored_signed_by(&root, STORE_KEY);
        free_paths(paths);
        root_cleanup(&root);
}

static void test_snapd_developer1_bundle_first_keeps_the_bundles_copies(void **state)
{
        TestRoot root;

        char *paths[] = { interop("developer1-22-auto-import.assert"),
                          interop("testrootorg-store.account-key"), interop("developer1.account"),
                          interop("developer1.account-key"), NULL };

        setup_testrootorg(&root);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(r->n_refused, 0);
        assert_int_equal(r->verdicts[4].kind, TRUST_VERDICT_SKIPPED);
        assert_int_equal(r->verdicts[4].kept_index, 0);
        assert_int_equal(r->verdicts[5].kind, TRUST_VERDICT_SKIPPED);
        assert_int_equal(r->verdicts[5].kept_index, 1);
        assert_true(r->committed);
        expect_stored_signed_by(&root, ROOT_KEY);
        free_paths(paths);
        root_cleanup(&root);
}

static void test_snapd_developer1_bundle_after_the_stored_files(void **state)
{
        TestRoot root;

        char *files[] = { interop("testrootorg-store.account-key"), interop("developer1.account"),
                          interop("developer1.account-key"), NULL };
        char *bundle[] = { interop("developer1-22-auto-import.assert"), NULL };

        setup_testrootorg(&root);
        _cleanup_trust_report_ TrustReport *first = import_files(&root, T_2026_11, files, true);
        assert_int_equal(first->n_refused, 0);
        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_2026_11, bundle, true);
        assert_int_equal(r->n_refused, 0);
        assert_int_equal(r->verdicts[0].kind, TRUST_VERDICT_SKIPPED);
        assert_int_equal(r->verdicts[0].kept_index, TRUST_KEPT_STORED);
        assert_int_equal(r->verdicts[1].kind, TRUST_VERDICT_SKIPPED);
        assert_int_equal(r->verdicts[2].kind, TRUST_VERDICT_ADDED);
        assert_true(r->committed);
        expect_stored_signed_by(&root, STORE_KEY);
        free_paths(files);
        free_paths(bundle);
        root_cleanup(&root);
}

/* --- the time floor of a device without a clock (issue 16, item 6) --- */

#define T_1970_01_02 ((usec_t) 86400ULL * USEC_PER_SEC)
#define T_2016_01    ((usec_t) 1451606400ULL * USEC_PER_SEC)

static const char *configured_build_floor; /* argv[1]: what meson computed for this build */

static void test_fresh_device_in_1970_accepts_its_root_chain(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("stick.assert"), NULL };
        _cleanup_trust_db_ TrustDb *db = NULL;
        TrustFloorSource source;

        setup_our_root(&root);
        /* The roots were made on 2016-01-01 (root.assert's timestamp and since): time is past that. */
        assert_int_equal(trust_db_open(root.path, T_1970_01_02, &db, NULL), 0);
        assert_int_equal(trust_db_time_floor(db, &source), T_2016_01);
        assert_int_equal(source, TRUST_FLOOR_TRUSTED);
        assert_int_equal(trust_db_check_time(db), T_2016_01);

        _cleanup_trust_report_ TrustReport *r = import_files(&root, T_1970_01_02, paths, true);
        for (size_t i = 0; i < r->n; i++)
                if (r->verdicts[i].kind != TRUST_VERDICT_ADDED)
                        fail_msg("verdict %zu: %s", i, r->verdicts[i].reason);
        assert_true(r->committed);
        free_paths(paths);
        root_cleanup(&root);
}

static void test_raised_floor_refuses_a_key_that_expired_before_it(void **state)
{
        TestRoot root;
        char *paths[] = { fixture("acme.account"), fixture("acme-expired.account-key"),
                          fixture("alice-by-expired-key.system-user"), NULL };
        _cleanup_assertion_list_ AssertionList *batch = batch_of(paths, NULL);
        _cleanup_trust_report_ TrustReport *r = NULL, *without = NULL;
        _cleanup_trust_db_ TrustDb *db = NULL;
        TrustFloorSource source;

        setup_our_root(&root);
        /* The roots alone put the clock at 2016-01-01, inside the old key's window (2016..2017). */
        without = import_files(&root, T_1970_01_02, paths, false);
        assert_int_equal(without->n_refused, 0);
        /* A build made in 2026 knows better. */
        assert_int_equal(trust_db_open(root.path, T_1970_01_02, &db, NULL), 0);
        trust_db_raise_time_floor(db, T_2026_11);
        trust_db_raise_time_floor(db, T_2016_06); /* never lowered */
        assert_int_equal(trust_db_time_floor(db, &source), T_2026_11);
        assert_int_equal(source, TRUST_FLOOR_RAISED);
        assert_int_equal(trust_db_import(db, batch, &r), 0);
        assert_int_equal(r->n_refused, 1);
        assert_int_equal(r->verdicts[2].error, -EKEYEXPIRED);
        assert_non_null(strstr(r->verdicts[2].reason, "check time is 2026-11-26T00:00:00Z"));
        free_paths(paths);
        root_cleanup(&root);
}

static void test_build_time_floor_is_the_configured_one(void **state)
{
        assert_non_null(configured_build_floor);
        assert_int_equal(trust_db_build_time_floor(),
                         strtoull(configured_build_floor, NULL, 10) * USEC_PER_SEC);
}

/* A batch large enough to have its signatures checked in parallel ahead of the chain (trust-batch.c,
 * signature-verify-many.h) decides as a small one: 40 grants signed here with the test brand's key, with the
 * brand's account-key in the same batch (checked ahead against a key still to be decided) and then stored
 * (checked ahead against a stored key); one grant altered after signing is refused as a bad signature. */
static void sign_grants(const char *gnupg_home, unsigned n, unsigned altered, char ***ret_paths)
{
        _cleanup_signing_key_ SigningKey *key = NULL;
        AssertionError err = {};
        char **paths = calloc(n + 1, sizeof(char *));

        assert_non_null(paths);
        if (signing_key_open(gnupg_home, "corehomed-test-brand", &key, &err) < 0)
                fail_msg("%s", err.message);
        for (unsigned i = 0; i < n; i++) {
                _cleanup_json_ json_t *h = json_pack(
                        "{s:s, s:s, s:s, s:[s], s:[s], s:s, s:s}", "type", "system-user", "authority-id",
                        "acme", "brand-id", "acme", "series", "16", "models", "appliance-1", "since",
                        "2016-01-01T00:00:00Z", "until", "2030-01-01T00:00:00Z");
                _cleanup_free_ char *text = NULL;
                size_t size;

                assert_non_null(h);
                /* distinct primary keys: grant<i>@example.com, user names user<i> */
                char email[64], user[32];
                snprintf(email, sizeof(email), "grant%u@example.com", i);
                snprintf(user, sizeof(user), "user%u", i);
                assert_int_equal(json_object_set_new(h, "email", json_string(email)), 0);
                assert_int_equal(json_object_set_new(h, "username", json_string(user)), 0);
                if (assertion_sign(key, h, NULL, 0, &text, &size, &err) < 0)
                        fail_msg("%s", err.message);
                if (i == altered) /* after signing: grant7 -> grunt7, which the signature does not cover */
                        strstr(text, "email: grant")[9] = 'u';
                assert_true(asprintf(&paths[i], "%s/grant%u.assert", gnupg_home, i) > 0);
                assert_int_equal(write_file_atomic(AT_FDCWD, paths[i], text, size, 0644, -1, -1), 0);
        }
        *ret_paths = paths;
}

static void test_big_batch_checked_in_parallel_decides_as_a_small_one(void **state)
{
        char home[] = "/tmp/corehomed-trust-gnupg-XXXXXX";
        _cleanup_free_ char *secret = NULL;
        char **grants = NULL, *paths[64] = {};
        TestRoot root;
        TrustReport *r;
        size_t n = 0;

        assert_non_null(mkdtemp(home));
        assert_true(asprintf(&secret, "%s/keys/test-brand.secret.asc", getenv("FIXTURES_DIR")) > 0);
        run("gpg --batch --quiet --homedir '%s' --import '%s' 2>/dev/null", home, secret);
        sign_grants(home, 40, 7, &grants);
        /* The signing is done: its gpg-agent goes now, not at the end, which a failed assertion below
         * would never reach. */
        run("gpgconf --homedir '%s' --kill all", home);
        assert_true(40 + 2 >= SIGNATURE_VERIFY_PARALLEL_MIN);

        setup_our_root(&root);
        paths[n++] = fixture("acme.account");
        paths[n++] = fixture("acme.account-key");
        for (unsigned i = 0; i < 40; i++)
                paths[n++] = strdup(grants[i]);
        r = import_files(&root, T_2026_11, paths, true);
        assert_int_equal(r->n, 42);
        assert_int_equal(r->n_refused, 1);
        assert_int_equal(r->verdicts[2 + 7].kind, TRUST_VERDICT_REFUSED);
        assert_int_equal(r->verdicts[2 + 7].error, -EKEYREJECTED);
        assert_non_null(strstr(r->verdicts[2 + 7].reason, "bad signature"));
        for (size_t i = 0; i < 42; i++)
                if (i != 2 + 7)
                        assert_int_equal(r->verdicts[i].kind, TRUST_VERDICT_ADDED);
        assert_false(r->committed);
        trust_report_free(r);

        /* The chain stored first, the 39 good grants then: all checked ahead against the stored key. */
        char *chain[] = { paths[0], paths[1], NULL };
        r = import_files(&root, T_2026_11, chain, true);
        assert_true(r->committed);
        trust_report_free(r);
        free(paths[2 + 7]);
        memmove(&paths[2 + 7], &paths[2 + 8], (n - (2 + 8) + 1) * sizeof(char *));
        n--;
        r = import_files(&root, T_2026_11, paths + 2, true);
        assert_int_equal(r->n, 39);
        assert_int_equal(r->n_refused, 0);
        for (size_t i = 0; i < 39; i++)
                assert_int_equal(r->verdicts[i].kind, TRUST_VERDICT_ADDED);
        assert_true(r->committed);
        trust_report_free(r);

        free_paths(paths);
        for (unsigned i = 0; i < 40; i++)
                free(grants[i]);
        free(grants);
        root_cleanup(&root);
        run("rm -rf '%s'", home);
}

int main(int argc, char **argv)
{
        configured_build_floor = argc > 1 ? argv[1] : NULL;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_chain_in_any_order_is_accepted_and_reimport_is_a_no_op),
                cmocka_unit_test(test_big_batch_checked_in_parallel_decides_as_a_small_one),
                cmocka_unit_test(test_unknown_signer_is_refused_and_nothing_is_stored),
                cmocka_unit_test(test_key_of_an_unknown_authority_is_refused),
                cmocka_unit_test(test_expired_key_is_refused_but_valid_in_its_window),
                cmocka_unit_test(test_time_floor_defeats_a_reset_clock),
                cmocka_unit_test(test_only_a_trusted_root_may_sign_accounts_and_keys),
                cmocka_unit_test(test_account_key_needs_its_account),
                cmocka_unit_test(test_one_changed_byte_in_content_fails),
                cmocka_unit_test(test_one_changed_byte_in_signature_fails),
                cmocka_unit_test(test_revisions_update_replay_and_conflict),
                cmocka_unit_test(test_two_revisions_in_one_batch_keep_the_higher),
                cmocka_unit_test(test_lower_revision_after_a_higher_one_is_skipped),
                cmocka_unit_test(test_same_revision_in_one_batch_keeps_the_first),
                cmocka_unit_test(test_identical_copy_in_one_batch_is_unchanged),
                cmocka_unit_test(test_forged_duplicate_after_the_real_one_is_skipped_unchecked),
                cmocka_unit_test(test_batch_limit),
                cmocka_unit_test(test_foreach_filters),
                cmocka_unit_test(test_snapd_developer1_bundles_verify),
                cmocka_unit_test(test_snapd_developer1_chain_through_store_key_verifies),
                cmocka_unit_test(test_snapd_chain_without_store_key_is_refused),
                cmocka_unit_test(test_model_older_than_its_signing_key_is_refused),
                cmocka_unit_test(test_canonical_root_reimport_is_unchanged),
                cmocka_unit_test(test_snapd_developer1_files_and_bundle_together),
                cmocka_unit_test(test_snapd_developer1_bundle_first_keeps_the_bundles_copies),
                cmocka_unit_test(test_snapd_developer1_bundle_after_the_stored_files),
                cmocka_unit_test(test_fresh_device_in_1970_accepts_its_root_chain),
                cmocka_unit_test(test_raised_floor_refuses_a_key_that_expired_before_it),
                cmocka_unit_test(test_build_time_floor_is_the_configured_one),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
