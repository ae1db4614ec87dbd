/* SPDX-License-Identifier: MIT */
/* A fleet publish: the input checked, each device's feed worked out by the device's own grant policy, the
 * new generation built beside the current one and swapped in. */
#include "fleet-publish.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-identity.h"
#include "fleet-publish-input.h"
#include "fleet-publish-tree.h"
#include "grant-policy.h"
#include "json-util.h"
#include "report-json.h"
#include "string-util.h"

/* A manifest lists every assertion a generation serves; bounded like the input it comes from. */
#define MANIFEST_MAX ((size_t) FLEET_PUBLISH_ASSERTIONS_MAX * 1024)

typedef struct Publish {
        const FleetPublishOptions *o;
        FleetPublishReport *report;
        PublishInput in;
        PublishTree tree;
        PublishPrerequisiteName *prerequisite_names;
        FleetBuffer feed;
        const FleetWire **items; /* one device's feed, before encoding */
        json_t *served_before;   /* the current generation's manifest: key -> {"revision", "sha256"} */
} Publish;

const char *fleet_grant_state_to_string(FleetGrantState s)
{
        switch (s) {
        case FLEET_GRANT_SERVED:
                return "served";
        case FLEET_GRANT_REVOKING:
                return "revoking";
        case FLEET_GRANT_HELD_BACK:
                return "held-back";
        }
        return "unknown";
}

void fleet_publish_report_done(FleetPublishReport *r)
{
        provision_report_free(r->verification);
        free(r->generation_path);
        for (size_t i = 0; i < r->n_grants; i++)
                grant_origin_done(&r->grants[i].what);
        free(r->grants);
        strv_free(r->notes);
        *r = (FleetPublishReport){};
}

static int report_note(FleetPublishReport *r, char *note)
{
        size_t n = 0;
        char **l;

        if (!note)
                return -ENOMEM;
        while (r->notes && r->notes[n])
                n++;
        l = reallocarray(r->notes, n + 2, sizeof(char *));
        if (!l) {
                free(note);
                return -ENOMEM;
        }
        l[n] = note;
        l[n + 1] = NULL;
        r->notes = l;
        return 0;
}

/* --- what was served before: the manifest --- */

static char *sha256_hex(const void *data, size_t size)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        char *hex;

        if (!EVP_Digest(data, size, md, &n, EVP_sha256(), NULL))
                return NULL;
        hex = malloc(2 * n + 1);
        if (!hex)
                return NULL;
        for (unsigned i = 0; i < n; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return hex;
}

static int manifest_add(json_t *assertions, const PublishAssertion *a)
{
        _cleanup_free_ char *digest = sha256_hex(a->wire.data, a->wire.size);

        if (!digest)
                return -ENOMEM;
        if (json_object_set_new(assertions, a->key,
                                json_pack("{s:I, s:s}", "revision", (json_int_t) a->assertion->revision,
                                          "sha256", digest)) < 0)
                return -ENOMEM;
        return 0;
}

static int manifest_write(Publish *p)
{
        _cleanup_json_ json_t *m = json_object(), *assertions = json_object();
        _cleanup_free_ char *text = NULL;
        char when[RFC3339_MAX];
        PublishAssertion **groups[] = { p->in.prerequisites, p->in.models, p->in.users };
        size_t sizes[] = { p->in.n_prerequisites, p->in.n_models, p->in.n_users };
        int r;

        if (!m || !assertions)
                return -ENOMEM;
        for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                for (size_t i = 0; i < sizes[g]; i++) {
                        r = manifest_add(assertions, groups[g][i]);
                        if (r < 0)
                                return r;
                }
        (void) time_format_rfc3339(p->o->now, when);
        if (json_object_set_new(m, "generation", json_integer((json_int_t) p->tree.next)) < 0 ||
            json_object_set_new(m, "now", json_string(when)) < 0 ||
            json_object_set(m, "assertions", assertions) < 0)
                return -ENOMEM;
        text = json_dumps(m, JSON_SORT_KEYS | JSON_INDENT(1));
        if (!text)
                return -ENOMEM;
        return publish_tree_put_manifest(&p->tree, text, strlen(text));
}

