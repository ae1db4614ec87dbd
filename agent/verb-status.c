/* SPDX-License-Identifier: MIT */
/* corehomectl status: who this device is, whom it trusts, and what it holds. */
#include <stdio.h>
#include <string.h>

#include "cli-provision.h"
#include "cli.h"
#include "device-identity.h"
#include "json-util.h"
#include "macros.h"

static int count_one(const Assertion *a, bool trusted, void *userdata)
{
        json_t *o = userdata;
        json_t *key = trusted ? json_object_get(o, "trusted") : json_object_get(o, "stored");
        json_t *n = json_object_get(key, a->type);

        json_object_set_new(key, a->type, json_integer(n ? json_integer_value(n) + 1 : 1));
        if (trusted && streq(a->type, "account"))
                json_array_append_new(json_object_get(o, "trusted-accounts"),
                                      json_string(assertion_header_string(a, "account-id")));
        return 0;
}

int verb_status(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_provisioner_ Provisioner *p = NULL;
        _cleanup_free_ char *device = NULL;
        HomeListEntry *homes = NULL;
        size_t n_homes = 0;

        if (argc > 1) {
                cli_error(argv[0], "takes no arguments");
                return EXIT_USAGE;
        }
        if (cli_provisioner_open(ctx, &p) < 0)
                return EXIT_REFUSED;
        _cleanup_json_ json_t *o = json_pack("{s:{}, s:{}, s:[]}", "trusted", "stored", "trusted-accounts");
        if (!o || trust_db_foreach(p->db, NULL, NULL, count_one, o) < 0)
                return EXIT_REFUSED;
        if (home_list(p->home, &homes, &n_homes) < 0)
                n_homes = 0;
        home_list_free(homes, n_homes);
        if (p->device)
                device = device_identity_describe(p->device);

        char floor[RFC3339_MAX] = "none";
        usec_t t = trust_db_check_time(p->db);
        if (t > p->now)
                (void) time_format_rfc3339(t, floor);

        json_object_set_new(o, "device", device ? json_string(device) : json_null());
        if (!p->device)
                json_object_set_new(o, "device-error", json_string(strempty(p->device_error)));
        json_object_set_new(o, "users", json_integer((json_int_t) n_homes));
        json_object_set_new(o, "daemon", json_string("not contacted (offline, --root)"));
        json_object_set_new(o, "root", json_string(ctx->root));

        if (ctx->json) {
                json_dumpf(o, stdout, JSON_INDENT(2));
                putchar('\n');
                return EXIT_OK;
        }
        printf("Root:              %s\n", ctx->root);
        printf("Device:            %s\n", device ? device : "(none)");
        if (!p->device)
                printf("                   %s\n", strempty(p->device_error));
        printf("Trusted accounts: ");
        size_t i;
        json_t *e;
        json_array_foreach (json_object_get(o, "trusted-accounts"), i, e)
                printf(" %s", json_string_value(e));
        printf("\nStored assertions:");
        const char *type;
        json_object_foreach (json_object_get(o, "stored"), type, e)
                printf(" %s=%" JSON_INTEGER_FORMAT, type, json_integer_value(e));
        printf("\nUsers:             %zu\n", n_homes);
        if (t > p->now)
                printf("Clock:             behind the newest signed timestamp; checks use %s\n", floor);
        printf("Daemon:            not contacted (offline, --root)\n");
        return EXIT_OK;
}
