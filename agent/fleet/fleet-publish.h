/* SPDX-License-Identifier: MIT */
#pragma once

/* Fleet publishing (docs/fleet.md, "Publishing"): the brand's side of the fleet protocol. From the brand's
 * assertions and a device inventory it writes the static tree devices poll, so any web server, object
 * store or CDN can serve a fleet:
 *
 *   DIR -> DIR.generations/N                      a symlink, swapped atomically by each publish
 *   DIR.generations/N/devices/SERIAL/assertions/index            the device's feed
 *   DIR.generations/N/devices/SERIAL/assertions/account-key/ID   its prerequisites (hard links)
 *   DIR.generations/N/devices/SERIAL/assertions/account/ID
 *   DIR.generations/N/prerequisites/{account,account-key}/ID     the one copy they all link to
 *   DIR.generations/N.manifest                    what generation N serves (not served itself)
 *   DIR.generations/lock                          one publisher at a time
 *
 * A device's feed holds what the device's own rules (grant_policy_check(), the same code the device runs)
 * let through for the identity the inventory gives it, so a device never downloads another device's
 * grants. Everything served is first checked against the devices' trusted roots: a publisher never serves
 * what its devices would refuse. Output is a pure function of the input and the publish's time ("now"
 * decides only which grants are held back until their since); an unchanged file keeps its inode, so its
 * ETag (a web server's mtime-size, an object store's content hash) does not change without a reason.
 * After a publish two generations are on disk: the one served and the one before (requests that resolved
 * DIR a moment earlier still read it; ln -sfn goes back to it). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "macros.h"
#include "report.h"
#include "time-util.h"

/* Limits on a publisher's input; each is tested at N and N+1. */
#define FLEET_INVENTORY_SIZE_MAX        (16 * 1024 * 1024) /* bytes of an inventory file */
#define FLEET_INVENTORY_DEVICES_MAX     100000             /* devices in one inventory */
#define FLEET_INVENTORY_LABELS_MAX      32                 /* labels of one device */
#define FLEET_INVENTORY_LABEL_NAME_MAX  63                 /* bytes of a label name */
#define FLEET_INVENTORY_LABEL_VALUE_MAX 256                /* bytes of a label value */
#define FLEET_PUBLISH_ASSERTIONS_MAX    16384              /* input assertions of all files together */
/* Accounts and account-keys served as prerequisites: each is a file in every device's directory. */
#define FLEET_PUBLISH_PREREQUISITES_MAX 64

#define FLEET_PUBLISH_GENERATIONS_SUFFIX ".generations"
#define FLEET_PUBLISH_LOCK               "lock"
#define FLEET_PUBLISH_MANIFEST_SUFFIX    ".manifest"
#define FLEET_PUBLISH_PREREQUISITES_DIR  "prerequisites"
#define FLEET_PUBLISH_FEED_FILE          "index"

/* --- the device inventory --- */

typedef struct FleetDevice {
        char *serial; /* a valid device serial that is also a plain URL path segment */
        char *model;
        char **labels; /* "NAME=VALUE", NULL-terminated; NULL when none. The operator's: not used here. */
        unsigned line; /* where the entry starts, for messages */
} FleetDevice;

typedef struct FleetInventory {
        char *name;     /* the file, as messages name it */
        char *brand_id; /* top-level brand-id: NULL when absent (the model assertions say) */
        char *series;   /* top-level series: NULL when absent (the model assertions say, else "16") */
        FleetDevice *devices;
        size_t n_devices;
} FleetInventory;

FleetInventory *fleet_inventory_free(FleetInventory *inv);
DEFINE_TRIVIAL_CLEANUP_FUNC(FleetInventory *, fleet_inventory_free)
#define _cleanup_fleet_inventory_ _cleanup_(fleet_inventory_freep)

