/* SPDX-License-Identifier: MIT */
/* The grant rules, one table row per rule outcome and per pair of rules whose order matters (snapd checks
 * brand, authority, series, models, serials, then since/until; the first failing rule decides and is named).
 * The device is acme/appliance-1, series 16; the time is inside every grant's window. */
#include "test-grant-util.h"

#include "grant-policy.h"

#define NOW ((usec_t) 1718409600ULL * USEC_PER_SEC) /* 2024-06-15T00:00:00Z */

/* Model assertions by their system-user-authority header. */
#define MODEL_NONE NULL
#define MODEL_HEADERS_BASE                                                                                \
        "type: model\nauthority-id: acme\nseries: 16\nbrand-id: acme\nmodel: appliance-1\narchitecture: " \
        "amd64\ngadget: pc=18\nkernel: pc-kernel=18\nbase: core18\ntimestamp: 2024-01-01T00:00:00Z"
#define MODEL_AUTH_ABSENT       MODEL_HEADERS_BASE
#define MODEL_AUTH_ANY          MODEL_HEADERS_BASE "\nsystem-user-authority: *"
#define MODEL_AUTH_LIST         MODEL_HEADERS_BASE "\nsystem-user-authority:\n  - partner-1\n  - partner-2"
#define MODEL_AUTH_LIST_W_BRAND MODEL_HEADERS_BASE "\nsystem-user-authority:\n  - acme\n  - partner-1"

typedef struct RuleCase {
        const char *name;
        const char *authority; /* system-user authority-id */
        const char *brand;     /* system-user brand-id */
        const char *lists;     /* series/models/serials headers; NULL: series [16], models [appliance-1] */
        const char *until;     /* NULL: 2030-01-01T00:00:00Z */
        const char *model;     /* model assertion headers, MODEL_NONE for none stored */
        const char *serial;    /* the device's serial, NULL: not registered */
        GrantVerdict verdict;
        GrantRule rule;
        const char *reason;
} RuleCase;

#define SERIES_16     "series:\n  - 16\n"
#define MODELS_APP    "models:\n  - appliance-1\n"
#define SERIALS_0001  "serials:\n  - SN-0001\n"
#define SHORT_UNTIL   "2024-12-31T00:00:00Z" /* within a year of since: allowed without models */
#define PAST_UNTIL    "2024-03-01T00:00:00Z"
#define AUTH_REFUSED1 "\"partner-1\" not in accepted authorities [\"acme\"]"

