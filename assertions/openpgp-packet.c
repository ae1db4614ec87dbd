/* SPDX-License-Identifier: MIT */
#include "openpgp-packet.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "macros.h"

#define V1_LINE_LENGTH 76

static int fail(AssertionError *err, const char *what, const char *format, ...) _printf_(3, 4);
static int fail(AssertionError *err, const char *what, const char *format, ...)
{
        va_list ap;
        int n;

        if (!err)
                return -EBADMSG;
        err->line = 0;
        n = snprintf(err->message, sizeof(err->message), "%s: ", what);
        if (n < 0 || (size_t) n >= sizeof(err->message))
                return -EBADMSG;
        va_start(ap, format);
        (void) vsnprintf(err->message + n, sizeof(err->message) - (size_t) n, format, ap);
        va_end(ap);
        return -EBADMSG;
}

static uint32_t read_be32(const uint8_t *p)
{
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static unsigned bits_of(const uint8_t *p, size_t size)
{
        unsigned top = 0;

        if (size == 0)
                return 0;
        for (uint8_t b = p[0]; b; b >>= 1)
                top++;
        return (unsigned) (size - 1) * 8 + top;
}

int openpgp_v1_decode(const char *text, size_t length, const char *what, uint8_t **ret, size_t *ret_size,
                      AssertionError *err)
{
        _cleanup_free_ char *flat = NULL;
        _cleanup_free_ uint8_t *raw = NULL;
        _cleanup_free_ uint8_t *packet = NULL;
        size_t n = 0, raw_size;
        int r;

        if (length == 0)
                return fail(err, what, "no data");
        /* 4/3 base64 expansion plus line breaks: anything longer cannot hold a packet we accept, and
         * refusing it here bounds the work before decoding. */
        if (length > (OPENPGP_PACKET_MAX + 1) / 3 * 4 * 2 + 8)
                return fail(err, what, "longer than %d bytes of packet", OPENPGP_PACKET_MAX);

        /* snapd's Go decoder skips line breaks; every other byte must be base64, so two different texts
         * never decode to the same packet except by where the lines are broken. */
        flat = malloc(length + 1);
        if (!flat)
                return -ENOMEM;
        for (size_t i = 0; i < length; i++)
                if (text[i] != '\n')
                        flat[n++] = text[i];
        flat[n] = '\0';

        r = base64_decode(flat, n, &raw, &raw_size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(err, what, "not valid base64");
        if (raw_size == 0)
                return fail(err, what, "base64 without data");
        if (raw[0] != OPENPGP_V1_FORMAT)
                return fail(err, what, "unsupported format version %u (expected %u)", raw[0],
                            OPENPGP_V1_FORMAT);
        if (raw_size - 1 > OPENPGP_PACKET_MAX)
                return fail(err, what, "packet larger than %d bytes", OPENPGP_PACKET_MAX);

        packet = malloc(raw_size - 1 > 0 ? raw_size - 1 : 1);
        if (!packet)
                return -ENOMEM;
        memcpy(packet, raw + 1, raw_size - 1);
        *ret = TAKE_PTR(packet);
        *ret_size = raw_size - 1;
        return 0;
}

int openpgp_v1_encode(const uint8_t *packet, size_t size, char **ret)
{
        _cleanup_free_ uint8_t *raw = NULL;
        _cleanup_free_ char *flat = NULL;
        char *out, *p;
        size_t flat_size;
        int r;

        if (size > OPENPGP_PACKET_MAX)
                return -E2BIG;
        raw = malloc(size + 1);
        if (!raw)
                return -ENOMEM;
        raw[0] = OPENPGP_V1_FORMAT;
        memcpy(raw + 1, packet, size);
        r = base64_encode(raw, size + 1, &flat);
        if (r < 0)
                return r;

        flat_size = strlen(flat);
        out = malloc(flat_size + flat_size / V1_LINE_LENGTH + 1);
        if (!out)
                return -ENOMEM;
        p = out;
        for (size_t off = 0; off < flat_size; off += V1_LINE_LENGTH) {
                size_t l = flat_size - off < V1_LINE_LENGTH ? flat_size - off : V1_LINE_LENGTH;
                if (off > 0)
                        *p++ = '\n';
                memcpy(p, flat + off, l);
                p += l;
        }
        *p = '\0';
        *ret = out;
        return 0;
}

int openpgp_packet_header(const uint8_t *data, size_t size, uint8_t *ret_tag, const uint8_t **ret_body,
                          size_t *ret_body_size, size_t *ret_total, AssertionError *err)
{
        size_t header, length;
        uint8_t tag;

        if (size < 2)
                return fail(err, "packet", "truncated header");
        if (!(data[0] & 0x80))
                return fail(err, "packet", "tag byte 0x%02x is not an OpenPGP packet tag", data[0]);

        if (data[0] & 0x40) {
                /* New format (RFC 4880 4.2.2). */
                tag = data[0] & 0x3f;
                if (data[1] < 192) {
                        length = data[1];
                        header = 2;
                } else if (data[1] < 224) {
                        if (size < 3)
                                return fail(err, "packet", "truncated header");
                        length = ((size_t) (data[1] - 192) << 8) + data[2] + 192;
                        header = 3;
                } else if (data[1] == 255) {
                        if (size < 6)
                                return fail(err, "packet", "truncated header");
                        length = read_be32(data + 2);
                        header = 6;
                } else
                        /* Only literal/compressed/encrypted data may be streamed in parts; a key or
                         * signature in parts is a shape meant to confuse parsers. */
                        return fail(err, "packet", "partial body length is not allowed here");
        } else {
                /* Old format (RFC 4880 4.2.1). */
                static const size_t length_bytes[] = { 1, 2, 4 };
                unsigned type = data[0] & 3;

                tag = (data[0] >> 2) & 0x0f;
                if (type == 3)
                        return fail(err, "packet", "indeterminate length is not allowed here");
                header = 1 + length_bytes[type];
                if (size < header)
                        return fail(err, "packet", "truncated header");
                length = 0;
                for (size_t i = 1; i < header; i++)
                        length = length << 8 | data[i];
        }

        if (length > size - header)
                return fail(err, "packet", "truncated: header says %zu bytes, %zu present", length,
                            size - header);
        *ret_tag = tag;
        *ret_body = data + header;
        *ret_body_size = length;
        *ret_total = header + length;
        return 0;
}

/* Takes exactly one packet of the expected tag from data; the caller's "no trailing data" rule lives here
 * so nothing can be smuggled after the packet snapd would have read. */
static int packet_single(const uint8_t *data, size_t size, uint8_t expected_tag, const char *what,
                         const uint8_t **ret_body, size_t *ret_body_size, AssertionError *err)
{
        const uint8_t *body;
        size_t body_size, total;
        uint8_t tag;
        int r;

        if (size == 0)
                return fail(err, what, "no data");
        if (size > OPENPGP_PACKET_MAX)
                return fail(err, what, "packet larger than %d bytes", OPENPGP_PACKET_MAX);
        r = openpgp_packet_header(data, size, &tag, &body, &body_size, &total, err);
        if (r < 0) {
                if (err) {
                        char m[sizeof(err->message)];
                        memcpy(m, err->message, sizeof(m));
                        return fail(err, what, "%s", m);
                }
                return r;
        }
        if (tag != expected_tag)
                return fail(err, what, "expected an OpenPGP packet of tag %u, got tag %u", expected_tag,
                            tag);
        if (total != size)
                return fail(err, what, "spurious trailing data after the packet (%zu bytes)", size - total);
        *ret_body = body;
        *ret_body_size = body_size;
        return 0;
}

/* An MPI (RFC 4880 3.2): 2-byte bit count, then the bytes. Leading zero bytes are tolerated, as snapd's
 * reader does (Go's own signer writes them) and stripped from the result. */
static int mpi_read(const uint8_t **p, size_t *left, const char *what, const char *name, const uint8_t **ret,
                    size_t *ret_size, uint16_t *ret_bits, AssertionError *err)
{
        uint16_t bits;
        size_t bytes;
        const uint8_t *v;

        if (*left < 2)
                return fail(err, what, "truncated %s", name);
        bits = (uint16_t) ((*p)[0] << 8 | (*p)[1]);
        bytes = ((size_t) bits + 7) / 8;
        if (*left - 2 < bytes)
                return fail(err, what, "truncated %s: %u bits declared, %zu bytes present", name, bits,
                            *left - 2);
        v = *p + 2;
        *p += 2 + bytes;
        *left -= 2 + bytes;
        while (bytes > 0 && v[0] == 0) {
                v++;
                bytes--;
        }
        if (bytes == 0)
                return fail(err, what, "%s is zero", name);
        *ret = v;
        *ret_size = bytes;
        if (ret_bits)
                *ret_bits = bits;
        return 0;
}

static int subpacket_length(const uint8_t *p, size_t left, size_t *ret_length, size_t *ret_header)
{
        if (p[0] < 192) {
                *ret_length = p[0];
                *ret_header = 1;
        } else if (p[0] < 255) {
                if (left < 2)
                        return -EBADMSG;
                *ret_length = ((size_t) (p[0] - 192) << 8) + p[1] + 192;
                *ret_header = 2;
        } else {
                if (left < 5)
                        return -EBADMSG;
                *ret_length = read_be32(p + 1);
                *ret_header = 5;
        }
        return 0;
}

static int subpackets_parse(const uint8_t *area, size_t size, bool hashed, OpenPGPSignature *sig,
                            bool *seen_creation_time, AssertionError *err)
{
        const char *where = hashed ? "hashed" : "unhashed";

        while (size > 0) {
                size_t length, header;
                uint8_t type;
                bool critical;
                const uint8_t *v;

                if (subpacket_length(area, size, &length, &header) < 0 || length > size - header)
                        return fail(err, "signature", "truncated %s subpacket", where);
                if (length == 0)
                        return fail(err, "signature", "zero-length %s subpacket", where);
                type = area[header] & 0x7f;
                critical = area[header] & OPENPGP_SUBPACKET_CRITICAL;
                v = area + header + 1;
                length -= 1;

                switch (type) {
                case OPENPGP_SUBPACKET_CREATION_TIME:
                        /* Outside the hashed area the time would not be covered by the signature. */
                        if (!hashed)
                                return fail(err, "signature", "creation time in the unhashed area");
                        if (length != 4)
                                return fail(err, "signature", "creation time subpacket of %zu bytes, not 4",
                                            length);
                        if (*seen_creation_time)
                                return fail(err, "signature", "more than one creation time subpacket");
                        sig->creation_time = read_be32(v);
                        *seen_creation_time = true;
                        break;
                case OPENPGP_SUBPACKET_ISSUER:
                        if (length != 8)
                                return fail(err, "signature", "issuer subpacket of %zu bytes, not 8",
                                            length);
                        if (sig->has_issuer)
                                return fail(err, "signature", "more than one issuer subpacket");
                        memcpy(sig->issuer, v, 8);
                        sig->has_issuer = true;
                        break;
                case OPENPGP_SUBPACKET_ISSUER_FINGERPRINT:
                        /* GnuPG 2.2 writes it for v4 keys: version 4 and the 20-byte fingerprint. */
                        if (length != 21 || v[0] != 4)
                                return fail(err, "signature",
                                            "issuer fingerprint subpacket is not a v4 one");
                        break;
                default:
                        /* Expiry, notations, policy URLs...: each would be a rule snapd ignores or a
                         * critical bit it refuses; an assertion signature needs none of them. */
                        return fail(err, "signature",
                                    "%ssubpacket type %u is not allowed in an assertion signature",
                                    critical ? "critical " : "", type);
                }
                area += header + 1 + length;
                size -= header + 1 + length;
        }
        return 0;
}

int openpgp_signature_parse(const uint8_t *data, size_t size, OpenPGPSignature *ret, AssertionError *err)
{
        OpenPGPSignature sig = {};
        const uint8_t *body, *p;
        size_t body_size, left, hashed_size, unhashed_size;
        bool seen_creation_time = false;
        int r;

        r = packet_single(data, size, OPENPGP_TAG_SIGNATURE, "signature", &body, &body_size, err);
        if (r < 0)
                return r;

        if (body_size < 6)
                return fail(err, "signature", "truncated packet");
        if (body[0] != 4)
                return fail(err, "signature", "unsupported signature packet version %u (only 4)", body[0]);
        sig.sig_type = body[1];
        sig.pubkey_algo = body[2];
        sig.hash_algo = body[3];
        if (sig.sig_type != OPENPGP_SIG_TYPE_BINARY)
                return fail(err, "signature",
                            "signature type 0x%02x is not a binary document signature (0x00)", sig.sig_type);
        if (sig.pubkey_algo != OPENPGP_ALGO_RSA)
                return fail(err, "signature", "unsupported public-key algorithm %u (only RSA, 1)",
                            sig.pubkey_algo);
        if (sig.hash_algo != OPENPGP_HASH_SHA512)
                return fail(err, "signature", "unsupported hash algorithm %u (only SHA-512, 10)",
                            sig.hash_algo);

        hashed_size = (size_t) body[4] << 8 | body[5];
        if (body_size - 6 < hashed_size)
                return fail(err, "signature", "truncated hashed subpackets");
        r = subpackets_parse(body + 6, hashed_size, true, &sig, &seen_creation_time, err);
        if (r < 0)
                return r;
        if (!seen_creation_time)
                return fail(err, "signature", "no creation time subpacket in the hashed area");
        sig.hashed = body;
        sig.hashed_size = 6 + hashed_size;

        p = body + sig.hashed_size;
        left = body_size - sig.hashed_size;
        if (left < 2)
                return fail(err, "signature", "truncated unhashed subpackets");
        unhashed_size = (size_t) p[0] << 8 | p[1];
        if (left - 2 < unhashed_size)
                return fail(err, "signature", "truncated unhashed subpackets");
        r = subpackets_parse(p + 2, unhashed_size, false, &sig, &seen_creation_time, err);
        if (r < 0)
                return r;
        sig.unhashed = p + 2;
        sig.unhashed_size = unhashed_size;
        p += 2 + unhashed_size;
        left -= 2 + unhashed_size;

        if (left < 2)
                return fail(err, "signature", "truncated hash tag");
        memcpy(sig.hash_tag, p, 2);
        p += 2;
        left -= 2;

        r = mpi_read(&p, &left, "signature", "RSA signature value", &sig.mpi, &sig.mpi_size, &sig.mpi_bits,
                     err);
        if (r < 0)
                return r;
        if (left != 0)
                return fail(err, "signature", "spurious trailing data inside the packet (%zu bytes)", left);
        if (bits_of(sig.mpi, sig.mpi_size) > OPENPGP_RSA_BITS_MAX)
                return fail(err, "signature", "RSA signature value longer than %d bits",
                            OPENPGP_RSA_BITS_MAX);

        *ret = sig;
        return 0;
}

static size_t new_header_size(size_t length)
{
        return length < 192 ? 2 : length < 8384 ? 3 : 6;
}

/* Go's serializeHeader: the same length thresholds, so our bytes equal snapd's. */
static uint8_t *new_header_write(uint8_t *p, uint8_t tag, size_t length)
{
        *p++ = 0xc0 | tag;
        if (length < 192)
                *p++ = (uint8_t) length;
        else if (length < 8384) {
                length -= 192;
                *p++ = (uint8_t) (192 + (length >> 8));
                *p++ = (uint8_t) length;
        } else {
                *p++ = 255;
                *p++ = (uint8_t) (length >> 24);
                *p++ = (uint8_t) (length >> 16);
                *p++ = (uint8_t) (length >> 8);
                *p++ = (uint8_t) length;
        }
        return p;
}

static size_t subpacket_length_size(size_t length)
{
        return length < 192 ? 1 : length < 16320 ? 2 : 5;
}

static uint8_t *subpacket_length_write(uint8_t *p, size_t length)
{
        if (length < 192)
                *p++ = (uint8_t) length;
        else if (length < 16320) {
                length -= 192;
                *p++ = (uint8_t) ((length >> 8) + 192);
                *p++ = (uint8_t) length;
        } else {
                *p++ = 255;
                *p++ = (uint8_t) (length >> 24);
                *p++ = (uint8_t) (length >> 16);
                *p++ = (uint8_t) (length >> 8);
                *p++ = (uint8_t) length;
        }
        return p;
}

/* Walks an unhashed area already validated by subpackets_parse(), re-encoding each subpacket as Go's
 * serializeSubpackets does (minimal length, type without the critical bit); out NULL only measures. */
static size_t unhashed_reencode(const uint8_t *area, size_t size, uint8_t *out)
{
        size_t total = 0;

        while (size > 0) {
                size_t length, header;

                if (subpacket_length(area, size, &length, &header) < 0 || length == 0 ||
                    length > size - header)
                        return total; /* not reached: validated by the parser */
                total += subpacket_length_size(length) + length;
                if (out) {
                        out = subpacket_length_write(out, length);
                        *out++ = area[header] & 0x7f;
                        memcpy(out, area + header + 1, length - 1);
                        out += length - 1;
                }
                area += header + length;
                size -= header + length;
        }
        return total;
}

int openpgp_signature_serialize(const OpenPGPSignature *sig, uint8_t **ret, size_t *ret_size)
{
        size_t unhashed = unhashed_reencode(sig->unhashed, sig->unhashed_size, NULL);
        size_t mpi_bytes = ((size_t) sig->mpi_bits + 7) / 8;
        size_t body, total;
        uint8_t *out, *p;

        if (unhashed > 0xffff || mpi_bytes < sig->mpi_size)
                return -EINVAL;
        body = sig->hashed_size + 2 + unhashed + 2 + 2 + mpi_bytes;
        total = new_header_size(body) + body;
        out = malloc(total);
        if (!out)
                return -ENOMEM;

        p = new_header_write(out, OPENPGP_TAG_SIGNATURE, body);
        memcpy(p, sig->hashed, sig->hashed_size);
        p += sig->hashed_size;
        *p++ = (uint8_t) (unhashed >> 8);
        *p++ = (uint8_t) unhashed;
        (void) unhashed_reencode(sig->unhashed, sig->unhashed_size, p);
        p += unhashed;
        memcpy(p, sig->hash_tag, 2);
        p += 2;
        *p++ = (uint8_t) (sig->mpi_bits >> 8);
        *p++ = (uint8_t) sig->mpi_bits;
        memset(p, 0, mpi_bytes - sig->mpi_size);
        memcpy(p + (mpi_bytes - sig->mpi_size), sig->mpi, sig->mpi_size);

        *ret = out;
        *ret_size = total;
        return 0;
}

int openpgp_public_key_parse(const uint8_t *data, size_t size, OpenPGPPublicKey *ret, AssertionError *err)
{
        OpenPGPPublicKey key = {};
        const uint8_t *body, *p;
        size_t body_size, left;
        int r;

        r = packet_single(data, size, OPENPGP_TAG_PUBLIC_KEY, "public key", &body, &body_size, err);
        if (r < 0)
                return r;
        if (body_size < 6)
                return fail(err, "public key", "truncated packet");
        if (body[0] != 4)
                return fail(err, "public key", "unsupported public key packet version %u (only 4)", body[0]);
        key.creation_time = read_be32(body + 1);
        if (body[5] != OPENPGP_ALGO_RSA)
                return fail(err, "public key", "unsupported public-key algorithm %u (only RSA, 1)", body[5]);

        p = body + 6;
        left = body_size - 6;
        r = mpi_read(&p, &left, "public key", "RSA modulus", &key.n, &key.n_size, NULL, err);
        if (r < 0)
                return r;
        r = mpi_read(&p, &left, "public key", "RSA exponent", &key.e, &key.e_size, NULL, err);
        if (r < 0)
                return r;
        if (left != 0)
                return fail(err, "public key", "spurious trailing data inside the packet (%zu bytes)", left);

        key.bits = bits_of(key.n, key.n_size);
        if (key.bits < OPENPGP_RSA_BITS_MIN || key.bits > OPENPGP_RSA_BITS_MAX)
                return fail(err, "public key", "RSA modulus of %u bits, outside %d..%d", key.bits,
                            OPENPGP_RSA_BITS_MIN, OPENPGP_RSA_BITS_MAX);
        if (!(key.n[key.n_size - 1] & 1))
                return fail(err, "public key", "RSA modulus is even");
        if (key.e_size > OPENPGP_RSA_E_BYTES_MAX)
                return fail(err, "public key", "RSA exponent larger than %d bytes", OPENPGP_RSA_E_BYTES_MAX);
        if (!(key.e[key.e_size - 1] & 1) || (key.e_size == 1 && key.e[0] < 3))
                return fail(err, "public key", "RSA exponent is not an odd number >= 3");

        *ret = key;
        return 0;
}

int openpgp_public_key_serialize(const OpenPGPPublicKey *key, uint32_t creation_time, uint8_t **ret,
                                 size_t *ret_size)
{
        size_t body = 6 + 2 + key->n_size + 2 + key->e_size;
        size_t total = new_header_size(body) + body;
        unsigned e_bits = bits_of(key->e, key->e_size);
        uint8_t *out, *p;

        out = malloc(total);
        if (!out)
                return -ENOMEM;
        p = new_header_write(out, OPENPGP_TAG_PUBLIC_KEY, body);
        *p++ = 4;
        *p++ = (uint8_t) (creation_time >> 24);
        *p++ = (uint8_t) (creation_time >> 16);
        *p++ = (uint8_t) (creation_time >> 8);
        *p++ = (uint8_t) creation_time;
        *p++ = OPENPGP_ALGO_RSA;
        *p++ = (uint8_t) (key->bits >> 8);
        *p++ = (uint8_t) key->bits;
        memcpy(p, key->n, key->n_size);
        p += key->n_size;
        *p++ = (uint8_t) (e_bits >> 8);
        *p++ = (uint8_t) e_bits;
        memcpy(p, key->e, key->e_size);

        *ret = out;
        *ret_size = total;
        return 0;
}
