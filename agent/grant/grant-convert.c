/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "assertion-fields.h"
#include "grant-convert.h"
#include "string-util.h"
#include "user-record.h"

#define SHA3_384_SIZE 48

/* snapd accepts ^[a-z0-9][-a-z0-9+._]*$ (asserts/system_user.go); systemd's strict rule is
 * ^[A-Za-z_][A-Za-z0-9_-]*$, at most 31 bytes. Says exactly which part of the name systemd refuses. */
static int check_user_name(const char *name, char **ret_error)
{
        char q[ASSERTION_QUOTE_MAX];
        const char *why = NULL;
        char bad[2] = {};

        if (user_name_is_valid(name))
                return 0;

        if (!user_name_is_valid_syntax(name)) {
                size_t n = strlen(name);
                if (n == 0)
                        why = "it is empty";
                else if (name[0] >= '0' && name[0] <= '9')
                        why = "it starts with a digit";
                else if (n > USER_NAME_LENGTH_MAX)
                        why = "it is longer than 31 bytes";
                else {
                        bad[0] = name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                   "0123456789_-")];
                        why = NULL;
                }
                if (bad[0])
                        return error_set(
                                ret_error, -EBADMSG,
                                "username %s is valid for snapd but not for systemd: it contains '%s' "
                                "(systemd user names are [A-Za-z_][A-Za-z0-9_-]*, at most 31 bytes)",
                                assertion_quote(name, q), bad);
                return error_set(
                        ret_error, -EBADMSG,
                        "username %s is valid for snapd but not for systemd: %s (systemd user names are "
                        "[A-Za-z_][A-Za-z0-9_-]*, at most 31 bytes)",
                        assertion_quote(name, q), why);
        }

        /* Threat: a grant naming a system account ("root", "systemd-network", ...) would shadow it in NSS
         * and hand its identity to whoever holds the grant's password or keys. */
        return error_set(ret_error, -EBADMSG, "username %s is reserved for a system account on this device",
                         assertion_quote(name, q));
}

/* SHA3-384 of the assertion's wire bytes, lower-case hex: identifies exactly which assertion made the user,
 * signature included, so `inspect` can point at it and an update can tell a new grant from the same one. */
static int assertion_digest_hex(const Assertion *a, char ret[static SHA3_384_SIZE * 2 + 1])
{
        _cleanup_free_ char *wire = NULL;
        unsigned char md[SHA3_384_SIZE];
        unsigned md_size = 0;
        size_t size;
        int r;

        r = assertion_encode(a, &wire, &size);
        if (r < 0)
                return r;
        if (EVP_Digest(wire, size, md, &md_size, EVP_sha3_384(), NULL) != 1 || md_size != SHA3_384_SIZE)
                return -EIO;
        for (size_t i = 0; i < SHA3_384_SIZE; i++)
                (void) snprintf(ret + 2 * i, 3, "%02x", md[i]);
        return 0;
}

static json_t *strv_to_json(char *const *l)
{
        json_t *array = json_array();

        if (!array)
                return NULL;
        for (; l && *l; l++)
                if (json_array_append_new(array, json_string(*l)) < 0) {
                        json_decref(array);
                        return NULL;
                }
        return array;
}

/* jansson's setters take ownership of the value even on failure, so a NULL value (allocation failure) is
 * caught here. */
