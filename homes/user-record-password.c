/* SPDX-License-Identifier: MIT */
#include "user-record-password.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "macros.h"

static json_t *hashed_passwords(json_t *record)
{
        json_t *v = json_object_get(json_object_get(record, "privileged"), "hashedPassword");

        return json_is_array(v) && json_array_size(v) > 0 ? v : NULL;
}

int user_record_test_password(json_t *record, const char *password)
{
        _cleanup_free_ struct crypt_data *cd = NULL;
        json_t *hashes = hashed_passwords(record), *e;
        size_t i;
        int found = 0;

        if (!hashes)
                return -ENOKEY;
        if (!password || strlen(password) > USER_RECORD_PASSWORD_MAX)
                return 0;
        /* struct crypt_data is ~32 KiB: too large for a library's stack. */
        cd = calloc(1, sizeof(*cd));
        if (!cd)
                return -ENOMEM;
        json_array_foreach (hashes, i, e) {
                const char *hash = json_string_value(e), *out;

                if (!hash || hash[0] == '\0')
                        continue;
                /* crypt_rn(): libxcrypt's crypt_r() that answers NULL, not a "*0" string, for a hash it
                 * cannot parse (and that sanitizers do not intercept with glibc's idea of struct
                 * crypt_data). CRYPTO_memcmp: how far two strings agree must not show in the time taken. */
                out = crypt_rn(password, hash, cd, (int) sizeof(*cd));
                if (out && strlen(out) == strlen(hash) && CRYPTO_memcmp(out, hash, strlen(hash)) == 0) {
                        found = 1;
                        break;
                }
        }
        explicit_bzero(cd, sizeof(*cd));
        return found;
}

int user_record_find_password(json_t *record, char *const *passwords)
{
        for (size_t i = 0; passwords && passwords[i]; i++) {
                int r = user_record_test_password(record, passwords[i]);

                if (r != 0)
                        return r < 0 ? r : (int) i;
        }
        return hashed_passwords(record) ? -EKEYREJECTED : -ENOKEY;
}
