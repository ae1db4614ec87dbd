/* SPDX-License-Identifier: MIT */
#pragma once

/* GnuPG as an independent verifier, for tests and the benchmark: a temporary GNUPGHOME that accepts a bare
 * public-key packet with a synthetic user ID (allow-non-selfsigned-uid), and detached verification through
 * gpgme. Header-only: each program includes it once. */

#include <gpgme.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "openpgp-packet.h"

typedef struct GpgHome {
        char path[64];
        gpgme_ctx_t ctx;
} GpgHome;

static inline int gpg_home_open(GpgHome *h)
{
        _cleanup_free_ char *conf = NULL;
        FILE *f;

        strcpy(h->path, "/tmp/corehomed-gpgme-XXXXXX");
        if (!mkdtemp(h->path) || asprintf(&conf, "%s/gpg.conf", h->path) < 0)
                return -1;
        f = fopen(conf, "we");
        if (!f)
                return -1;
        fputs("allow-non-selfsigned-uid\nno-auto-check-trustdb\ntrust-model always\n", f);
        fclose(f);
        gpgme_check_version(NULL);
        if (gpgme_new(&h->ctx) || gpgme_ctx_set_engine_info(h->ctx, GPGME_PROTOCOL_OpenPGP, NULL, h->path))
                return -1;
        return 0;
}

/* Stops the agent gpg may have started for the home, then removes it. */
static inline void gpg_home_close(GpgHome *h)
{
        _cleanup_free_ char *cmd = NULL;

        if (h->ctx)
                gpgme_release(h->ctx);
        h->ctx = NULL;
        if (asprintf(&cmd, "gpgconf --homedir '%s' --kill all >/dev/null 2>&1; rm -rf '%s'", h->path,
                     h->path) > 0)
                (void) !system(cmd);
}

static inline int hex_nibble(char c)
{
        return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c - 'a' + 10;
}

/* Imports one public-key packet with a synthetic user ID; returns GnuPG's 8-byte key id of it. */
static inline int gpg_key_import(GpgHome *h, const uint8_t *packet, size_t size, uint8_t ret_keyid[8])
{
        static const char uid[] = "corehomed test key (synthetic user ID)";
        _cleanup_free_ uint8_t *block = malloc(size + 2 + sizeof(uid));
        gpgme_import_result_t result;
        gpgme_data_t in;
        const char *fpr;

        if (!block)
                return -1;
        memcpy(block, packet, size);
        block[size] = 0xc0 | 13; /* user ID packet, new format */
        block[size + 1] = sizeof(uid) - 1;
        memcpy(block + size + 2, uid, sizeof(uid) - 1);
        if (gpgme_data_new_from_mem(&in, (const char *) block, size + 2 + sizeof(uid) - 1, 1))
                return -1;
        gpgme_error_t e = gpgme_op_import(h->ctx, in);
        gpgme_data_release(in);
        result = e ? NULL : gpgme_op_import_result(h->ctx);
        if (!result || !result->imports || result->imports->result || !result->imports->fpr ||
            strlen(result->imports->fpr) != 40)
                return -1;
        fpr = result->imports->fpr;
        for (size_t b = 0; b < 8; b++)
                ret_keyid[b] = (uint8_t) (hex_nibble(fpr[24 + 2 * b]) << 4 | hex_nibble(fpr[25 + 2 * b]));
        return 0;
}

/* GnuPG finds the key by the issuer subpacket; snapd's Go signer writes none. The unhashed area is not
 * covered by the signature, so putting one there changes no verdict. */
static inline int gpg_signature_with_issuer(const char *text, size_t size, const uint8_t keyid[8],
                                            uint8_t **ret, size_t *ret_size)
{
        _cleanup_free_ uint8_t *packet = NULL;
        uint8_t unhashed[10] = { 9, OPENPGP_SUBPACKET_ISSUER };
        OpenPGPSignature sig;
        size_t packet_size;
        int r;

        r = openpgp_v1_decode(text, size, "signature", &packet, &packet_size, NULL);
        if (r < 0)
                return r;
        r = openpgp_signature_parse(packet, packet_size, &sig, NULL);
        if (r < 0)
                return r;
        memcpy(unhashed + 2, keyid, 8);
        sig.unhashed = unhashed;
        sig.unhashed_size = sizeof(unhashed);
        return openpgp_signature_serialize(&sig, ret, ret_size);
}

/* 1 good, 0 bad or refused, -1 when GnuPG did not find the key (a comparison would be meaningless). */
static inline int gpg_verify(GpgHome *h, const char *content, size_t content_size, const uint8_t *sig,
                             size_t sig_size)
{
        gpgme_verify_result_t result;
        gpgme_data_t s, c;
        gpgme_error_t e;

        if (gpgme_data_new_from_mem(&s, (const char *) sig, sig_size, 1))
                return -1;
        if (gpgme_data_new_from_mem(&c, content, content_size, 1)) {
                gpgme_data_release(s);
                return -1;
        }
        e = gpgme_op_verify(h->ctx, s, c, NULL);
        gpgme_data_release(s);
        gpgme_data_release(c);
        if (e)
                return 0; /* GnuPG refused the packet outright */
        result = gpgme_op_verify_result(h->ctx);
        if (!result || !result->signatures)
                return 0;
        if (gpgme_err_code(result->signatures->status) == GPG_ERR_NO_PUBKEY)
                return -1;
        return gpgme_err_code(result->signatures->status) == GPG_ERR_NO_ERROR;
}
