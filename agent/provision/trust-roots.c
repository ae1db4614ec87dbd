/* SPDX-License-Identifier: MIT */
#include "trust-roots.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion-store.h"
#include "macros.h"

void trust_roots_done(TrustRoots *r)
{
        for (size_t i = 0; i < r->n; i++)
                free(r->roots[i].account_id);
        free(r->roots);
        *r = (TrustRoots){};
}

static int add_root(const Assertion *a, bool trusted, void *userdata)
{
        TrustRoots *r = userdata;
        const char *id = assertion_header_string(a, "account-id");
        TrustRoot *roots;

        if (!trusted || !id)
                return 0;
        roots = reallocarray(r->roots, r->n + 1, sizeof(TrustRoot));
        if (!roots)
                return -ENOMEM;
        r->roots = roots;
        r->roots[r->n] = (TrustRoot){ .account_id = strdup(id) };
        if (!r->roots[r->n].account_id)
                return -ENOMEM;
        r->n++;
        return 0;
}

static int mark_chained(const Assertion *a, bool trusted, void *userdata)
{
        TrustRoots *r = userdata;
        const char *authority = assertion_header_string(a, "authority-id");

        if (trusted || !authority)
                return 0;
        for (size_t i = 0; i < r->n; i++)
                if (streq(r->roots[i].account_id, authority))
                        r->roots[i].chained = true;
        return 0;
}

int trust_roots_load(TrustDb *db, TrustRoots *ret)
{
        TrustRoots r = {};
        int k;

        k = trust_db_foreach(db, "account", NULL, add_root, &r);
        if (k >= 0)
                k = trust_db_foreach(db, NULL, NULL, mark_chained, &r);
        if (k < 0) {
                trust_roots_done(&r);
                return k;
        }
        *ret = r;
        return 0;
}

char *trust_roots_describe(const TrustRoots *r)
{
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        if (r->n == 0)
                return strdup("the trust directory " ASSERTION_STORE_TRUSTED_DIR
                              " holds no root: no assertion can be accepted until the brand's root account "
                              "and account-key are placed there");
        f = open_memstream(&text, &size);
        if (!f)
                return NULL;
        fputs("trusted here: ", f);
        for (size_t i = 0; i < r->n; i++)
                fprintf(f, "%s%s", i > 0 ? ", " : "", r->roots[i].account_id);
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

static int found_one(const Assertion *a, bool trusted, void *userdata)
{
        *(bool *) userdata = true;
        return 1;
}

int trust_roots_unknown_signer_hint(TrustDb *db, const TrustRoots *r, const Assertion *a, char **ret)
{
        _cleanup_free_ char *filter = NULL, *roots = NULL;
        const char *authority = assertion_header_string(a, "authority-id");
        bool known = false;
        int k;

        *ret = NULL;
        if (r->n > 0) {
                if (!authority)
                        return 0;
                for (size_t i = 0; i < r->n; i++)
                        if (streq(r->roots[i].account_id, authority))
                                return 0;
                if (asprintf(&filter, "account-id=%s", authority) < 0)
                        return -ENOMEM;
                k = trust_db_foreach(db, "account-key", (char *[]){ filter, NULL }, found_one, &known);
                if (k < 0)
                        return k;
                if (known)
                        return 0;
        }
        roots = trust_roots_describe(r);
        if (!roots)
                return -ENOMEM;
        if (r->n == 0) {
                *ret = TAKE_PTR(roots);
                return 0;
        }
        if (asprintf(ret,
                     "\"%s\" is not a trusted root here and no stored account-key of it is known (%s, in "
                     "%s)",
                     authority, roots, ASSERTION_STORE_TRUSTED_DIR) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}
