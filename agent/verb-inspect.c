/* SPDX-License-Identifier: MIT */
/* corehomectl inspect USER: the signed user record, the home's state, and the assertion it came from. */
#include <stdio.h>
#include <string.h>

#include "cli-provision.h"
#include "cli.h"
#include "grant-convert.h"
#include "json-util.h"
#include "macros.h"
#include "user-record.h"

int verb_inspect(const CliContext *ctx, int argc, char **argv)
{
        _cleanup_provisioner_ Provisioner *p = NULL;
        _cleanup_json_ json_t *record = NULL;
        _cleanup_free_ char *pretty = NULL;
        RecordError err = {};
        HomeState state = HOME_STATE_ABSENT;
        UserRecordSignatureState signature = USER_RECORD_UNSIGNED;
        int r;

        if (argc != 2) {
                cli_error(argv[0], "needs exactly one USER");
                return EXIT_USAGE;
        }
        if (cli_provisioner_open(ctx, &p) < 0)
                return EXIT_REFUSED;
        r = home_load_record(p->home, argv[1], &record, &err);
        if (r < 0) {
                cli_error(argv[1], "%s", r == -ENOENT ? "no such user managed here" : err.message);
                return EXIT_REFUSED;
        }
        (void) home_state(p->home, argv[1], &state);
        (void) user_record_verify(record, p->home->key->pkey, &signature);

        json_t *grant = json_object_get(record, GRANT_RECORD_EXTENSION);
        const char *key[] = { json_string_value(json_object_get(grant, "brandId")),
                              json_string_value(json_object_get(grant, "email")), NULL };
        const Assertion *a = key[0] && key[1] ? trust_db_find(p->db, "system-user", key) : NULL;

        if (ctx->json) {
                _cleanup_json_ json_t *o =
                        json_pack("{s:s, s:s, s:O, s:o?}", "state", home_state_to_string(state), "signature",
                                  user_record_signature_state_to_string(signature), "record", record,
                                  "assertion", a ? assertion_to_json(a) : NULL);
                if (!o)
                        return EXIT_REFUSED;
                json_dumpf(o, stdout, JSON_INDENT(2));
                putchar('\n');
                return EXIT_OK;
        }

        printf("User:      %s\n", argv[1]);
        printf("State:     %s\n", home_state_to_string(state));
        printf("Signature: %s (corehomed engine key)\n", user_record_signature_state_to_string(signature));
        if (grant)
                printf("Grant:     system-user brand-id=%s email=%s revision %" JSON_INTEGER_FORMAT "%s\n",
                       key[0], key[1], json_integer_value(json_object_get(grant, "revision")),
                       a ? "" : " (assertion no longer stored)");
        else
                printf("Grant:     none (not created by corehomed)\n");
        if (user_record_format_pretty(record, &pretty) >= 0)
                printf("Record:\n%s", pretty);
        return EXIT_OK;
}
