/* SPDX-License-Identifier: MIT */
#include "account.h"

#include <errno.h>
#include <string.h>

#include "macros.h"

#define ACCOUNT_FORMAT_MAX 0

Account *account_free(Account *acc)
{
        if (!acc)
                return NULL;
        free(acc->account_id);
        free(acc->display_name);
        free(acc->username);
        free(acc->validation);
        free(acc->authority_id);
        free(acc->sign_key);
        free(acc);
        return NULL;
}

static int account_check(const Assertion *a, Account *acc, AssertionError *err)
{
        int r;

        r = assertion_field_check_format(a, acc->format, ACCOUNT_FORMAT_MAX, err);
        if (r < 0)
                return r;
        r = assertion_field_primary_key(a, "account-id", &acc->account_id, err);
        if (r < 0)
                return r;
        r = assertion_field_string(a, "display-name", &acc->display_name, err);
        if (r < 0)
                return r;
        r = assertion_field_string(a, "validation", &acc->validation, err);
        if (r < 0)
                return r;
        /* The hard-coded root accounts predate the word "verified" and say "certified" (snapd maps it). */
        if (streq(acc->validation, "certified")) {
                char *v = strdup("verified");
                if (!v)
                        return -ENOMEM;
                free(acc->validation);
                acc->validation = v;
        }
        r = assertion_field_date(a, "timestamp", &acc->timestamp, NULL, err);
        if (r < 0)
                return r;
        return assertion_field_optional_string(a, "username", &acc->username, err);
}

int account_from_assertion(const Assertion *a, Account **ret, AssertionError *err)
{
        _cleanup_(account_freep) Account *acc = NULL;
        int r;

        acc = calloc(1, sizeof(Account));
        if (!acc)
                return -ENOMEM;
        r = assertion_field_common(a, "account", &acc->authority_id, &acc->sign_key, &acc->revision,
                                   &acc->format, err);
        if (r < 0)
                return r;
        r = account_check(a, acc, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(acc);
        return 0;
}
