/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "assertion-fields.h"
#include "device-identity.h"
#include "string-util.h"

/* How many candidate assertions we keep to name in a message; more are counted, not listed. */
#define CANDIDATES_MAX 8

typedef struct Candidates {
        const Assertion *items[CANDIDATES_MAX];
        size_t n; /* may exceed CANDIDATES_MAX */
} Candidates;

static int collect(const Assertion *a, bool trusted, void *userdata)
{
        Candidates *c = userdata;

        (void) trusted;
        if (c->n < CANDIDATES_MAX)
                c->items[c->n] = a;
        c->n++;
        return 0;
}

static int find_all(TrustDb *db, const char *type, char *const *filters, Candidates *ret)
{
        *ret = (Candidates){};
        if (!db)
                return 0;
        return trust_db_foreach(db, type, filters, collect, ret);
}

/* "\"a\", \"b\" and 3 more": the header values of the candidates, for messages. */
static void describe_candidates(const Candidates *c, const char *header, char *buf, size_t size)
{
        char q[ASSERTION_QUOTE_MAX];
        size_t shown = c->n < CANDIDATES_MAX ? c->n : CANDIDATES_MAX;
        int used = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < shown && (size_t) used < size; i++) {
                int k = snprintf(buf + used, size - (size_t) used, "%s%s", i ? ", " : "",
                                 assertion_quote(strempty(assertion_header_string(c->items[i], header)), q));
                if (k < 0)
                        return;
                used += k;
        }
        if (c->n > shown && (size_t) used < size)
                (void) snprintf(buf + used, size - (size_t) used, " and %zu more", c->n - shown);
}

DeviceIdentity *device_identity_free(DeviceIdentity *d)
{
        if (!d)
                return NULL;
        free(d->brand_id);
        free(d->model);
        free(d->serial);
        free(d->series);
        model_free(d->model_assertion);
        serial_free(d->serial_assertion);
        free(d);
        return NULL;
}

/* The stored model assertion for the configured brand/model, or the only stored one when nothing is
 * configured. *ret = NULL when there is none (and nothing is configured: the caller reports it). */
static int find_model(const ConfigDevice *cfg, TrustDb *db, const Assertion **ret, char **ret_error)
{
        char q[ASSERTION_QUOTE_MAX], list[384];
        Candidates c;
        int r;

        *ret = NULL;
        if (cfg->brand_id) {
                _cleanup_free_ char *fb = NULL, *fm = NULL, *fs = NULL;
                if (asprintf(&fb, "brand-id=%s", cfg->brand_id) < 0 ||
                    asprintf(&fm, "model=%s", cfg->model) < 0 || asprintf(&fs, "series=%s", cfg->series) < 0)
                        return -ENOMEM;
                char *exact[] = { fb, fm, fs, NULL }, *other_series[] = { fb, fm, NULL };
                r = find_all(db, "model", exact, &c);
                if (r < 0)
                        return r;
                if (c.n > 0) {
                        *ret = c.items[0]; /* the primary key: at most one */
                        return 0;
                }
                r = find_all(db, "model", other_series, &c);
                if (r < 0 || c.n == 0)
                        return r;
                /* Threat: a configuration and a model that describe different devices; which grants apply
                 * must not depend on which of them is read. */
                describe_candidates(&c, "series", list, sizeof list);
                return error_set(
                        ret_error, -EXDEV,
                        "device identity disagrees: %s has device.series %s, the stored model assertion "
                        "for %s/%s has series %s",
                        CONFIG_PATH, assertion_quote(cfg->series, q), cfg->brand_id, cfg->model, list);
        }

        r = find_all(db, "model", NULL, &c);
        if (r < 0)
                return r;
        if (c.n > 1) {
                char list2[384];
                describe_candidates(&c, "brand-id", list, sizeof list);
                describe_candidates(&c, "model", list2, sizeof list2);
                return error_set(
                        ret_error, -ENOTUNIQ,
                        "device identity is ambiguous: %zu model assertions are stored (brands %s; models "
                        "%s): set device.brand-id and device.model in %s",
                        c.n, list, list2, CONFIG_PATH);
        }
        if (c.n == 1)
                *ret = c.items[0];
        return 0;
}

static int find_serial(const DeviceIdentity *d, const char *cfg_serial, TrustDb *db, const Assertion **ret,
                       char **ret_error)
{
        char q[ASSERTION_QUOTE_MAX], list[384];
        _cleanup_free_ char *fb = NULL, *fm = NULL;
        Candidates c;
        int r;

        *ret = NULL;
        if (asprintf(&fb, "brand-id=%s", d->brand_id) < 0 || asprintf(&fm, "model=%s", d->model) < 0)
                return -ENOMEM;
        if (cfg_serial) {
                _cleanup_free_ char *fs = NULL;
                if (asprintf(&fs, "serial=%s", cfg_serial) < 0)
                        return -ENOMEM;
                char *exact[] = { fb, fm, fs, NULL };
                r = find_all(db, "serial", exact, &c);
                if (r < 0)
                        return r;
                if (c.n > 0) {
                        *ret = c.items[0]; /* the primary key: at most one */
                        return 0;
                }
        }
        char *filters[] = { fb, fm, NULL };
        r = find_all(db, "serial", filters, &c);
        if (r < 0)
                return r;
        if (c.n == 0)
                return 0;

        if (cfg_serial) {
                /* Threat: serial-bound grants decided against a serial the device does not hold. */
                describe_candidates(&c, "serial", list, sizeof list);
                return error_set(
                        ret_error, -EXDEV,
                        "device identity disagrees: %s has device.serial %s, the stored serial assertion "
                        "for %s/%s has serial %s",
                        CONFIG_PATH, assertion_quote(cfg_serial, q), d->brand_id, d->model, list);
        }
        if (c.n > 1) {
                describe_candidates(&c, "serial", list, sizeof list);
                return error_set(
                        ret_error, -ENOTUNIQ,
                        "device identity is ambiguous: %zu serial assertions are stored for %s/%s (serials "
                        "%s): set device.serial in %s",
                        c.n, d->brand_id, d->model, list, CONFIG_PATH);
        }
        *ret = c.items[0];
        return 0;
}

