/* SPDX-License-Identifier: MIT */
#include "provisioner.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "grant-convert.h"
#include "home-tree.h"
#include "intent-journal.h"
#include "json-util.h"
#include "string-util.h"

Provisioner *provisioner_free(Provisioner *p)
{
        if (!p)
                return NULL;
        config_free(p->config);
        trust_db_free(p->db);
        home_free(p->home);
        device_identity_free(p->device);
        free(p->device_error);
        deny_list_done(&p->denied);
        free(p->root);
        free(p);
        return NULL;
}

void provisioner_set_now(Provisioner *p, usec_t now)
{
        p->now = now;
        p->home->now = now;
        trust_db_set_now(p->db, now);
}

void provisioner_raise_time_floor(Provisioner *p, usec_t floor)
{
        if (floor > p->floor_raised)
                p->floor_raised = floor;
        trust_db_raise_time_floor(p->db, p->floor_raised);
}

usec_t provisioner_check_time(const Provisioner *p)
{
        return trust_db_check_time(p->db);
}

/* The device's identity comes from the configuration and the stored model/serial assertions. A device
 * without one can still list, inspect, remove and expire users. */
static void provisioner_load_device(Provisioner *p)
{
        int r = device_identity_load(p->config, p->db, &p->device, &p->device_error);

        if (r < 0 && !p->device_error)
                p->device_error = strdup(strerror(-r));
}

int provisioner_open(const char *root, usec_t now, unsigned home_flags, Provisioner **ret, char **ret_error)
{
        _cleanup_provisioner_ Provisioner *p = calloc(1, sizeof(Provisioner));
        _cleanup_(config_error_done) ConfigError cerr = {};
        RecordError herr = {};
        int r;

        if (!p)
                return -ENOMEM;
        p->now = now;
        if (root && !streq(root, "/") && !(p->root = strdup(root)))
                return -ENOMEM;

        r = config_load(p->root, &p->config, &cerr);
        if (r < 0) {
                *ret_error = TAKE_PTR(cerr.message);
                return r;
        }
        r = trust_db_open(p->root, now, &p->db, ret_error);
        if (r < 0)
                return r;
        r = home_new(p->root, home_flags, &p->home, &herr);
        if (r < 0) {
                *ret_error = strdup(herr.message);
                return r;
        }
        p->home->now = now;
        r = deny_list_load(p->root, &p->denied, ret_error);
        if (r < 0)
                return r;
        provisioner_load_device(p);
        *ret = TAKE_PTR(p);
        return 0;
}

int provisioner_reload(Provisioner *p, char **ret_error)
{
        _cleanup_trust_db_ TrustDb *db = NULL;
        _cleanup_(deny_list_done) DenyList denied = {};
        int r;

        r = trust_db_open(p->root, p->now, &db, ret_error);
        if (r < 0)
                return r;
        r = deny_list_load(p->root, &denied, ret_error);
        if (r < 0)
                return r;
        trust_db_free(p->db);
        p->db = TAKE_PTR(db);
        trust_db_raise_time_floor(p->db, p->floor_raised);
        deny_list_done(&p->denied);
        p->denied = denied;
        denied = (DenyList){};
        p->device = device_identity_free(p->device);
        p->device_error = mfree(p->device_error);
        provisioner_load_device(p);
        return 0;
}

/* Deletes what an interrupted create or remove left under /home: the engine's temporary names
 * (".#homework…", ".#removing…") are never a complete home. */
static int sweep_temporary_homes(Provisioner *p)
{
        _cleanup_free_ char *dir = NULL;
        DIR *d;
        int r = path_join_root(p->root, HOME_DIR, &dir);

        if (r < 0)
                return r;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *path = NULL;
                if (!startswith(de->d_name, ".#homework") && !startswith(de->d_name, ".#removing"))
                        continue;
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = home_tree_remove(path);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r < 0 ? r : 0;
}

/* A deny writes the list first and then removes the user (so a crash cannot let the grant come back):
 * a user of a denied name that corehomed made is what an interrupted deny left, and goes now. */
static int sweep_denied(Provisioner *p, char **ret_error)
{
        for (size_t i = 0; i < p->denied.n; i++) {
                const char *name = p->denied.entries[i].user_name;
                _cleanup_json_ json_t *record = NULL;
                RecordError err = {};
                int r;

                if (home_load_record(p->home, name, &record, &err) < 0 ||
                    !json_object_get(record, GRANT_RECORD_EXTENSION))
                        continue;
                r = home_remove(p->home, name, &err);
                if (r < 0 && r != -ENOENT)
                        return error_set(ret_error, r, "cannot remove %s, denied on this device: %s", name,
                                         err.message[0] ? err.message : strerror(-r));
        }
        return 0;
}

int provision_recover(Provisioner *p, char **ret_error)
{
        Intent *intents = NULL;
        size_t n = 0;
        int r;

        r = intent_list(p->root, &intents, &n);
        if (r < 0)
                return error_set(ret_error, r, "cannot read the intent journal: %s", strerror(-r));
        for (size_t i = 0; i < n && r >= 0; i++) {
                Intent *in = &intents[i];
                RecordError err = {};

                switch (in->operation) {
                case INTENT_CREATE: /* nothing existed before: undo */
                case INTENT_REMOVE: /* the user was going away: finish */
                        r = home_remove(p->home, in->user_name, &err);
                        break;
                case INTENT_UPDATE: /* the new record is in the journal: finish */
                        r = home_update(p->home, in->record, NULL, &err);
                        break;
                }
                if (r == -ENOENT || r == USER_RECORD_UPDATE_SAME)
                        r = 0;
                if (r >= 0)
                        r = sweep_temporary_homes(p);
                if (r >= 0)
                        r = intent_end(p->root, in->user_name);
                if (r < 0)
                        (void) error_set(ret_error, r,
                                         "cannot recover the interrupted operation on user %s: %s",
                                         in->user_name, err.message[0] ? err.message : strerror(-r));
        }
        intent_list_free(intents, n);
        if (r >= 0)
                r = sweep_temporary_homes(p);
        if (r >= 0)
                r = sweep_denied(p, ret_error);
        if (r >= 0) {
                _cleanup_free_ char *error = NULL;
                int k = trust_db_recover(p->db, &error);
                if (k < 0)
                        r = error_set(ret_error, k, "cannot recover the assertion store: %s",
                                      error ? error : strerror(-k));
        }
        return r;
}
