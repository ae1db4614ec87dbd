/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the test-config-*.c programs: renders one configuration key as text so that tables can say
 * "this YAML gives that value", and scratch roots for config_load(). */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "file-util.h"
#include "macros.h"

static inline char *config_value_text(const Config *c, const char *key)
{
        char *s = NULL;

        if (streq(key, "device.brand-id"))
                s = strdup(c->device.brand_id ? c->device.brand_id : "(null)");
        else if (streq(key, "device.model"))
                s = strdup(c->device.model ? c->device.model : "(null)");
        else if (streq(key, "device.serial"))
                s = strdup(c->device.serial ? c->device.serial : "(null)");
        else if (streq(key, "device.serial-source"))
                s = strdup(c->device.serial_source == CONFIG_SERIAL_NONE      ? "none"
                           : c->device.serial_source == CONFIG_SERIAL_LITERAL ? "literal"
                                                                              : "dmi");
        else if (streq(key, "device.series"))
                s = strdup(c->device.series);
        else if (streq(key, "media.create-users"))
                s = strdup(config_create_users_to_string(c->media.create_users));
        else if (streq(key, "media.devices"))
                s = strdup(config_media_devices_to_string(c->media.devices));
        else if (streq(key, "users.admin-groups")) {
                size_t n = 0;
                char buf[4096] = "[";
                for (char **g = c->users.admin_groups; *g; g++, n++) {
                        if (n > 0)
                                strcat(buf, ",");
                        strcat(buf, *g);
                }
                strcat(buf, "]");
                if (n != c->users.n_admin_groups)
                        return strdup("(count mismatch)");
                s = strdup(buf);
        } else if (streq(key, "users.storage"))
                s = strdup(config_storage_to_string(c->users.storage));
        else if (streq(key, "users.activation"))
                s = strdup(config_activation_to_string(c->users.activation));
        else if (streq(key, "users.disk-size")) {
                if (asprintf(&s, "%llu", (unsigned long long) c->users.disk_size) < 0)
                        s = NULL;
        } else if (streq(key, "users.shell"))
                s = strdup(c->users.shell);
        else if (streq(key, "fleet.enabled"))
                s = strdup(c->fleet.enabled ? "true" : "false");
        else if (streq(key, "fleet.url"))
                s = strdup(c->fleet.url ? c->fleet.url : "(null)");
        else if (streq(key, "fleet.ca-file"))
                s = strdup(c->fleet.ca_file ? c->fleet.ca_file : "(null)");
        else if (streq(key, "fleet.client-cert"))
                s = strdup(c->fleet.client_cert ? c->fleet.client_cert : "(null)");
        else if (streq(key, "fleet.client-key"))
                s = strdup(c->fleet.client_key ? c->fleet.client_key : "(null)");
        else if (streq(key, "fleet.interval")) {
                if (asprintf(&s, "%llus", (unsigned long long) (c->fleet.interval / USEC_PER_SEC)) < 0)
                        s = NULL;
        } else if (streq(key, "fleet.timeout")) {
                if (asprintf(&s, "%llus", (unsigned long long) (c->fleet.timeout / USEC_PER_SEC)) < 0)
                        s = NULL;
        } else if (streq(key, "fleet.create-users"))
                s = strdup(c->fleet.create_users ? "true" : "false");
        else if (streq(key, "from-file"))
                s = strdup(c->from_file ? "true" : "false");
        else
                s = strdup("(unknown key in test table)");
        return s;
}

static inline char *scratch_root_new(void)
{
        char *dir = strdup("/tmp/corehomed-test-config-XXXXXX");
        if (!dir || !mkdtemp(dir))
                abort();
        return dir;
}

static inline void scratch_root_remove(const char *dir)
{
        _cleanup_free_ char *cmd = NULL;
        if (asprintf(&cmd, "rm -rf '%s'", dir) < 0 || system(cmd) != 0)
                abort();
}

/* Writes ROOT/PATH (creating its directories) with mode. */
static inline void scratch_root_write(const char *root, const char *path, const void *data, size_t size,
                                      mode_t mode)
{
        _cleanup_free_ char *full = NULL, *dir = NULL;
        _cleanup_close_ int dfd = -1;
        char *slash;

        if (path_join_root(root, path, &full) < 0 || !(dir = strdup(full)))
                abort();
        slash = strrchr(dir, '/');
        *slash = '\0';
        if (mkdir_parents_and_self(dir, 0755) < 0)
                abort();
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || write_file_atomic(dfd, slash + 1, data, size, mode, (uid_t) -1, (gid_t) -1) < 0)
                abort();
}
