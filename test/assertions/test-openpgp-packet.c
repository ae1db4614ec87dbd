/* SPDX-License-Identifier: MIT */
/* The strict OpenPGP packet layer: every signature and key of the snapd vectors parses and re-serializes to
 * the same bytes; every shape outside the accepted subset is refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "openpgp-packet.h"
#include "openpgp-test-util.h"

static const char *const vector_files[] = {
        "testrootorg.account",
        "testrootorg-root.account-key",
        "testrootorg-store.account-key",
        "developer1.account",
        "developer1.account-key",
        "developer1-20-signed.model",
        "developer1-22-signed.model",
        "developer1-20-auto-import.assert",
        "developer1-22-auto-import.assert",
        "developer1-24-auto-import.assert",
        "canonical.account",
        "canonical-root.account-key",
        "auto-import.assert",
};

static void decode_or_die(const char *text, size_t size, uint8_t **ret, size_t *ret_size)
{
        AssertionError err = {};
        int r = openpgp_v1_decode(text, size, "test", ret, ret_size, &err);
        if (r < 0)
                fail_msg("decode: %s", err.message);
}

/* The signature packet of the testrootorg root key's self-signature, which has an unhashed issuer. */
static void root_signature_packet(uint8_t **ret, size_t *ret_size)
{
        Vector v;
        vector_load("testrootorg-root.account-key", &v);
        decode_or_die(v.parts[0].signature, v.parts[0].signature_size, ret, ret_size);
        vector_free(&v);
}

static void root_key_packet(uint8_t **ret, size_t *ret_size)
{
        Vector v;
        vector_load("testrootorg-root.account-key", &v);
        decode_or_die(v.parts[0].body, v.parts[0].body_size, ret, ret_size);
        vector_free(&v);
}

/* Builds a new-format signature packet from parts, so each test changes exactly one thing. */
typedef struct SigParts {
        uint8_t version, type, algo, hash;
        const uint8_t *hashed;
        size_t hashed_size;
        const uint8_t *unhashed;
        size_t unhashed_size;
        const uint8_t *mpi; /* with its 2-byte bit count */
        size_t mpi_size;
        size_t trailing; /* zero bytes appended inside the packet */
} SigParts;

static const uint8_t good_hashed[] = { 5, OPENPGP_SUBPACKET_CREATION_TIME, 0x57, 0xce, 0xb9, 0xe9 };
static const uint8_t good_mpi[] = { 0x00, 0x09, 0x01, 0x23 };

static SigParts good_parts(void)
{
        return (SigParts){ .version = 4,
                           .type = 0,
                           .algo = 1,
                           .hash = 10,
                           .hashed = good_hashed,
                           .hashed_size = sizeof(good_hashed),
                           .mpi = good_mpi,
                           .mpi_size = sizeof(good_mpi) };
}

static size_t build_sig(const SigParts *s, uint8_t *out)
{
        size_t body = 6 + s->hashed_size + 2 + s->unhashed_size + 2 + s->mpi_size + s->trailing;
        uint8_t *p = out;

        assert_true(body < 8384);
        *p++ = 0xc2;
        if (body < 192)
                *p++ = (uint8_t) body;
        else {
                *p++ = (uint8_t) (192 + ((body - 192) >> 8));
                *p++ = (uint8_t) (body - 192);
        }
        *p++ = s->version;
        *p++ = s->type;
        *p++ = s->algo;
        *p++ = s->hash;
        *p++ = (uint8_t) (s->hashed_size >> 8);
        *p++ = (uint8_t) s->hashed_size;
        memcpy(p, s->hashed, s->hashed_size);
        p += s->hashed_size;
        *p++ = (uint8_t) (s->unhashed_size >> 8);
        *p++ = (uint8_t) s->unhashed_size;
        if (s->unhashed_size)
                memcpy(p, s->unhashed, s->unhashed_size);
        p += s->unhashed_size;
        *p++ = 0xab;
        *p++ = 0xcd;
        memcpy(p, s->mpi, s->mpi_size);
        p += s->mpi_size;
        memset(p, 0, s->trailing);
        p += s->trailing;
        return (size_t) (p - out);
}

