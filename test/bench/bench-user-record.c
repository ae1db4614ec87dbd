/* SPDX-License-Identifier: MIT */
/* Ed25519 signing and verification of a realistic homed record (host file with binding, a password hash,
 * an SSH key, perMachine, group memberships), canonical text included in each operation. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "user-record.h"

#define MIN_SECONDS 0.5

static const char record_text[] =
        "{\"binding\":{\"3d1219c7c4c5404aaa1f6d2a48adfda4\":{\"gid\":60456,\"imagePath\":\"/home/"
        "alice.homedir\","
        "\"storage\":\"directory\",\"uid\":60456}},\"disposition\":\"regular\",\"emailAddress\":\"alice@"
        "example.com\","
        "\"enforcePasswordPolicy\":false,\"io.corehomed.brand\":\"acme\",\"io.corehomed.revision\":3,"
        "\"lastChangeUSec\":1795566788820503,\"lastPasswordChangeUSec\":1795566788820503,"
        "\"memberOf\":[\"sudo\",\"users\"],\"notAfterUSec\":1830000000000000,"
        "\"perMachine\":[{\"matchMachineId\":\"3d1219c7c4c5404aaa1f6d2a48adfda4\",\"storage\":\"directory\"}"
        "],"
        "\"privileged\":{\"hashedPassword\":[\"$6$abcdefgh$inPMhHO8UwwZzBO8USjLJOJA3/PeGJD7FztdVUdi2z/"
        "5iAzahth.yOj5zb3sW08asYKq.7qV.BPuZqWVNxmsT.\"],\"sshAuthorizedKeys\":[\"ssh-ed25519 "
        "AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEYDATA alice@example\"]},\"realName\":\"Alice M\xc3\xbcller\","
        "\"shell\":\"/bin/bash\",\"storage\":\"directory\",\"userName\":\"alice\"}";

static double now_seconds(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(void)
{
        _cleanup_json_ json_t *record = NULL, *signed_record = NULL;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
        EVP_PKEY *key = NULL;
        RecordError err = {};
        unsigned long n;
        double start, elapsed;

        if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &key) != 1)
                return 1;
        EVP_PKEY_CTX_free(ctx);
        if (user_record_load(record_text, strlen(record_text), &record, &err) < 0) {
                fprintf(stderr, "bench record refused: %s: %s\n", err.field, err.message);
                return 1;
        }

        start = now_seconds();
        for (n = 0; (elapsed = now_seconds() - start) < MIN_SECONDS; n++) {
                json_decref(signed_record);
                signed_record = NULL;
                if (user_record_sign(record, key, &signed_record) < 0)
                        return 1;
        }
        printf("user-record-sign: %.0f records/s\n", (double) n / elapsed);

        start = now_seconds();
        for (n = 0; (elapsed = now_seconds() - start) < MIN_SECONDS; n++) {
                UserRecordSignatureState s;

                if (user_record_verify(signed_record, key, &s) < 0 || s != USER_RECORD_SIGNED_EXCLUSIVE)
                        return 1;
        }
        printf("user-record-verify: %.0f records/s\n", (double) n / elapsed);

        EVP_PKEY_free(key);
        return 0;
}
