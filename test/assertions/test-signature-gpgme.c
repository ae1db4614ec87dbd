/* SPDX-License-Identifier: MIT */
/* gpgme as a second opinion: every vector signature, and altered copies of them, get the same verdict from
 * GnuPG as from our verifier. Keys are imported into a temporary GNUPGHOME as a bare public-key packet with
 * a synthetic user ID (allow-non-selfsigned-uid), as DESIGN.md describes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <gpgme.h>

#include "gpgme-test-util.h"
#include "openpgp-packet.h"
#include "openpgp-test-util.h"
#include "public-key.h"
#include "signature-verify.h"

typedef struct GpgKey {
        PublicKey *ours;
        uint8_t keyid[8]; /* GnuPG's id of the imported packet: what an issuer subpacket names */
} GpgKey;

typedef struct Fixture {
        GpgHome home;
        GpgKey keys[4]; /* testrootorg root, testrootorg store, developer1, canonical root */
        unsigned checked;
} Fixture;

static const char *const key_files[] = { "testrootorg-root.account-key", "testrootorg-store.account-key",
                                         "developer1.account-key", "canonical-root.account-key" };

/* vector file, assertion index, index into key_files of the key that signed it */
static const struct {
        const char *file;
        size_t index;
        size_t key;
} cases[] = {
        { "testrootorg-root.account-key", 0, 0 },     { "testrootorg.account", 0, 0 },
        { "testrootorg-store.account-key", 0, 0 },    { "developer1.account", 0, 1 },
        { "developer1.account-key", 0, 1 },           { "developer1-20-signed.model", 0, 2 },
        { "developer1-22-signed.model", 0, 2 },       { "developer1-20-auto-import.assert", 0, 0 },
        { "developer1-20-auto-import.assert", 1, 0 }, { "developer1-20-auto-import.assert", 2, 2 },
        { "developer1-22-auto-import.assert", 2, 2 }, { "developer1-24-auto-import.assert", 2, 2 },
        { "canonical-root.account-key", 0, 3 },       { "canonical.account", 0, 3 },
};

static void key_import(Fixture *f, size_t i)
{
        _cleanup_free_ uint8_t *packet = NULL;
        size_t size;
        Vector v;

        vector_load(key_files[i], &v);
        assert_int_equal(public_key_from_text(v.parts[0].body, v.parts[0].body_size, &f->keys[i].ours, NULL),
                         0);
        assert_int_equal(
                openpgp_v1_decode(v.parts[0].body, v.parts[0].body_size, "key", &packet, &size, NULL), 0);
        vector_free(&v);
        assert_int_equal(gpg_key_import(&f->home, packet, size, f->keys[i].keyid), 0);
}

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_int_equal(gpg_home_open(&f->home), 0);
        for (size_t i = 0; i < ELEMENTSOF(key_files); i++)
                key_import(f, i);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(key_files); i++)
                public_key_free(f->keys[i].ours);
        gpg_home_close(&f->home);
        free(f);
        return 0;
}

/* Compares both verdicts for content + signature text checked with key k (GnuPG picks k by issuer). */
static bool compare(Fixture *f, const char *what, const char *content, size_t content_size,
                    const char *sig_text, size_t sig_size, const GpgKey *k)
{
        _cleanup_free_ uint8_t *packet = NULL;
        size_t packet_size;
        bool ours, theirs;

        ours = signature_verify(k->ours, content, content_size, sig_text, sig_size, NULL) == 0;
        if (gpg_signature_with_issuer(sig_text, sig_size, k->keyid, &packet, &packet_size) < 0) {
                /* we refuse the shape; then GnuPG must not call it good either (not reached for these cases)
                 */
                assert_false(ours);
                return ours;
        }
        int g = gpg_verify(&f->home, content, content_size, packet, packet_size);
        /* a key GnuPG did not find would make the comparison meaningless */
        assert_int_not_equal(g, -1);
        theirs = g == 1;
        if (ours != theirs)
                fail_msg("%s: ours says %s, gpgme says %s", what, ours ? "good" : "bad",
                         theirs ? "good" : "bad");
        f->checked++;
        return ours;
}

static void test_vectors_same_verdict_as_gpgme(void **state)
{
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Vector v;
                vector_load(cases[i].file, &v);
                VectorPart *p = &v.parts[cases[i].index];
                const GpgKey *k = &f->keys[cases[i].key];

                /* as signed: both good */
                assert_true(compare(f, cases[i].file, p->content, p->content_size, p->signature,
                                    p->signature_size, k));
                /* one bit of content changed, at the start, the middle and the end: both bad */
                size_t at[] = { 0, p->content_size / 2, p->content_size - 1 };
                for (size_t j = 0; j < ELEMENTSOF(at); j++) {
                        p->content[at[j]] ^= 0x01;
                        assert_false(compare(f, cases[i].file, p->content, p->content_size, p->signature,
                                             p->signature_size, k));
                        p->content[at[j]] ^= 0x01;
                }
                /* checked with another key (GnuPG told to use it via the issuer): both bad */
                const GpgKey *other = &f->keys[(cases[i].key + 1) % ELEMENTSOF(key_files)];
                assert_false(compare(f, cases[i].file, p->content, p->content_size, p->signature,
                                     p->signature_size, other));
                vector_free(&v);
        }
        /* nothing was skipped: 5 comparisons per case */
        assert_int_equal(f->checked, 5 * ELEMENTSOF(cases));
}

static void test_altered_signature_value_same_verdict(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ uint8_t *packet = NULL;
        size_t size;
        Vector v;

        vector_load("developer1-20-signed.model", &v);
        VectorPart *p = &v.parts[0];
        assert_int_equal(openpgp_v1_decode(p->signature, p->signature_size, "s", &packet, &size, NULL), 0);
        /* flip bits in the RSA value (the last 512 bytes) and in the hashed creation time */
        size_t at[] = { size - 1, size - 100, size - 511, 3 + 6 + 2 + 3 };
        for (size_t j = 0; j < ELEMENTSOF(at); j++) {
                _cleanup_free_ char *text = NULL;
                packet[at[j]] ^= 0x10;
                assert_int_equal(openpgp_v1_encode(packet, size, &text), 0);
                packet[at[j]] ^= 0x10;
                assert_false(compare(f, "altered signature", p->content, p->content_size, text, strlen(text),
                                     &f->keys[2]));
        }
        vector_free(&v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vectors_same_verdict_as_gpgme),
                cmocka_unit_test(test_altered_signature_value_same_verdict),
        };
        if (system("command -v gpg >/dev/null 2>&1") != 0) {
                printf("SKIP: gpg is not installed\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}
