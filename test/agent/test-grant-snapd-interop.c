/* SPDX-License-Identifier: MIT */
/* snapd's own bundle ($INTEROP_DIR/snapd/developer1-20-auto-import.assert, signed by snapd's test keys) on
 * the pure path: testrootorg trusted, the bundle imported through the trust database (signatures and chain
 * checked), the identity from the configuration, then policy and conversion.
 * Model testkeys-snapd-signed-core-20-amd64 gets user1; model other-model gets nothing, and says why. */
#include <sys/stat.h>

#include "test-grant-util.h"

#include "assertion-store.h"
#include "config.h"
#include "grant-convert.h"
#include "grant-policy.h"
#include "trust-db.h"
#include "user-record.h"

#define NOW   ((usec_t) 1718409600ULL * USEC_PER_SEC) /* 2024-06-15T00:00:00Z, inside 2020..2064 */
#define EMAIL "snappy-dev@lists.launchpad.net"
#define MODEL "testkeys-snapd-signed-core-20-amd64"

static char *interop(const char *name)
{
        return grant_test_path("INTEROP_DIR", name);
}

static void copy_into(const char *root, const char *rel_dir, const char *src_name)
{
        _cleanup_free_ char *src = interop(src_name), *dir = NULL, *dst = NULL, *data = NULL;
        const char *base = strrchr(src_name, '/') + 1;
        size_t size;
        FILE *f;

        data = grant_test_read(src, &size);
        assert_true(asprintf(&dir, "%s%s", root, rel_dir) > 0);
        assert_int_equal(mkdir_parents_and_self(dir, 0755), 0);
        assert_true(asprintf(&dst, "%s/%s.assert", dir, base) > 0);
        f = fopen(dst, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, size, f), size);
        assert_int_equal(fclose(f), 0);
}

static void import_file(TrustDb *db, const char *name)
{
        _cleanup_free_ char *path = interop(name), *data = NULL;
        _cleanup_assertion_list_ AssertionList *batch = NULL;
        _cleanup_trust_report_ TrustReport *report = NULL;
        AssertionError err = {};
        size_t size;

        data = grant_test_read(path, &size);
        if (assertion_stream_decode(data, size, &batch, &err) < 0)
                fail_msg("%s: line %u: %s", name, err.line, err.message);
        assert_int_equal(trust_db_import(db, batch, &report), 0);
        for (size_t i = 0; i < report->n; i++)
                if (report->verdicts[i].kind == TRUST_VERDICT_REFUSED)
                        fail_msg("%s: assertion %zu refused: %s", name, i, report->verdicts[i].reason);
        assert_true(report->committed);
}

typedef struct Fixture {
        char *root;
        TrustDb *db;
} Fixture;

typedef struct Vectors {
        const char *bundle;
        const char *model; /* NULL: no model assertion imported */
} Vectors;

/* developer1-20-signed.model is not imported: its timestamp (2018) predates developer1's key (2020), which
 * the trust database refuses as snapd does; that device's identity comes from the configuration alone. */
static const Vectors core20 = { "snapd/developer1-20-auto-import.assert", NULL };
static const Vectors core22 = { "snapd/developer1-22-auto-import.assert",
                                "snapd/developer1-22-signed.model" };

static int setup(void **state)
{
        const Vectors *v = *state;
        Fixture *fx = calloc(1, sizeof *fx);
        _cleanup_free_ char *error = NULL;

        *state = NULL; /* teardown must not take the vectors for a fixture when setup fails */

        assert_non_null(fx);
        fx->root = strdup("/tmp/corehomed-test-grant-interop-XXXXXX");
        assert_non_null(fx->root);
        assert_non_null(mkdtemp(fx->root));
        copy_into(fx->root, ASSERTION_STORE_TRUSTED_DIR, "snapd/testrootorg.account");
        copy_into(fx->root, ASSERTION_STORE_TRUSTED_DIR, "snapd/testrootorg-root.account-key");
        if (trust_db_open(fx->root, NOW, &fx->db, &error) < 0)
                fail_msg("trust db: %s", strempty(error));
        import_file(fx->db, v->bundle);
        if (v->model)
                import_file(fx->db, v->model);
        *state = fx;
        return 0;
}

static int teardown(void **state)
{
        Fixture *fx = *state;
        _cleanup_free_ char *cmd = NULL;

        if (!fx)
                return 0;
        trust_db_free(fx->db);
        assert_true(asprintf(&cmd, "rm -rf '%s'", fx->root) > 0);
        assert_int_equal(system(cmd), 0);
        free(fx->root);
        free(fx);
        return 0;
}

static DeviceIdentity *device_for(TrustDb *db, const char *model)
{
        _cleanup_free_ char *yaml = NULL, *error = NULL;
        _cleanup_config_ Config *config = NULL;
        DeviceIdentity *d = NULL;
        _cleanup_(config_error_done) ConfigError cerr = {};

        assert_true(asprintf(&yaml, "device:\n  brand-id: developer1\n  model: %s\n", model) > 0);
        if (config_load_from_buffer(yaml, strlen(yaml), "corehomed.yaml", &config, &cerr) < 0)
                fail_msg("config: %s", cerr.message);
        if (device_identity_load(config, db, &d, &error) < 0)
                fail_msg("identity: %s", strempty(error));
        return d;
}

static const Assertion *stored_system_user(TrustDb *db)
{
        const char *const key[] = { "developer1", EMAIL, NULL };
        const Assertion *a = trust_db_find(db, "system-user", key);

        assert_non_null(a);
        return a;
}

