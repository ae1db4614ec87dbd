/* SPDX-License-Identifier: MIT */
/* io.systemd.UserDatabase for the homes corehomed manages; see userdb.h. */

#include "userdb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "user-name.h"
#include "user-record.h"

typedef struct UserdbService {
        UserdbIndex *index;
        bool live;          /* the index is ours: scanned before every call */
        UserdbIndex *owned; /* the index when it is ours */
        char *service_name;
} UserdbService;

/* What a lookup asked for. An id of (uint64_t) -1 means "none given". */
typedef struct UserdbLookup {
        const char *name;
        uint64_t id;
} UserdbLookup;

#define ID_NONE UINT64_MAX

/* The records a lookup selected, still to be answered: pointers into the index. */
typedef struct Selection {
        const UserdbRecord **items;
        size_t n;
} Selection;

static void selection_done(Selection *sel)
{
        free(sel->items);
        *sel = (Selection){};
}

static void userdb_service_free(void *p)
{
        UserdbService *u = p;

        if (!u)
                return;
        userdb_index_free(u->owned);
        free(u->service_name);
        free(u);
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

typedef const UserdbText *(*TextOf)(const UserdbRecord *record, uid_t peer_uid);

/* The same for prepared answers: text_of() picks each selected record's text. */
static int reply_texts(VarlinkCall *call, const Selection *sel, TextOf text_of, uid_t peer_uid)
{
        const UserdbText *t;
        int r;

        if (sel->n == 0)
                return reply_error(call, USERDB_ERROR_NO_RECORD_FOUND);
        if (sel->n > 1 && !varlink_call_wants_more(call))
                return reply_error(call, VARLINK_ERROR_EXPECTED_MORE);
        for (size_t i = 0; i + 1 < sel->n; i++) {
                t = text_of(sel->items[i], peer_uid);
                r = varlink_call_reply_more_text(call, t->data, t->size);
                if (r < 0) {
                        (void) varlink_call_reply(call, NULL);
                        return r;
                }
        }
        t = text_of(sel->items[sel->n - 1], peer_uid);
        return varlink_call_reply_text(call, t->data, t->size);
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

/* Brings an index of our own up to date with what the call asks: the one file of a name, else all. */
static int refresh(UserdbService *u, const UserdbLookup *l)
{
        if (!u->live)
                return 0;
        if (l->id == ID_NONE && l->name)
                return userdb_index_scan_name(u->index, l->name);
        return userdb_index_scan(u->index);
}

/* Drops the records whose grant has run out by now: a grant that ran out ends the user at that instant
 * for every client, even while the daemon is still removing the home, so nothing resolves an expired user
 * to a uid again. The service runs only in the daemon, on the real clock. */
static void drop_expired(Selection *sel)
{
        usec_t now = time_now_realtime();
        size_t k = 0;

        for (size_t i = 0; i < sel->n; i++)
                if (sel->items[i]->not_after > now)
                        sel->items[k++] = sel->items[i];
        sel->n = k;
}

/* The records a lookup selects: by id, else by name, else all. Returns 1 and answers the call when the
 * name and the id name different users (ConflictingRecordFound, as systemd). */
static int lookup_records(UserdbService *u, VarlinkCall *call, const UserdbLookup *l, Selection *ret)
{
        _cleanup_(selection_done) Selection sel = {};
        int r;

        r = refresh(u, l);
        if (r < 0)
                return r;
        if (l->id != ID_NONE) {
                if ((uint64_t) (uid_t) l->id != l->id)
                        r = 0;
                else
                        r = userdb_index_get_uid(u->index, (uid_t) l->id, &sel.items, &sel.n);
        } else if (l->name) {
                const UserdbRecord *record;

                r = userdb_index_get_name(u->index, l->name, &record);
                if (r >= 0) {
                        sel.items = malloc(sizeof(UserdbRecord *));
                        if (!sel.items)
                                return -ENOMEM;
                        sel.items[sel.n++] = record;
                } else if (r == -ENOENT)
                        r = 0;
        } else {
                const UserdbRecord *const *all;
                size_t n;

                r = userdb_index_list(u->index, &all, &n);
                if (r >= 0 && n > 0) {
                        sel.items = reallocarray(NULL, n, sizeof(UserdbRecord *));
                        if (!sel.items)
                                return -ENOMEM;
                        memcpy(sel.items, all, n * sizeof(UserdbRecord *));
                        sel.n = n;
                }
        }
        if (r < 0)
                return r;
        drop_expired(&sel);

        if (l->id != ID_NONE && l->name && sel.n == 1 && !streq(l->name, sel.items[0]->user_name)) {
                r = reply_error(call, USERDB_ERROR_CONFLICTING_RECORD_FOUND);
                return r < 0 ? r : 1;
        }
        *ret = sel;
        sel = (Selection){};
        return 0;
}

/* ---- methods ---- */

static const UserdbText *user_text(const UserdbRecord *record, uid_t peer_uid)
{
        return peer_uid == 0 || peer_uid == record->uid ? &record->user_privileged : &record->user_other;
}

static const UserdbText *group_text(const UserdbRecord *record, uid_t peer_uid)
{
        return &record->group;
}

static int method_get_user_record(VarlinkCall *call, json_t *parameters, void *userdata)
{
        UserdbService *u = userdata;
        _cleanup_(selection_done) Selection sel = {};
        UserdbLookup l;
        uid_t peer_uid = (uid_t) -1;
        int r;

        r = lookup_parse(u, call, parameters, "userName", "uid", &l);
        if (r != 0)
                return r < 0 ? r : 0;
        r = lookup_records(u, call, &l, &sel);
        if (r != 0)
                return r < 0 ? r : 0;
        (void) varlink_call_peer(call, &peer_uid, NULL);
        return reply_texts(call, &sel, user_text, peer_uid);
}

static int method_get_group_record(VarlinkCall *call, json_t *parameters, void *userdata)
{
        UserdbService *u = userdata;
        _cleanup_(selection_done) Selection sel = {};
        UserdbLookup l;
        int r;

        r = lookup_parse(u, call, parameters, "groupName", "gid", &l);
        if (r != 0)
                return r < 0 ? r : 0;
        /* Per-user groups only: a group is its user (name and gid = uid), so the user lookup finds it. */
        r = lookup_records(u, call, &l, &sel);
        if (r != 0)
                return r < 0 ? r : 0;
        return reply_texts(call, &sel, group_text, (uid_t) -1);
}

static int append_memberships(json_t *replies, const UserdbRecord *record, const char *group_filter)
{
        for (char **g = record->member_of; g && *g; g++) {
                if (group_filter && !streq(group_filter, *g))
                        continue;
                if (json_array_append_new(replies, json_pack("{s:s, s:s}", "userName", record->user_name,
                                                             "groupName", *g)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int method_get_memberships(VarlinkCall *call, json_t *parameters, void *userdata)
{
        UserdbService *u = userdata;
        _cleanup_(selection_done) Selection sel = {};
        _cleanup_json_ json_t *replies = json_array();
        json_t *group_name = json_object_get(parameters, "groupName");
        const char *group_filter = NULL;
        UserdbLookup l;
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
        r = lookup_records(u, call, &l, &sel);
        if (r != 0)
                return r < 0 ? r : 0;

        for (size_t i = 0; i < sel.n; i++) {
                r = append_memberships(replies, sel.items[i], group_filter);
                if (r < 0)
                        return r;
        }
        return reply_list(call, replies);
}

static int service_register(VarlinkServer *s, UserdbService *u)
{
        int r;

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

static int service_new(const char *service_name, UserdbService **ret)
{
        UserdbService *u = calloc(1, sizeof(UserdbService));

        if (!u)
                return -ENOMEM;
        u->service_name = strdup(service_name);
        if (!u->service_name) {
                userdb_service_free(u);
                return -ENOMEM;
        }
        *ret = u;
        return 0;
}

int userdb_service_add_index(VarlinkServer *s, UserdbIndex *index)
{
        UserdbService *u;
        int r;

        if (!s || !index)
                return -EINVAL;
        r = service_new(userdb_index_service_name(index), &u);
        if (r < 0)
                return r;
        u->index = index;
        return service_register(s, u);
}

int userdb_service_add(VarlinkServer *s, Home *home, const char *service_name)
{
        UserdbService *u;
        int r;

        if (!s || !home || !home->key || !service_name || !*service_name)
                return -EINVAL;
        r = service_new(service_name, &u);
        if (r < 0)
                return r;
        r = userdb_index_new(home, service_name, &u->owned);
        if (r < 0) {
                userdb_service_free(u);
                return r;
        }
        u->index = u->owned;
        u->live = true;
        return service_register(s, u);
}
