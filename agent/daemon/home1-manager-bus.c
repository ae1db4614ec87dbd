/* SPDX-License-Identifier: MIT */
/* org.freedesktop.home1.Manager on /org/freedesktop/home1: the methods systemd 252's homectl and
 * pam_systemd_home call, with homed's signatures, error names and who may call what (docs/home1.md has the
 * table). Methods that would change a record answer an error: records come only from signed grants. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "home1-errors.h"
#include "home1-internal.h"
#include "json-util.h"
#include "user-name.h"

/* ---- who, which home ---- */

/* The home a call names: an empty name is the caller's own (homed's convention), any other must be a
 * valid user name with a home of ours. *ret_view is loaded. */
static int resolve_home(Home1 *m, sd_bus_message *message, const char *user_name, char **ret_name,
                        Home1View *ret_view, sd_bus_error *error)
{
        _cleanup_free_ char *name = NULL;
        uid_t uid;
        int r;

        if (!user_name || !user_name[0]) {
                r = home1_caller_uid(message, &uid);
                if (r < 0)
                        return r;
                r = home1_user_by_uid(m, uid, &name);
                if (r == -ENOENT)
                        return sd_bus_error_setf(error, HOME1_ERROR_NO_SUCH_HOME, "No home for UID %u known",
                                                 (unsigned) uid);
                if (r < 0)
                        return r;
        } else {
                if (!user_name_is_valid_syntax(user_name))
                        return sd_bus_error_setf(error, HOME1_ERROR_INVALID_ARGS,
                                                 "User name %s is not valid", user_name);
                name = strdup(user_name);
                if (!name)
                        return -ENOMEM;
        }
        r = home1_view_load(m, name, ret_view);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, HOME1_ERROR_NO_SUCH_HOME, "No home for user %s known", name);
        if (r < 0)
                return r;
        *ret_name = TAKE_PTR(name);
        return 0;
}

static int read_secret(sd_bus_message *message, char ***ret, sd_bus_error *error)
{
        const char *text;
        int r;

        r = sd_bus_message_read(message, "s", &text);
        if (r < 0)
                return r;
        r = home1_secret_parse(text, ret);
        if (r == -EINVAL || r == -E2BIG)
                return sd_bus_error_set(error, HOME1_ERROR_INVALID_ARGS,
                                        r == -E2BIG ? "The secret record is too large."
                                                    : "Failed to parse JSON secret record.");
        return r;
}

static int refuse_record_change(sd_bus_message *message, const char *user_name, sd_bus_error *error)
{
        return sd_bus_error_setf(error, HOME1_ERROR_RECORD_SIGNED,
                                 "Home %s is signed and cannot be modified locally: its record comes from a "
                                 "signed grant (system-user assertion) and changes only with a newer one.",
                                 user_name);
}

