/* SPDX-License-Identifier: MIT */
#include "account-key.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"
#include "public-key.h"

/* snapd's format 1 adds "constraints" that narrow what a key may sign. Accepting it while ignoring them
 * would let a constrained key sign anything, so only format 0 is taken until constraints are enforced. */
#define ACCOUNT_KEY_FORMAT_MAX 0

AccountKey *account_key_free(AccountKey *k)
{
        if (!k)
                return NULL;
        free(k->account_id);
        free(k->name);
        free(k->public_key_sha3_384);
        free(k->public_key);
        free(k->authority_id);
        free(k->sign_key);
        free(k);
        return NULL;
}

bool account_key_is_valid_at(const AccountKey *k, usec_t t)
{
        return t >= k->since && (k->until == USEC_INFINITY || t < k->until);
}

bool account_key_window_intersects(const AccountKey *k, usec_t earliest, usec_t latest)
{
        if (latest != USEC_INFINITY && (latest < earliest || latest < k->since))
                return false;
        return k->until == USEC_INFINITY || earliest < k->until;
}

/* snapd's account-key name rule, ^(?:[a-z0-9]+-?)*[a-z](?:-?[a-z0-9])*$: lower-case letters, digits and
 * single inner dashes, with at least one letter. */
static bool account_key_name_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
                return false;
        if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
                return false;
        return strpbrk(s, "abcdefghijklmnopqrstuvwxyz") != NULL;
}

/* The body is the key in snapd's text form; the key id must be the key's own (snapd's PublicKey.ID()), or a
 * key could be filed, and trusted, under another key's id. */
static int account_key_check_public_key(const Assertion *a, AccountKey *k, AssertionError *err)
{
        _cleanup_public_key_ PublicKey *pk = NULL;
        AssertionError key_err = {};
        int r;

        if (!a->body || a->body_size == 0)
                return assertion_field_error(a, err, "cannot decode public key: no data");
        r = public_key_from_text((const char *) a->body, a->body_size, &pk, &key_err);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return assertion_field_error(a, err, "%s", key_err.message);
        r = assertion_field_string(a, "public-key-sha3-384", &k->public_key_sha3_384, err);
        if (r < 0)
                return r;
        if (!streq(k->public_key_sha3_384, pk->id))
                return assertion_field_error(a, err, "public key does not match provided key id");

        k->public_key = malloc(a->body_size);
        if (!k->public_key)
                return -ENOMEM;
        memcpy(k->public_key, a->body, a->body_size);
        k->public_key_size = a->body_size;
        return 0;
}

static int account_key_check(const Assertion *a, AccountKey *k, AssertionError *err)
{
        char q[ASSERTION_QUOTE_MAX];
        int r;

        r = assertion_field_check_format(a, k->format, ACCOUNT_KEY_FORMAT_MAX, err);
        if (r < 0)
                return r;
        /* Fail closed on a format-0 assertion that carries constraints anyway. */
        if (json_object_get(a->headers, "constraints"))
                return assertion_field_error(a, err, "\"constraints\" header is not supported");
        r = assertion_field_string(a, "account-id", &k->account_id, err);
        if (r < 0)
                return r;
        /* Optional in snapd until old assertions are backfilled, but well-formed when present. */
        if (json_object_get(a->headers, "name")) {
                r = assertion_field_string(a, "name", &k->name, err);
                if (r < 0)
                        return r;
                if (!account_key_name_is_valid(k->name))
                        return assertion_field_error(a, err,
                                                     "\"name\" header contains invalid characters: %s",
                                                     assertion_quote(k->name, q));
        }
        r = assertion_field_date(a, "since", &k->since, NULL, err);
        if (r < 0)
                return r;
        r = assertion_field_date_default(a, "until", USEC_INFINITY, &k->until, err);
        if (r < 0)
                return r;
        if (k->until != USEC_INFINITY && k->until < k->since)
                return assertion_field_error(a, err, "'until' time cannot be before 'since' time");
        return account_key_check_public_key(a, k, err);
}

int account_key_from_assertion(const Assertion *a, AccountKey **ret, AssertionError *err)
{
        _cleanup_(account_key_freep) AccountKey *k = NULL;
        int r;

        k = calloc(1, sizeof(AccountKey));
        if (!k)
                return -ENOMEM;
        r = assertion_field_common(a, "account-key", &k->authority_id, &k->sign_key, &k->revision,
                                   &k->format, err);
        if (r < 0)
                return r;
        r = account_key_check(a, k, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}