static const RuleCase cases[] = {
        /* brand */
        { "brand matches", "acme", "acme", NULL, NULL, MODEL_NONE, NULL, GRANT_APPLIES, GRANT_RULE_NONE,
          "" },
        { "brand other", "other", "other", NULL, NULL, MODEL_NONE, NULL, GRANT_NOT_FOR_DEVICE,
          GRANT_RULE_BRAND, "brand-id \"other\" is not the device's brand \"acme\"" },
        { "brand other even with authority *", "other", "other", NULL, NULL, MODEL_AUTH_ANY, NULL,
          GRANT_NOT_FOR_DEVICE, GRANT_RULE_BRAND, "brand-id \"other\" is not the device's brand \"acme\"" },
        { "brand other signed by the device's brand", "acme", "other", NULL, NULL, MODEL_AUTH_ANY, NULL,
          GRANT_NOT_FOR_DEVICE, GRANT_RULE_BRAND, "brand-id \"other\" is not the device's brand \"acme\"" },

        /* authority */
        { "authority partner, no model assertion: brand only", "partner-1", "acme", NULL, NULL, MODEL_NONE,
          NULL, GRANT_NOT_FOR_DEVICE, GRANT_RULE_AUTHORITY, AUTH_REFUSED1 },
        { "authority partner, header absent: brand only", "partner-1", "acme", NULL, NULL, MODEL_AUTH_ABSENT,
          NULL, GRANT_NOT_FOR_DEVICE, GRANT_RULE_AUTHORITY, AUTH_REFUSED1 },
        { "authority brand, header absent", "acme", "acme", NULL, NULL, MODEL_AUTH_ABSENT, NULL,
          GRANT_APPLIES, GRANT_RULE_NONE, "" },
        { "authority partner, header *: anyone", "partner-9", "acme", NULL, NULL, MODEL_AUTH_ANY, NULL,
          GRANT_APPLIES, GRANT_RULE_NONE, "" },
        { "authority partner listed", "partner-2", "acme", NULL, NULL, MODEL_AUTH_LIST, NULL, GRANT_APPLIES,
          GRANT_RULE_NONE, "" },
        { "authority brand with a list not naming it", "acme", "acme", NULL, NULL, MODEL_AUTH_LIST, NULL,
          GRANT_APPLIES, GRANT_RULE_NONE, "" },
        { "authority partner not listed", "partner-3", "acme", NULL, NULL, MODEL_AUTH_LIST, NULL,
          GRANT_NOT_FOR_DEVICE, GRANT_RULE_AUTHORITY,
          "\"partner-3\" not in accepted authorities [\"acme\" \"partner-1\" \"partner-2\"]" },
        { "authority partner not listed, list names the brand", "partner-3", "acme", NULL, NULL,
          MODEL_AUTH_LIST_W_BRAND, NULL, GRANT_NOT_FOR_DEVICE, GRANT_RULE_AUTHORITY,
          "\"partner-3\" not in accepted authorities [\"acme\" \"partner-1\"]" },

        /* series */
        { "series absent: any", "acme", "acme", MODELS_APP, NULL, MODEL_NONE, NULL, GRANT_APPLIES,
          GRANT_RULE_NONE, "" },
        { "series several, one matches", "acme", "acme", "series:\n  - 18\n  - 16\n" MODELS_APP, NULL,
          MODEL_NONE, NULL, GRANT_APPLIES, GRANT_RULE_NONE, "" },
        { "series other", "acme", "acme", "series:\n  - 18\n  - 20\n" MODELS_APP, NULL, MODEL_NONE, NULL,
          GRANT_NOT_FOR_DEVICE, GRANT_RULE_SERIES, "\"16\" not in series [\"18\" \"20\"]" },

        /* models */
        { "models absent: any", "acme", "acme", SERIES_16, SHORT_UNTIL, MODEL_NONE, NULL, GRANT_APPLIES,
          GRANT_RULE_NONE, "" },
        { "models several, one matches", "acme", "acme", SERIES_16 "models:\n  - other\n  - appliance-1\n",
          NULL, MODEL_NONE, NULL, GRANT_APPLIES, GRANT_RULE_NONE, "" },
        { "models other", "acme", "acme", SERIES_16 "models:\n  - other-model\n", NULL, MODEL_NONE, NULL,
          GRANT_NOT_FOR_DEVICE, GRANT_RULE_MODELS, "\"appliance-1\" not in models [\"other-model\"]" },

        /* serials */
        { "serials match", "acme", "acme", SERIES_16 MODELS_APP SERIALS_0001, NULL, MODEL_NONE, "SN-0001",
          GRANT_APPLIES, GRANT_RULE_NONE, "" },
        { "serials several, one matches", "acme", "acme",
          SERIES_16 MODELS_APP "serials:\n  - SN-0002\n  - SN-0001\n", NULL, MODEL_NONE, "SN-0001",
          GRANT_APPLIES, GRANT_RULE_NONE, "" },
        { "serials other", "acme", "acme", SERIES_16 MODELS_APP SERIALS_0001, NULL, MODEL_NONE, "SN-0002",
          GRANT_NOT_FOR_DEVICE, GRANT_RULE_SERIALS, "\"SN-0002\" not in serials [\"SN-0001\"]" },
        { "serials, device not registered: pending", "acme", "acme", SERIES_16 MODELS_APP SERIALS_0001, NULL,
          MODEL_NONE, NULL, GRANT_PENDING_SERIAL, GRANT_RULE_SERIALS,
          "bound to serial assertion but device not yet registered" },
        { "serials absent, device registered", "acme", "acme", NULL, NULL, MODEL_NONE, "SN-0001",
          GRANT_APPLIES, GRANT_RULE_NONE, "" },

        /* order: the first failing rule decides */
        { "order: brand before authority", "partner-1", "other", NULL, NULL, MODEL_NONE, NULL,
          GRANT_NOT_FOR_DEVICE, GRANT_RULE_BRAND, "brand-id \"other\" is not the device's brand \"acme\"" },
        { "order: authority before series", "partner-1", "acme", "series:\n  - 18\n" MODELS_APP, NULL,
          MODEL_NONE, NULL, GRANT_NOT_FOR_DEVICE, GRANT_RULE_AUTHORITY, AUTH_REFUSED1 },
        { "order: series before models", "acme", "acme", "series:\n  - 18\nmodels:\n  - other\n", NULL,
          MODEL_NONE, NULL, GRANT_NOT_FOR_DEVICE, GRANT_RULE_SERIES, "\"16\" not in series [\"18\"]" },
        { "order: models before serials", "acme", "acme", SERIES_16 "models:\n  - other\n" SERIALS_0001,
          NULL, MODEL_NONE, NULL, GRANT_NOT_FOR_DEVICE, GRANT_RULE_MODELS,
          "\"appliance-1\" not in models [\"other\"]" },
        { "order: serials before until", "acme", "acme", SERIES_16 MODELS_APP SERIALS_0001, PAST_UNTIL,
          MODEL_NONE, "SN-0002", GRANT_NOT_FOR_DEVICE, GRANT_RULE_SERIALS,
          "\"SN-0002\" not in serials [\"SN-0001\"]" },
        { "order: pending serial before until", "acme", "acme", SERIES_16 MODELS_APP SERIALS_0001,
          PAST_UNTIL, MODEL_NONE, NULL, GRANT_PENDING_SERIAL, GRANT_RULE_SERIALS,
          "bound to serial assertion but device not yet registered" },
        { "order: until last", "acme", "acme", NULL, PAST_UNTIL, MODEL_NONE, NULL, GRANT_EXPIRED,
          GRANT_RULE_UNTIL, "assertion not valid anymore: until 2024-03-01T00:00:00Z" },
};