static void assert_sig_refused(const SigParts *s, const char *reason)
{
        uint8_t buf[1024];
        size_t n = build_sig(s, buf);
        OpenPGPSignature sig;
        AssertionError err = {};

        assert_int_equal(openpgp_signature_parse(buf, n, &sig, &err), -EBADMSG);
        if (!strstr(err.message, reason))
                fail_msg("expected reason containing '%s', got '%s'", reason, err.message);
}

static void test_every_vector_signature_and_key_parses(void **state)
{
        for (size_t f = 0; f < ELEMENTSOF(vector_files); f++) {
                Vector v;
                vector_load(vector_files[f], &v);
                for (size_t i = 0; i < v.n; i++) {
                        _cleanup_free_ uint8_t *packet = NULL;
                        OpenPGPSignature sig;
                        AssertionError err = {};
                        size_t size;

                        decode_or_die(v.parts[i].signature, v.parts[i].signature_size, &packet, &size);
                        if (openpgp_signature_parse(packet, size, &sig, &err) < 0)
                                fail_msg("%s #%zu: %s", vector_files[f], i, err.message);
                        assert_int_equal(sig.sig_type, 0);
                        assert_int_equal(sig.hash_algo, OPENPGP_HASH_SHA512);
                        assert_true(sig.creation_time > 1400000000);

                        if (strstr(v.parts[i].headers, "type: account-key\n")) {
                                _cleanup_free_ uint8_t *key = NULL;
                                OpenPGPPublicKey pk;

                                decode_or_die(v.parts[i].body, v.parts[i].body_size, &key, &size);
                                if (openpgp_public_key_parse(key, size, &pk, &err) < 0)
                                        fail_msg("%s #%zu key: %s", vector_files[f], i, err.message);
                                assert_true(pk.bits == 4096 || pk.bits == 8192);
                                assert_int_equal(pk.creation_time, OPENPGP_SNAPD_KEY_TIME);
                        }
                }
                vector_free(&v);
        }
}

static void test_signature_reserializes_to_snapd_bytes(void **state)
{
        /* snapd serialized every vector signature with Go's encoder: ours must produce the same bytes,
         * including the GnuPG-made one with an issuer fingerprint in auto-import.assert. */
        for (size_t f = 0; f < ELEMENTSOF(vector_files); f++) {
                Vector v;
                vector_load(vector_files[f], &v);
                for (size_t i = 0; i < v.n; i++) {
                        _cleanup_free_ uint8_t *packet = NULL, *out = NULL;
                        _cleanup_free_ char *text = NULL;
                        OpenPGPSignature sig;
                        size_t size, out_size;

                        decode_or_die(v.parts[i].signature, v.parts[i].signature_size, &packet, &size);
                        assert_int_equal(openpgp_signature_parse(packet, size, &sig, NULL), 0);
                        assert_int_equal(openpgp_signature_serialize(&sig, &out, &out_size), 0);
                        assert_int_equal(out_size, size);
                        assert_memory_equal(out, packet, size);
                        assert_int_equal(openpgp_v1_encode(out, out_size, &text), 0);
                        assert_string_equal(text, v.parts[i].signature);
                }
                vector_free(&v);
        }
}

static void test_public_key_reserializes_to_snapd_bytes(void **state)
{
        _cleanup_free_ uint8_t *packet = NULL, *out = NULL;
        OpenPGPPublicKey pk;
        size_t size, out_size;

        root_key_packet(&packet, &size);
        assert_int_equal(openpgp_public_key_parse(packet, size, &pk, NULL), 0);
        assert_int_equal(openpgp_public_key_serialize(&pk, OPENPGP_SNAPD_KEY_TIME, &out, &out_size), 0);
        assert_int_equal(out_size, size);
        assert_memory_equal(out, packet, size);
}

