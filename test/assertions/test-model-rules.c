/* SPDX-License-Identifier: MIT */
/* snapd's model rules (asserts/model.go), with system-user-authority (absent, "*", list) first. */
#include "types-test-util.h"

#define UC18 "model-uc18-system-user-authority-list"
#define UC22 "model-uc22-extended"

static Model *load_model(const char *fixture, const char *header, const char *json_value)
{
        _cleanup_(assertion_freep) Assertion *a = types_load_fixture(fixture);
        AssertionError err = {};
        Model *m = NULL;

        if (header)
                types_set_header(a, header, json_value);
        if (model_from_assertion(a, &m, &err) < 0)
                fail_msg("%s", err.message);
        return m;
}

static void test_system_user_authority_absent_means_brand_only(void **state)
{
        _cleanup_(model_freep) Model *m = load_model(UC18, "system-user-authority", NULL);

        assert_int_equal(m->system_user_authority, MODEL_SYSTEM_USER_AUTHORITY_ABSENT);
        assert_null(m->system_user_authority_list);
        assert_true(model_system_user_authority_allows(m, "acme"));
        assert_false(model_system_user_authority_allows(m, "partner-1"));
}

static void test_system_user_authority_star_means_anyone(void **state)
{
        _cleanup_(model_freep) Model *m = load_model("model-system-user-authority-any", NULL, NULL);

        assert_int_equal(m->system_user_authority, MODEL_SYSTEM_USER_AUTHORITY_ANY);
        assert_true(model_system_user_authority_allows(m, "acme"));
        assert_true(model_system_user_authority_allows(m, "anyone"));
}

static void test_system_user_authority_list_adds_to_brand(void **state)
{
        _cleanup_(model_freep) Model *m = load_model(UC18, NULL, NULL);

        assert_int_equal(m->system_user_authority, MODEL_SYSTEM_USER_AUTHORITY_LIST);
        assert_string_equal(m->system_user_authority_list[0], "partner-1");
        assert_null(m->system_user_authority_list[1]);
        assert_true(model_system_user_authority_allows(m, "acme"));
        assert_true(model_system_user_authority_allows(m, "partner-1"));
        assert_false(model_system_user_authority_allows(m, "partner-2"));
        assert_false(model_system_user_authority_allows(m, "*"));
}

static void test_system_user_authority_empty_list_is_brand_only(void **state)
{
        _cleanup_(model_freep) Model *m = load_model(UC18, "system-user-authority", "[]");

        assert_int_equal(m->system_user_authority, MODEL_SYSTEM_USER_AUTHORITY_ABSENT);
        assert_true(model_system_user_authority_allows(m, "acme"));
        assert_false(model_system_user_authority_allows(m, "partner-1"));
}

static void test_system_user_authority_refused_forms(void **state)
{
        static const char msg[] = "\"system-user-authority\" header must be '*' or a list of account ids";
        static const TypesCase cases[] = {
                { "a single id", "system-user-authority", "\"partner-1\"", msg },
                { "empty string", "system-user-authority", "\"\"", msg },
                { "star in a list", "system-user-authority", "[\"*\"]", msg },
                { "invalid id", "system-user-authority", "[\"Partner_1\"]", msg },
                { "a map", "system-user-authority", "{\"a\":\"b\"}", msg },
                { "nested list", "system-user-authority", "[[\"a\"]]", msg },
                { "32-char id", "system-user-authority", "[\"BhgbYoDtThegqVkEU7oiZP8GQwCoUIxz\"]", NULL },
                { "28-char id", "system-user-authority", "[\"abcdefghijklmnopqrstuvwxyz01\"]", NULL },
                { "29-char id", "system-user-authority", "[\"abcdefghijklmnopqrstuvwxyz012\"]", msg },
                { "2-char id", "system-user-authority", "[\"ab\"]", NULL },
                { "1-char id", "system-user-authority", "[\"a\"]", msg },
        };
        types_run_cases(UC18, types_view_model, cases, ELEMENTSOF(cases));
}