/* The methods of one home: the Manager's take its user name first, the Home object's are called on it. */
int home1_method_for_user(Home1 *m, sd_bus_message *message, const char *member, const char *user_name,
                          sd_bus_error *error)
{
        _cleanup_(home1_view_done) Home1View v = {};
        _cleanup_passwords_ char **passwords = NULL;
        _cleanup_free_ char *name = NULL;
        int please_suspend = 0, r;

        r = resolve_home(m, message, user_name, &name, &v, error);
        if (r < 0)
                return r;

        /* Everything a user may do to their own home (homed's polkit defaults). */
        if (streq(member, "Acquire") || streq(member, "Authenticate") || streq(member, "Unlock")) {
                r = read_secret(message, &passwords, error);
                if (r >= 0 && streq(member, "Acquire"))
                        r = sd_bus_message_read(message, "b", &please_suspend);
                if (r >= 0)
                        r = home1_check_caller(message, v.uid, true, error);
                if (r < 0)
                        return r;
                r = home1_queue(m,
                                streq(member, "Acquire")        ? HOME1_OP_ACQUIRE
                                : streq(member, "Authenticate") ? HOME1_OP_AUTHENTICATE
                                                                : HOME1_OP_UNLOCK,
                                message, name, TAKE_PTR(passwords), please_suspend);
                return r < 0 ? r : 1;
        }
        if (streq(member, "Ref")) {
                r = sd_bus_message_read(message, "b", &please_suspend);
                if (r >= 0)
                        r = home1_check_caller(message, v.uid, true, error);
                if (r < 0)
                        return r;
                r = home1_ref_now(m, message, name, please_suspend, error);
                return r < 0 ? r : 1;
        }
        if (streq(member, "Release") || streq(member, "Lock")) {
                r = home1_check_caller(message, v.uid, true, error);
                if (r < 0)
                        return r;
                r = home1_queue(m, streq(member, "Lock") ? HOME1_OP_LOCK : HOME1_OP_RELEASE, message, name,
                                NULL, false);
                return r < 0 ? r : 1;
        }

        /* Root only. */
        if (streq(member, "Activate") || streq(member, "Realize")) {
                r = read_secret(message, &passwords, error);
                if (r >= 0)
                        r = home1_check_caller(message, v.uid, false, error);
                if (r < 0)
                        return r;
                r = home1_queue(m, streq(member, "Activate") ? HOME1_OP_ACTIVATE : HOME1_OP_REALIZE, message,
                                name, TAKE_PTR(passwords), false);
                return r < 0 ? r : 1;
        }
        if (streq(member, "Deactivate") || streq(member, "Remove")) {
                r = home1_check_caller(message, v.uid, false, error);
                if (r < 0)
                        return r;
                r = home1_queue(m, streq(member, "Remove") ? HOME1_OP_REMOVE : HOME1_OP_DEACTIVATE, message,
                                name, NULL, false);
                return r < 0 ? r : 1;
        }

        /* What homed has and a home made from a grant cannot do. */
        if (streq(member, "Fixate"))
                return sd_bus_error_setf(error, HOME1_ERROR_HOME_ALREADY_FIXATED,
                                         "Home %s is already fixated.", name);
        if (streq(member, "Unregister"))
                return sd_bus_error_setf(
                        error, HOME1_ERROR_NOT_SUPPORTED,
                        "Home %s comes from a signed grant: it goes when the grant ends or is "
                        "revoked, or with corehomectl remove.",
                        name);
        if (streq(member, "Update") || streq(member, "Resize") || streq(member, "ChangePassword"))
                return refuse_record_change(message, name, error);
        return sd_bus_error_setf(error, "org.freedesktop.DBus.Error.UnknownMethod", "Unknown method %s",
                                 member);
}

/* ---- the Manager's own methods ---- */

static int reply_home(sd_bus_message *message, const char *types, const char *user_name, const Home1View *v,
                      const char *state, bool by_uid)
{
        _cleanup_free_ char *path = NULL;
        int r;

        /* homed names the object by UID when it was asked by UID. */
        if (by_uid)
                r = asprintf(&path, HOME1_HOME_PATH "/%u", (unsigned) v->uid) < 0 ? -ENOMEM : 0;
        else
                r = sd_bus_path_encode(HOME1_HOME_PATH, user_name, &path);
        if (r < 0)
                return r;
        if (by_uid)
                return sd_bus_reply_method_return(message, types, user_name, state, (uint32_t) v->uid,
                                                  v->real_name, v->home_directory, v->shell ? v->shell : "",
                                                  path);
        return sd_bus_reply_method_return(message, types, (uint32_t) v->uid, state, (uint32_t) v->uid,
                                          v->real_name, v->home_directory, v->shell ? v->shell : "", path);
}

static int method_get_home_by_name(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Home1 *m = userdata;
        _cleanup_(home1_view_done) Home1View v = {};
        _cleanup_free_ char *name = NULL;
        const char *user_name;
        int r;

        r = sd_bus_message_read(message, "s", &user_name);
        if (r >= 0)
                r = resolve_home(m, message, user_name, &name, &v, error);
        if (r < 0)
                return r;
        return reply_home(message, "usussso", name, &v, home1_state_name(m, name, v.state), false);
}

static int uid_to_home(Home1 *m, sd_bus_message *message, char **ret_name, Home1View *ret_view,
                       sd_bus_error *error)
{
        uint32_t uid;
        int r;

        r = sd_bus_message_read(message, "u", &uid);
        if (r < 0)
                return r;
        r = home1_user_by_uid(m, (uid_t) uid, ret_name);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, HOME1_ERROR_NO_SUCH_HOME, "No home for UID %u known", uid);
        if (r < 0)
                return r;
        r = home1_view_load(m, *ret_name, ret_view);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, HOME1_ERROR_NO_SUCH_HOME, "No home for UID %u known", uid);
        return r;
}