static void test_old_format_header_accepted_as_snapd_does(void **state)
{
        _cleanup_free_ uint8_t *packet = NULL;
        uint8_t old[2048];
        OpenPGPSignature a, b;
        size_t size;

        root_signature_packet(&packet, &size);
        /* new format c2 c1 5c (two-byte length) -> old format 0x89 with a two-byte length */
        assert_int_equal(packet[0], 0xc2);
        size_t body = size - 3;
        old[0] = 0x89;
        old[1] = (uint8_t) (body >> 8);
        old[2] = (uint8_t) body;
        memcpy(old + 3, packet + 3, body);
        assert_int_equal(openpgp_signature_parse(packet, size, &a, NULL), 0);
        assert_int_equal(openpgp_signature_parse(old, size, &b, NULL), 0);
        assert_int_equal(a.creation_time, b.creation_time);
        assert_int_equal(a.mpi_size, b.mpi_size);

        /* five-byte new-format length (non-minimal): accepted like Go's reader */
        uint8_t five[2048];
        five[0] = 0xc2;
        five[1] = 255;
        five[2] = 0;
        five[3] = 0;
        five[4] = (uint8_t) (body >> 8);
        five[5] = (uint8_t) body;
        memcpy(five + 6, packet + 3, body);
        assert_int_equal(openpgp_signature_parse(five, body + 6, &b, NULL), 0);
}

static void test_partial_and_indeterminate_lengths_refused(void **state)
{
        _cleanup_free_ uint8_t *packet = NULL;
        uint8_t buf[2048];
        AssertionError err = {};
        OpenPGPSignature sig;
        size_t size;

        root_signature_packet(&packet, &size);
        memcpy(buf, packet, size);
        buf[1] = 0xe9; /* partial length 512 */
        assert_int_equal(openpgp_signature_parse(buf, size, &sig, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "partial body length"));

        buf[0] = 0x8b; /* old format, indeterminate length */
        assert_int_equal(openpgp_signature_parse(buf, size, &sig, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "indeterminate length"));
}

static void test_trailing_data_refused(void **state)
{
        _cleanup_free_ uint8_t *packet = NULL;
        uint8_t buf[2048];
        AssertionError err = {};
        OpenPGPSignature sig;
        size_t size;

        root_signature_packet(&packet, &size);
        memcpy(buf, packet, size);
        buf[size] = 0;
        assert_int_equal(openpgp_signature_parse(buf, size + 1, &sig, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "trailing data after the packet"));

        SigParts s = good_parts();
        s.trailing = 1;
        assert_sig_refused(&s, "trailing data inside the packet");
}

static void test_every_truncation_refused(void **state)
{
        _cleanup_free_ uint8_t *packet = NULL;
        OpenPGPSignature sig;
        size_t size;

        root_signature_packet(&packet, &size);
        for (size_t n = 0; n < size; n++)
                assert_int_equal(openpgp_signature_parse(packet, n, &sig, NULL), -EBADMSG);

        _cleanup_free_ uint8_t *key = NULL;
        OpenPGPPublicKey pk;
        root_key_packet(&key, &size);
        for (size_t n = 0; n < size; n++)
                assert_int_equal(openpgp_public_key_parse(key, n, &pk, NULL), -EBADMSG);
}

static void test_built_good_signature_parses(void **state)
{
        /* the builder itself is right, so the refusals below are about the one field changed */
        SigParts s = good_parts();
        uint8_t buf[256];
        size_t n = build_sig(&s, buf);
        OpenPGPSignature sig;

        assert_int_equal(openpgp_signature_parse(buf, n, &sig, NULL), 0);
        assert_int_equal(sig.creation_time, 0x57ceb9e9);
        assert_int_equal(sig.mpi_size, 2);
}

static void test_other_versions_types_algorithms_hashes_refused(void **state)
{
        SigParts s = good_parts();
        s.version = 3;
        assert_sig_refused(&s, "version 3");
        s = good_parts();
        s.version = 5;
        assert_sig_refused(&s, "version 5");
        s = good_parts();
        s.type = 0x01;
        assert_sig_refused(&s, "signature type 0x01");
        s = good_parts();
        s.type = 0x13;
        assert_sig_refused(&s, "signature type 0x13");
        s = good_parts();
        s.algo = 3; /* RSA sign-only */
        assert_sig_refused(&s, "public-key algorithm 3");
        s = good_parts();
        s.algo = 17; /* DSA */
        assert_sig_refused(&s, "public-key algorithm 17");
        s = good_parts();
        s.hash = 8; /* SHA-256 */
        assert_sig_refused(&s, "hash algorithm 8");
        s = good_parts();
        s.hash = 2; /* SHA-1 */
        assert_sig_refused(&s, "hash algorithm 2");
}

