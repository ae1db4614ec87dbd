/* SPDX-License-Identifier: MIT */
#include "import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "string-util.h"
#include "trust-roots.h"

/* Why a medium brings no users although its assertions went in, or NULL when it may. */
static const char *media_users_refused(Provisioner *p)
{
        switch (p->config->media.create_users) {
        case CONFIG_CREATE_USERS_NEVER:
                return "users are not created from media (media.create-users: never)";
        case CONFIG_CREATE_USERS_UNMANAGED_ONLY:
                if (provision_device_is_managed(p) > 0)
                        return "this device already has users; none created (media.create-users: "
                               "unmanaged-only)";
                return NULL;
        case CONFIG_CREATE_USERS_ALWAYS:
                break;
        }
        return NULL;
}

/* The batch's own system-users, in batch order, but only those the store holds now: one that snapd's rule
 * skipped (another with its key and revision is kept, docs/trust.md) is not a grant of this device. Its
 * AssertionResult says so; the one kept applies when it is of this batch. */
static int batch_grants(const AssertionBatch *b, const TrustReport *trust, const Assertion ***ret,
                        size_t *ret_n)
{
        const Assertion **grants = calloc(b->list.n + 1, sizeof(Assertion *));
        size_t n = 0;

        if (!grants)
                return -ENOMEM;
        for (size_t i = 0; i < b->list.n; i++)
                if (streq(b->list.items[i]->type, "system-user") &&
                    trust->verdicts[i].kind != TRUST_VERDICT_SKIPPED)
                        grants[n++] = b->list.items[i];
        *ret = grants;
        *ret_n = n;
        return 0;
}

/* Whether the batch itself brings an account-key of a's authority: its own verdict then says what is wrong
 * with the chain, and a's refusal need not repeat it. */
static bool batch_has_key_of(const TrustReport *trust, const Assertion *a)
{
        const char *authority = assertion_header_string(a, "authority-id");

        for (size_t i = 0; authority && i < trust->n; i++) {
                const Assertion *o = trust->verdicts[i].assertion;
                if (streq(o->type, "account-key") &&
                    streq(strempty(assertion_header_string(o, "account-id")), authority))
                        return true;
        }
        return false;
}

int provision_report_explain_unknown_signers(ProvisionReport *report, size_t first, TrustDb *db,
                                             const TrustReport *trust)
{
        _cleanup_(trust_roots_done) TrustRoots roots = {};
        bool loaded = false;
        int r;

        for (size_t i = 0; i < trust->n && first + i < report->n_assertions; i++) {
                const TrustVerdict *v = &trust->verdicts[i];
                AssertionResult *e = &report->assertions[first + i];
                _cleanup_free_ char *hint = NULL;
                char *reason;

                if (v->kind != TRUST_VERDICT_REFUSED || v->error != -ENOKEY ||
                    batch_has_key_of(trust, v->assertion))
                        continue;
                if (!loaded) {
                        r = trust_roots_load(db, &roots);
                        if (r < 0)
                                return r;
                        loaded = true;
                }
                r = trust_roots_unknown_signer_hint(db, &roots, v->assertion, &hint);
                if (r < 0)
                        return r;
                if (!hint)
                        continue;
                if (asprintf(&reason, "%s; %s", strempty(e->reason), hint) < 0)
                        return -ENOMEM;
                free(e->reason);
                e->reason = reason;
        }
        return 0;
}

int provision_import(TrustDb *db, Provisioner *p, const AssertionBatch *b, ImportUsers users,
                     ProvisionReport *report, char **ret_error)
{
        _cleanup_trust_report_ TrustReport *trust = NULL;
        _cleanup_free_ char **origins = NULL;
        _cleanup_free_ const Assertion **grants = NULL;
        size_t n_grants;
        int r;

        if (p)
                db = p->db;
        r = trust_db_import(db, &b->list, &trust);
        if (r < 0)
                return error_set(ret_error, r, "cannot store the assertions: %s", strerror(-r));
        origins = assertion_batch_origins(b);
        if (!origins)
                return -ENOMEM;
        size_t first = report->n_assertions;
        r = provision_report_add_verdicts(report, trust, origins);
        if (r >= 0)
                r = provision_report_explain_unknown_signers(report, first, db, trust);
        if (r < 0)
                return r;
        if (!trust->committed || users == IMPORT_USERS_NONE)
                return 0;
        if (!p)
                return -EINVAL;
        if (users == IMPORT_USERS_FLEET && !p->config->fleet.create_users)
                return 0;
        const char *refused = users == IMPORT_USERS_MEDIA ? media_users_refused(p) : NULL;
        if (refused) {
                report->note = strdup(refused);
                return report->note ? 0 : -ENOMEM;
        }

        r = batch_grants(b, trust, &grants, &n_grants);
        if (r < 0)
                return r;
        report->users_applied = true;
        return provision_apply_grants(p, grants, n_grants, users == IMPORT_USERS_MEDIA, report);
}
