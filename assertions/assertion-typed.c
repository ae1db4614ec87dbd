/* SPDX-License-Identifier: MIT */
#include "assertion-typed.h"

#include <string.h>

#include "account-key.h"
#include "account.h"
#include "macros.h"
#include "model.h"
#include "public-key.h"
#include "serial.h"
#include "system-user.h"

int assertion_check_typed(const Assertion *a, AssertionError *err)
{
        if (streq(a->type, "account")) {
                _cleanup_account_ Account *acc = NULL;
                return account_from_assertion(a, &acc, err);
        }
        if (streq(a->type, "account-key")) {
                _cleanup_account_key_ AccountKey *k = NULL;
                _cleanup_public_key_ PublicKey *pk = NULL;
                int r = account_key_from_assertion(a, &k, err);
                return r < 0 ? r : public_key_from_assertion(a, &pk, err);
        }
        if (streq(a->type, "account-key-request")) {
                _cleanup_public_key_ PublicKey *pk = NULL;
                return public_key_from_assertion(a, &pk, err);
        }
        if (streq(a->type, "model")) {
                _cleanup_model_ Model *m = NULL;
                return model_from_assertion(a, &m, err);
        }
        if (streq(a->type, "serial")) {
                _cleanup_serial_ Serial *s = NULL;
                return serial_from_assertion(a, &s, err);
        }
        if (streq(a->type, "system-user")) {
                _cleanup_system_user_ SystemUser *u = NULL;
                return system_user_from_assertion(a, &u, err);
        }
        return 0;
}
