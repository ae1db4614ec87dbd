/* SPDX-License-Identifier: MIT */
/* Served records; see userdb-record.h. */

#include "userdb-record.h"

#include <errno.h>
#include <stdint.h>

#include "json-util.h"
#include "user-record.h"

usec_t userdb_record_end(json_t *host_record)
{
        return user_record_end(host_record, USERDB_SERVED_EXTENSION);
}

int userdb_record_binding_uid(json_t *host_record, const char *machine_id, uid_t *ret)
{
        json_t *b =
                json_object_get(json_object_get(json_object_get(host_record, "binding"), machine_id), "uid");
        json_int_t v;

        if (!json_is_integer(b))
                return -EBADMSG;
        v = json_integer_value(b);
        if (v < 0 || v >= (json_int_t) UINT32_MAX)
                return -EBADMSG;
        *ret = (uid_t) v;
        return 0;
}

bool userdb_record_is_ours(Home *home, json_t *host_record)
{
        UserRecordSignatureState s;
        uid_t uid;

        if (!json_is_object(json_object_get(host_record, USERDB_SERVED_EXTENSION)))
                return false;
        if (userdb_record_binding_uid(host_record, home->machine_id, &uid) < 0)
                return false;
        if (user_record_verify(host_record, home->key->pkey, &s) < 0)
                return false;
        return s == USER_RECORD_SIGNED_EXCLUSIVE || s == USER_RECORD_SIGNED;
}

int userdb_user_record_for_peer(json_t *host_record, const char *machine_id, const char *service_name,
                                uid_t peer_uid, json_t **ret, bool *ret_incomplete)
{
        _cleanup_json_ json_t *record = NULL;
        json_t *status, *mine;
        bool incomplete = false;
        uid_t uid;
        int r;

        if (!json_is_object(host_record) || !machine_id || !service_name || !ret)
                return -EINVAL;
        r = userdb_record_binding_uid(host_record, machine_id, &uid);
        if (r < 0)
                return r;
        /* Secrets never leave the host record (and clients refuse records carrying them). */
        r = user_record_strip(host_record, USER_RECORD_SECTION_SECRET, &record);
        if (r < 0)
                return r;
        /* Password hashes and SSH keys: only for root and the user, so others cannot crack or reuse them. */
        if (peer_uid != 0 && peer_uid != uid && json_object_get(record, "privileged")) {
                if (json_object_del(record, "privileged") < 0)
                        return -ENOMEM;
                incomplete = true;
        }

        status = json_object_get(record, "status");
        if (!json_is_object(status)) {
                if (json_object_set_new(record, "status", json_object()) < 0)
                        return -ENOMEM;
                status = json_object_get(record, "status");
        }
        mine = json_object_get(status, machine_id);
        if (!json_is_object(mine)) {
                if (json_object_set_new(status, machine_id, json_object()) < 0)
                        return -ENOMEM;
                mine = json_object_get(status, machine_id);
        }
        if (!mine || json_object_set_new(mine, "service", json_string(service_name)) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(record);
        if (ret_incomplete)
                *ret_incomplete = incomplete;
        return 0;
}

int userdb_group_record(json_t *host_record, const char *machine_id, const char *service_name, json_t **ret)
{
        _cleanup_json_ json_t *group = NULL;
        const char *name = user_record_user_name(host_record);
        json_t *disposition = json_object_get(host_record, "disposition");
        json_t *realm = json_object_get(host_record, "realm");
        uid_t uid;
        int r;

        if (!name || !machine_id || !service_name || !ret)
                return -EINVAL;
        r = userdb_record_binding_uid(host_record, machine_id, &uid);
        if (r < 0)
                return r;
        group = json_pack("{s:s, s:I, s:{s:{s:s}}}", "groupName", name, "gid", (json_int_t) uid, "status",
                          machine_id, "service", service_name);
        if (!group)
                return -ENOMEM;
        if (json_is_string(disposition) && json_object_set(group, "disposition", disposition) < 0)
                return -ENOMEM;
        if (json_is_string(realm) && json_object_set(group, "realm", realm) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(group);
        return 0;
}
