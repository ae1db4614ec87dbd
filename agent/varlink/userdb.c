/* SPDX-License-Identifier: MIT */
/* io.systemd.UserDatabase for the homes corehomed manages; see userdb.h. */

#include "userdb.h"

#include <stdint.h>

#include "json-util.h"
#include "user-name.h"
#include "user-record.h"

typedef struct UserdbService {
        Home *home;
        char *service_name;
        UserdbHidden hidden;
        void *hidden_userdata;
} UserdbService;

/* What a lookup asked for. An id of (uint64_t) -1 means "none given". */
typedef struct UserdbLookup {
        const char *name;
        uint64_t id;
} UserdbLookup;

#define ID_NONE UINT64_MAX

static void userdb_service_free(void *p)
{
        UserdbService *u = p;

        if (!u)
                return;
        free(u->service_name);
        free(u);
}

/* ---- records ---- */

static int binding_uid(json_t *record, const char *machine_id, uid_t *ret)
{
        json_t *b = json_object_get(json_object_get(json_object_get(record, "binding"), machine_id), "uid");
        json_int_t v;

        if (!json_is_integer(b))
                return -EBADMSG;
        v = json_integer_value(b);
        if (v < 0 || v >= (json_int_t) UINT32_MAX)
                return -EBADMSG;
        *ret = (uid_t) v;
        return 0;
}

/* Only users corehomed made: the grant extension says where the user came from, and our engine key's
 * signature proves we wrote the record. A record someone else placed in homed's directory (or a homed
 * user) is not ours to serve; homed serves its own. */
static bool record_is_ours(UserdbService *u, json_t *record)
{
        json_t *not_after = json_object_get(record, "notAfterUSec");
        UserRecordSignatureState s;
        uid_t uid;

        if (!json_is_object(json_object_get(record, USERDB_SERVED_EXTENSION)))
                return false;
        /* A grant that ran out ends the user at that instant for every client, even while the daemon is
         * still removing the home: nothing resolves an expired user to a uid again. The service runs only
         * in the daemon, on the real clock (the engine's clock is the one of its last operation). */
        if (json_is_integer(not_after) && (usec_t) json_integer_value(not_after) <= time_now_realtime())
                return false;
        if (binding_uid(record, u->home->machine_id, &uid) < 0)
                return false;
        if (user_record_verify(record, u->home->key->pkey, &s) < 0)
                return false;
        return s == USER_RECORD_SIGNED_EXCLUSIVE || s == USER_RECORD_SIGNED;
}

/* The served record of user name, read afresh (records change while the daemon runs). -ENOENT when there
 * is none we serve; a broken or foreign record counts as none, so clients move on to other services. */
static int served_record_by_name(UserdbService *u, const char *name, json_t **ret)
{
        _cleanup_json_ json_t *record = NULL;
        int r;

        if (!user_name_is_valid_syntax(name))
                return -ENOENT;
        r = home_load_record(u->home, name, &record, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !record_is_ours(u, record))
                return -ENOENT;
        if (u->hidden && u->hidden(name, u->hidden_userdata))
                return -ENOENT;
        *ret = TAKE_PTR(record);
        return 0;
}

