/* SPDX-License-Identifier: MIT */
/* Fuzzes the OpenPGP layer on untrusted input: the v1 text decoder, the signature and public-key packet
 * parsers, the snapd re-serialization, and a full verification against a fixed key. The first byte selects
 * what the rest is fed to, so one corpus covers all of them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openpgp-packet.h"
#include "public-key.h"
#include "signature-verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void packets(const uint8_t *data, size_t size)
{
        _cleanup_public_key_ PublicKey *key = NULL;
        OpenPGPSignature sig;
        OpenPGPPublicKey pk;
        AssertionError err;

        if (openpgp_signature_parse(data, size, &sig, &err) == 0) {
                _cleanup_free_ uint8_t *out = NULL;
                OpenPGPSignature again;
                size_t out_size;

                /* what we re-serialize must parse again to the same signature */
                if (openpgp_signature_serialize(&sig, &out, &out_size) == 0) {
                        if (openpgp_signature_parse(out, out_size, &again, NULL) != 0 ||
                            again.creation_time != sig.creation_time || again.mpi_size != sig.mpi_size ||
                            again.hashed_size != sig.hashed_size)
                                abort();
                }
        }
        if (openpgp_public_key_parse(data, size, &pk, &err) == 0) {
                _cleanup_free_ uint8_t *out = NULL;
                OpenPGPPublicKey again;
                size_t out_size;

                if (openpgp_public_key_serialize(&pk, OPENPGP_SNAPD_KEY_TIME, &out, &out_size) != 0 ||
                    openpgp_public_key_parse(out, out_size, &again, NULL) != 0 || again.bits != pk.bits)
                        abort();
        }
        (void) public_key_from_packet(data, size, &key, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1 || size > 64 * 1024)
                return 0;

        switch (data[0] % 3) {
        case 0:
                packets(data + 1, size - 1);
                break;
        case 1: {
                /* v1 text: a signature block or an account-key body */
                _cleanup_free_ uint8_t *packet = NULL;
                _cleanup_public_key_ PublicKey *key = NULL;
                size_t packet_size;

                if (openpgp_v1_decode((const char *) data + 1, size - 1, "signature", &packet, &packet_size,
                                      NULL) == 0)
                        packets(packet, packet_size);
                (void) public_key_from_text((const char *) data + 1, size - 1, &key, NULL);
                break;
        }
        case 2: {
                /* content NUL signature-text NUL key-text: a full verification */
                const char *content = (const char *) data + 1, *end = (const char *) data + size;
                const char *sig = memchr(content, 0, (size_t) (end - content)), *key_text;
                _cleanup_public_key_ PublicKey *key = NULL;

                if (!sig++)
                        break;
                key_text = memchr(sig, 0, (size_t) (end - sig));
                if (!key_text++)
                        break;
                if (public_key_from_text(key_text, (size_t) (end - key_text), &key, NULL) == 0)
                        (void) signature_verify(key, content, (size_t) (sig - 1 - content), sig,
                                                (size_t) (key_text - 1 - sig), NULL);
                break;
        }
        }
        return 0;
}
