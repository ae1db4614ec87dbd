/* SPDX-License-Identifier: MIT */
/* Device identity from the configuration and/or the stored model and serial assertions: each source alone,
 * both agreeing, both disagreeing (refused, naming both values), ambiguity, and the serial's signer. The
 * stored assertions are written into a scratch root's store directly (the store is trusted as written, the
 * signatures were checked at import), then read back through trust_db_open(). */
#include <sys/stat.h>

#include "test-grant-util.h"

#include "assertion-store.h"
#include "config.h"
#include "trust-db.h"

#define NOW ((usec_t) 1718409600ULL * USEC_PER_SEC) /* 2024-06-15T00:00:00Z */

#define MODEL_FMT                                                                                   \
        "type: model\nauthority-id: %s\nseries: %s\nbrand-id: %s\nmodel: %s\narchitecture: amd64\n" \
        "gadget: pc=18\nkernel: pc-kernel=18\nbase: core18\n%stimestamp: 2024-01-01T00:00:00Z"
#define SERIAL_FMT                                                                                \
        "type: serial\nauthority-id: %s\nbrand-id: %s\nmodel: %s\nserial: %s\ndevice-key:\n"      \
        "    AcbBTQRWhcGAARAAtJGIguK7FhSyRxL/6jvdy0zAgGCjC1xVNFzeF76p5G8BXNEEHZUHK+z8Gr2J\n"      \
        "    inVrpvhJhllf5Ob2dIMH2YQbC9jE1kjbzvuauQGDqk6tNQm0i3KDeHCSPgVN+PFXPwKIiLrh66Po\n"      \
        "    AC7OfR1rFUgCqu0jch0H6Nue0ynvEPiY4dPeXq7mCdpDr5QIAM41L+3hg0OdzvO8HMIGZQpdF6jP\n"      \
        "    7fkkVMROYvHUOJ8kknpKE7FiaNNpH7jK1qNxOYhLeiioX0LYrdmTvdTWHrSKZc82ZmlDjpKc4hUx\n"      \
        "    VtTXMAysw7CzIdREPom/vJklnKLvZt+Wk5AEF5V5YKnuT3pY+fjVMZ56GtTEeO/Er/oLk/n2xUK5\n"      \
        "    fD5DAyW/9z0ygzwTbY5IuWXyDfYneL4nXwWOEgg37Z4+8mTH+ftTz2dl1x1KIlIR2xo0kxf9t8K+\n"      \
        "    jlr13vwF1+QReMCSUycUsZ2Eep5XhjI+LG7G1bMSGqodZTIOXLkIy6+3iJ8Z/feIHlJ0ELBDyFbl\n"      \
        "    Yy04Sf9LI148vJMsYenonkoWejWdMi8iCUTeaZydHJEUBU/RbNFLjCWa6NIUe9bfZgLiOOZkps54\n"      \
        "    +/AL078ri/tGjo/5UGvezSmwrEoWJyqrJt2M69N2oVDLJcHeo2bUYPtFC2Kfb2je58JrJ+llifdg\n"      \
        "    rAsxbnHXiXyVimUAEQEAAQ==\n"                                                          \
        "device-key-sha3-384: EAD4DbLxK_kn0gzNCXOs3kd6DeMU3f-L6BEsSEuJGBqCORR0gXkdDxMbOm11mRFu\n" \
        "timestamp: 2024-01-01T00:00:00Z"

#define CONFIG_NONE          NULL
#define CONFIG_ACME          "device:\n  brand-id: acme\n  model: appliance-1\n"
#define CONFIG_ACME_SN1      CONFIG_ACME "  serial: SN-0001\n"
#define CONFIG_ACME_SERIES18 CONFIG_ACME "  series: \"18\"\n"

/* A stored assertion, as text. */
typedef struct Stored {
        enum { NONE, MODEL, SERIAL } type;
        const char *authority, *brand, *model, *series_or_serial, *extra;
} Stored;

#define M(brand, model, series)                        \
        {                                              \
                MODEL, brand, brand, model, series, "" \
        }
#define M_SERIAL_AUTH(brand, model, auth)                                             \
        {                                                                             \
                MODEL, brand, brand, model, "16", "serial-authority:\n  - " auth "\n" \
        }
#define S(brand, model, serial)                           \
        {                                                 \
                SERIAL, brand, brand, model, serial, NULL \
        }
#define S_SIGNED(auth, brand, model, serial)             \
        {                                                \
                SERIAL, auth, brand, model, serial, NULL \
        }

typedef struct IdentityCase {
        const char *name;
        const char *config; /* YAML, CONFIG_NONE for no file */
        Stored stored[3];
        int error;
        const char *message; /* the exact error, or NULL */
        const char *brand, *model, *series, *serial;
        unsigned sources;
        bool has_model, has_serial;
} IdentityCase;

#define CFG  DEVICE_IDENTITY_FROM_CONFIG
#define MOD  DEVICE_IDENTITY_FROM_MODEL
#define SER  DEVICE_IDENTITY_FROM_SERIAL
#define PATH CONFIG_PATH

