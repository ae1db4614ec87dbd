/* SPDX-License-Identifier: MIT */
/* The user record loader, validator and both encoders on arbitrary bytes. Beyond "no crash", it checks
 * the properties signatures rely on: whatever we accept, we can encode; the pretty file we would write
 * loads back to the same canonical text; the canonical text is a fixed point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "user-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reload(const char *text, const char *canonical)
{
        _cleanup_json_ json_t *again = NULL;
        _cleanup_free_ char *canonical2 = NULL;

        if (strlen(text) > USER_RECORD_TEXT_MAX)
                return;
        if (user_record_load(text, strlen(text), &again, NULL) < 0)
                abort();
        if (user_record_canonical_text(again, &canonical2) < 0)
                abort();
        if (!streq(canonical, canonical2))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_json_ json_t *record = NULL;
        _cleanup_free_ char *canonical = NULL, *pretty = NULL;
        RecordError err = {};

        if (user_record_load((const char *) data, size, &record, &err) < 0) {
                /* A refusal always says why. */
                if (err.message[0] == '\0')
                        abort();
                return 0;
        }
        if (user_record_canonical_text(record, &canonical) < 0)
                abort();
        if (user_record_format_pretty(record, &pretty) < 0)
                abort();
        check_reload(pretty, canonical);
        check_reload(canonical, canonical);
        return 0;
}
