/* SPDX-License-Identifier: MIT */
#include "import.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "string-util.h"

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

/* The batch's own system-users, in batch order. */
static int batch_grants(const AssertionBatch *b, const Assertion ***ret, size_t *ret_n)
{
        const Assertion **grants = calloc(b->list.n + 1, sizeof(Assertion *));
        size_t n = 0;

        if (!grants)
                return -ENOMEM;
        for (size_t i = 0; i < b->list.n; i++)
                if (streq(b->list.items[i]->type, "system-user"))
                        grants[n++] = b->list.items[i];
        *ret = grants;
        *ret_n = n;
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
        r = provision_report_add_verdicts(report, trust, origins);
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

        r = batch_grants(b, &grants, &n_grants);
        if (r < 0)
                return r;
        report->users_applied = true;
        return provision_apply_grants(p, grants, n_grants, users == IMPORT_USERS_MEDIA, report);
}