static void test_subpacket_rules(void **state)
{
        static const uint8_t no_time[] = { 9, OPENPGP_SUBPACKET_ISSUER, 1, 2, 3, 4, 5, 6, 7, 8 };
        static const uint8_t two_times[] = { 5, 2, 0, 0, 0, 1, 5, 2, 0, 0, 0, 2 };
        static const uint8_t short_time[] = { 4, 2, 0, 0, 1 };
        static const uint8_t zero_length[] = { 5, 2, 0, 0, 0, 1, 0 };
        static const uint8_t expiry[] = { 5, 2, 0, 0, 0, 1, 5, 3, 0, 0, 0, 9 };
        static const uint8_t critical_notation[] = { 5, 2, 0, 0, 0, 1, 3, 0x80 | 20, 0, 0 };
        static const uint8_t truncated[] = { 5, 2, 0, 0, 0, 1, 9, 16, 1 };
        static const uint8_t gpg_style[] = { 22, 33, 4,  1,  2,  3,  4,  5,  6, 7, 8, 9, 10, 11, 12,
                                             13, 14, 15, 16, 17, 18, 19, 20, 5, 2, 0, 0, 0,  1 };
        static const uint8_t time_unhashed[] = { 5, 2, 0, 0, 0, 1 };
        static const uint8_t issuer[] = { 9, 16, 1, 2, 3, 4, 5, 6, 7, 8 };
        static const uint8_t issuer_twice[] = {
                9, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 1, 2, 3, 4, 5, 6, 7, 8
        };
        SigParts s;
        uint8_t buf[256];
        OpenPGPSignature sig;

        s = good_parts();
        s.hashed = no_time;
        s.hashed_size = sizeof(no_time);
        assert_sig_refused(&s, "no creation time");
        s.hashed = two_times;
        s.hashed_size = sizeof(two_times);
        assert_sig_refused(&s, "more than one creation time");
        s.hashed = short_time;
        s.hashed_size = sizeof(short_time);
        assert_sig_refused(&s, "not 4");
        s.hashed = zero_length;
        s.hashed_size = sizeof(zero_length);
        assert_sig_refused(&s, "zero-length");
        s.hashed = expiry;
        s.hashed_size = sizeof(expiry);
        assert_sig_refused(&s, "subpacket type 3 is not allowed");
        s.hashed = critical_notation;
        s.hashed_size = sizeof(critical_notation);
        assert_sig_refused(&s, "critical subpacket type 20");
        s.hashed = truncated;
        s.hashed_size = sizeof(truncated);
        assert_sig_refused(&s, "truncated hashed subpacket");

        s = good_parts();
        s.unhashed = time_unhashed;
        s.unhashed_size = sizeof(time_unhashed);
        assert_sig_refused(&s, "creation time in the unhashed area");
        s.unhashed = issuer_twice;
        s.unhashed_size = sizeof(issuer_twice);
        assert_sig_refused(&s, "more than one issuer");

        /* GnuPG's shape: issuer fingerprint + creation time hashed, issuer unhashed */
        s = good_parts();
        s.hashed = gpg_style;
        s.hashed_size = sizeof(gpg_style);
        s.unhashed = issuer;
        s.unhashed_size = sizeof(issuer);
        size_t n = build_sig(&s, buf);
        assert_int_equal(openpgp_signature_parse(buf, n, &sig, NULL), 0);
        assert_true(sig.has_issuer);
        assert_int_equal(sig.issuer[7], 8);
        assert_int_equal(sig.creation_time, 1);
}

