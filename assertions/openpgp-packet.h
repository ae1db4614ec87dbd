/* SPDX-License-Identifier: MIT */
#pragma once

/* The narrow OpenPGP (RFC 4880) subset that Ubuntu Core assertions use, parsed strictly.
 *
 * On the wire (assertion signature block, account-key body) a packet travels as snapd's "v1" text:
 * base64 (standard alphabet, padded, lines of at most 76 characters) of 0x01 || one OpenPGP packet.
 *
 * Accepted, and nothing else:
 *  - a v4 signature packet (tag 2): signature type 0x00 (binary document), public-key algorithm RSA (1),
 *    hash SHA-512 (10); the hashed area holds exactly one 4-byte creation time subpacket and optionally an
 *    issuer (16) and an issuer fingerprint (33); the unhashed area optionally an issuer; then the 16-bit
 * hash tag and one MPI, and not a byte more;
 *  - a v4 public-key packet (tag 6): algorithm RSA (1), MPIs n and e and not a byte more.
 * Packet headers may be old-format or new-format with a definite length (both are what snapd's Go OpenPGP
 * reader accepts); partial and indeterminate lengths, which no signer of assertions writes, are refused.
 * snapd is laxer in places (any hash Go knows, RSA sign-only keys, junk after the MPI inside a packet,
 * unknown non-critical subpackets); each of those is a shape no real signer of assertions produces and
 * accepting it would only widen what an attacker can feed the parser. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assertion.h"

/* The version byte snapd puts in front of every encoded key and signature. */
#define OPENPGP_V1_FORMAT 0x01

#define OPENPGP_TAG_SIGNATURE  2
#define OPENPGP_TAG_PUBLIC_KEY 6

#define OPENPGP_ALGO_RSA        1
#define OPENPGP_HASH_SHA512     10
#define OPENPGP_SIG_TYPE_BINARY 0x00

#define OPENPGP_SUBPACKET_CREATION_TIME      2
#define OPENPGP_SUBPACKET_ISSUER             16
#define OPENPGP_SUBPACKET_ISSUER_FINGERPRINT 33
#define OPENPGP_SUBPACKET_CRITICAL           0x80

/* Bounds on untrusted packets. RSA below 2048 bits is forgeable in practice; above 16384 bits a single
 * verification becomes a denial-of-service lever. */
#define OPENPGP_RSA_BITS_MIN    2048
#define OPENPGP_RSA_BITS_MAX    16384
#define OPENPGP_RSA_E_BYTES_MAX 3 /* as snapd's Go reader: larger public exponents are refused */
#define OPENPGP_PACKET_MAX      (16 * 1024)

/* A parsed v4 signature packet. The pointers borrow from the buffer that was parsed. */
typedef struct OpenPGPSignature {
        uint8_t sig_type;
        uint8_t pubkey_algo;
        uint8_t hash_algo;
        uint32_t creation_time; /* seconds since the epoch, from the hashed area */
        bool has_issuer;
        uint8_t issuer[8];     /* from an issuer subpacket, in either area */
        const uint8_t *hashed; /* version byte through the end of the hashed subpackets: what the
                                * signature covers after the content (RFC 4880 5.2.4) */
        size_t hashed_size;
        const uint8_t *unhashed; /* the unhashed subpacket area, without its length */
        size_t unhashed_size;
        uint8_t hash_tag[2];
        const uint8_t *mpi; /* the signature value, leading zero bytes removed */
        size_t mpi_size;
        uint16_t mpi_bits; /* as declared in the packet */
} OpenPGPSignature;

/* A parsed v4 RSA public-key packet. The pointers borrow from the buffer that was parsed. */
typedef struct OpenPGPPublicKey {
        uint32_t creation_time;
        const uint8_t *n; /* modulus, leading zero bytes removed */
        size_t n_size;
        const uint8_t *e; /* public exponent, leading zero bytes removed */
        size_t e_size;
        unsigned bits; /* of n */
} OpenPGPPublicKey;

/* Decodes snapd's v1 text (base64 with line breaks of 0x01 || packet) into the packet bytes.
 * what names the thing for messages ("signature", "public key"). -EBADMSG with err filled on failure. */
int openpgp_v1_decode(const char *text, size_t length, const char *what, uint8_t **ret, size_t *ret_size,
                      AssertionError *err);

/* Encodes 0x01 || packet as snapd writes it: base64 in lines of 76 characters, no final newline. */
int openpgp_v1_encode(const uint8_t *packet, size_t size, char **ret);

/* Reads the packet header at data: its tag, and where its body lies. *ret_total is header + body, so a
 * stream of packets (a key export) can be walked. Refuses partial and indeterminate lengths. */
int openpgp_packet_header(const uint8_t *data, size_t size, uint8_t *ret_tag, const uint8_t **ret_body,
                          size_t *ret_body_size, size_t *ret_total, AssertionError *err);

/* Parses data, which must be exactly one signature packet, into ret. -EBADMSG with the reason. */
int openpgp_signature_parse(const uint8_t *data, size_t size, OpenPGPSignature *ret, AssertionError *err);

/* Serializes sig as snapd stores a signature it obtained from GnuPG (Go's packet.Signature.Serialize): a
 * new-format header, the hashed part verbatim, the unhashed subpackets re-encoded with minimal lengths. */
int openpgp_signature_serialize(const OpenPGPSignature *sig, uint8_t **ret, size_t *ret_size);

/* Parses data, which must be exactly one public-key packet, into ret. -EBADMSG with the reason. */
int openpgp_public_key_parse(const uint8_t *data, size_t size, OpenPGPPublicKey *ret, AssertionError *err);

/* Serializes an RSA public key as a v4 public-key packet with a new-format header and minimal MPIs, the form
 * snapd hashes for a key id (always with creation time OPENPGP_SNAPD_KEY_TIME, whatever the input said). */
#define OPENPGP_SNAPD_KEY_TIME 1451606400U /* 2016-01-01T00:00:00Z */
int openpgp_public_key_serialize(const OpenPGPPublicKey *key, uint32_t creation_time, uint8_t **ret,
                                 size_t *ret_size);
