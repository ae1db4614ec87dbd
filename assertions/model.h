/* SPDX-License-Identifier: MIT */
#pragma once

/* The typed view of a "model" assertion (snapd asserts/model.go): what a device is. Primary key: series,
 * brand-id, model. corehomed needs its identity and its system-user-authority; the rest is validated as
 * snapd does so that we accept exactly the models snapd accepts. */

#include <stdbool.h>

#include <stdint.h>

#include "assertion-fields.h"
#include "assertion.h"
#include "time-util.h"

typedef enum ModelSystemUserAuthority {
        MODEL_SYSTEM_USER_AUTHORITY_ABSENT, /* header absent: only the brand may sign system-users */
        MODEL_SYSTEM_USER_AUTHORITY_ANY,    /* "*": any authority */
        MODEL_SYSTEM_USER_AUTHORITY_LIST,   /* a list of account-ids (system_user_authority) */
} ModelSystemUserAuthority;

typedef enum ModelGrade {
        MODEL_GRADE_UNSET, /* no extended "snaps" header (pre-UC20 model) */
        MODEL_GRADE_SECURED,
        MODEL_GRADE_SIGNED,
        MODEL_GRADE_DANGEROUS,
} ModelGrade;

typedef enum ModelStorageSafety {
        MODEL_STORAGE_SAFETY_UNSET,
        MODEL_STORAGE_SAFETY_ENCRYPTED,
        MODEL_STORAGE_SAFETY_PREFER_ENCRYPTED,
        MODEL_STORAGE_SAFETY_PREFER_UNENCRYPTED,
} ModelStorageSafety;

/* One entry of the extended (UC20+) "snaps" header. */
typedef struct ModelSnap {
        char *name;
        char *id;              /* snap-id; NULL when absent (allowed for grade dangerous) */
        char *type;            /* "app" when absent */
        char *default_channel; /* "latest/stable" when absent */
        char *presence;        /* "required" (default) or "optional" */
        char **modes;          /* NULL-terminated; NULL when absent (snapd then means "run", or
                                * "run"+"ephemeral" for the essential snaps) */
} ModelSnap;

typedef struct Model {
        char *brand_id;
        char *model;
        char *series;
        char *display_name; /* optional */
        char *architecture; /* mandatory unless classic */
        bool classic;
        char *distribution; /* classic with extended snaps only */
        char *gadget;       /* name (with track for pre-UC20); NULL for classic without one */
        char *kernel;
        char *base_snap; /* "base" header; NULL when absent */
        char *store;     /* optional */
        ModelGrade grade;
        ModelStorageSafety storage_safety;
        char **required_snaps; /* pre-UC20 "required-snaps"; NULL when none */
        ModelSnap *snaps;      /* extended "snaps"; n_snaps entries */
        size_t n_snaps;
        char **serial_authority; /* NULL when absent (snapd defaults to the brand) */
        ModelSystemUserAuthority system_user_authority;
        char **system_user_authority_list; /* only for MODEL_SYSTEM_USER_AUTHORITY_LIST; never empty */
        usec_t timestamp;
        /* The headers every assertion carries. */
        char *authority_id;
        char *sign_key; /* sign-key-sha3-384 */
        uint64_t revision;
        unsigned format;
} Model;

/* -EBADMSG with err filled ("assertion model: ...") when a does not satisfy snapd's rules. */
int model_from_assertion(const Assertion *a, Model **ret, AssertionError *err);

/* snapd's model-name rule ^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$ (the model type refuses upper case separately). */
bool model_name_is_valid(const char *s);
Model *model_free(Model *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Model *, model_free)
#define _cleanup_model_ _cleanup_(model_freep)

/* Whether authority_id may sign system-user assertions for devices of this model: the brand itself when the
 * header is absent; anyone for "*"; else the brand or a listed account (snapd's rule in devicestate). */
bool model_system_user_authority_allows(const Model *m, const char *authority_id);
