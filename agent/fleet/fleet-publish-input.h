/* SPDX-License-Identifier: MIT */
#pragma once

/* What a publish serves: the operator's assertion files, decoded, checked whole against the roots the
 * devices trust (the trust database of a device whose etc/corehomed/trusted/ holds them and nothing else,
 * trust_db_open() on a temporary root), typed, sorted and encoded once. */

#include <stddef.h>

#include "assertion.h"
#include "fleet-publish.h"
#include "fleet.h"
#include "model.h"
#include "report.h"
#include "system-user.h"
#include "trust-db.h"

typedef struct PublishAssertion {
        Assertion *assertion; /* owned */
        const char *origin;   /* the input file (borrowed from the options) */
        char *key;            /* "TYPE\x1fPRIMARY-KEY\x1f...": the order of feeds and the manifest */
        FleetWire wire;       /* its wire form (data owned) */
        SystemUser *user;     /* for system-users */
        Model *model;         /* for models */
} PublishAssertion;

typedef struct PublishInput {
        PublishAssertion *items; /* input order */
        size_t n;
        /* Sorted by key, one each (an identical copy, or a copy of a trusted root, is dropped): */
        PublishAssertion **users;
        size_t n_users;
        PublishAssertion **models;
        size_t n_models;
        PublishAssertion **prerequisites; /* accounts, then account-keys */
        size_t n_prerequisites;
        TrustDb *db; /* the trusted roots */
} PublishInput;

void publish_input_done(PublishInput *in);

/* Reads o->trusted and o->inputs, checks the inputs as one batch against the trusted roots at o->now and
 * appends the verdicts to verification. Refused assertions: -EKEYREJECTED (the reasons are in
 * verification). Other errors (unreadable or malformed files, limits, types a fleet does not serve) are
 * said in *ret_error. */
int publish_input_load(PublishInput *in, const FleetPublishOptions *o, ProvisionReport *verification,
                       char **ret_error);

/* The account assertion of account_id as a device would get it: from the input, or (a trusted root the
 * devices already have) encoded from the trusted roots into *ret_owned. NULL when neither has it. */
const FleetWire *publish_input_account(PublishInput *in, const char *account_id, FleetWire *ret_owned);
