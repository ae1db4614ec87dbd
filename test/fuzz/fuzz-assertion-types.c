/* SPDX-License-Identifier: MIT */
/* Decodes a stream, then runs every typed view over every assertion, whatever its type: a view must refuse
 * (never crash on) an assertion of another type or with headers of unexpected shapes. */
#include <stddef.h>
#include <stdint.h>

#include "account-key.h"
#include "account.h"
#include "assertion.h"
#include "model.h"
#include "serial.h"
#include "system-user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_views(const Assertion *a)
{
        AssertionError err;
        SystemUser *u = NULL;
        Model *m = NULL;
        Account *acc = NULL;
        AccountKey *k = NULL;
        Serial *s = NULL;

        if (system_user_from_assertion(a, &u, &err) >= 0) {
                (void) system_user_is_valid_at(u, 0);
                system_user_free(u);
        }
        if (model_from_assertion(a, &m, &err) >= 0) {
                (void) model_system_user_authority_allows(m, "acme");
                model_free(m);
        }
        if (account_from_assertion(a, &acc, &err) >= 0)
                account_free(acc);
        if (account_key_from_assertion(a, &k, &err) >= 0) {
                (void) account_key_is_valid_at(k, 0);
                (void) account_key_window_intersects(k, 0, USEC_INFINITY);
                account_key_free(k);
        }
        if (serial_from_assertion(a, &s, &err) >= 0)
                serial_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        AssertionList *l = NULL;
        AssertionError err;

        if (size > 256 * 1024)
                return 0;
        if (assertion_stream_decode(data, size, &l, &err) < 0)
                return 0;
        for (size_t i = 0; i < l->n; i++)
                run_views(l->items[i]);
        assertion_list_free(l);
        return 0;
}