/* Every served record, sorted by user name. With id != ID_NONE only the one whose uid is id. */
static int served_records(UserdbService *u, uint64_t id, json_t **ret)
{
        _cleanup_json_ json_t *list = json_array();
        HomeListEntry *entries = NULL;
        size_t n = 0;
        int r;

        if (!list)
                return -ENOMEM;
        r = home_list(u->home, &entries, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                json_t *record = NULL;

                if (!entries[i].ours || entries[i].uid == (uid_t) -1)
                        continue;
                if (id != ID_NONE && (uint64_t) entries[i].uid != id)
                        continue;
                r = served_record_by_name(u, entries[i].user_name, &record);
                if (r == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r >= 0 && json_array_append_new(list, record) < 0)
                        r = -ENOMEM;
        }
        home_list_free(entries, n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
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
        r = binding_uid(host_record, machine_id, &uid);
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
        r = binding_uid(host_record, machine_id, &uid);
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

/* ---- replies ---- */

static int reply_error(VarlinkCall *call, const char *error)
{
        return varlink_call_error(call, error, NULL);
}

/* Sends the replies in list: "continues" on all but the last. Without "more", one result is an ordinary
 * reply and several are refused with ExpectedMore (what systemd's services answer); none is
 * NoRecordFound. */
static int reply_list(VarlinkCall *call, json_t *list)
{
        size_t n = json_array_size(list);
        int r;

        if (n == 0)
                return reply_error(call, USERDB_ERROR_NO_RECORD_FOUND);
        if (n > 1 && !varlink_call_wants_more(call))
                return reply_error(call, VARLINK_ERROR_EXPECTED_MORE);
        for (size_t i = 0; i + 1 < n; i++) {
                r = varlink_call_reply_more(call, json_array_get(list, i));
                if (r < 0) {
                        /* The client is gone or not reading; the call still has to be finished. */
                        (void) varlink_call_reply(call, NULL);
                        return r;
                }
        }
        return varlink_call_reply(call, json_array_get(list, n - 1));
}

/* ---- parameters ---- */

/* Reads the lookup parameters as systemd does: a name (string) and an id (unsigned, a valid uid/gid) are
 * optional, "service" must name us, anything else is ignored (newer clients send more). Returns 1 when
 * the call was answered with an error already. */
static int lookup_parse(UserdbService *u, VarlinkCall *call, json_t *parameters, const char *name_key,
                        const char *id_key, UserdbLookup *ret)
{
        json_t *name = json_object_get(parameters, name_key);
        json_t *id = id_key ? json_object_get(parameters, id_key) : NULL;
        json_t *service = json_object_get(parameters, "service");
        UserdbLookup l = { .id = ID_NONE };
        int r;

        if (name && !json_is_null(name)) {
                if (!json_is_string(name))
                        goto invalid_name;
                l.name = json_string_value(name);
        }
        if (id && !json_is_null(id)) {
                /* (uid_t) -1 and its 16-bit form are never valid ids. */
                if (!json_is_integer(id) || json_integer_value(id) < 0 ||
                    json_integer_value(id) >= (json_int_t) UINT32_MAX || json_integer_value(id) == 65535)
                        goto invalid_id;
                l.id = (uint64_t) json_integer_value(id);
        }
        if (service && !json_is_null(service) && !json_is_string(service)) {
                r = varlink_call_error_invalid_parameter(call, "service");
                return r < 0 ? r : 1;
        }
        /* A client asking for another service reached us by mistake: answering would mix databases. */
        if (!json_is_string(service) || !streq(json_string_value(service), u->service_name)) {
                r = reply_error(call, USERDB_ERROR_BAD_SERVICE);
                return r < 0 ? r : 1;
        }
        *ret = l;
        return 0;

invalid_name:
        r = varlink_call_error_invalid_parameter(call, name_key);
        return r < 0 ? r : 1;
invalid_id:
        r = varlink_call_error_invalid_parameter(call, id_key);
        return r < 0 ? r : 1;
}

static bool record_matches(UserdbService *u, json_t *record, const UserdbLookup *l)
{
        uid_t uid;

        if (l->name && !streq(l->name, strempty(user_record_user_name(record))))
                return false;
        if (l->id != ID_NONE &&
            (binding_uid(record, u->home->machine_id, &uid) < 0 || (uint64_t) uid != l->id))
                return false;
        return true;
}

/* The records a lookup selects: by id, else by name, else all. Returns 1 and answers the call when the
 * name and the id name different users (ConflictingRecordFound, as systemd). */
static int lookup_records(UserdbService *u, VarlinkCall *call, const UserdbLookup *l, json_t **ret)
{
        _cleanup_json_ json_t *list = NULL;
        int r;

        if (l->id != ID_NONE)
                r = served_records(u, l->id, &list);
        else if (l->name) {
                _cleanup_json_ json_t *record = NULL;

                list = json_array();
                if (!list)
                        return -ENOMEM;
                r = served_record_by_name(u, l->name, &record);
                if (r == -ENOENT)
                        r = 0;
                else if (r >= 0 && json_array_append(list, record) < 0)
                        r = -ENOMEM;
        } else
                r = served_records(u, ID_NONE, &list);
        if (r < 0)
                return r;

        if (l->id != ID_NONE && l->name && json_array_size(list) == 1 &&
            !record_matches(u, json_array_get(list, 0), l)) {
                r = reply_error(call, USERDB_ERROR_CONFLICTING_RECORD_FOUND);
                return r < 0 ? r : 1;
        }
        *ret = TAKE_PTR(list);
        return 0;
}

/* ---- methods ---- */

static int method_get_user_record(VarlinkCall *call, json_t *parameters, void *userdata)
{
        UserdbService *u = userdata;
        _cleanup_json_ json_t *records = NULL, *replies = json_array();
        UserdbLookup l;
        uid_t peer_uid = (uid_t) -1;
        size_t i;
        json_t *record;
        int r;

        if (!replies)
                return -ENOMEM;
        r = lookup_parse(u, call, parameters, "userName", "uid", &l);
        if (r != 0)
                return r < 0 ? r : 0;
        r = lookup_records(u, call, &l, &records);
        if (r != 0)
                return r < 0 ? r : 0;
        (void) varlink_call_peer(call, &peer_uid, NULL);

        json_array_foreach (records, i, record) {
                _cleanup_json_ json_t *served = NULL;
                bool incomplete;

                r = userdb_user_record_for_peer(record, u->home->machine_id, u->service_name, peer_uid,
                                                &served, &incomplete);
                if (r < 0)
                        return r;
                if (json_array_append_new(replies, json_pack("{s:O, s:b}", "record", served, "incomplete",
                                                             incomplete)) < 0)
                        return -ENOMEM;
        }
        return reply_list(call, replies);
}

static int method_get_group_record(VarlinkCall *call, json_t *parameters, void *userdata)
{
        UserdbService *u = userdata;
        _cleanup_json_ json_t *records = NULL, *replies = json_array();
        UserdbLookup l;
        size_t i;
        json_t *record;
        int r;

        if (!replies)
                return -ENOMEM;
        r = lookup_parse(u, call, parameters, "groupName", "gid", &l);
        if (r != 0)
                return r < 0 ? r : 0;
        /* Per-user groups only: a group is its user (name and gid = uid), so the user lookup finds it. */
        r = lookup_records(u, call, &l, &records);
        if (r != 0)
                return r < 0 ? r : 0;

        json_array_foreach (records, i, record) {
                _cleanup_json_ json_t *group = NULL;

                r = userdb_group_record(record, u->home->machine_id, u->service_name, &group);
                if (r < 0)
                        return r;
                if (json_array_append_new(replies,
                                          json_pack("{s:O, s:b}", "record", group, "incomplete", 0)) < 0)
                        return -ENOMEM;
        }
        return reply_list(call, replies);
}

static int append_memberships(json_t *replies, json_t *record, const char *group_filter)
{
        const char *user = user_record_user_name(record);
        json_t *groups = json_object_get(record, "memberOf"), *g;
        size_t i;

        json_array_foreach (groups, i, g) {
                if (!json_is_string(g))
                        continue;
                if (group_filter && !streq(group_filter, json_string_value(g)))
                        continue;
                if (json_array_append_new(replies,
                                          json_pack("{s:s, s:O}", "userName", user, "groupName", g)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int method_get_memberships(VarlinkCall *call, json_t *parameters, void *userdata)
{
        UserdbService *u = userdata;
        _cleanup_json_ json_t *records = NULL, *replies = json_array();
        json_t *group_name = json_object_get(parameters, "groupName"), *record;
        const char *group_filter = NULL;
        UserdbLookup l;
        size_t i;
        int r;

        if (!replies)
                return -ENOMEM;
        if (group_name && !json_is_null(group_name)) {
                if (!json_is_string(group_name))
                        return varlink_call_error_invalid_parameter(call, "groupName");
                group_filter = json_string_value(group_name);
        }
        r = lookup_parse(u, call, parameters, "userName", NULL, &l);
        if (r != 0)
                return r < 0 ? r : 0;
        r = lookup_records(u, call, &l, &records);
        if (r != 0)
                return r < 0 ? r : 0;

        json_array_foreach (records, i, record) {
                r = append_memberships(replies, record, group_filter);
                if (r < 0)
                        return r;
        }
        return reply_list(call, replies);
}

int userdb_service_add(VarlinkServer *s, Home *home, const char *service_name)
{
        return userdb_service_add_filtered(s, home, service_name, NULL, NULL);
}

int userdb_service_add_filtered(VarlinkServer *s, Home *home, const char *service_name, UserdbHidden hidden,
                                void *userdata)
{
        UserdbService *u;
        int r;

        if (!s || !home || !home->key || !service_name || !*service_name)
                return -EINVAL;
        u = calloc(1, sizeof(UserdbService));
        if (!u)
                return -ENOMEM;
        u->home = home;
        u->hidden = hidden;
        u->hidden_userdata = userdata;
        u->service_name = strdup(service_name);
        if (!u->service_name) {
                userdb_service_free(u);
                return -ENOMEM;
        }
        r = varlink_server_attach_data(s, u, userdb_service_free);
        if (r < 0) {
                userdb_service_free(u);
                return r;
        }
        r = varlink_server_add_method(s, USERDB_INTERFACE ".GetUserRecord", method_get_user_record, u);
        if (r >= 0)
                r = varlink_server_add_method(s, USERDB_INTERFACE ".GetGroupRecord", method_get_group_record,
                                              u);
        if (r >= 0)
                r = varlink_server_add_method(s, USERDB_INTERFACE ".GetMemberships", method_get_memberships,
                                              u);
        return r;
}
