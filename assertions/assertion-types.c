/* SPDX-License-Identifier: MIT */
/* snapd's table of assertion types and their primary keys (asserts/asserts.go, snapd 2.57.6). A type that
 * is not here is refused on decode, as snapd refuses it: accepting unknown types would let a stream smuggle
 * assertions no consumer checks. */
#include <string.h>

#include "assertion.h"

#define KEYS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const AssertionType assertion_types[] = {
        { .name = "account", .primary_keys = KEYS("account-id") },
        { .name = "account-key", .primary_keys = KEYS("public-key-sha3-384") },
        { .name = "base-declaration", .primary_keys = KEYS("series") },
        { .name = "model", .primary_keys = KEYS("series", "brand-id", "model") },
        { .name = "preseed", .primary_keys = KEYS("series", "brand-id", "model", "system-label") },
        { .name = "repair", .primary_keys = KEYS("brand-id", "repair-id"), .sequence_forming = true },
        { .name = "serial", .primary_keys = KEYS("brand-id", "model", "serial") },
        { .name = "snap-build", .primary_keys = KEYS("snap-sha3-384") },
        { .name = "snap-declaration", .primary_keys = KEYS("series", "snap-id") },
        { .name = "snap-developer", .primary_keys = KEYS("snap-id", "publisher-id") },
        { .name = "snap-revision",
          .primary_keys = KEYS("snap-sha3-384", "provenance"),
          .optional_key_default = "global-upload" },
        { .name = "store", .primary_keys = KEYS("store") },
        { .name = "system-user", .primary_keys = KEYS("brand-id", "email") },
        { .name = "validation",
          .primary_keys = KEYS("series", "snap-id", "approved-snap-id", "approved-snap-revision") },
        { .name = "validation-set",
          .primary_keys = KEYS("series", "account-id", "name", "sequence"),
          .sequence_forming = true },
        /* Signed by the requester itself, so there is no authority to name. */
        { .name = "account-key-request", .primary_keys = KEYS("public-key-sha3-384"), .no_authority = true },
        { .name = "device-session-request",
          .primary_keys = KEYS("brand-id", "model", "serial"),
          .no_authority = true },
        { .name = "serial-request", .primary_keys = KEYS(NULL), .no_authority = true },
};

const AssertionType *assertion_type_lookup(const char *name)
{
        if (!name)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(assertion_types); i++)
                if (streq(assertion_types[i].name, name))
                        return &assertion_types[i];
        return NULL;
}

const char *const *assertion_type_primary_keys(const char *type)
{
        const AssertionType *t = assertion_type_lookup(type);

        return t ? t->primary_keys : NULL;
}
