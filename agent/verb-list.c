/* SPDX-License-Identifier: MIT */
/* corehomectl list: the users whose homes live here, with where their grant came from. */
#include <stdio.h>
#include <string.h>

#include "cli-provision.h"
#include "cli.h"
#include "grant-convert.h"
#include "json-util.h"
#include "macros.h"

static json_t *list_entry(Provisioner *p, const HomeListEntry *h)
{
        _cleanup_json_ json_t *record = NULL;
        RecordError err = {};
        json_t *grant = NULL, *not_after = NULL;
        char expiry[RFC3339_MAX] = "";

        if (home_load_record(p->home, h->user_name, &record, &err) >= 0) {
                grant = json_object_get(record, GRANT_RECORD_EXTENSION);
                not_after = json_object_get(record, "notAfterUSec");
        }
        if (json_is_integer(not_after))
                (void) time_format_rfc3339((usec_t) json_integer_value(not_after), expiry);

        return json_pack("{s:s, s:I, s:s, s:s?, s:s?, s:s?, s:O?, s:b}", "user", h->user_name, "uid",
                         (json_int_t) h->uid, "state", home_state_to_string(h->state), "expires",
                         expiry[0] ? expiry : NULL, "brand",
                         json_string_value(json_object_get(grant, "brandId")), "email",
                         json_string_value(json_object_get(grant, "email")), "revision",
                         json_object_get(grant, "revision"), "managed", grant != NULL);
}

int verb_list(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_provisioner_ Provisioner *p = NULL;
        _cleanup_json_ json_t *array = json_array();
        HomeListEntry *homes = NULL;
        size_t n = 0;
        int r;

        if (argc > 1) {
                cli_error(argv[0], "takes no arguments");
                return EXIT_USAGE;
        }
        if (!array || cli_provisioner_open(ctx, &p) < 0)
                return EXIT_REFUSED;
        r = home_list(p->home, &homes, &n);
        if (r < 0) {
                cli_error(argv[0], "cannot list homes: %s", strerror(-r));
                return EXIT_REFUSED;
        }
        for (size_t i = 0; i < n; i++)
                json_array_append_new(array, list_entry(p, &homes[i]));
        home_list_free(homes, n);

        if (ctx->json) {
                json_dumpf(array, stdout, JSON_INDENT(2));
                putchar('\n');
                return EXIT_OK;
        }
        if (json_array_size(array) == 0) {
                printf("No users.\n");
                return EXIT_OK;
        }
        printf("%-16s %-6s %-9s %-21s %-12s %s\n", "USER", "UID", "STATE", "EXPIRES", "BRAND", "EMAIL");
        size_t i;
        json_t *e;
        json_array_foreach (array, i, e) {
                const char *expires = json_string_value(json_object_get(e, "expires"));
                printf("%-16s %-6" JSON_INTEGER_FORMAT " %-9s %-21s %-12s %s\n",
                       json_string_value(json_object_get(e, "user")),
                       json_integer_value(json_object_get(e, "uid")),
                       json_string_value(json_object_get(e, "state")), expires ? expires : "never",
                       json_string_value(json_object_get(e, "brand")) ?: "-",
                       json_string_value(json_object_get(e, "email")) ?: "(not managed by corehomed)");
        }
        return EXIT_OK;
}