static const IdentityCase cases[] = {
        { "config only", CONFIG_ACME, {}, 0, NULL, "acme", "appliance-1", "16", NULL, CFG, false, false },
        { "config only, with serial",
          CONFIG_ACME_SN1,
          {},
          0,
          NULL,
          "acme",
          "appliance-1",
          "16",
          "SN-0001",
          CFG,
          false,
          false },
        { "nothing at all",
          CONFIG_NONE,
          {},
          -ENODEV,
          "no device identity: set device.brand-id and device.model in " PATH
          " or import the model assertion" },
        { "a serial without a model is no identity",
          CONFIG_NONE,
          { S("acme", "appliance-1", "SN-0001") },
          -ENODEV,
          "no device identity: set device.brand-id and device.model in " PATH
          " or import the model assertion" },
        { "model assertion only",
          CONFIG_NONE,
          { M("acme", "appliance-1", "18") },
          0,
          NULL,
          "acme",
          "appliance-1",
          "18",
          NULL,
          MOD,
          true,
          false },
        { "model and serial assertions only",
          CONFIG_NONE,
          { M("acme", "appliance-1", "16"), S("acme", "appliance-1", "SN-0007") },
          0,
          NULL,
          "acme",
          "appliance-1",
          "16",
          "SN-0007",
          MOD | SER,
          true,
          true },
        { "config and model agree",
          CONFIG_ACME,
          { M("acme", "appliance-1", "16") },
          0,
          NULL,
          "acme",
          "appliance-1",
          "16",
          NULL,
          CFG | MOD,
          true,
          false },
        { "config, model and serial agree",
          CONFIG_ACME_SN1,
          { M("acme", "appliance-1", "16"), S("acme", "appliance-1", "SN-0001") },
          0,
          NULL,
          "acme",
          "appliance-1",
          "16",
          "SN-0001",
          CFG | MOD | SER,
          true,
          true },
        { "config without serial takes the stored serial",
          CONFIG_ACME,
          { M("acme", "appliance-1", "16"), S("acme", "appliance-1", "SN-0003") },
          0,
          NULL,
          "acme",
          "appliance-1",
          "16",
          "SN-0003",
          CFG | MOD | SER,
          true,
          true },
        { "config series disagrees with the model",
          CONFIG_ACME_SERIES18,
          { M("acme", "appliance-1", "16") },
          -EXDEV,
          "device identity disagrees: " PATH " has device.series \"18\", the stored model assertion for "
          "acme/appliance-1 has series \"16\"" },
        { "config serial disagrees with the serial assertion",
          CONFIG_ACME_SN1,
          { M("acme", "appliance-1", "16"), S("acme", "appliance-1", "SN-0002") },
          -EXDEV,
          "device identity disagrees: " PATH
          " has device.serial \"SN-0001\", the stored serial assertion for "
          "acme/appliance-1 has serial \"SN-0002\"" },
        { "models of other devices are not this device's",
          CONFIG_ACME,
          { M("acme", "other-model", "16"), M("beta", "appliance-1", "16"),
            S("acme", "other-model", "SN-9") },
          0,
          NULL,
          "acme",
          "appliance-1",
          "16",
          NULL,
          CFG,
          false,
          false },
        { "two models and no config",
          CONFIG_NONE,
          { M("acme", "appliance-1", "16"), M("acme", "other-model", "16") },
          -ENOTUNIQ,
          "device identity is ambiguous: 2 model assertions are stored (brands \"acme\", \"acme\"; models "
          "\"appliance-1\", \"other-model\"): set device.brand-id and device.model in " PATH },
        { "two serials and no configured serial",
          CONFIG_ACME,
          { S("acme", "appliance-1", "SN-0001"), S("acme", "appliance-1", "SN-0002") },
          -ENOTUNIQ,
          "device identity is ambiguous: 2 serial assertions are stored for acme/appliance-1 (serials "
          "\"SN-0001\", \"SN-0002\"): set device.serial in " PATH },
        { "two serials, the configured one chosen",
          CONFIG_ACME_SN1,
          { S("acme", "appliance-1", "SN-0002"), S("acme", "appliance-1", "SN-0001") },
          0,
          NULL,
          "acme",
          "appliance-1",
          "16",
          "SN-0001",
          CFG | SER,
          false,
          true },
        { "serial signed by another account, no model",
          CONFIG_ACME,
          { S_SIGNED("vault", "acme", "appliance-1", "SN-0001") },
          -EKEYREJECTED,
          "stored serial assertion SN-0001: serial with authority \"vault\" different from brand \"acme\" "
          "without "
          "model assertion with serial-authority set to to allow for them" },
        { "serial signed by another account, model does not name it",
          CONFIG_ACME,
          { M_SERIAL_AUTH("acme", "appliance-1", "other"),
            S_SIGNED("vault", "acme", "appliance-1", "SN-0001") },
          -EKEYREJECTED,
          "stored serial assertion SN-0001: serial with authority \"vault\" different from brand \"acme\" "
          "without "
          "model assertion with serial-authority set to to allow for them" },
        { "serial signed by the model's serial-authority",
          CONFIG_ACME,
          { M_SERIAL_AUTH("acme", "appliance-1", "vault"),
            S_SIGNED("vault", "acme", "appliance-1", "SN-0001") },
          0,
          NULL,
          "acme",
          "appliance-1",
          "16",
          "SN-0001",
          CFG | MOD | SER,
          true,
          true },
};