static void test_interop_developer1_applies_and_converts(void **state)
{
        Fixture *fx = *state;
        _cleanup_device_identity_ DeviceIdentity *d = device_for(fx->db, MODEL);
        const Assertion *a = stored_system_user(fx->db);
        _cleanup_system_user_ SystemUser *u = grant_test_system_user(a);
        _cleanup_config_ Config *config = NULL;
        _cleanup_json_ json_t *record = NULL;
        _cleanup_free_ char *error = NULL;
        GrantDecision decision;

        /* No model assertion stored: only the brand may sign system-users, and developer1 did. */
        assert_null(d->model_assertion);
        assert_int_equal(d->sources, DEVICE_IDENTITY_FROM_CONFIG);
        assert_string_equal(d->series, "16");

        if (grant_policy_check(d, u, NOW, &decision) != GRANT_APPLIES)
                fail_msg("not applied: %s: %s", grant_rule_to_string(decision.rule), decision.reason);

        assert_int_equal(config_new_default(&config), 0);
        if (grant_to_user_record(u, a, config, NOW, &record, &error) < 0)
                fail_msg("convert: %s", strempty(error));
        assert_int_equal(user_record_validate(record, NULL), 0);
        assert_string_equal(user_record_user_name(record), "user1");
        assert_string_equal(json_string_value(json_object_get(record, "realName")), "user1");
        assert_string_equal(json_string_value(json_object_get(record, "emailAddress")), EMAIL);
        assert_string_equal(
                json_string_value(json_array_get(
                        json_object_get(json_object_get(record, "privileged"), "hashedPassword"), 0)),
                u->password);
        assert_null(json_object_get(record, "notAfterUSec"));
        json_t *g = json_object_get(record, GRANT_RECORD_EXTENSION);
        assert_string_equal(json_string_value(json_object_get(g, "brandId")), "developer1");
        assert_string_equal(json_string_value(json_object_get(g, "authorityId")), "developer1");
        assert_string_equal(json_string_value(json_object_get(g, "signKey")),
                            "EAD4DbLxK_kn0gzNCXOs3kd6DeMU3f-L6BEsSEuJGBqCORR0gXkdDxMbOm11mRFu");

        /* The same bundle at a time outside since/until is refused for the time, not the device. */
        assert_int_equal(grant_policy_check(d, u, u->until, &decision), GRANT_EXPIRED);
        assert_int_equal(grant_policy_check(d, u, u->since - 1, &decision), GRANT_NOT_YET_VALID);
}

static void test_interop_other_model_is_not_for_device(void **state)
{
        Fixture *fx = *state;
        _cleanup_device_identity_ DeviceIdentity *d = device_for(fx->db, "other-model");
        _cleanup_system_user_ SystemUser *u = grant_test_system_user(stored_system_user(fx->db));
        GrantDecision decision;

        assert_null(d->model_assertion);
        assert_int_equal(grant_policy_check(d, u, NOW, &decision), GRANT_NOT_FOR_DEVICE);
        assert_int_equal(grant_verdict_to_errno(decision.verdict), -EXDEV);
        assert_int_equal(decision.rule, GRANT_RULE_MODELS);
        assert_string_equal(decision.reason, "\"other-model\" not in models "
                                             "[\"testkeys-snapd-signed-core-20-amd64\" "
                                             "\"testkeys-snapd-secured-core-20-amd64\"]");
}

/* With developer1's signed core-22 model stored, the identity includes it and its (absent)
 * system-user-authority decides: developer1 itself signed the grant, so it applies. */
static void test_interop_core22_with_stored_model(void **state)
{
        Fixture *fx = *state;
        _cleanup_device_identity_ DeviceIdentity *d =
                device_for(fx->db, "testkeys-snapd-signed-core-22-amd64");
        _cleanup_system_user_ SystemUser *u = grant_test_system_user(stored_system_user(fx->db));
        GrantDecision decision;

        assert_non_null(d->model_assertion);
        assert_int_equal(d->sources, DEVICE_IDENTITY_FROM_CONFIG | DEVICE_IDENTITY_FROM_MODEL);
        assert_int_equal(d->model_assertion->system_user_authority, MODEL_SYSTEM_USER_AUTHORITY_ABSENT);
        if (grant_policy_check(d, u, NOW, &decision) != GRANT_APPLIES)
                fail_msg("not applied: %s: %s", grant_rule_to_string(decision.rule), decision.reason);

        /* A partner signing for developer1 would be refused by that model. */
        free(u->authority_id);
        u->authority_id = strdup("partner");
        assert_int_equal(grant_policy_check(d, u, NOW, &decision), GRANT_NOT_FOR_DEVICE);
        assert_int_equal(decision.rule, GRANT_RULE_AUTHORITY);
        assert_string_equal(decision.reason, "\"partner\" not in accepted authorities [\"developer1\"]");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_prestate_setup_teardown(test_interop_developer1_applies_and_converts, setup,
                                                         teardown, (void *) &core20),
                cmocka_unit_test_prestate_setup_teardown(test_interop_other_model_is_not_for_device, setup,
                                                         teardown, (void *) &core20),
                cmocka_unit_test_prestate_setup_teardown(test_interop_core22_with_stored_model, setup,
                                                         teardown, (void *) &core22),
        };
        _cleanup_free_ char *probe = NULL;

        if (!getenv("INTEROP_DIR") ||
            asprintf(&probe, "%s/snapd/developer1-20-auto-import.assert", getenv("INTEROP_DIR")) < 0 ||
            access(probe, R_OK) < 0) {
                printf("SKIP: the snapd interop vectors are not available (INTEROP_DIR)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