static int set(json_t *o, const char *key, json_t *v)
{
        if (!v)
                return -ENOMEM;
        return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

static int build_grant_extension(const SystemUser *u, const Assertion *a, json_t **ret)
{
        _cleanup_json_ json_t *g = json_object();
        char digest[SHA3_384_SIZE * 2 + 1];
        int r;

        if (!g)
                return -ENOMEM;
        r = assertion_digest_hex(a, digest);
        if (r < 0)
                return r;
        if (set(g, "brandId", json_string(u->brand_id)) < 0 || set(g, "email", json_string(u->email)) < 0 ||
            set(g, "revision", json_integer((json_int_t) u->revision)) < 0 ||
            set(g, "format", json_integer((json_int_t) u->format)) < 0 ||
            set(g, "signKey", json_string(strempty(u->sign_key))) < 0 ||
            set(g, "authorityId", json_string(u->authority_id)) < 0 ||
            set(g, "until", json_integer((json_int_t) u->until)) < 0 ||
            set(g, "assertionSha3_384", json_string(digest)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(g);
        return 0;
}

static int build_privileged(const SystemUser *u, json_t **ret)
{
        _cleanup_json_ json_t *p = json_object();

        if (!p)
                return -ENOMEM;
        if (u->password && set(p, "hashedPassword", json_pack("[s]", u->password)) < 0)
                return -ENOMEM;
        if (u->ssh_keys && u->ssh_keys[0] && set(p, "sshAuthorizedKeys", strv_to_json(u->ssh_keys)) < 0)
                return -ENOMEM;
        *ret = json_object_size(p) > 0 ? TAKE_PTR(p) : NULL;
        return 0;
}

/* The first UTC day boundary at or after t (t itself when it is one): shadow's days end there. Below
 * INT64_MAX, as json_integer() needs. */
static usec_t day_boundary_after(usec_t t)
{
        usec_t day = 24 * 3600 * USEC_PER_SEC, up = t / day * day;

        if (up < t)
                up = up <= (usec_t) INT64_MAX - day ? up + day : (usec_t) INT64_MAX;
        return up;
}

usec_t grant_record_end(json_t *record)
{
        return user_record_end(record, GRANT_RECORD_EXTENSION);
}

static int build_record(const SystemUser *u, const Assertion *a, const Config *config,
                        usec_t last_change_usec, json_t **ret)
{
        _cleanup_json_ json_t *rec = json_object(), *privileged = NULL, *grant = NULL;
        int r;

        if (!rec)
                return -ENOMEM;
        if (set(rec, "userName", json_string(u->username)) < 0 ||
            set(rec, "emailAddress", json_string(u->email)) < 0 ||
            set(rec, "disposition", json_string("regular")) < 0 ||
            set(rec, "shell", json_string(config->users.shell)) < 0 ||
            set(rec, "storage", json_string(config_storage_to_string(config->users.storage))) < 0 ||
            set(rec, "lastChangeUSec", json_integer((json_int_t) last_change_usec)) < 0)
                return -ENOMEM;
        if (u->name && set(rec, "realName", json_string(u->name)) < 0)
                return -ENOMEM;
        if (config->users.disk_size &&
            set(rec, "diskSize", json_integer((json_int_t) config->users.disk_size)) < 0)
                return -ENOMEM;
        if (u->force_password_change && set(rec, "passwordChangeNow", json_true()) < 0)
                return -ENOMEM;
        /* systemd refuses logins after notAfterUSec on its own, so the user is locked out by the end of
         * until's day even where corehomed's removal at until is late (a systemd-homed serving the record
         * while corehomed is down); the exact end is the extension's until (grant_record_end()). */
        if (u->user_presence == SYSTEM_USER_PRESENCE_UNTIL_EXPIRATION &&
            set(rec, "notAfterUSec", json_integer((json_int_t) day_boundary_after(u->until))) < 0)
                return -ENOMEM;
        if (config->users.n_admin_groups > 0 &&
            set(rec, "memberOf", strv_to_json(config->users.admin_groups)) < 0)
                return -ENOMEM;

        r = build_privileged(u, &privileged);
        if (r < 0)
                return r;
        if (privileged && set(rec, "privileged", TAKE_PTR(privileged)) < 0)
                return -ENOMEM;

        r = build_grant_extension(u, a, &grant);
        if (r < 0)
                return r;
        if (set(rec, GRANT_RECORD_EXTENSION, TAKE_PTR(grant)) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(rec);
        return 0;
}

int grant_to_user_record(const SystemUser *u, const Assertion *a, const Config *config,
                         usec_t last_change_usec, json_t **ret, char **ret_error)
{
        _cleanup_json_ json_t *rec = NULL;
        RecordError err = {};
        int r;

        r = check_user_name(u->username, ret_error);
        if (r < 0)
                return r;

        /* json_integer() is signed: values beyond INT64_MAX would turn negative in the record. */
        if (last_change_usec > (usec_t) INT64_MAX || u->until > (usec_t) INT64_MAX ||
            u->revision > (uint64_t) INT64_MAX)
                return error_set(ret_error, -ERANGE, "system-user %s: a time or revision is out of range",
                                 u->email);

        r = build_record(u, a, config, last_change_usec, &rec);
        if (r == -ENOMEM)
                return error_set(ret_error, r, "out of memory");
        if (r < 0)
                return error_set(ret_error, r, "system-user %s: cannot compute the assertion digest: %s",
                                 u->email, strerror(-r));

        /* The assertion passed snapd's rules, but systemd's are not the same (e.g. a crypt hash, an ssh key
         * or a name systemd would not take): refuse here rather than write a record homed will reject. */
        r = user_record_validate(rec, &err);
        if (r < 0)
                return error_set(ret_error, r, "system-user %s cannot become a user record: field %s: %s",
                                 u->email, err.field[0] ? err.field : "(record)", err.message);

        *ret = TAKE_PTR(rec);
        return 0;
}