static int method_get_home_by_uid(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Home1 *m = userdata;
        _cleanup_(home1_view_done) Home1View v = {};
        _cleanup_free_ char *name = NULL;
        int r;

        r = uid_to_home(m, message, &name, &v, error);
        if (r < 0)
                return r;
        return reply_home(message, "ssussso", name, &v, home1_state_name(m, name, v.state), true);
}

static int reply_record(Home1 *m, sd_bus_message *message, const char *name, const Home1View *v, bool by_uid)
{
        _cleanup_free_ char *json = NULL, *path = NULL;
        bool incomplete = false;
        int r;

        r = home1_record_json(m, message, name, v, &json, &incomplete);
        if (r >= 0) {
                if (by_uid)
                        r = asprintf(&path, HOME1_HOME_PATH "/%u", (unsigned) v->uid) < 0 ? -ENOMEM : 0;
                else
                        r = sd_bus_path_encode(HOME1_HOME_PATH, name, &path);
        }
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "sbo", json, incomplete, path);
}

static int method_get_user_record_by_name(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Home1 *m = userdata;
        _cleanup_(home1_view_done) Home1View v = {};
        _cleanup_free_ char *name = NULL;
        const char *user_name;
        int r;

        r = sd_bus_message_read(message, "s", &user_name);
        if (r >= 0)
                r = resolve_home(m, message, user_name, &name, &v, error);
        if (r < 0)
                return r;
        return reply_record(m, message, name, &v, false);
}

static int method_get_user_record_by_uid(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Home1 *m = userdata;
        _cleanup_(home1_view_done) Home1View v = {};
        _cleanup_free_ char *name = NULL;
        int r;

        r = uid_to_home(m, message, &name, &v, error);
        if (r < 0)
                return r;
        return reply_record(m, message, name, &v, true);
}

static int method_list_homes(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **names = NULL;
        Home1 *m = userdata;
        size_t n = 0;
        int r;

        r = home1_user_names(m, &names, &n);
        if (r >= 0)
                r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(susussso)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_(home1_view_done) Home1View v = {};
                _cleanup_free_ char *path = NULL;

                if (home1_view_load(m, names[i], &v) < 0)
                        continue; /* gone meanwhile */
                r = sd_bus_path_encode(HOME1_HOME_PATH, names[i], &path);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "(susussso)", names[i], (uint32_t) v.uid,
                                                  home1_state_name(m, names[i], v.state), (uint32_t) v.uid,
                                                  v.real_name, v.home_directory, v.shell ? v.shell : "",
                                                  path);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The methods whose first argument is the user name. */
static int method_for_user(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        const char *member = sd_bus_message_get_member(message), *user_name;
        char buf[32];
        size_t n = strlen(member);
        int r;

        /* "ActivateHome" -> "Activate": the Home object's name of the same method. */
        if (n <= 4 || n - 4 >= sizeof(buf) || !streq(member + n - 4, "Home"))
                return -EINVAL;
        memcpy(buf, member, n - 4);
        buf[n - 4] = '\0';
        r = sd_bus_message_read(message, "s", &user_name);
        if (r < 0)
                return r;
        return home1_method_for_user(userdata, message, buf, user_name, error);
}

static int method_not_supported(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return sd_bus_error_setf(
                error, HOME1_ERROR_NOT_SUPPORTED,
                "Records here come only from signed grants (system-user assertions): import "
                "them with corehomectl, on a stick or from the fleet server.");
}

static int method_update_home(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        _cleanup_json_ json_t *record = NULL;
        const char *text, *name;
        int r;

        r = sd_bus_message_read(message, "s", &text);
        if (r < 0)
                return r;
        record = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        name = json_string_value(json_object_get(record, "userName"));
        if (!name)
                return sd_bus_error_set(error, HOME1_ERROR_INVALID_ARGS,
                                        "JSON data is not a valid identity record");
        return refuse_record_change(message, name, error);
}

static int method_all(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Home1 *m = userdata;
        uid_t uid;
        int r;

        /* Before suspend and shutdown: logind and systemd-homed-activate.service call these, as root. */
        if (home1_caller_uid(message, &uid) < 0 || uid != 0)
                return sd_bus_error_set(error, HOME1_ERROR_ACCESS_DENIED, "Only root may do this.");
        r = home1_queue(m,
                        streq(sd_bus_message_get_member(message), "LockAllHomes") ? HOME1_OP_LOCK_ALL
                                                                                  : HOME1_OP_DEACTIVATE_ALL,
                        message, NULL, NULL, false);
        return r < 0 ? r : 1;
}