static Assertion *case_assertion(const RuleCase *c)
{
        _cleanup_free_ char *headers = NULL;
        const char *lists = c->lists ? c->lists : SERIES_16 MODELS_APP;
        size_t n = strlen(lists);

        assert_true(asprintf(&headers,
                             "type: system-user\nformat: %s\nauthority-id: %s\nbrand-id: %s\n"
                             "email: alice@example.com\n%.*s\nsince: 2024-01-01T00:00:00Z\nuntil: %s\n"
                             "username: alice",
                             strstr(lists, "serials:") ? "1" : "0", c->authority, c->brand,
                             (int) (n > 0 && lists[n - 1] == '\n' ? n - 1 : n), lists,
                             c->until ? c->until : "2030-01-01T00:00:00Z") > 0);
        return grant_test_assertion(headers);
}

static void test_rules_table(void **state)
{
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const RuleCase *c = &cases[i];
                _cleanup_assertion_ Assertion *a = case_assertion(c);
                _cleanup_system_user_ SystemUser *u = grant_test_system_user(a);
                _cleanup_device_identity_ DeviceIdentity *d =
                        grant_test_device("acme", "appliance-1", "16", c->serial,
                                          c->model ? grant_test_model(c->model) : NULL);
                GrantDecision decision;
                GrantVerdict v = grant_policy_check(d, u, NOW, &decision);

                if (v != c->verdict || decision.verdict != c->verdict || decision.rule != c->rule ||
                    !streq(decision.reason, c->reason))
                        fail_msg("case \"%s\": got %s/%s \"%s\", expected %s/%s \"%s\"", c->name,
                                 grant_verdict_to_string(v), grant_rule_to_string(decision.rule),
                                 decision.reason, grant_verdict_to_string(c->verdict),
                                 grant_rule_to_string(c->rule), c->reason);
                /* The decision without a GrantDecision is the same. */
                assert_int_equal(grant_policy_check(d, u, NOW, NULL), c->verdict);
        }
}