static int manifest_read(Publish *p, char **ret_error)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_t *m = NULL;
        json_error_t e;
        size_t size;
        int r;

        r = publish_tree_read_manifest(&p->tree, MANIFEST_MAX, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return error_set(ret_error, r, "%s/%" PRIu64 "%s: cannot read: %s", p->tree.generations,
                                 p->tree.current, FLEET_PUBLISH_MANIFEST_SUFFIX, strerror(-r));
        m = json_loadb(text, size, JSON_REJECT_DUPLICATES, &e);
        if (!json_is_object(json_object_get(m, "assertions")))
                return error_set(ret_error, -EBADMSG, "%s/%" PRIu64 "%s: not a manifest",
                                 p->tree.generations, p->tree.current, FLEET_PUBLISH_MANIFEST_SUFFIX);
        p->served_before = json_incref(json_object_get(m, "assertions"));
        return 0;
}

/* A device refuses a whole feed when one assertion in it is older than the revision it stored, or differs
 * from it under the same revision: one such input would stop every device that had the newer one from
 * taking anything. The current generation is what devices may have stored, so compare with it. */
static int check_against_served(Publish *p, const PublishAssertion *a, char **ret_error)
{
        json_t *before = json_object_get(p->served_before, a->key);
        _cleanup_free_ char *what = NULL, *digest = NULL;
        int64_t revision;

        if (!before)
                return 0;
        revision = (int64_t) json_integer_value(json_object_get(before, "revision"));
        if (a->assertion->revision > revision)
                return 0;
        digest = sha256_hex(a->wire.data, a->wire.size);
        if (!digest)
                return -ENOMEM;
        if (a->assertion->revision == revision &&
            streq(digest, strempty(json_string_value(json_object_get(before, "sha256")))))
                return 0;
        what = assertion_describe(a->assertion);
        if (a->assertion->revision < revision)
                return error_set(
                        ret_error, -ESTALE,
                        "%s: %s: revision %" PRId64 " is older than revision %" PRId64
                        " served by generation %" PRIu64
                        ": devices that stored it refuse the older one as a replay, and with it their "
                        "whole feed",
                        a->origin, strempty(what), a->assertion->revision, revision, p->tree.current);
        return error_set(
                ret_error, -ESTALE,
                "%s: %s: revision %" PRId64 " differs from the revision %" PRId64
                " served by generation %" PRIu64
                ": devices that stored it refuse it as a conflict, and with it their whole feed; give "
                "the change a higher revision",
                a->origin, strempty(what), a->assertion->revision, revision, p->tree.current);
}

