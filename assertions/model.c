/* SPDX-License-Identifier: MIT */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"

#define MODEL_FORMAT_MAX 0

/* Bounds of snapd's snap-name rule (naming.ValidateSnap). */
#define SNAP_NAME_MIN 2
#define SNAP_NAME_MAX 40

static void model_snap_done(ModelSnap *s)
{
        free(s->name);
        free(s->id);
        free(s->type);
        free(s->default_channel);
        free(s->presence);
        strv_free(s->modes);
}

Model *model_free(Model *m)
{
        if (!m)
                return NULL;
        free(m->brand_id);
        free(m->model);
        free(m->series);
        free(m->display_name);
        free(m->architecture);
        free(m->distribution);
        free(m->gadget);
        free(m->kernel);
        free(m->base_snap);
        free(m->store);
        strv_free(m->required_snaps);
        for (size_t i = 0; i < m->n_snaps; i++)
                model_snap_done(&m->snaps[i]);
        free(m->snaps);
        strv_free(m->serial_authority);
        strv_free(m->system_user_authority_list);
        free(m->authority_id);
        free(m->sign_key);
        free(m);
        return NULL;
}

static bool strv_contains(char *const *l, const char *s)
{
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

bool model_system_user_authority_allows(const Model *m, const char *authority_id)
{
        if (m->system_user_authority == MODEL_SYSTEM_USER_AUTHORITY_ANY)
                return true;
        /* The brand is always allowed; a list adds accounts to it, it never removes the brand. */
        if (streq(m->brand_id, authority_id))
                return true;
        return m->system_user_authority == MODEL_SYSTEM_USER_AUTHORITY_LIST &&
               strv_contains(m->system_user_authority_list, authority_id);
}

/* snapd's snap-name rule: 2..40 of [a-z0-9-], at least one letter, no leading, trailing or double '-'. */
static bool snap_name_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n < SNAP_NAME_MIN || n > SNAP_NAME_MAX ||
            strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
                return false;
        if (s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
                return false;
        return strpbrk(s, "abcdefghijklmnopqrstuvwxyz") != NULL;
}

static bool is_alnum_string(const char *s, size_t n)
{
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

bool model_name_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static const char *well_known_snap_id(const char *name)
{
        static const char *const ids[][2] = {
                { "core", "99T7MUlRhtI3U0QFgl5mXXESAiSwt776" },
                { "snapd", "PMrrV4ml8uWuEUDBT8dSGnKUYbevVhc4" },
                { "core18", "CSO04Jhav2yK0uz97cr0ipQRyqg0qQL6" },
                { "core20", "DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q" },
                { "core22", "amcUKQILKXHHTlmSa7NMdnXSx02dNeeT" },
                { "core24", "dwTAh7MZZ01zyriOZErqd1JynQLiOGvM" },
        };

        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                if (streq(ids[i][0], name))
                        return ids[i][1];
        return NULL;
}

static bool header_present(const Assertion *a, const char *name)
{
        return json_object_get(a->headers, name) != NULL;
}

/* snapd's "what" wording for a field inside a "snaps" entry: "\"id\" of snap \"pc\" ..." */
static int snap_field_error(const Assertion *a, AssertionError *err, const char *field, const char *snap,
                            const char *problem)
{
        char q[ASSERTION_QUOTE_MAX];
        return assertion_field_error(a, err, "\"%s\" of snap %s %s", field, assertion_quote(snap, q),
                                     problem);
}

/* An optional string member of a "snaps" entry: NULL when absent. */
static int snap_entry_string(const Assertion *a, json_t *entry, const char *field, const char *snap,
                             char **ret, AssertionError *err)
{
        json_t *v = json_object_get(entry, field);

        *ret = NULL;
        if (!v)
                return 0;
        if (!json_is_string(v))
                return snap_field_error(a, err, field, snap, "must be a string");
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

/* Go's channel.ParseVerbatim() plus snapd's demand for a track: [track/]risk[/branch] or a bare track. */
static bool channel_has_track(const char *c, bool *ret_valid)
{
        static const char *const risks[] = { "stable", "candidate", "beta", "edge" };
        const char *part[3];
        size_t len[3], n = 0;
        bool first_is_risk = false;

        *ret_valid = false;
        if (!*c)
                return false;
        for (const char *p = c;; n++) {
                const char *slash = strchr(p, '/');
                if (n == 3)
                        return false; /* too many components */
                part[n] = p;
                len[n] = slash ? (size_t) (slash - p) : strlen(p);
                if (!slash) {
                        n++;
                        break;
                }
                p = slash + 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(risks); i++)
                if (len[0] == strlen(risks[i]) && strneq(part[0], risks[i], len[0]))
                        first_is_risk = true;

        bool has_track = n == 3 || (n == 2 && !first_is_risk) || (n == 1 && !first_is_risk);
        /* Validate the risk (where there is one) and refuse empty components. */
        size_t risk_index = n == 3 ? 1 : (n == 2 && !first_is_risk) ? 1 : (first_is_risk ? 0 : SIZE_MAX);
        if (risk_index != SIZE_MAX) {
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(risks); i++)
                        if (len[risk_index] == strlen(risks[i]) &&
                            strneq(part[risk_index], risks[i], len[risk_index]))
                                ok = true;
                if (!ok)
                        return false;
        }
        for (size_t i = 0; i < n; i++)
                if (len[i] == 0)
                        return false;
        *ret_valid = true;
        return has_track;
}

static int check_model_snap(const Assertion *a, json_t *entry, ModelGrade grade, ModelSnap *s,
                            AssertionError *err)
{
        static const char *const types[] = { "app", "base", "gadget", "kernel", "core", "snapd" };
        char q[ASSERTION_QUOTE_MAX];
        json_t *v, *item;
        bool valid;
        size_t i;
        int r;

        v = json_object_get(entry, "name");
        if (!v)
                return assertion_field_error(a, err, "\"name\" of snap is mandatory");
        if (!json_is_string(v))
                return assertion_field_error(a, err, "\"name\" of snap must be a string");
        if (json_string_length(v) == 0)
                return assertion_field_error(a, err, "\"name\" of snap should not be empty");
        s->name = strdup(json_string_value(v));
        if (!s->name)
                return -ENOMEM;
        if (!snap_name_is_valid(s->name))
                return assertion_field_error(a, err, "invalid snap name %s", assertion_quote(s->name, q));

        if (json_object_get(entry, "id")) {
                r = snap_entry_string(a, entry, "id", s->name, &s->id, err);
                if (r < 0)
                        return r;
                if (!*s->id)
                        return snap_field_error(a, err, "id", s->name, "should not be empty");
                if (strlen(s->id) != 32 || !is_alnum_string(s->id, 32))
                        return snap_field_error(a, err, "id", s->name, "contains invalid characters");
        } else if (grade != MODEL_GRADE_DANGEROUS)
                /* Without an id a snap is matched by name only, which any store publisher can take. */
                return snap_field_error(a, err, "id", s->name,
                                        grade == MODEL_GRADE_SECURED
                                                ? "is mandatory for secured grade model"
                                                : "is mandatory for signed grade model");

        r = snap_entry_string(a, entry, "type", s->name, &s->type, err);
        if (r < 0)
                return r;
        if (!s->type || !*s->type) {
                free(s->type);
                s->type = strdup("app");
                if (!s->type)
                        return -ENOMEM;
        }
        bool known = false;
        for (i = 0; i < ELEMENTSOF(types); i++)
                known = known || streq(types[i], s->type);
        if (!known)
                return assertion_field_error(
                        a, err, "type of snap %s must be one of app|base|gadget|kernel|core|snapd",
                        assertion_quote(s->name, q));

        v = json_object_get(entry, "modes");
        if (v && !json_is_array(v))
                return snap_field_error(a, err, "modes", s->name, "must be a list of strings");
        if (v && json_array_size(v) > 0) {
                s->modes = calloc(json_array_size(v) + 1, sizeof(char *));
                if (!s->modes)
                        return -ENOMEM;
                json_array_foreach (v, i, item) {
                        const char *m = json_string_value(item);
                        if (!m)
                                return snap_field_error(a, err, "modes", s->name,
                                                        "must be a list of strings");
                        /* ^[a-z][-a-z]+$ */
                        if (strlen(m) < 2 || m[0] < 'a' || m[0] > 'z' ||
                            strspn(m, "abcdefghijklmnopqrstuvwxyz-") != strlen(m))
                                return assertion_field_error(
                                        a, err, "\"modes\" of snap %s contains an invalid element: %s",
                                        assertion_quote(s->name, q), m);
                        s->modes[i] = strdup(m);
                        if (!s->modes[i])
                                return -ENOMEM;
                }
        }

        r = snap_entry_string(a, entry, "default-channel", s->name, &s->default_channel, err);
        if (r < 0)
                return r;
        if (!s->default_channel || !*s->default_channel) {
                free(s->default_channel);
                s->default_channel = strdup("latest/stable");
                if (!s->default_channel)
                        return -ENOMEM;
        }
        bool has_track = channel_has_track(s->default_channel, &valid);
        if (!valid)
                return assertion_field_error(a, err, "invalid default channel for snap %s",
                                             assertion_quote(s->name, q));
        if (!has_track)
                return assertion_field_error(a, err, "default channel for snap %s must specify a track",
                                             assertion_quote(s->name, q));

        r = snap_entry_string(a, entry, "presence", s->name, &s->presence, err);
        if (r < 0)
                return r;
        if (s->presence && !*s->presence)
                s->presence = mfree(s->presence);
        if (s->presence && !streq(s->presence, "required") && !streq(s->presence, "optional"))
                return assertion_field_error(a, err, "presence of snap %s must be one of required|optional",
                                             assertion_quote(s->name, q));
        return 0;
}

typedef struct EssentialSnaps {
        const ModelSnap *snapd, *kernel, *gadget, *base;
} EssentialSnaps;

static int check_snaps_entry_role(const Assertion *a, ModelSnap *s, EssentialSnaps *e, const char *base,
                                  AssertionError *err)
{
        char q[ASSERTION_QUOTE_MAX], q2[ASSERTION_QUOTE_MAX];
        const ModelSnap **slot = NULL;
        bool essential = true;

        if (streq(s->type, "snapd"))
                slot = &e->snapd;
        else if (streq(s->type, "kernel"))
                slot = &e->kernel;
        else if (streq(s->type, "gadget"))
                slot = &e->gadget;
        else if (base && streq(s->name, base)) {
                if (!streq(s->type, "base"))
                        return assertion_field_error(a, err,
                                                     "boot base %s must specify type \"base\", not %s",
                                                     assertion_quote(base, q), assertion_quote(s->type, q2));
                e->base = s;
        } else
                essential = false;

        if (slot) {
                if (*slot)
                        return assertion_field_error(a, err, "cannot specify multiple %s snaps: %s and %s",
                                                     s->type, assertion_quote((*slot)->name, q),
                                                     assertion_quote(s->name, q2));
                *slot = s;
        }
        if (essential && (s->modes || s->presence))
                return assertion_field_error(
                        a, err,
                        "essential snaps are always available, cannot specify modes or presence for snap %s",
                        assertion_quote(s->name, q));
        return 0;
}

static int check_extended_snaps(const Assertion *a, Model *m, AssertionError *err)
{
        json_t *snaps = json_object_get(a->headers, "snaps"), *entry;
        EssentialSnaps e = {};
        char q[ASSERTION_QUOTE_MAX], q2[ASSERTION_QUOTE_MAX], q3[ASSERTION_QUOTE_MAX];
        size_t i;
        int r;

        if (!json_is_array(snaps))
                return assertion_field_error(a, err, "\"snaps\" header must be a list of maps");
        m->snaps = calloc(json_array_size(snaps) + 1, sizeof(ModelSnap));
        if (!m->snaps)
                return -ENOMEM;
        json_array_foreach (snaps, i, entry) {
                ModelSnap *s = &m->snaps[i];

                if (!json_is_object(entry))
                        return assertion_field_error(a, err, "\"snaps\" header must be a list of maps");
                m->n_snaps = i + 1;
                r = check_model_snap(a, entry, m->grade, s, err);
                if (r < 0)
                        return r;
                /* One name or one id twice would let two entries disagree about the same snap. */
                for (size_t j = 0; j < i; j++) {
                        if (streq(m->snaps[j].name, s->name))
                                return assertion_field_error(a, err,
                                                             "cannot list the same snap %s multiple times",
                                                             assertion_quote(s->name, q));
                        if (s->id && m->snaps[j].id && streq(m->snaps[j].id, s->id))
                                return assertion_field_error(a, err,
                                                             "cannot specify the same snap id %s multiple "
                                                             "times, specified for snaps %s and %s",
                                                             assertion_quote(s->id, q),
                                                             assertion_quote(m->snaps[j].name, q2),
                                                             assertion_quote(s->name, q3));
                }
                r = check_snaps_entry_role(a, s, &e, m->base_snap, err);
                if (r < 0)
                        return r;
                if (!s->presence) {
                        s->presence = strdup("required");
                        if (!s->presence)
                                return -ENOMEM;
                }
        }
        if (!e.gadget)
                return assertion_field_error(a, err,
                                             "one \"snaps\" header entry must specify the model gadget");
        if (!e.kernel)
                return assertion_field_error(a, err,
                                             "one \"snaps\" header entry must specify the model kernel");
        if (!e.base && !well_known_snap_id(m->base_snap) && m->grade != MODEL_GRADE_DANGEROUS)
                return assertion_field_error(a, err,
                                             "cannot specify not well-known base %s without a corresponding "
                                             "\"snaps\" header entry",
                                             assertion_quote(m->base_snap, q));

        m->gadget = strdup(e.gadget->name);
        m->kernel = strdup(e.kernel->name);
        return m->gadget && m->kernel ? 0 : -ENOMEM;
}

/* Pre-UC20 "kernel"/"gadget": NAME[=TRACK], the track a bare track name. */
static int check_snap_with_track(const Assertion *a, const char *header, char **ret, AssertionError *err)
{
        _cleanup_free_ char *value = NULL;
        char *eq;
        int r;

        r = assertion_field_optional_string(a, header, &value, err);
        if (r < 0 || !value)
                return r;
        eq = strchr(value, '=');
        if (eq)
                *eq = 0;
        if (!snap_name_is_valid(value))
                return assertion_field_error(a, err, "invalid snap name in \"%s\" header: %s", header,
                                             value);
        if (eq) {
                const char *track = eq + 1;
                if (strchr(track, '/'))
                        return assertion_field_error(
                                a, err, "\"%s\" channel selector must be a track name only", header);
                if (streq(track, "stable") || streq(track, "candidate") || streq(track, "beta") ||
                    streq(track, "edge"))
                        return assertion_field_error(a, err, "\"%s\" channel selector must be a track name",
                                                     header);
                *eq = '=';
        }
        *ret = TAKE_PTR(value);
        return 0;
}

static int check_account_id_list(const Assertion *a, const char *header, const char *problem, char ***ret,
                                 AssertionError *err)
{
        _cleanup_strv_free_ char **l = NULL;
        AssertionError ignored;
        int r;

        r = assertion_field_string_list(a, header, &l, &ignored);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return assertion_field_error(a, err, "\"%s\" header must be %s", header, problem);
        for (char **i = l; i && *i; i++)
                if (!account_id_is_valid(*i))
                        return assertion_field_error(a, err, "\"%s\" header must be %s", header, problem);
        *ret = TAKE_PTR(l);
        return 0;
}

static int check_system_user_authority(const Assertion *a, Model *m, AssertionError *err)
{
        static const char problem[] = "'*' or a list of account ids";
        json_t *v = json_object_get(a->headers, "system-user-authority");
        int r;

        if (!v) {
                m->system_user_authority = MODEL_SYSTEM_USER_AUTHORITY_ABSENT;
                return 0;
        }
        if (json_is_string(v)) {
                if (!streq(json_string_value(v), "*"))
                        return assertion_field_error(a, err, "\"system-user-authority\" header must be %s",
                                                     problem);
                m->system_user_authority = MODEL_SYSTEM_USER_AUTHORITY_ANY;
                return 0;
        }
        r = check_account_id_list(a, "system-user-authority", problem, &m->system_user_authority_list, err);
        if (r < 0)
                return r;
        /* An empty list adds nobody: the brand alone, as when the header is absent (snapd's reading). */
        m->system_user_authority = m->system_user_authority_list ? MODEL_SYSTEM_USER_AUTHORITY_LIST
                                                                 : MODEL_SYSTEM_USER_AUTHORITY_ABSENT;
        return 0;
}

static int parse_enum(const Assertion *a, const char *header, const char *const *names, size_t n,
                      const char *all, int *ret, AssertionError *err)
{
        _cleanup_free_ char *s = NULL;
        char q[ASSERTION_QUOTE_MAX];
        int r;

        r = assertion_field_optional_string(a, header, &s, err);
        if (r < 0)
                return r;
        *ret = 0;
        if (!s || !*s)
                return 0;
        for (size_t i = 1; i < n; i++)
                if (streq(names[i], s)) {
                        *ret = (int) i;
                        return 0;
                }
        return assertion_field_error(a, err, "%s for model must be %s, not %s", header, all,
                                     assertion_quote(s, q));
}

static int check_extended(const Assertion *a, Model *m, AssertionError *err)
{
        static const char *const grades[] = { "", "secured", "signed", "dangerous" };
        static const char *const safeties[] = { "", "encrypted", "prefer-encrypted", "prefer-unencrypted" };
        int grade, safety, r;

        r = parse_enum(a, "grade", grades, ELEMENTSOF(grades), "secured|signed|dangerous", &grade, err);
        if (r < 0)
                return r;
        m->grade = grade == MODEL_GRADE_UNSET ? MODEL_GRADE_SIGNED : (ModelGrade) grade;
        r = parse_enum(a, "storage-safety", safeties, ELEMENTSOF(safeties),
                       "encrypted|prefer-encrypted|prefer-unencrypted", &safety, err);
        if (r < 0)
                return r;
        if (safety == MODEL_STORAGE_SAFETY_UNSET)
                m->storage_safety = m->grade == MODEL_GRADE_SECURED ? MODEL_STORAGE_SAFETY_ENCRYPTED
                                                                    : MODEL_STORAGE_SAFETY_PREFER_ENCRYPTED;
        else
                m->storage_safety = (ModelStorageSafety) safety;
        if (m->grade == MODEL_GRADE_SECURED && m->storage_safety != MODEL_STORAGE_SAFETY_ENCRYPTED)
                return assertion_field_error(a, err,
                                             "secured grade model must not have storage-safety overridden, "
                                             "only \"encrypted\" is valid");
        return check_extended_snaps(a, m, err);
}

static int check_unextended(const Assertion *a, Model *m, AssertionError *err)
{
        int r;

        r = check_snap_with_track(a, "kernel", &m->kernel, err);
        if (r < 0)
                return r;
        r = check_snap_with_track(a, "gadget", &m->gadget, err);
        if (r < 0)
                return r;
        r = assertion_field_string_list(a, "required-snaps", &m->required_snaps, err);
        if (r < 0)
                return r;
        for (char **i = m->required_snaps; i && *i; i++)
                if (!snap_name_is_valid(*i))
                        return assertion_field_error(
                                a, err, "invalid snap name in \"required-snaps\" header: %s", *i);
        return 0;
}

/* Which headers a kind of model must carry, and whether present-but-empty is refused. */
static int check_mandatory(const Assertion *a, bool extended, bool classic, AssertionError *err)
{
        static const char *const model_mandatory[] = { "architecture", "gadget", "kernel", NULL };
        static const char *const extended_mandatory[] = { "architecture", "base", NULL };
        static const char *const classic_optional[] = { "architecture", "gadget", NULL };
        const char *const *l = extended ? extended_mandatory : classic ? classic_optional : model_mandatory;
        int r;

        for (; *l; l++) {
                _cleanup_free_ char *s = NULL;
                if (!extended && classic)
                        r = assertion_field_optional_string(a, *l, &s, err);
                else
                        r = assertion_field_string(a, *l, &s, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_kind(const Assertion *a, Model *m, bool extended, AssertionError *err)
{
        static const char *const conflicting[] = { "gadget", "kernel", "required-snaps" };

        if (extended) {
                for (size_t i = 0; i < ELEMENTSOF(conflicting); i++)
                        if (header_present(a, conflicting[i]))
                                return assertion_field_error(a, err,
                                                             "cannot specify separate \"%s\" header once "
                                                             "using the extended snaps header",
                                                             conflicting[i]);
        } else {
                if (header_present(a, "grade"))
                        return assertion_field_error(
                                a, err,
                                "cannot specify a grade for model without the extended snaps header");
                if (header_present(a, "storage-safety"))
                        return assertion_field_error(
                                a, err,
                                "cannot specify storage-safety for model without the extended snaps header");
        }
        if (m->classic && !extended) {
                if (header_present(a, "kernel"))
                        return assertion_field_error(
                                a, err, "cannot specify a kernel with a non-extended classic model");
                if (header_present(a, "base"))
                        return assertion_field_error(
                                a, err, "cannot specify a base with a non-extended classic model");
        }
        if (m->classic && extended) {
                int r = assertion_field_string(a, "distribution", &m->distribution, err);
                if (r < 0)
                        return r;
                /* os-release ID= */
                if (strspn(m->distribution, "abcdefghijklmnopqrstuvwxyz0123456789._-") !=
                    strlen(m->distribution))
                        return assertion_field_error(a, err,
                                                     "\"distribution\" header contains invalid characters: "
                                                     "%s, see distribution ID in os-release spec",
                                                     m->distribution);
        } else if (header_present(a, "distribution"))
                return assertion_field_error(a, err,
                                             "cannot specify distribution for model unless it is classic "
                                             "and has an extended snaps header");
        return check_mandatory(a, extended, m->classic, err);
}

static int model_check(const Assertion *a, Model *m, AssertionError *err)
{
        bool extended = header_present(a, "snaps");
        char q[ASSERTION_QUOTE_MAX], q2[ASSERTION_QUOTE_MAX];
        int r;

        r = assertion_field_check_format(a, m->format, MODEL_FORMAT_MAX, err);
        if (r < 0)
                return r;
        r = assertion_field_primary_key(a, "series", &m->series, err);
        if (r < 0)
                return r;
        r = assertion_field_primary_key(a, "brand-id", &m->brand_id, err);
        if (r < 0)
                return r;
        r = assertion_field_primary_key(a, "model", &m->model, err);
        if (r < 0)
                return r;
        /* A model is the brand's own statement: anyone else signing it could grant themselves devices. */
        if (!m->authority_id || !streq(m->authority_id, m->brand_id))
                return assertion_field_error(
                        a, err,
                        "authority-id and brand-id must match, model assertions are expected to "
                        "be signed by the brand: %s != %s",
                        assertion_quote(strempty(m->authority_id), q), assertion_quote(m->brand_id, q2));
        if (!model_name_is_valid(m->model))
                return assertion_field_error(a, err, "\"model\" header contains invalid characters: %s",
                                             assertion_quote(m->model, q));
        for (const char *c = m->model; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        return assertion_field_error(a, err,
                                                     "\"model\" header cannot contain uppercase letters");

        r = assertion_field_optional_bool(a, "classic", &m->classic, err);
        if (r < 0)
                return r;
        r = check_kind(a, m, extended, err);
        if (r < 0)
                return r;
        r = assertion_field_optional_string(a, "architecture", &m->architecture, err);
        if (r < 0)
                return r;

        r = assertion_field_optional_string(a, "base", &m->base_snap, err);
        if (r < 0)
                return r;
        if (m->base_snap && !*m->base_snap)
                m->base_snap = mfree(m->base_snap);
        if (m->base_snap && !snap_name_is_valid(m->base_snap))
                return assertion_field_error(a, err, "invalid snap name in \"base\" header: %s",
                                             m->base_snap);
        r = assertion_field_optional_string(a, "store", &m->store, err);
        if (r < 0)
                return r;
        r = assertion_field_optional_string(a, "display-name", &m->display_name, err);
        if (r < 0)
                return r;

        r = extended ? check_extended(a, m, err) : check_unextended(a, m, err);
        if (r < 0)
                return r;

        if (header_present(a, "serial-authority")) {
                r = check_account_id_list(a, "serial-authority", "a list of account ids",
                                          &m->serial_authority, err);
                if (r < 0)
                        return r;
        }
        r = check_system_user_authority(a, m, err);
        if (r < 0)
                return r;
        return assertion_field_date(a, "timestamp", &m->timestamp, NULL, err);
}

int model_from_assertion(const Assertion *a, Model **ret, AssertionError *err)
{
        _cleanup_(model_freep) Model *m = NULL;
        int r;

        m = calloc(1, sizeof(Model));
        if (!m)
                return -ENOMEM;
        r = assertion_field_common(a, "model", &m->authority_id, &m->sign_key, &m->revision, &m->format,
                                   err);
        if (r < 0)
                return r;
        r = model_check(a, m, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}