static int method_rebalance(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        return sd_bus_error_set(error, HOME1_ERROR_REBALANCE_NOT_NEEDED,
                                "No home directories need rebalancing.");
}

static int property_get_auto_login(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error)
{
        int r = sd_bus_message_open_container(reply, 'a', "(sso)");

        /* Nobody logs in without a password here: a grant cannot ask for auto-login. */
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* Every method checks its caller itself (home1_check_caller()). */
#define USER_METHOD_FLAGS (SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE)

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("AutoLogin", "a(sso)", property_get_auto_login, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetHomeByName", SD_BUS_ARGS("s", user_name),
                                SD_BUS_RESULT("u", uid, "s", home_state, "u", gid, "s", real_name, "s",
                                              home_directory, "s", shell, "o", bus_path),
                                method_get_home_by_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetHomeByUID", SD_BUS_ARGS("u", uid),
                                SD_BUS_RESULT("s", user_name, "s", home_state, "u", gid, "s", real_name, "s",
                                              home_directory, "s", shell, "o", bus_path),
                                method_get_home_by_uid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetUserRecordByName", SD_BUS_ARGS("s", user_name),
                                SD_BUS_RESULT("s", user_record, "b", incomplete, "o", bus_path),
                                method_get_user_record_by_name,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("GetUserRecordByUID", SD_BUS_ARGS("u", uid),
                                SD_BUS_RESULT("s", user_record, "b", incomplete, "o", bus_path),
                                method_get_user_record_by_uid,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ListHomes", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(susussso)", home_areas),
                                method_list_homes, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ActivateHome", SD_BUS_ARGS("s", user_name, "s", secret), SD_BUS_NO_RESULT,
                                method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("DeactivateHome", SD_BUS_ARGS("s", user_name), SD_BUS_NO_RESULT,
                                method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("RegisterHome", SD_BUS_ARGS("s", user_record), SD_BUS_NO_RESULT,
                                method_not_supported, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UnregisterHome", SD_BUS_ARGS("s", user_name), SD_BUS_NO_RESULT,
                                method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("CreateHome", SD_BUS_ARGS("s", user_record), SD_BUS_NO_RESULT,
                                method_not_supported, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("RealizeHome", SD_BUS_ARGS("s", user_name, "s", secret), SD_BUS_NO_RESULT,
                                method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("RemoveHome", SD_BUS_ARGS("s", user_name), SD_BUS_NO_RESULT, method_for_user,
                                USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("FixateHome", SD_BUS_ARGS("s", user_name, "s", secret), SD_BUS_NO_RESULT,
                                method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("AuthenticateHome", SD_BUS_ARGS("s", user_name, "s", secret),
                                SD_BUS_NO_RESULT, method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("UpdateHome", SD_BUS_ARGS("s", user_record), SD_BUS_NO_RESULT,
                                method_update_home, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ResizeHome", SD_BUS_ARGS("s", user_name, "t", size, "s", secret),
                                SD_BUS_NO_RESULT, method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("ChangePasswordHome",
                                SD_BUS_ARGS("s", user_name, "s", new_secret, "s", old_secret),
                                SD_BUS_NO_RESULT, method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("LockHome", SD_BUS_ARGS("s", user_name), SD_BUS_NO_RESULT, method_for_user,
                                USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("UnlockHome", SD_BUS_ARGS("s", user_name, "s", secret), SD_BUS_NO_RESULT,
                                method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("AcquireHome", SD_BUS_ARGS("s", user_name, "s", secret, "b", please_suspend),
                                SD_BUS_RESULT("h", send_fd), method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("RefHome", SD_BUS_ARGS("s", user_name, "b", please_suspend),
                                SD_BUS_RESULT("h", send_fd), method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("ReleaseHome", SD_BUS_ARGS("s", user_name), SD_BUS_NO_RESULT,
                                method_for_user, USER_METHOD_FLAGS),
        SD_BUS_METHOD("LockAllHomes", NULL, NULL, method_all, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("DeactivateAllHomes", NULL, NULL, method_all, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Rebalance", NULL, NULL, method_rebalance, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int home1_manager_bus_add(Home1 *m)
{
        return sd_bus_add_object_vtable(m->bus, &m->manager_slot, HOME1_OBJECT_PATH, HOME1_MANAGER_INTERFACE,
                                        manager_vtable, m);
}