static void test_mpi_rules(void **state)
{
        static const uint8_t zero[] = { 0x00, 0x00 };
        static const uint8_t short_mpi[] = { 0x00, 0x10, 0x01 };
        static const uint8_t leading_zero[] = { 0x00, 0x10, 0x00, 0x05 }; /* Go writes these */
        SigParts s = good_parts();
        uint8_t buf[256];
        OpenPGPSignature sig;

        s.mpi = zero;
        s.mpi_size = sizeof(zero);
        assert_sig_refused(&s, "is zero");
        s.mpi = short_mpi;
        s.mpi_size = sizeof(short_mpi);
        assert_sig_refused(&s, "truncated RSA signature value");
        s.mpi = leading_zero;
        s.mpi_size = sizeof(leading_zero);
        size_t n = build_sig(&s, buf);
        assert_int_equal(openpgp_signature_parse(buf, n, &sig, NULL), 0);
        assert_int_equal(sig.mpi_size, 1);
        assert_int_equal(sig.mpi[0], 5);
}

/* Builds a key packet with an n of the given bits (top bit set, odd) and exponent bytes. */
static size_t build_key(uint8_t algo, unsigned bits, const uint8_t *e, size_t e_size, uint8_t *out)
{
        size_t n_bytes = (bits + 7) / 8;
        size_t body = 6 + 2 + n_bytes + 2 + e_size;
        unsigned e_bits = 0;
        uint8_t *p = out;

        for (uint8_t b = e[0]; b; b >>= 1)
                e_bits++;
        e_bits += (unsigned) (e_size - 1) * 8;
        *p++ = 0xc6;
        if (body < 192)
                *p++ = (uint8_t) body;
        else if (body < 8384) {
                *p++ = (uint8_t) (192 + ((body - 192) >> 8));
                *p++ = (uint8_t) (body - 192);
        } else {
                *p++ = 255;
                *p++ = 0;
                *p++ = 0;
                *p++ = (uint8_t) (body >> 8);
                *p++ = (uint8_t) body;
        }
        *p++ = 4;
        *p++ = 0x56;
        *p++ = 0x85;
        *p++ = 0xc1;
        *p++ = 0x80;
        *p++ = algo;
        *p++ = (uint8_t) (bits >> 8);
        *p++ = (uint8_t) bits;
        memset(p, 0x5a, n_bytes);
        p[0] = (uint8_t) (1u << ((bits - 1) % 8));
        p[n_bytes - 1] |= 1;
        p += n_bytes;
        *p++ = (uint8_t) (e_bits >> 8);
        *p++ = (uint8_t) e_bits;
        memcpy(p, e, e_size);
        p += e_size;
        return (size_t) (p - out);
}

static void test_key_bounds_at_limit_and_beyond(void **state)
{
        static const uint8_t e65537[] = { 0x01, 0x00, 0x01 };
        static const uint8_t e4bytes[] = { 0x01, 0x00, 0x00, 0x01 };
        static const uint8_t e_even[] = { 0x01, 0x00, 0x00 };
        static const uint8_t e1[] = { 0x01 };
        static uint8_t buf[4096];
        AssertionError err = {};
        OpenPGPPublicKey pk;
        size_t n;

        n = build_key(1, OPENPGP_RSA_BITS_MIN, e65537, 3, buf);
        assert_int_equal(openpgp_public_key_parse(buf, n, &pk, &err), 0);
        assert_int_equal(pk.bits, OPENPGP_RSA_BITS_MIN);
        n = build_key(1, OPENPGP_RSA_BITS_MIN - 1, e65537, 3, buf);
        assert_int_equal(openpgp_public_key_parse(buf, n, &pk, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "outside"));
        n = build_key(1, OPENPGP_RSA_BITS_MAX, e65537, 3, buf);
        assert_int_equal(openpgp_public_key_parse(buf, n, &pk, &err), 0);
        n = build_key(1, OPENPGP_RSA_BITS_MAX + 1, e65537, 3, buf);
        assert_int_equal(openpgp_public_key_parse(buf, n, &pk, &err), -EBADMSG);

        n = build_key(1, 4096, e4bytes, 4, buf);
        assert_int_equal(openpgp_public_key_parse(buf, n, &pk, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "exponent larger than 3 bytes"));
        n = build_key(1, 4096, e_even, 3, buf);
        assert_int_equal(openpgp_public_key_parse(buf, n, &pk, &err), -EBADMSG);
        n = build_key(1, 4096, e1, 1, buf);
        assert_int_equal(openpgp_public_key_parse(buf, n, &pk, &err), -EBADMSG);

        n = build_key(2, 4096, e65537, 3, buf); /* RSA encrypt-only */
        assert_int_equal(openpgp_public_key_parse(buf, n, &pk, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "algorithm 2"));
        n = build_key(3, 4096, e65537, 3, buf); /* RSA sign-only */
        assert_int_equal(openpgp_public_key_parse(buf, n, &pk, &err), -EBADMSG);

        n = build_key(1, 4096, e65537, 3, buf);
        buf[3] = 3; /* version (after a two-byte length) */
        assert_int_equal(openpgp_public_key_parse(buf, n, &pk, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "version 3"));

        /* a signature packet where a key is expected, and the other way round */
        SigParts s = good_parts();
        n = build_sig(&s, buf);
        assert_int_equal(openpgp_public_key_parse(buf, n, &pk, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "expected an OpenPGP packet of tag 6"));
}

