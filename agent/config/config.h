/* SPDX-License-Identifier: MIT */
#pragma once

/* The device configuration, $ROOT/etc/corehomed/corehomed.yaml (docs/configuration.md lists every key).
 * The file decides which grants apply to this device, so the loader is strict: unknown keys, wrong types,
 * duplicate keys, anchors, aliases and tags are refused with "FILE:LINE: key 'SECTION.KEY': reason". */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macros.h"
#include "time-util.h"

#define CONFIG_PATH "/etc/corehomed/corehomed.yaml"

/* Limits on the configuration file; each is tested at N and N+1. */
#define CONFIG_FILE_SIZE_MAX     (64 * 1024) /* bytes of the whole file */
#define CONFIG_VALUE_MAX         4096        /* bytes of one scalar value (a path, a URL) */
#define CONFIG_ADMIN_GROUPS_MAX  32          /* entries of users.admin-groups */
#define CONFIG_GROUP_NAME_MAX    32          /* bytes of one group name */
#define CONFIG_INTERVAL_MIN      (10 * USEC_PER_SEC)
#define CONFIG_INTERVAL_MAX      (7 * 24 * 3600 * USEC_PER_SEC)
#define CONFIG_FLEET_TIMEOUT_MIN (1 * USEC_PER_SEC)
#define CONFIG_FLEET_TIMEOUT_MAX (2 * 60 * USEC_PER_SEC)

#define CONFIG_SERIES_DEFAULT         "16"
#define CONFIG_SHELL_DEFAULT          "/bin/bash"
#define CONFIG_ADMIN_GROUP_DEFAULT    "sudo"
#define CONFIG_FLEET_INTERVAL_DEFAULT (15 * 60 * USEC_PER_SEC)
#define CONFIG_FLEET_TIMEOUT_DEFAULT  CONFIG_FLEET_TIMEOUT_MAX

/* media.create-users: whether plugging a stick creates users. */
typedef enum ConfigCreateUsers {
        CONFIG_CREATE_USERS_ALWAYS,
        CONFIG_CREATE_USERS_UNMANAGED_ONLY, /* snapd's rule: only while no user was created yet */
        CONFIG_CREATE_USERS_NEVER,
} ConfigCreateUsers;

/* media.devices: which block devices are considered media. */
typedef enum ConfigMediaDevices {
        CONFIG_MEDIA_DEVICES_REMOVABLE, /* USB / MMC only */
        CONFIG_MEDIA_DEVICES_ANY,       /* also loop devices and fixed disks: for tests */
} ConfigMediaDevices;

/* users.storage: the home backend. */
typedef enum ConfigStorage {
        CONFIG_STORAGE_DIRECTORY,
        CONFIG_STORAGE_SUBVOLUME, /* btrfs subvolume (needs /home on btrfs) */
        CONFIG_STORAGE_LUKS,      /* LUKS2 image, made at the user's first login */
} ConfigStorage;

/* users.activation: when a home is mounted (docs/home1.md). */
typedef enum ConfigActivation {
        CONFIG_ACTIVATION_START, /* while the grant is valid, from the daemon's start (luks homes: at login)
                                  */
        CONFIG_ACTIVATION_LOGIN, /* from a login (pam_systemd_home's AcquireHome) to the end of its last
                                    session */
} ConfigActivation;

/* users.disk-size bounds: systemd-homed's own (USER_DISK_SIZE_MIN / _MAX). */
#define CONFIG_DISK_SIZE_MIN (5ULL * 1024 * 1024)
#define CONFIG_DISK_SIZE_MAX (5ULL * 1024 * 1024 * 1024 * 1024)

/* Where device.serial came from. */
typedef enum ConfigSerialSource {
        CONFIG_SERIAL_NONE,    /* no serial configured */
        CONFIG_SERIAL_LITERAL, /* device.serial */
        CONFIG_SERIAL_DMI,     /* device.serial-from: dmi (read by config_load(), not from a buffer) */
} ConfigSerialSource;

typedef struct ConfigDevice {
        char *brand_id; /* NULL: no device identity configured */
        char *model;    /* set exactly when brand_id is */
        char *serial;   /* NULL when not configured (or DMI not read yet) */
        ConfigSerialSource serial_source;
        char *series; /* never NULL; default "16" */
} ConfigDevice;

typedef struct ConfigMedia {
        ConfigCreateUsers create_users;
        ConfigMediaDevices devices;
} ConfigMedia;

typedef struct ConfigUsers {
        char **admin_groups; /* NULL-terminated, never NULL; may be empty; default { "sudo" } */
        size_t n_admin_groups;
        ConfigStorage storage;
        ConfigActivation activation;
        uint64_t disk_size; /* bytes, the records' diskSize; 0 = not set */
        char *shell;        /* absolute path, never NULL */
} ConfigUsers;

typedef struct ConfigFleet {
        bool enabled;      /* a fleet section with a url is present */
        char *url;         /* https:// only */
        char *ca_file;     /* optional absolute paths */
        char *client_cert; /* client_cert and client_key come together or not at all */
        char *client_key;
        usec_t interval; /* CONFIG_INTERVAL_MIN..CONFIG_INTERVAL_MAX, default 15 min */
        usec_t timeout;  /* one whole poll: CONFIG_FLEET_TIMEOUT_MIN..CONFIG_FLEET_TIMEOUT_MAX, default 2 min
                          */
        bool create_users; /* default false */
} ConfigFleet;

typedef struct Config {
        bool from_file; /* false: the file is absent and these are the defaults */
        ConfigDevice device;
        ConfigMedia media;
        ConfigUsers users;
        ConfigFleet fleet;
} Config;

/* Why loading failed. message is the complete sentence for a person, allocated (free it with
 * config_error_done()): "FILE:LINE: key 'device.model': reason" (or "FILE:LINE: reason" when no key is
 * concerned, or "FILE: reason" when no line is). */
typedef struct ConfigError {
        unsigned line; /* 1-based, 0 when not about a line */
        char key[64];  /* "device.model", "" when not about a key */
        char *message; /* NULL until an error is set */
} ConfigError;

void config_error_done(ConfigError *err);

Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free)
#define _cleanup_config_ _cleanup_(config_freep)

/* The configuration of a device without a configuration file: no device identity, every default. */
int config_new_default(Config **ret);

/* Parses a configuration held in memory; name is the file name used in messages. Touches no file:
 * "serial-from: dmi" is recorded in device.serial_source and device.serial stays NULL.
 * Returns -EBADMSG for anything malformed or invalid, -E2BIG above a limit, -EOPNOTSUPP for a reserved
 * value (storage subvolume/luks); err (optional) says where and why. */
int config_load_from_buffer(const void *data, size_t size, const char *name, Config **ret, ConfigError *err);

/* Loads ROOT/etc/corehomed/corehomed.yaml (root NULL or "/" for the real root). A missing file yields the
 * defaults (from_file false, no device identity): the caller decides what that means. With
 * "serial-from: dmi" the serial is read from ROOT/sys/class/dmi/id/product_serial; a missing or
 * placeholder DMI serial fails the load (the configuration asked for it). Same errors as above, plus
 * -ELOOP / -EBADFD when the file is a symlink / not a regular file, and the DMI read's errors. */
int config_load(const char *root, Config **ret, ConfigError *err);

/* Names of the enum values as written in the file, for status output. */
const char *config_create_users_to_string(ConfigCreateUsers v);
const char *config_media_devices_to_string(ConfigMediaDevices v);
const char *config_storage_to_string(ConfigStorage v);
const char *config_activation_to_string(ConfigActivation v);