static void test_identity_fields(void **state)
{
        _cleanup_(model_freep) Model *m = load_model(UC18, NULL, NULL);
        usec_t t;

        assert_string_equal(m->brand_id, "acme");
        assert_string_equal(m->model, "appliance-1");
        assert_string_equal(m->series, "16");
        assert_string_equal(m->architecture, "amd64");
        assert_string_equal(m->gadget, "pc=18");
        assert_string_equal(m->kernel, "pc-kernel=18");
        assert_string_equal(m->base_snap, "core18");
        assert_string_equal(m->required_snaps[0], "network-manager");
        assert_int_equal(m->grade, MODEL_GRADE_UNSET);
        assert_false(m->classic);
        assert_int_equal(time_parse_rfc3339("2024-01-01T00:00:00Z", &t), 0);
        assert_int_equal(m->timestamp, t);
}

static void test_extended_fields(void **state)
{
        _cleanup_(model_freep) Model *m = load_model(UC22, NULL, NULL);

        assert_int_equal(m->grade, MODEL_GRADE_SIGNED);
        assert_int_equal(m->storage_safety, MODEL_STORAGE_SAFETY_PREFER_ENCRYPTED);
        assert_int_equal(m->n_snaps, 4);
        assert_string_equal(m->gadget, "pc");
        assert_string_equal(m->kernel, "pc-kernel");
        assert_string_equal(m->snaps[0].default_channel, "22/edge");
        assert_string_equal(m->snaps[0].presence, "required");
        assert_string_equal(m->serial_authority[0], "generic");
}

static void test_brand_and_model_rules(void **state)
{
        static const TypesCase cases[] = {
                { "authority is not the brand", "authority-id", "\"other\"",
                  "authority-id and brand-id must match, model assertions are expected to be signed by the "
                  "brand: "
                  "\"other\" != \"acme\"" },
                { "model upper case", "model", "\"Appliance\"",
                  "\"model\" header cannot contain uppercase letters" },
                { "model leading dash", "model", "\"-a\"", "\"model\" header contains invalid characters" },
                { "model double dash", "model", "\"a--b\"", "\"model\" header contains invalid characters" },
                { "model underscore", "model", "\"a_b\"", "\"model\" header contains invalid characters" },
                { "model one char", "model", "\"a\"", NULL },
                { "series with /", "series", "\"16/x\"",
                  "\"series\" primary key header cannot contain '/'" },
                { "format 1", "format", "\"1\"", "format 1 is not supported (at most 0)" },
                { "timestamp missing", "timestamp", NULL, "\"timestamp\" header is mandatory" },
                { "timestamp bad", "timestamp", "\"today\"", "\"timestamp\" header is not a RFC3339 date" },
                { "display-name a list", "display-name", "[\"x\"]",
                  "\"display-name\" header must be a string" },
                { "store a list", "store", "[\"x\"]", "\"store\" header must be a string" },
                { "classic not a bool", "classic", "\"yes\"",
                  "\"classic\" header must be 'true' or 'false'" },
                { "serial-authority a string", "serial-authority", "\"acme\"",
                  "\"serial-authority\" header must be a list of account ids" },
        };
        types_run_cases(UC18, types_view_model, cases, ELEMENTSOF(cases));
}