static int check_served_before(Publish *p, char **ret_error)
{
        PublishAssertion **groups[] = { p->in.prerequisites, p->in.models, p->in.users };
        size_t sizes[] = { p->in.n_prerequisites, p->in.n_models, p->in.n_users };
        const char *key;
        json_t *value;
        int r;

        if (!p->served_before)
                return 0;
        for (size_t g = 0; g < ELEMENTSOF(groups); g++)
                for (size_t i = 0; i < sizes[g]; i++) {
                        r = check_against_served(p, groups[g][i], ret_error);
                        if (r < 0)
                                return r;
                }
        /* A grant that disappears from the input is not a revocation: the devices keep the user. */
        json_object_foreach (p->served_before, key, value) {
                const char *brand = startswith(key, "system-user\x1f"), *email;
                bool present = false;

                if (!brand)
                        continue;
                for (size_t i = 0; i < p->in.n_users && !present; i++)
                        present = streq(p->in.users[i]->key, key);
                if (present)
                        continue;
                email = strchr(brand, '\x1f');
                r = report_note(
                        p->report,
                        strprintf("system-user brand-id=%.*s email=%s: served by generation %" PRIu64
                                  ", not in this input: devices that have it keep the user (to take it "
                                  "away, publish a newer revision whose until has passed)",
                                  (int) (email ? email - brand : 0), brand, email ? email + 1 : "",
                                  p->tree.current));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- who each device is --- */

static bool model_matches(const Model *m, const FleetInventory *inv, const FleetDevice *d)
{
        return streq(m->model, d->model) && (!inv->brand_id || streq(m->brand_id, inv->brand_id)) &&
               (!inv->series || streq(m->series, inv->series));
}

/* The identity the device has (its corehomed.yaml and stored model must say the same): brand and series
 * from the input's model assertion for the device's model, or from the inventory's brand-id and series. */
static int device_identity(Publish *p, const FleetDevice *d, DeviceIdentity *ret,
                           const PublishAssertion **ret_model, char **ret_error)
{
        const FleetInventory *inv = p->o->inventory;
        const PublishAssertion *found = NULL;

        for (size_t i = 0; i < p->in.n_models; i++) {
                if (!model_matches(p->in.models[i]->model, inv, d))
                        continue;
                if (found)
                        return error_set(ret_error, -EXDEV,
                                         "%s:%u: device %s: model assertions of brand %s series %s and of "
                                         "brand %s series %s both name model %s: say brand-id and series in "
                                         "the inventory",
                                         inv->name, d->line, d->serial, found->model->brand_id,
                                         found->model->series, p->in.models[i]->model->brand_id,
                                         p->in.models[i]->model->series, d->model);
                found = p->in.models[i];
        }
        if (!found && !inv->brand_id)
                return error_set(ret_error, -EXDEV,
                                 "%s:%u: device %s: no model assertion for model %s in the input, and the "
                                 "inventory names no brand-id",
                                 inv->name, d->line, d->serial, d->model);
        /* Borrowed pointers: the identity lives as long as this device's turn. */
        *ret = (DeviceIdentity){
                .brand_id = found ? found->model->brand_id : inv->brand_id,
                .model = d->model,
                .serial = d->serial,
                .series = found         ? found->model->series
                          : inv->series ? inv->series
                                        : CONFIG_SERIES_DEFAULT,
                .model_assertion = found ? found->model : NULL,
                .sources = DEVICE_IDENTITY_FROM_CONFIG | (found ? DEVICE_IDENTITY_FROM_MODEL : 0),
        };
        *ret_model = found;
        return 0;
}

/* --- each device's feed --- */

static int put_device(Publish *p, const FleetDevice *d, const DeviceIdentity *id,
                      const PublishAssertion *model)
{
        const FleetPublishOptions *o = p->o;
        FleetWire account = {};
        size_t n = 0;
        bool written = false;
        int r;

        if (model)
                p->items[n++] = &model->wire;
        for (size_t i = 0; i < p->in.n_users; i++) {
                if (p->report->grants[i].state == FLEET_GRANT_HELD_BACK)
                        continue;
                /* The device's own rule, for the identity the inventory gives it. Time is left to the device
                 * (a grant past its until is a revocation the device must see); since was decided above. */
                if (grant_policy_check(id, p->in.users[i]->user, o->now, NULL) == GRANT_NOT_FOR_DEVICE)
                        continue;
                p->items[n++] = &p->in.users[i]->wire;
                p->report->grants[i].n_devices++;
        }
        if (n == 0) {
                /* A device refuses an empty feed: give it its brand's account, which it can always store. */
                const FleetWire *w = publish_input_account(&p->in, id->brand_id, &account);
                if (!w)
                        return -ENODATA;
                p->items[n++] = w;
        }

        p->feed.size = 0;
        r = fleet_feed_encode(p->items, n, &p->feed);
        free((char *) account.data);
        if (r < 0)
                return r;
        r = publish_tree_put_device(&p->tree, d->serial, p->feed.data, p->feed.size, p->prerequisite_names,
                                    p->in.n_prerequisites, &written);
        if (r < 0)
                return r;
        if (written)
                p->report->n_feeds_written++;
        else
                p->report->n_feeds_unchanged++;
        return 0;
}

static int put_devices(Publish *p, char **ret_error)
{
        const FleetInventory *inv = p->o->inventory;

        for (size_t i = 0; i < inv->n_devices; i++) {
                const FleetDevice *d = &inv->devices[i];
                DeviceIdentity id;
                const PublishAssertion *model = NULL;
                int r;

                r = device_identity(p, d, &id, &model, ret_error);
                if (r < 0)
                        return r;
                r = put_device(p, d, &id, model);
                if (r == -ENODATA)
                        return error_set(
                                ret_error, -EXDEV,
                                "%s:%u: device %s: nothing to serve: no grant applies, the input has no "
                                "model assertion for model %s and no account %s",
                                inv->name, d->line, d->serial, d->model, id.brand_id);
                if (r == -E2BIG)
                        return error_set(
                                ret_error, -EXDEV,
                                "%s:%u: device %s: its feed would hold more than %d assertions or %d "
                                "bytes, which the device refuses",
                                inv->name, d->line, d->serial, FLEET_FEED_ASSERTIONS_MAX, FLEET_BODY_MAX);
                if (r < 0)
                        return error_set(ret_error, r, "%s/%" PRIu64 "/devices/%s: cannot write: %s",
                                         p->tree.generations, p->tree.next, d->serial, strerror(-r));
                p->report->n_devices++;
        }
        return 0;
}

static int put_prerequisites(Publish *p, char **ret_error)
{
        p->prerequisite_names = calloc(p->in.n_prerequisites + 1, sizeof(PublishPrerequisiteName));
        if (!p->prerequisite_names)
                return -ENOMEM;
        for (size_t i = 0; i < p->in.n_prerequisites; i++) {
                const PublishAssertion *a = p->in.prerequisites[i];
                bool key = streq(a->assertion->type, "account-key"), written = false;
                const char *id =
                        assertion_header_string(a->assertion, key ? "public-key-sha3-384" : "account-id");
                int r;

                p->prerequisite_names[i] = (PublishPrerequisiteName){ .type = a->assertion->type, .id = id };
                r = publish_tree_put_prerequisite(&p->tree, a->assertion->type, id, a->wire.data,
                                                  a->wire.size, &written);
                if (r < 0)
                        return error_set(ret_error, r, "%s/%" PRIu64 "/%s/%s/%s: cannot write: %s",
                                         p->tree.generations, p->tree.next, FLEET_PUBLISH_PREREQUISITES_DIR,
                                         a->assertion->type, id, strerror(-r));
                p->report->n_prerequisites++;
                if (written)
                        p->report->n_prerequisites_written++;
        }
        return 0;
}

/* Whether each grant is served now: held back before its since, a revocation after its until. */
static int classify_grants(Publish *p)
{
        p->report->grants = calloc(p->in.n_users + 1, sizeof(FleetGrantSummary));
        if (!p->report->grants)
                return -ENOMEM;
        for (size_t i = 0; i < p->in.n_users; i++) {
                const SystemUser *u = p->in.users[i]->user;
                FleetGrantSummary *g = &p->report->grants[i];
                int r = grant_origin_from_assertion(p->in.users[i]->assertion, &g->what);

                if (r < 0)
                        return r;
                p->report->n_grants++;
                g->since = u->since;
                g->until = u->until;
                g->state = p->o->now < u->since    ? FLEET_GRANT_HELD_BACK
                           : p->o->now >= u->until ? FLEET_GRANT_REVOKING
                                                   : FLEET_GRANT_SERVED;
        }
        return 0;
}

static void publish_done(Publish *p)
{
        publish_input_done(&p->in);
        publish_tree_done(&p->tree);
        free(p->prerequisite_names);
        fleet_buffer_done(&p->feed);
        free(p->items);
        json_decref(p->served_before);
}

int fleet_publish(const FleetPublishOptions *o, FleetPublishReport *ret, char **ret_error)
{
        _cleanup_(publish_done) Publish p = { .o = o, .report = ret, .feed = { .max = FLEET_BODY_MAX } };
        int r;

        *ret = (FleetPublishReport){};
        r = provision_report_new(PROVISION_REPORT_IMPORT, &ret->verification);
        if (r < 0)
                return r;
        p.tree = (PublishTree){ .generations_fd = -1,
                                .lock_fd = -1,
                                .current_fd = -1,
                                .next_fd = -1,
                                .current_devices_fd = -1,
                                .next_devices_fd = -1,
                                .current_prerequisites_fd = -1,
                                .next_prerequisites_fd = -1 };

        /* Everything that can be refused is decided before the tree is touched. */
        r = publish_input_load(&p.in, o, ret->verification, ret_error);
        if (r < 0)
                return r;
        r = classify_grants(&p);
        if (r < 0)
                return r;
        p.items = calloc(p.in.n_users + 2, sizeof(FleetWire *));
        if (!p.items)
                return -ENOMEM;

        r = publish_tree_open(&p.tree, o->out, ret_error);
        if (r < 0)
                return r;
        r = manifest_read(&p, ret_error);
        if (r < 0)
                return r;
        r = check_served_before(&p, ret_error);
        if (r < 0)
                return r;
        r = put_prerequisites(&p, ret_error);
        if (r < 0)
                return r;
        r = put_devices(&p, ret_error);
        if (r < 0)
                return r;
        r = manifest_write(&p);
        if (r < 0)
                return error_set(ret_error, r, "%s: cannot write the manifest: %s", p.tree.generations,
                                 strerror(-r));
        r = publish_tree_commit(&p.tree, ret_error);
        if (r < 0)
                return r;
        ret->published = true;
        ret->generation = p.tree.next;
        ret->generation_path = strprintf("%s/%" PRIu64, p.tree.generations, p.tree.next);
        return ret->generation_path ? 0 : -ENOMEM;
}

json_t *fleet_publish_report_json(const FleetPublishReport *r)
{
        _cleanup_json_ json_t *o = NULL, *grants = json_array(), *notes = json_array(), *verification = NULL;

        if (!grants || !notes)
                return NULL;
        for (size_t i = 0; i < r->n_grants; i++) {
                const FleetGrantSummary *g = &r->grants[i];
                if (json_array_append_new(grants, json_pack("{s:s, s:s, s:I, s:s, s:I}", "brand-id",
                                                            strempty(g->what.brand_id), "email",
                                                            strempty(g->what.email), "revision",
                                                            (json_int_t) g->what.revision, "state",
                                                            fleet_grant_state_to_string(g->state), "devices",
                                                            (json_int_t) g->n_devices)) < 0)
                        return NULL;
        }
        for (size_t i = 0; r->notes && r->notes[i]; i++)
                if (json_array_append_new(notes, json_string(r->notes[i])) < 0)
                        return NULL;
        verification = r->verification ? provision_report_to_json(r->verification) : json_object();
        if (!verification)
                return NULL;
        o = json_pack("{s:b, s:I, s:s?, s:I, s:I, s:I, s:I, s:I, s:O, s:O, s:O}", "published", r->published,
                      "generation", (json_int_t) r->generation, "path", r->generation_path, "devices",
                      (json_int_t) r->n_devices, "feeds-written", (json_int_t) r->n_feeds_written,
                      "feeds-unchanged", (json_int_t) r->n_feeds_unchanged, "prerequisites",
                      (json_int_t) r->n_prerequisites, "prerequisites-written",
                      (json_int_t) r->n_prerequisites_written, "grants", grants, "notes", notes,
                      "assertions", json_object_get(verification, "assertions"));
        return TAKE_PTR(o);
}