static void test_packet_size_limit(void **state)
{
        static uint8_t buf[OPENPGP_PACKET_MAX + 16];
        AssertionError err = {};
        OpenPGPSignature sig;

        memset(buf, 0, sizeof(buf));
        buf[0] = 0xc2;
        buf[1] = 255;
        /* exactly at the limit: the packet is read (and refused for its content, not its size) */
        size_t body = OPENPGP_PACKET_MAX - 6;
        buf[4] = (uint8_t) (body >> 8);
        buf[5] = (uint8_t) body;
        assert_int_equal(openpgp_signature_parse(buf, OPENPGP_PACKET_MAX, &sig, &err), -EBADMSG);
        assert_null(strstr(err.message, "larger than"));
        body++;
        buf[4] = (uint8_t) (body >> 8);
        buf[5] = (uint8_t) body;
        assert_int_equal(openpgp_signature_parse(buf, OPENPGP_PACKET_MAX + 1, &sig, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "larger than"));
}

static void test_v1_text_rules(void **state)
{
        _cleanup_free_ uint8_t *out = NULL;
        AssertionError err = {};
        size_t size;

        assert_int_equal(openpgp_v1_decode("", 0, "signature", &out, &size, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "no data"));
        assert_int_equal(openpgp_v1_decode("AgAA", 4, "signature", &out, &size, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "format version 2"));
        assert_int_equal(openpgp_v1_decode("AQ!A", 4, "signature", &out, &size, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "not valid base64"));
        assert_int_equal(openpgp_v1_decode("AQ==\r", 5, "signature", &out, &size, &err), -EBADMSG);
        /* line breaks anywhere are fine, as in snapd */
        assert_int_equal(openpgp_v1_decode("AQ\nID\n", 6, "signature", &out, &size, &err), 0);
        assert_int_equal(size, 2);
        assert_int_equal(out[0], 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_vector_signature_and_key_parses),
                cmocka_unit_test(test_signature_reserializes_to_snapd_bytes),
                cmocka_unit_test(test_public_key_reserializes_to_snapd_bytes),
                cmocka_unit_test(test_old_format_header_accepted_as_snapd_does),
                cmocka_unit_test(test_partial_and_indeterminate_lengths_refused),
                cmocka_unit_test(test_trailing_data_refused),
                cmocka_unit_test(test_every_truncation_refused),
                cmocka_unit_test(test_built_good_signature_parses),
                cmocka_unit_test(test_other_versions_types_algorithms_hashes_refused),
                cmocka_unit_test(test_subpacket_rules),
                cmocka_unit_test(test_mpi_rules),
                cmocka_unit_test(test_key_bounds_at_limit_and_beyond),
                cmocka_unit_test(test_packet_size_limit),
                cmocka_unit_test(test_v1_text_rules),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