static void test_unextended_rules(void **state)
{
        static const TypesCase cases[] = {
                { "architecture missing", "architecture", NULL, "\"architecture\" header is mandatory" },
                { "gadget missing", "gadget", NULL, "\"gadget\" header is mandatory" },
                { "kernel empty", "kernel", "\"\"", "\"kernel\" header should not be empty" },
                { "kernel bad name", "kernel", "\"Pc\"", "invalid snap name in \"kernel\" header: Pc" },
                { "kernel without track", "kernel", "\"pc-kernel\"", NULL },
                { "kernel track with /", "kernel", "\"pc-kernel=18/stable\"",
                  "\"kernel\" channel selector must be a track name only" },
                { "kernel risk as track", "kernel", "\"pc-kernel=edge\"",
                  "\"kernel\" channel selector must be a track name" },
                { "base bad name", "base", "\"core_18\"", "invalid snap name in \"base\" header: core_18" },
                { "required snap bad", "required-snaps", "[\"ok\",\"-bad\"]",
                  "invalid snap name in \"required-snaps\" header: -bad" },
                { "snap name 40 chars", "required-snaps", "[\"abcdefghijklmnopqrstuvwxyzabcdefghijklmn\"]",
                  NULL },
                { "snap name 41 chars", "required-snaps", "[\"abcdefghijklmnopqrstuvwxyzabcdefghijklmno\"]",
                  "invalid snap name" },
                { "snap name 1 char", "required-snaps", "[\"a\"]", "invalid snap name" },
                { "snap name digits only", "required-snaps", "[\"12\"]", "invalid snap name" },
                { "grade without snaps", "grade", "\"signed\"",
                  "cannot specify a grade for model without the extended snaps header" },
                { "storage-safety without snaps", "storage-safety", "\"encrypted\"",
                  "cannot specify storage-safety for model without the extended snaps header" },
                { "distribution without classic", "distribution", "\"ubuntu\"",
                  "cannot specify distribution for model unless it is classic and has an extended snaps "
                  "header" },
                { "classic with a kernel", "classic", "\"true\"",
                  "cannot specify a kernel with a non-extended classic model" },
        };
        types_run_cases(UC18, types_view_model, cases, ELEMENTSOF(cases));
}