static void store(const char *root, const Stored *s)
{
        _cleanup_free_ char *headers = NULL;
        _cleanup_assertion_ Assertion *a = NULL;

        if (s->type == MODEL)
                assert_true(asprintf(&headers, MODEL_FMT, s->authority, s->series_or_serial, s->brand,
                                     s->model, s->extra) > 0);
        else
                assert_true(asprintf(&headers, SERIAL_FMT, s->authority, s->brand, s->model,
                                     s->series_or_serial) > 0);
        a = grant_test_assertion(headers);
        assert_int_equal(assertion_store_save(root, a), 0);
}

static char *scratch_root(void)
{
        char *dir = strdup("/tmp/corehomed-test-identity-XXXXXX");

        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        return dir;
}

static void remove_root(const char *dir)
{
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
        assert_int_equal(system(cmd), 0);
}

static Config *load_config(const char *yaml)
{
        Config *config = NULL;
        _cleanup_(config_error_done) ConfigError err = {};

        if (!yaml)
                assert_int_equal(config_new_default(&config), 0);
        else if (config_load_from_buffer(yaml, strlen(yaml), "corehomed.yaml", &config, &err) < 0)
                fail_msg("config: %s", err.message);
        return config;
}

static void run_case(const IdentityCase *c)
{
        _cleanup_free_ char *root = scratch_root(), *error = NULL, *trust_error = NULL;
        _cleanup_config_ Config *config = load_config(c->config);
        _cleanup_trust_db_ TrustDb *db = NULL;
        _cleanup_device_identity_ DeviceIdentity *d = NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(c->stored) && c->stored[i].type != NONE; i++)
                store(root, &c->stored[i]);
        if (trust_db_open(root, NOW, &db, &trust_error) < 0)
                fail_msg("case \"%s\": trust db: %s", c->name, strempty(trust_error));

        r = device_identity_load(config, db, &d, &error);
        remove_root(root);
        if (r != c->error)
                fail_msg("case \"%s\": got %d (%s), expected %d", c->name, r, strempty(error), c->error);
        if (r < 0) {
                assert_null(d);
                assert_non_null(error);
                if (c->message && !streq(error, c->message))
                        fail_msg("case \"%s\":\n got      %s\n expected %s", c->name, error, c->message);
                return;
        }
        assert_string_equal(d->brand_id, c->brand);
        assert_string_equal(d->model, c->model);
        assert_string_equal(d->series, c->series);
        if (c->serial)
                assert_string_equal(d->serial, c->serial);
        else
                assert_null(d->serial);
        if (d->sources != c->sources)
                fail_msg("case \"%s\": sources %#x, expected %#x", c->name, d->sources, c->sources);
        assert_int_equal(d->model_assertion != NULL, c->has_model);
        assert_int_equal(d->serial_assertion != NULL, c->has_serial);
        if (d->model_assertion)
                assert_string_equal(d->model_assertion->model, c->model);
        if (d->serial_assertion)
                assert_string_equal(d->serial_assertion->serial, c->serial);
}

static void test_identity_table(void **state)
{
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                run_case(&cases[i]);
}

/* Without a trust database the configuration alone decides. */
static void test_identity_without_db(void **state)
{
        _cleanup_config_ Config *config = load_config(CONFIG_ACME_SN1);
        _cleanup_config_ Config *none = load_config(CONFIG_NONE);
        _cleanup_device_identity_ DeviceIdentity *d = NULL, *d2 = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;

        (void) state;
        assert_int_equal(device_identity_load(config, NULL, &d, NULL), 0);
        assert_string_equal(d->serial, "SN-0001");
        assert_null(d->model_assertion);
        text = device_identity_describe(d);
        assert_string_equal(text, "acme/appliance-1 serial SN-0001");

        assert_int_equal(device_identity_load(none, NULL, &d2, &error), -ENODEV);
        assert_null(d2);
        assert_non_null(strstr(error, "no device identity"));
}

static void test_identity_describe_unregistered(void **state)
{
        _cleanup_device_identity_ DeviceIdentity *d =
                grant_test_device("acme", "appliance-1", "16", NULL, NULL);
        _cleanup_free_ char *text = device_identity_describe(d);

        (void) state;
        assert_string_equal(text, "acme/appliance-1 (not registered)");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_identity_table),
                cmocka_unit_test(test_identity_without_db),
                cmocka_unit_test(test_identity_describe_unregistered),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