static bool strv_has(char *const *l, const char *s)
{
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

/* snapd's rule (asserts/serial_asserts.go): a serial is signed by the brand, or by an account the model's
 * serial-authority names. Threat: any trusted account minting a serial that makes a brand's serial-bound
 * grants apply to this device. */
static int check_serial_signer(const DeviceIdentity *d, const Serial *s, char **ret_error)
{
        char q[ASSERTION_QUOTE_MAX], q2[ASSERTION_QUOTE_MAX];

        if (streq(s->authority_id, s->brand_id))
                return 0;
        if (d->model_assertion && strv_has(d->model_assertion->serial_authority, s->authority_id))
                return 0;
        return error_set(
                ret_error, -EKEYREJECTED,
                "stored serial assertion %s: serial with authority %s different from brand %s without model "
                "assertion with serial-authority set to to allow for them",
                s->serial, assertion_quote(s->authority_id, q), assertion_quote(s->brand_id, q2));
}

static int typed_error(char **ret_error, const char *what, const AssertionError *err)
{
        char buf[320];
        return error_set(ret_error, -EBADMSG, "stored %s assertion: %s", what,
                         assertion_error_format(err, buf, sizeof buf));
}

int device_identity_load(const Config *config, TrustDb *db, DeviceIdentity **ret, char **ret_error)
{
        _cleanup_device_identity_ DeviceIdentity *d = NULL;
        const ConfigDevice *cfg = &config->device;
        const char *cfg_series = cfg->series ? cfg->series : CONFIG_SERIES_DEFAULT;
        ConfigDevice cfg_effective = *cfg;
        const Assertion *ma = NULL, *sa = NULL;
        AssertionError err = {};
        int r;

        cfg_effective.series = (char *) cfg_series;
        r = find_model(&cfg_effective, db, &ma, ret_error);
        if (r < 0)
                return r == -ENOMEM ? error_set(ret_error, r, "out of memory") : r;

        if (!cfg->brand_id && !ma)
                return error_set(
                        ret_error, -ENODEV,
                        "no device identity: set device.brand-id and device.model in %s or import the "
                        "model assertion",
                        CONFIG_PATH);

        d = calloc(1, sizeof *d);
        if (!d)
                return error_set(ret_error, -ENOMEM, "out of memory");

        if (ma) {
                r = model_from_assertion(ma, &d->model_assertion, &err);
                if (r < 0)
                        return typed_error(ret_error, "model", &err);
                d->sources |= DEVICE_IDENTITY_FROM_MODEL;
        }
        if (cfg->brand_id) {
                d->brand_id = strdup(cfg->brand_id);
                d->model = strdup(cfg->model);
                d->series = strdup(cfg_series);
                d->sources |= DEVICE_IDENTITY_FROM_CONFIG;
        } else {
                d->brand_id = strdup(d->model_assertion->brand_id);
                d->model = strdup(d->model_assertion->model);
                d->series = strdup(d->model_assertion->series);
        }
        if (!d->brand_id || !d->model || !d->series)
                return error_set(ret_error, -ENOMEM, "out of memory");

        r = find_serial(d, cfg->serial, db, &sa, ret_error);
        if (r < 0)
                return r == -ENOMEM ? error_set(ret_error, r, "out of memory") : r;
        if (sa) {
                r = serial_from_assertion(sa, &d->serial_assertion, &err);
                if (r < 0)
                        return typed_error(ret_error, "serial", &err);
                r = check_serial_signer(d, d->serial_assertion, ret_error);
                if (r < 0)
                        return r;
                d->sources |= DEVICE_IDENTITY_FROM_SERIAL;
        }
        if (cfg->serial || d->serial_assertion) {
                d->serial = strdup(cfg->serial ? cfg->serial : d->serial_assertion->serial);
                if (!d->serial)
                        return error_set(ret_error, -ENOMEM, "out of memory");
        }

        *ret = TAKE_PTR(d);
        return 0;
}

char *device_identity_describe(const DeviceIdentity *d)
{
        char *s = NULL;
        int r;

        if (d->serial)
                r = asprintf(&s, "%s/%s serial %s", d->brand_id, d->model, d->serial);
        else
                r = asprintf(&s, "%s/%s (not registered)", d->brand_id, d->model);
        return r < 0 ? NULL : s;
}