static void test_extended_rules(void **state)
{
        static const TypesCase cases[] = {
                { "kernel header with snaps", "kernel", "\"pc-kernel\"",
                  "cannot specify separate \"kernel\" header once using the extended snaps header" },
                { "required-snaps with snaps", "required-snaps", "[\"a1\"]",
                  "cannot specify separate \"required-snaps\" header" },
                { "base missing", "base", NULL, "\"base\" header is mandatory" },
                { "grade secured", "grade", "\"secured\"", NULL },
                { "grade dangerous", "grade", "\"dangerous\"", NULL },
                { "grade unknown", "grade", "\"safe\"",
                  "grade for model must be secured|signed|dangerous, not \"safe\"" },
                { "storage-safety unknown", "storage-safety", "\"maybe\"",
                  "storage-safety for model must be encrypted|prefer-encrypted|prefer-unencrypted, not "
                  "\"maybe\"" },
                { "secured needs encrypted", "storage-safety", "\"prefer-encrypted\"",
                  "secured grade model must not have storage-safety overridden, only \"encrypted\" is valid",
                  "grade", "\"secured\"" },
                { "secured with encrypted", "storage-safety", "\"encrypted\"", NULL, "grade",
                  "\"secured\"" },
                { "snaps a string", "snaps", "\"pc\"", "\"snaps\" header must be a list of maps" },
                { "snaps list of strings", "snaps", "[\"pc\"]", "\"snaps\" header must be a list of maps" },
                { "no kernel", "snaps",
                  "[{\"name\":\"pc\",\"id\":\"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH\",\"type\":\"gadget\"}]",
                  "one \"snaps\" header entry must specify the model kernel" },
                { "duplicate name", "snaps",
                  "[{\"name\":\"pc\",\"id\":\"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH\",\"type\":\"gadget\"},"
                  "{\"name\":\"pc\",\"id\":\"pYVQrBcKmBa0mZ4CCN7ExT6jH8rY1hza\",\"type\":\"kernel\"}]",
                  "cannot list the same snap \"pc\" multiple times" },
                { "duplicate id", "snaps",
                  "[{\"name\":\"pc\",\"id\":\"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH\",\"type\":\"gadget\"},"
                  "{\"name\":\"pc-kernel\",\"id\":\"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH\",\"type\":\"kernel\"}"
                  "]",
                  "cannot specify the same snap id \"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH\" multiple times" },
                { "two kernels", "snaps",
                  "[{\"name\":\"pc\",\"id\":\"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH\",\"type\":\"gadget\"},"
                  "{\"name\":\"k1\",\"id\":\"pYVQrBcKmBa0mZ4CCN7ExT6jH8rY1hza\",\"type\":\"kernel\"},"
                  "{\"name\":\"k2\",\"id\":\"pYVQrBcKmBa0mZ4CCN7ExT6jH8rY1hzb\",\"type\":\"kernel\"}]",
                  "cannot specify multiple kernel snaps: \"k1\" and \"k2\"" },
                { "essential with modes", "snaps",
                  "[{\"name\":\"pc\",\"id\":\"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH\",\"type\":\"gadget\","
                  "\"modes\":[\"run\"]},"
                  "{\"name\":\"pc-kernel\",\"id\":\"pYVQrBcKmBa0mZ4CCN7ExT6jH8rY1hza\",\"type\":\"kernel\"}"
                  "]",
                  "essential snaps are always available, cannot specify modes or presence for snap \"pc\"" },
                { "bad id", "snaps", "[{\"name\":\"pc\",\"id\":\"short\",\"type\":\"gadget\"}]",
                  "\"id\" of snap \"pc\" contains invalid characters" },
                { "bad type", "snaps",
                  "[{\"name\":\"pc\",\"id\":\"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAH\",\"type\":\"driver\"}]",
                  "type of snap \"pc\" must be one of app|base|gadget|kernel|core|snapd" },
                { "bad presence", "snaps",
                  "[{\"name\":\"x1\",\"id\":\"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAA\",\"presence\":\"maybe\"}]",
                  "presence of snap \"x1\" must be one of required|optional" },
                { "channel without track", "snaps",
                  "[{\"name\":\"x1\",\"id\":\"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAA\",\"default-channel\":"
                  "\"stable\"}]",
                  "default channel for snap \"x1\" must specify a track" },
                { "channel with bad risk", "snaps",
                  "[{\"name\":\"x1\",\"id\":\"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAA\",\"default-channel\":\"22/"
                  "fast\"}]",
                  "invalid default channel for snap \"x1\"" },
                { "bad mode", "snaps",
                  "[{\"name\":\"x1\",\"id\":\"UqFziVZDHLSyO3TqSWgNBoAdHbLI4dAA\",\"modes\":[\"Run\"]}]",
                  "\"modes\" of snap \"x1\" contains an invalid element" },
                { "base entry of wrong type", "snaps",
                  "[{\"name\":\"core22\",\"id\":\"amcUKQILKXHHTlmSa7NMdnXSx02dNeeT\",\"type\":\"app\"}]",
                  "boot base \"core22\" must specify type \"base\", not \"app\"" },
        };
        types_run_cases(UC22, types_view_model, cases, ELEMENTSOF(cases));
}

static void test_classic(void **state)
{
        _cleanup_(model_freep) Model *m = load_model("model-classic", NULL, NULL);

        assert_true(m->classic);
        assert_null(m->architecture);
        assert_null(m->kernel);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_system_user_authority_absent_means_brand_only),
                cmocka_unit_test(test_system_user_authority_star_means_anyone),
                cmocka_unit_test(test_system_user_authority_list_adds_to_brand),
                cmocka_unit_test(test_system_user_authority_empty_list_is_brand_only),
                cmocka_unit_test(test_system_user_authority_refused_forms),
                cmocka_unit_test(test_identity_fields),
                cmocka_unit_test(test_extended_fields),
                cmocka_unit_test(test_brand_and_model_rules),
                cmocka_unit_test(test_unextended_rules),
                cmocka_unit_test(test_extended_rules),
                cmocka_unit_test(test_classic),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
