/* SPDX-License-Identifier: MIT */
/* org.freedesktop.home1.Home: one object per home below /org/freedesktop/home1/home/, named by user name
 * (bus-path escaped) or by UID, as homed names them; its methods are the Manager's for that home, its
 * properties what homectl and desktops read. The objects are not registered one by one: a fallback finds
 * them on disk at each call, and an ObjectManager lists them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "home1-internal.h"

static int home_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                            void **found, sd_bus_error *error)
{
        _cleanup_free_ char *id = NULL, *name = NULL;
        Home1 *m = userdata;
        Home1View v = {};
        Home1Entry *e;
        char *end = NULL;
        unsigned long uid;
        int r;

        r = sd_bus_path_decode(path, HOME1_HOME_PATH, &id);
        if (r <= 0)
                return 0;
        /* A number is a UID (GetHomeByUID's paths), anything else a user name. */
        errno = 0;
        uid = strtoul(id, &end, 10);
        if (id[0] >= '0' && id[0] <= '9' && end && *end == '\0' && errno == 0 && uid < UINT32_MAX) {
                if (home1_user_by_uid(m, (uid_t) uid, &name) < 0)
                        return 0;
        } else
                name = TAKE_PTR(id);
        if (home1_view_load(m, name, &v) < 0)
                return 0;
        home1_view_done(&v);
        e = home1_entry_ensure(m, name);
        if (!e)
                return -ENOMEM;
        *found = e;
        return 1;
}

static int home_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                sd_bus_error *error)
{
        _cleanup_strv_free_ char **names = NULL, **paths = NULL;
        size_t n = 0;
        int r;

        r = home1_user_names(userdata, &names, &n);
        if (r < 0)
                return r;
        paths = calloc(n + 1, sizeof(char *));
        if (!paths)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = sd_bus_path_encode(HOME1_HOME_PATH, names[i], &paths[i]);
                if (r < 0)
                        return r;
        }
        *nodes = TAKE_PTR(paths);
        return 1;
}

static int home_method(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
        Home1Entry *e = userdata;

        return home1_method_for_user(e->service, message, sd_bus_message_get_member(message), e->user_name,
                                     error);
}

static int view_of(Home1Entry *e, Home1View *ret, sd_bus_error *error)
{
        int r = home1_view_load(e->service, e->user_name, ret);

        if (r == -ENOENT)
                return sd_bus_error_setf(error, "org.freedesktop.home1.NoSuchHome",
                                         "No home for user %s known", e->user_name);
        return r;
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        _cleanup_(home1_view_done) Home1View v = {};
        Home1Entry *e = userdata;
        int r;

        if (streq(property, "UserName"))
                return sd_bus_message_append(reply, "s", e->user_name);
        r = view_of(e, &v, error);
        if (r < 0)
                return r;
        if (streq(property, "UID"))
                return sd_bus_message_append(reply, "u", (uint32_t) v.uid);
        if (streq(property, "UnixRecord"))
                return sd_bus_message_append(reply, "(suusss)", e->user_name, (uint32_t) v.uid,
                                             (uint32_t) v.uid, v.real_name, v.home_directory,
                                             v.shell ? v.shell : "");
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s",
                                             home1_state_name(e->service, e->user_name, v.state));
        if (streq(property, "UserRecord")) {
                _cleanup_free_ char *json = NULL;
                bool incomplete = false;

                r = home1_record_json(e->service, sd_bus_get_current_message(bus), e->user_name, &v, &json,
                                      &incomplete);
                if (r < 0)
                        return r;
                return sd_bus_message_append(reply, "(sb)", json, incomplete);
        }
        return -ENOENT;
}

/* Every method checks its caller itself (home1_check_caller()). */
#define HOME_METHOD_FLAGS (SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE)

static const sd_bus_vtable home_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("UserName", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UID", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("UnixRecord", "(suusss)", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get, 0, 0),
        SD_BUS_PROPERTY("UserRecord", "(sb)", property_get, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Activate", SD_BUS_ARGS("s", secret), SD_BUS_NO_RESULT, home_method,
                                HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Deactivate", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, home_method,
                                HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Unregister", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, home_method,
                                HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Realize", SD_BUS_ARGS("s", secret), SD_BUS_NO_RESULT, home_method,
                                HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, home_method, HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Fixate", SD_BUS_ARGS("s", secret), SD_BUS_NO_RESULT, home_method,
                                HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Authenticate", SD_BUS_ARGS("s", secret), SD_BUS_NO_RESULT, home_method,
                                HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("s", user_record), SD_BUS_NO_RESULT, home_method,
                                HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Resize", SD_BUS_ARGS("t", size, "s", secret), SD_BUS_NO_RESULT, home_method,
                                HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("ChangePassword", SD_BUS_ARGS("s", new_secret, "s", old_secret),
                                SD_BUS_NO_RESULT, home_method, HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Lock", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, home_method, HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Unlock", SD_BUS_ARGS("s", secret), SD_BUS_NO_RESULT, home_method,
                                HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Acquire", SD_BUS_ARGS("s", secret, "b", please_suspend),
                                SD_BUS_RESULT("h", send_fd), home_method, HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Ref", SD_BUS_ARGS("b", please_suspend), SD_BUS_RESULT("h", send_fd),
                                home_method, HOME_METHOD_FLAGS),
        SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, home_method, HOME_METHOD_FLAGS),
        SD_BUS_VTABLE_END,
};

int home1_home_bus_add(Home1 *m)
{
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, &m->home_slot, HOME1_HOME_PATH, HOME1_HOME_INTERFACE,
                                       home_vtable, home_object_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(m->bus, &m->enumerator_slot, HOME1_HOME_PATH,
                                               home_node_enumerator, m);
        if (r >= 0)
                r = sd_bus_add_object_manager(m->bus, &m->object_manager_slot, HOME1_HOME_PATH);
        return r;
}
