/* SPDX-License-Identifier: MIT */
/* Fuzzes the corehomed.yaml loader: any bytes must load or be refused with a message, never crash, leak or
 * read out of bounds. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_config_ Config *c = NULL;
        _cleanup_(config_error_done) ConfigError err = {};
        int r;

        r = config_load_from_buffer(data, size, "fuzz.yaml", &c, &err);
        if (r < 0) {
                /* Every refusal must carry a message that names the file. */
                if (!c && strncmp(err.message, "fuzz.yaml", 9) != 0 && r != -ENOMEM)
                        __builtin_trap();
                return 0;
        }
        /* Invariants the callers rely on. */
        if (!c || !c->device.series || !c->users.shell || !c->users.admin_groups ||
            c->users.admin_groups[c->users.n_admin_groups] || (!c->device.brand_id != !c->device.model) ||
            (c->fleet.enabled && !c->fleet.url))
                __builtin_trap();
        return 0;
}