/* Parses an inventory held in memory (name: the file name in messages):
 *
 *   brand-id: acme          # optional
 *   series: "16"            # optional
 *   devices:
 *     - serial: SN-0001
 *       model: appliance-1
 *       labels: {site: berlin}   # optional, NAME: VALUE
 *
 * As strict as the device configuration (yaml-strict.h): unknown and duplicate keys, aliases, anchors and
 * tags are refused, and so is a serial listed twice. -EBADMSG (or -E2BIG beyond a limit) with err saying
 * "FILE:LINE: key 'devices[3].serial': reason". */
int fleet_inventory_parse(const void *data, size_t size, const char *name, FleetInventory **ret,
                          ConfigError *err);

/* Reads and parses the inventory file at path (a regular file, not a symlink, at most
 * FLEET_INVENTORY_SIZE_MAX bytes). */
int fleet_inventory_load(const char *path, FleetInventory **ret, ConfigError *err);

/* --- publishing --- */

typedef struct FleetPublishOptions {
        const char *out;     /* DIR: the symlink a web server uses as its document root */
        char *const *inputs; /* assertion files: plain streams or framed feeds */
        size_t n_inputs;
        char *const *trusted; /* the devices' trusted roots (their etc/corehomed/trusted/ files) */
        size_t n_trusted;
        const FleetInventory *inventory;
        usec_t now; /* the publish's time: key validity, and grants held back until their since */
} FleetPublishOptions;

typedef enum FleetGrantState {
        FLEET_GRANT_SERVED,    /* valid now: served to the devices it applies to */
        FLEET_GRANT_REVOKING,  /* until <= now: served, so devices that have the user remove it */
        FLEET_GRANT_HELD_BACK, /* since > now: not served yet (a device would store it and create the user
                                  only when its feed changes again); publish again at since */
} FleetGrantState;

/* "served", "revoking", "held-back". */
const char *fleet_grant_state_to_string(FleetGrantState s);

typedef struct FleetGrantSummary {
        GrantOrigin what; /* brand, email, revision */
        FleetGrantState state;
        usec_t since, until;
        size_t n_devices; /* feeds that hold it */
} FleetGrantSummary;

typedef struct FleetPublishReport {
        ProvisionReport *verification; /* the trust check of the input: one entry per input assertion */
        bool published;                /* the new generation is what DIR points to */
        uint64_t generation;
        char *generation_path;
        size_t n_devices;
        size_t n_feeds_written;   /* feeds new or changed: written */
        size_t n_feeds_unchanged; /* identical to the previous generation: linked, not written */
        size_t n_prerequisites;
        size_t n_prerequisites_written;
        FleetGrantSummary *grants; /* one per system-user of the input, in feed order */
        size_t n_grants;
        char **notes; /* things the operator should know (a grant dropped from the input...), NULL-terminated
                       */
} FleetPublishReport;

void fleet_publish_report_done(FleetPublishReport *r);

/* Publishes: reads and checks the inputs against the trusted roots at o->now (any refusal: nothing is
 * written, -EKEYREJECTED, the refusals in ret->verification), works out each device's feed, builds the new
 * generation beside the current one (unchanged files hard-linked from it, not rewritten), makes it durable
 * (syncfs), and swaps DIR to it with one rename(). Generations older than the replaced one are removed.
 * Other errors: -EBUSY another publish holds the lock, -EXDEV a device's identity cannot be worked out or
 * its feed would be refused by the device (too many assertions, too large), -ESTALE an input assertion is
 * older than (or conflicts with) what the current generation serves, -ENOTDIR DIR exists and is not a
 * publish symlink; *ret_error says why in words. */
int fleet_publish(const FleetPublishOptions *o, FleetPublishReport *ret, char **ret_error);

/* {"published", "generation", "path", "devices", "feeds-written", "feeds-unchanged", "prerequisites",
 * "prerequisites-written", "grants": [{"brand-id", "email", "revision", "state", "devices"}], "notes",
 * "assertions" (the verification's)}. New reference, NULL when out of memory. */
json_t *fleet_publish_report_json(const FleetPublishReport *r);