/* Every format takes the same rules: format 0 plain, format 1 with serials, format 2 with user-presence. */
static void test_rules_every_format_applies(void **state)
{
        static const char *const extra[] = {
                "format: 0",
                "format: 1\nserials:\n  - SN-0001",
                "format: 2\nserials:\n  - SN-0001\nuser-presence: until-expiration",
                "format: 2",
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(extra); i++) {
                _cleanup_free_ char *headers = NULL;
                assert_true(asprintf(&headers,
                                     "type: system-user\nauthority-id: acme\nbrand-id: acme\n"
                                     "email: alice@example.com\nmodels:\n  - appliance-1\nseries:\n  - 16\n"
                                     "since: 2024-01-01T00:00:00Z\nuntil: 2030-01-01T00:00:00Z\n"
                                     "username: alice\n%s",
                                     extra[i]) > 0);
                _cleanup_assertion_ Assertion *a = grant_test_assertion(headers);
                _cleanup_system_user_ SystemUser *u = grant_test_system_user(a);
                _cleanup_device_identity_ DeviceIdentity *d =
                        grant_test_device("acme", "appliance-1", "16", "SN-0001", NULL);
                GrantDecision decision;

                assert_int_equal(u->format, i < 3 ? i : 2);
                assert_int_equal(grant_policy_check(d, u, NOW, &decision), GRANT_APPLIES);
                assert_string_equal(decision.reason, "");

                /* ... and the same refusal for another model. */
                free(d->model);
                d->model = strdup("other-model");
                assert_int_equal(grant_policy_check(d, u, NOW, &decision), GRANT_NOT_FOR_DEVICE);
                assert_int_equal(decision.rule, GRANT_RULE_MODELS);
        }
}

/* A hostile list must not overflow the reason: it is cut with "..." at GRANT_REASON_MAX. */
static void test_rules_long_list_reason_is_bounded(void **state)
{
        _cleanup_free_ char *models = NULL, *headers = NULL;
        size_t n = 0;

        (void) state;
        models = malloc(64 * 1024);
        assert_non_null(models);
        models[0] = '\0';
        for (unsigned i = 0; i < 400; i++)
                n += (size_t) sprintf(models + n, "  - model-number-%u\n", i);
        models[n - 1] = '\0';
        assert_true(asprintf(&headers,
                             "type: system-user\nauthority-id: acme\nbrand-id: acme\nemail: a@example.com\n"
                             "models:\n%s\nsince: 2024-01-01T00:00:00Z\nuntil: 2030-01-01T00:00:00Z\n"
                             "username: alice",
                             models) > 0);
        _cleanup_assertion_ Assertion *a = grant_test_assertion(headers);
        _cleanup_system_user_ SystemUser *u = grant_test_system_user(a);
        _cleanup_device_identity_ DeviceIdentity *d =
                grant_test_device("acme", "appliance-1", "16", NULL, NULL);
        GrantDecision decision;

        assert_int_equal(grant_policy_check(d, u, NOW, &decision), GRANT_NOT_FOR_DEVICE);
        assert_int_equal(decision.rule, GRANT_RULE_MODELS);
        assert_int_equal(strlen(decision.reason), GRANT_REASON_MAX - 1);
        assert_non_null(startswith(decision.reason, "\"appliance-1\" not in models [\"model-number-0\" "));
        assert_string_equal(decision.reason + GRANT_REASON_MAX - 4, "...");
}

static void test_verdict_errno_and_names(void **state)
{
        (void) state;
        assert_int_equal(grant_verdict_to_errno(GRANT_APPLIES), 0);
        assert_int_equal(grant_verdict_to_errno(GRANT_PENDING_SERIAL), -EAGAIN);
        assert_int_equal(grant_verdict_to_errno(GRANT_NOT_FOR_DEVICE), -EXDEV);
        assert_int_equal(grant_verdict_to_errno(GRANT_NOT_YET_VALID), -EKEYEXPIRED);
        assert_int_equal(grant_verdict_to_errno(GRANT_EXPIRED), -EKEYEXPIRED);
        assert_string_equal(grant_verdict_to_string(GRANT_PENDING_SERIAL), "pending-serial");
        assert_string_equal(grant_verdict_to_string(GRANT_NOT_FOR_DEVICE), "not-for-device");
        assert_string_equal(grant_rule_to_string(GRANT_RULE_AUTHORITY), "authority");
        assert_string_equal(grant_rule_to_string(GRANT_RULE_UNTIL), "until");
        assert_string_equal(grant_rule_to_string((GrantRule) 99), "unknown");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rules_table),
                cmocka_unit_test(test_rules_every_format_applies),
                cmocka_unit_test(test_rules_long_list_reason_is_bounded),
                cmocka_unit_test(test_verdict_errno_and_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
