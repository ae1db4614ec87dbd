/* SPDX-License-Identifier: MIT */
/* Test helper: drives the home engine from shell scripts (the systemd-homed interop test).
 *
 *   home-tool [--root=DIR] [--mount] create RECORD.json | update RECORD.json
 *   home-tool [--root=DIR] [--mount] state|activate|deactivate|lock|unlock|remove|inspect USER
 *   home-tool [--root=DIR] list
 *   home-tool [--root=DIR] --mount realize USER          (luks: password from $HOME_PASSWORD; stays mounted)
 * activate and unlock take the passwords of $HOME_PASSWORDS (newline-separated) when it is set, as a login
 * would bring them (luks homes need them).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "home.h"
#include "user-record.h"

static int usage(void)
{
        fprintf(stderr, "usage: home-tool [--root=DIR] [--mount] COMMAND [ARG]\n");
        return 2;
}

static int fail(const char *what, int r, const RecordError *err)
{
        fprintf(stderr, "home-tool: %s: %s%s%s\n", what, err->field, err->field[0] ? ": " : "",
                err->message[0] ? err->message : strerror(-r));
        return 1;
}

static int load_record_file(const char *path, json_t **ret, RecordError *err)
{
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_file_bounded(AT_FDCWD, path, USER_RECORD_TEXT_MAX, &data, &size);
        if (r < 0) {
                snprintf(err->message, sizeof(err->message), "%s: %s", path, strerror(-r));
                return r;
        }
        return user_record_load(data, size, ret, err);
}

static int print_record(json_t *record)
{
        _cleanup_free_ char *text = NULL;

        if (user_record_format_pretty(record, &text) < 0)
                return 1;
        fputs(text, stdout);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_home_ Home *h = NULL;
        _cleanup_json_ json_t *record = NULL, *result = NULL;
        const char *root = NULL, *cmd, *arg;
        unsigned flags = 0;
        RecordError err = {};
        int i = 1, r;

        for (; i < argc && startswith(argv[i], "--"); i++) {
                if (startswith(argv[i], "--root="))
                        root = argv[i] + strlen("--root=");
                else if (streq(argv[i], "--mount"))
                        flags |= HOME_ALLOW_MOUNT;
                else
                        return usage();
        }
        if (i >= argc)
                return usage();
        cmd = argv[i];
        arg = i + 1 < argc ? argv[i + 1] : NULL;
        if (!streq(cmd, "list") && !arg)
                return usage();

        r = home_new(root, flags, &h, &err);
        if (r < 0)
                return fail("engine", r, &err);

        if (streq(cmd, "create") || streq(cmd, "update")) {
                r = load_record_file(arg, &record, &err);
                if (r < 0)
                        return fail(arg, r, &err);
                r = streq(cmd, "create") ? home_create(h, record, &result, &err)
                                         : home_update(h, record, &result, &err);
                if (r < 0)
                        return fail(cmd, r, &err);
                return 0;
        }
        if (streq(cmd, "inspect")) {
                r = home_load_record(h, arg, &result, &err);
                return r < 0 ? fail(cmd, r, &err) : print_record(result);
        }
        if (streq(cmd, "state")) {
                HomeState s;
                r = home_state(h, arg, &s);
                if (r < 0)
                        return fail(cmd, r, &err);
                printf("%s\n", home_state_to_string(s));
                return 0;
        }
        if (streq(cmd, "list")) {
                HomeListEntry *l = NULL;
                size_t n = 0;
                r = home_list(h, &l, &n);
                if (r < 0)
                        return fail(cmd, r, &err);
                for (size_t k = 0; k < n; k++)
                        printf("%s %u %s %s\n", l[k].user_name, (unsigned) l[k].uid,
                               home_state_to_string(l[k].state), l[k].ours ? "ours" : "foreign");
                home_list_free(l, n);
                return 0;
        }

        if (streq(cmd, "realize")) {
                const char *pw = getenv("HOME_PASSWORD");
                r = home_realize(h, arg, pw ? pw : "", HOME_REALIZE_ACTIVATE, &err);
                return r < 0 ? fail(cmd, r, &err) : 0;
        }
        if ((streq(cmd, "activate") || streq(cmd, "unlock")) && getenv("HOME_PASSWORDS")) {
                _cleanup_free_ char *copy = strdup(getenv("HOME_PASSWORDS"));
                char *list[16] = {}, *save = NULL;
                size_t n = 0;

                if (!copy)
                        return 1;
                for (char *t = strtok_r(copy, "\n", &save); t && n + 1 < ELEMENTSOF(list);
                     t = strtok_r(NULL, "\n", &save))
                        list[n++] = t;
                r = streq(cmd, "activate") ? home_activate_with_passwords(h, arg, list, &err)
                                           : home_unlock_with_passwords(h, arg, list, &err);
                return r < 0 ? fail(cmd, r, &err) : 0;
        }

        static const struct {
                const char *name;
                int (*op)(Home *, const char *, RecordError *);
        } ops[] = {
                { "activate", home_activate }, { "deactivate", home_deactivate }, { "lock", home_lock },
                { "unlock", home_unlock },     { "remove", home_remove },
        };
        for (size_t k = 0; k < ELEMENTSOF(ops); k++) {
                if (!streq(cmd, ops[k].name))
                        continue;
                r = ops[k].op(h, arg, &err);
                return r < 0 ? fail(cmd, r, &err) : 0;
        }
        return usage();
}
