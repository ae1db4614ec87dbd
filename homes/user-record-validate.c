/* SPDX-License-Identifier: MIT */
/* Field-by-field validation of the seven sections of a user record, table driven. Every field systemd 252
 * knows is listed with its JSON type, range and the sections it may appear in; anything else must be a
 * namespaced extension ("io.corehomed.brand"). Stricter than systemd where systemd would mangle or ignore
 * (it rewrites an invalid realName, skips an invalid matchMachineId): we refuse instead, because a record we
 * accept is a record we sign, and it must mean the same to every reader. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "ed25519-key.h"
#include "id128.h"
#include "path-util.h"
#include "user-record-internal.h"

typedef enum Section {
        IN_REGULAR = 1U << 0,
        IN_PER_MACHINE = 1U << 1,
        IN_BINDING = 1U << 2,
        IN_STATUS = 1U << 3,
        IN_PRIVILEGED = 1U << 4,
        IN_SECRET = 1U << 5,
} Section;

#define PM  (IN_REGULAR | IN_PER_MACHINE)
#define PMB (IN_REGULAR | IN_PER_MACHINE | IN_BINDING)

typedef enum FieldType {
        FIELD_TEXT,        /* string without control characters */
        FIELD_SAFE,        /* additionally no quotes or backslash (systemd's JSON_SAFE) */
        FIELD_REAL_NAME,   /* GECOS-compatible: text without ':' */
        FIELD_USER_NAME,   /* user_name_is_valid() */
        FIELD_REALM,       /* DNS domain name */
        FIELD_DISPOSITION, /* enumeration */
        FIELD_STORAGE,     /* enumeration */
        FIELD_PATH,        /* absolute normalized path */
        FIELD_HOME,        /* absolute normalized path without ':' (it ends up in passwd) */
        FIELD_BOOL,
        FIELD_UINT,    /* integer in [min, max] */
        FIELD_INT,     /* integer in [min, max], may be negative */
        FIELD_UID_GID, /* 1..2^32-2, not 65535 */
        FIELD_ID128,   /* 32 hex digits or UUID form, lower case */
        FIELD_TEXT_LIST,
        FIELD_SAFE_LIST,
        FIELD_GROUP_LIST,
        FIELD_ENVIRONMENT,
        FIELD_RLIMITS,
        FIELD_PKCS11_URI_LIST,
        FIELD_BASE64_LIST,
        FIELD_PKCS11_KEYS,
        FIELD_FIDO2_SALTS,
        FIELD_RECOVERY_KEYS,
        FIELD_MATCH_MACHINE_ID,
        FIELD_MATCH_HOSTNAME,
} FieldType;

typedef struct FieldRule {
        const char *name;
        FieldType type;
        unsigned sections;
        int64_t min, max; /* FIELD_UINT / FIELD_INT; max 0 means INT64_MAX */
} FieldRule;

static const FieldRule field_rules[] = {
        /* regular only */
        { "userName", FIELD_USER_NAME, IN_REGULAR },
        { "realm", FIELD_REALM, IN_REGULAR },
        { "realName", FIELD_REAL_NAME, IN_REGULAR },
        { "emailAddress", FIELD_SAFE, IN_REGULAR },
        { "disposition", FIELD_DISPOSITION, IN_REGULAR },
        { "lastChangeUSec", FIELD_UINT, IN_REGULAR },
        { "lastPasswordChangeUSec", FIELD_UINT, IN_REGULAR },
        { "homeDirectory", FIELD_HOME, IN_REGULAR | IN_BINDING },
        { "service", FIELD_SAFE, IN_REGULAR | IN_STATUS },
        { "recoveryKeyType", FIELD_SAFE_LIST, IN_REGULAR },
        /* regular and perMachine (some also binding) */
        { "iconName", FIELD_SAFE, PM },
        { "location", FIELD_TEXT, PM },
        { "shell", FIELD_PATH, PM },
        { "umask", FIELD_UINT, PM, 0, 0777 },
        { "environment", FIELD_ENVIRONMENT, PM },
        { "timeZone", FIELD_SAFE, PM },
        { "preferredLanguage", FIELD_SAFE, PM },
        { "niceLevel", FIELD_INT, PM, -20, 19 },
        { "resourceLimits", FIELD_RLIMITS, PM },
        { "locked", FIELD_BOOL, PM },
        { "notBeforeUSec", FIELD_UINT, PM },
        { "notAfterUSec", FIELD_UINT, PM },
        { "storage", FIELD_STORAGE, PMB },
        { "diskSize", FIELD_UINT, PM | IN_STATUS },
        { "diskSizeRelative", FIELD_UINT, PM, 0, UINT32_MAX + INT64_C(1) }, /* 2^32 is 100% */
        { "skeletonDirectory", FIELD_PATH, PM },
        { "accessMode", FIELD_UINT, PM, 0, 0777 },
        { "tasksMax", FIELD_UINT, PM, 1 },
        { "memoryHigh", FIELD_UINT, PM, 1 },
        { "memoryMax", FIELD_UINT, PM, 1 },
        /* USER_RECORD.md says 100..10000; systemd 252 refuses 10000 itself. */
        { "cpuWeight", FIELD_UINT, PM, 100, 9999 },
        { "ioWeight", FIELD_UINT, PM, 100, 9999 },
        { "mountNoDevices", FIELD_BOOL, PM },
        { "mountNoSuid", FIELD_BOOL, PM },
        { "mountNoExecute", FIELD_BOOL, PM },
        { "cifsDomain", FIELD_SAFE, PM },
        { "cifsUserName", FIELD_SAFE, PM },
        { "cifsService", FIELD_SAFE, PM },
        { "cifsExtraMountOptions", FIELD_TEXT, PM },
        { "imagePath", FIELD_PATH, PMB },
        { "uid", FIELD_UID_GID, PMB },
        { "gid", FIELD_UID_GID, PMB },
        { "memberOf", FIELD_GROUP_LIST, PM },
        { "fileSystemType", FIELD_SAFE, PMB },
        { "partitionUuid", FIELD_ID128, PMB },
        { "luksUuid", FIELD_ID128, PMB },
        { "fileSystemUuid", FIELD_ID128, PMB },
        { "luksDiscard", FIELD_BOOL, PM },
        { "luksOfflineDiscard", FIELD_BOOL, PM },
        { "luksCipher", FIELD_SAFE, PMB },
        { "luksCipherMode", FIELD_SAFE, PMB },
        { "luksVolumeKeySize", FIELD_UINT, PMB },
        { "luksPbkdfHashAlgorithm", FIELD_SAFE, PM },
        { "luksPbkdfType", FIELD_SAFE, PM },
        { "luksPbkdfTimeCostUSec", FIELD_UINT, PM },
        { "luksPbkdfMemoryCost", FIELD_UINT, PM },
        { "luksPbkdfParallelThreads", FIELD_UINT, PM },
        { "dropCaches", FIELD_BOOL, PM },
        { "rateLimitIntervalUSec", FIELD_UINT, PM },
        { "rateLimitBurst", FIELD_UINT, PM },
        { "enforcePasswordPolicy", FIELD_BOOL, PM },
        { "autoLogin", FIELD_BOOL, PM },
        { "stopDelayUSec", FIELD_UINT, PM },
        { "killProcesses", FIELD_BOOL, PM },
        { "passwordChangeMinUSec", FIELD_UINT, PM },
        { "passwordChangeMaxUSec", FIELD_UINT, PM },
        { "passwordChangeWarnUSec", FIELD_UINT, PM },
        { "passwordChangeInactiveUSec", FIELD_UINT, PM },
        { "passwordChangeNow", FIELD_BOOL, PM },
        { "pkcs11TokenUri", FIELD_PKCS11_URI_LIST, PM },
        { "fido2HmacCredential", FIELD_BASE64_LIST, PM },
        /* perMachine only */
        { "matchMachineId", FIELD_MATCH_MACHINE_ID, IN_PER_MACHINE },
        { "matchHostname", FIELD_MATCH_HOSTNAME, IN_PER_MACHINE },
        /* status only */
        { "diskUsage", FIELD_UINT, IN_STATUS },
        { "diskFree", FIELD_UINT, IN_STATUS },
        { "diskCeiling", FIELD_UINT, IN_STATUS },
        { "diskFloor", FIELD_UINT, IN_STATUS },
        { "state", FIELD_SAFE, IN_STATUS },
        { "signedLocally", FIELD_BOOL, IN_STATUS },
        { "goodAuthenticationCounter", FIELD_UINT, IN_STATUS },
        { "badAuthenticationCounter", FIELD_UINT, IN_STATUS },
        { "lastGoodAuthenticationUSec", FIELD_UINT, IN_STATUS },
        { "lastBadAuthenticationUSec", FIELD_UINT, IN_STATUS },
        { "rateLimitBeginUSec", FIELD_UINT, IN_STATUS },
        { "rateLimitCount", FIELD_UINT, IN_STATUS },
        { "removable", FIELD_BOOL, IN_STATUS },
        /* privileged */
        { "passwordHint", FIELD_TEXT, IN_PRIVILEGED },
        { "hashedPassword", FIELD_SAFE_LIST, IN_PRIVILEGED },
        { "sshAuthorizedKeys", FIELD_TEXT_LIST, IN_PRIVILEGED },
        { "pkcs11EncryptedKey", FIELD_PKCS11_KEYS, IN_PRIVILEGED },
        { "fido2HmacSalt", FIELD_FIDO2_SALTS, IN_PRIVILEGED },
        { "recoveryKey", FIELD_RECOVERY_KEYS, IN_PRIVILEGED },
        /* secret */
        { "password", FIELD_TEXT_LIST, IN_SECRET },
        { "tokenPin", FIELD_TEXT_LIST, IN_SECRET },
        { "pkcs11Pin", FIELD_TEXT_LIST, IN_SECRET },
        { "pkcs11ProtectedAuthenticationPathPermitted", FIELD_BOOL, IN_SECRET },
        { "fido2UserPresencePermitted", FIELD_BOOL, IN_SECRET },
        { "fido2UserVerificationPermitted", FIELD_BOOL, IN_SECRET },
};

static const char *const dispositions[] = { "intrinsic", "system",    "dynamic",
                                            "regular",   "container", "reserved" };
static const char *const storages[] = { "classic", "luks", "directory", "subvolume", "fscrypt", "cifs" };
static const char *const rlimit_names[] = {
        "RLIMIT_CPU",      "RLIMIT_FSIZE",   "RLIMIT_DATA",   "RLIMIT_STACK",
        "RLIMIT_CORE",     "RLIMIT_RSS",     "RLIMIT_NOFILE", "RLIMIT_AS",
        "RLIMIT_NPROC",    "RLIMIT_MEMLOCK", "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
        "RLIMIT_MSGQUEUE", "RLIMIT_NICE",    "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

typedef char FieldPath[sizeof(((RecordError *) NULL)->field)];

static const char *path_key(FieldPath out, const char *parent, const char *key)
{
        return record_path_key(out, sizeof(FieldPath), parent, key);
}

static const char *path_index(FieldPath out, const char *parent, size_t i)
{
        return record_path_index(out, sizeof(FieldPath), parent, i);
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (streq(s, list[i]))
                        return true;
        return false;
}

/* Control characters in names, paths or shell lines end up in terminals, logs and /etc/passwd-style
 * output; refusing them stops escape-sequence injection through `list` or `inspect`. */
static bool text_is_valid(const char *s)
{
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static bool safe_is_valid(const char *s)
{
        return text_is_valid(s) && !strpbrk(s, "\"'\\");
}

/* Letters, digits, '-' and '_' per label, 1..63 bytes each, no empty labels, at most max_len in total. */
static bool dns_name_is_valid(const char *s, size_t max_len)
{
        size_t n = strlen(s), label = 0;

        if (n == 0 || n > max_len)
                return false;
        for (size_t i = 0; i <= n; i++) {
                char c = s[i];

                if (c == '.' || c == '\0') {
                        if (label == 0 || s[i - 1] == '-' || s[i - label] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_'))
                        return false;
                if (++label > 63)
                        return false;
        }
        return true;
}

static bool environment_is_valid(const char *s)
{
        const char *eq = strchr(s, '=');

        if (!eq || eq == s || !text_is_valid(s))
                return false;
        for (const char *p = s; p < eq; p++) {
                char c = *p;
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                          (p > s && c >= '0' && c <= '9');
                if (!ok)
                        return false;
        }
        return true;
}

static bool base64_is_valid(const char *s)
{
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;

        return base64_decode(s, strlen(s), &data, &size) >= 0 && size > 0;
}

static int check_string(json_t *v, const char *path, RecordError *err, const char **ret)
{
        if (!json_is_string(v))
                return record_error(err, path, -EBADMSG, "must be a string");
        *ret = json_string_value(v);
        return 0;
}

typedef bool (*StringCheck)(const char *s);

/* An array of strings each passing check (NULL: any text). */
static int check_string_array(json_t *v, const char *path, StringCheck check, const char *what,
                              RecordError *err)
{
        FieldPath sub;
        json_t *e;
        size_t i;

        if (!json_is_array(v))
                return record_error(err, path, -EBADMSG, "must be an array of strings");
        json_array_foreach (v, i, e) {
                path_index(sub, path, i);
                if (!json_is_string(e))
                        return record_error(err, sub, -EBADMSG, "must be a string");
                if (!(check ? check : text_is_valid)(json_string_value(e)))
                        return record_error(err, sub, -EBADMSG, "is not %s", what);
        }
        return 0;
}

static bool pkcs11_uri_is_valid(const char *s)
{
        return startswith(s, "pkcs11:") && safe_is_valid(s);
}

static bool machine_id_is_valid(const char *s)
{
        return id128_is_valid(s, true);
}

static bool hostname_is_valid(const char *s)
{
        return dns_name_is_valid(s, 64);
}

static bool group_name_is_valid(const char *s)
{
        return user_name_is_valid_syntax(s);
}

static int check_uint(json_t *v, const char *path, int64_t min, int64_t max, RecordError *err)
{
        json_int_t i;

        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return record_error(err, path, -EBADMSG, "must be an unsigned integer");
        i = json_integer_value(v);
        if (max == 0)
                max = INT64_MAX;
        if (i < min || i > max)
                return record_error(err, path, -EBADMSG,
                                    "is %" JSON_INTEGER_FORMAT ", outside %" PRId64 "..%" PRId64, i, min,
                                    max);
        return 0;
}

/* An object whose members are exactly the given string/bool fields, the first n_required mandatory. */
typedef struct MemberRule {
        const char *name;
        bool required;
        bool boolean; /* else a string */
        StringCheck check;
        const char *what;
} MemberRule;

static int check_object_members(json_t *v, const char *path, const MemberRule *rules, size_t n,
                                RecordError *err)
{
        FieldPath sub;
        const char *key;
        json_t *e;

        if (!json_is_object(v))
                return record_error(err, path, -EBADMSG, "must be an object");
        json_object_foreach (v, key, e) {
                const MemberRule *rule = NULL;

                for (size_t i = 0; i < n; i++)
                        if (streq(key, rules[i].name))
                                rule = rules + i;
                path_key(sub, path, key);
                if (!rule)
                        return record_error(err, sub, -EBADMSG, "is not a known field here");
                if (rule->boolean) {
                        if (!json_is_boolean(e))
                                return record_error(err, sub, -EBADMSG, "must be a boolean");
                        continue;
                }
                if (!json_is_string(e))
                        return record_error(err, sub, -EBADMSG, "must be a string");
                if (!(rule->check ? rule->check : text_is_valid)(json_string_value(e)))
                        return record_error(err, sub, -EBADMSG, "is not %s", rule->what);
        }
        for (size_t i = 0; i < n; i++)
                if (rules[i].required && !json_object_get(v, rules[i].name))
                        return record_error(err, path_key(sub, path, rules[i].name), -EBADMSG, "is missing");
        return 0;
}

static int check_object_array(json_t *v, const char *path, const MemberRule *rules, size_t n,
                              RecordError *err)
{
        FieldPath sub;
        json_t *e;
        size_t i;
        int r;

        if (!json_is_array(v))
                return record_error(err, path, -EBADMSG, "must be an array of objects");
        json_array_foreach (v, i, e) {
                r = check_object_members(e, path_index(sub, path, i), rules, n, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const MemberRule pkcs11_key_rules[] = {
        { "uri", true, false, pkcs11_uri_is_valid, "a PKCS#11 URI" },
        { "data", true, false, base64_is_valid, "base64" },
        { "hashedPassword", true, false, safe_is_valid, "a password hash" },
};

static const MemberRule fido2_salt_rules[] = {
        { "credential", true, false, base64_is_valid, "base64" },
        { "salt", true, false, base64_is_valid, "base64" },
        { "hashedPassword", true, false, safe_is_valid, "a password hash" },
        { "up", false, true },
        { "uv", false, true },
        { "clientPin", false, true },
};

static const MemberRule recovery_key_rules[] = {
        { "type", true, false, safe_is_valid, "a recovery key type" },
        { "hashedPassword", true, false, safe_is_valid, "a password hash" },
};

static int check_rlimits(json_t *v, const char *path, RecordError *err)
{
        FieldPath sub, sub2;
        const char *key;
        json_t *e;
        int r;

        if (!json_is_object(v))
                return record_error(err, path, -EBADMSG, "must be an object");
        json_object_foreach (v, key, e) {
                json_t *cur, *max;

                path_key(sub, path, key);
                if (!in_list(key, rlimit_names, ELEMENTSOF(rlimit_names)))
                        return record_error(err, sub, -EBADMSG, "is not a known resource limit");
                if (!json_is_object(e) || json_object_size(e) != 2 || !(cur = json_object_get(e, "cur")) ||
                    !(max = json_object_get(e, "max")))
                        return record_error(err, sub, -EBADMSG,
                                            "must be an object with exactly cur and max");
                r = check_uint(cur, path_key(sub2, sub, "cur"), 0, 0, err);
                if (r < 0)
                        return r;
                r = check_uint(max, path_key(sub2, sub, "max"), 0, 0, err);
                if (r < 0)
                        return r;
                if (json_integer_value(cur) > json_integer_value(max))
                        return record_error(err, sub, -EBADMSG, "has cur above max");
        }
        return 0;
}

/* matchMachineId / matchHostname: one string or a non-empty array of strings. */
static int check_match(json_t *v, const char *path, StringCheck check, const char *what, RecordError *err)
{
        if (json_is_string(v)) {
                if (!check(json_string_value(v)))
                        return record_error(err, path, -EBADMSG, "is not %s", what);
                return 0;
        }
        if (json_is_array(v) && json_array_size(v) == 0)
                return record_error(err, path, -EBADMSG, "must not be empty");
        return check_string_array(v, path, check, what, err);
}

static int check_field(const FieldRule *rule, json_t *v, const char *path, RecordError *err)
{
        const char *s = NULL;
        json_int_t i;
        int r;

        switch (rule->type) {
        case FIELD_TEXT:
        case FIELD_SAFE:
        case FIELD_REAL_NAME:
        case FIELD_USER_NAME:
        case FIELD_REALM:
        case FIELD_DISPOSITION:
        case FIELD_STORAGE:
        case FIELD_PATH:
        case FIELD_HOME:
        case FIELD_ID128:
                r = check_string(v, path, err, &s);
                if (r < 0)
                        return r;
                break;
        default:
                s = NULL;
        }

        switch (rule->type) {
        case FIELD_TEXT:
                if (!text_is_valid(s))
                        return record_error(err, path, -EBADMSG, "contains control characters");
                return 0;
        case FIELD_SAFE:
                if (!safe_is_valid(s))
                        return record_error(err, path, -EBADMSG,
                                            "contains control characters, quotes or backslashes");
                return 0;
        case FIELD_REAL_NAME:
                if (!text_is_valid(s) || strchr(s, ':'))
                        return record_error(err, path, -EBADMSG,
                                            "is not GECOS-compatible (control characters or ':')");
                return 0;
        case FIELD_USER_NAME:
                if (!user_name_is_valid(s))
                        return record_error(
                                err, path, -EBADMSG,
                                "\"%.64s\" is not a valid user name (^[A-Za-z_][A-Za-z0-9_-]*$, at most "
                                "%u bytes, not a reserved system name)",
                                text_is_valid(s) ? s : "?", USER_NAME_LENGTH_MAX);
                return 0;
        case FIELD_REALM:
                if (!dns_name_is_valid(s, 253))
                        return record_error(err, path, -EBADMSG, "is not a valid DNS domain name");
                return 0;
        case FIELD_DISPOSITION:
                if (!in_list(s, dispositions, ELEMENTSOF(dispositions)))
                        return record_error(err, path, -EBADMSG, "is not a known disposition");
                return 0;
        case FIELD_STORAGE:
                if (!in_list(s, storages, ELEMENTSOF(storages)))
                        return record_error(err, path, -EBADMSG, "is not a known storage type");
                return 0;
        case FIELD_PATH:
                if (!path_is_absolute_normalized(s) || !text_is_valid(s))
                        return record_error(err, path, -EBADMSG, "is not an absolute normalized path");
                return 0;
        case FIELD_HOME:
                if (!path_is_absolute_normalized(s) || !text_is_valid(s) || strchr(s, ':'))
                        return record_error(err, path, -EBADMSG,
                                            "is not an absolute normalized path without ':'");
                return 0;
        case FIELD_ID128:
                if (!id128_is_valid(s, true))
                        return record_error(err, path, -EBADMSG, "is not a lower-case 128-bit ID");
                return 0;
        case FIELD_BOOL:
                if (!json_is_boolean(v))
                        return record_error(err, path, -EBADMSG, "must be a boolean");
                return 0;
        case FIELD_UINT:
                return check_uint(v, path, rule->min, rule->max, err);
        case FIELD_INT:
                if (!json_is_integer(v))
                        return record_error(err, path, -EBADMSG, "must be an integer");
                i = json_integer_value(v);
                if (i < rule->min || i > rule->max)
                        return record_error(err, path, -EBADMSG,
                                            "is %" JSON_INTEGER_FORMAT ", outside %" PRId64 "..%" PRId64, i,
                                            rule->min, rule->max);
                return 0;
        case FIELD_UID_GID:
                /* 0 would alias root; (uid_t) -1 and the 16-bit -1 mean "invalid" to the kernel and NSS. */
                r = check_uint(v, path, 1, UINT32_MAX - 1, err);
                if (r < 0)
                        return r;
                if (json_integer_value(v) == 65535)
                        return record_error(err, path, -EBADMSG, "is 65535, the 16-bit invalid ID");
                return 0;
        case FIELD_TEXT_LIST:
                return check_string_array(v, path, NULL, "free of control characters", err);
        case FIELD_SAFE_LIST:
                return check_string_array(v, path, safe_is_valid,
                                          "free of control characters, quotes and backslashes", err);
        case FIELD_GROUP_LIST:
                return check_string_array(v, path, group_name_is_valid, "a valid group name", err);
        case FIELD_ENVIRONMENT:
                return check_string_array(v, path, environment_is_valid, "a NAME=value assignment", err);
        case FIELD_PKCS11_URI_LIST:
                return check_string_array(v, path, pkcs11_uri_is_valid, "a PKCS#11 URI", err);
        case FIELD_BASE64_LIST:
                return check_string_array(v, path, base64_is_valid, "base64", err);
        case FIELD_RLIMITS:
                return check_rlimits(v, path, err);
        case FIELD_PKCS11_KEYS:
                return check_object_array(v, path, pkcs11_key_rules, ELEMENTSOF(pkcs11_key_rules), err);
        case FIELD_FIDO2_SALTS:
                return check_object_array(v, path, fido2_salt_rules, ELEMENTSOF(fido2_salt_rules), err);
        case FIELD_RECOVERY_KEYS:
                return check_object_array(v, path, recovery_key_rules, ELEMENTSOF(recovery_key_rules), err);
        case FIELD_MATCH_MACHINE_ID:
                return check_match(v, path, machine_id_is_valid, "a lower-case machine ID", err);
        case FIELD_MATCH_HOSTNAME:
                return check_match(v, path, hostname_is_valid, "a valid host name", err);
        }
        return record_error(err, path, -EBADMSG, "has an unknown rule");
}

/* Systemd asks extensions to prefix their fields with a project identifier; requiring a '.' keeps typos of
 * known fields ("userNmae") from being silently carried along and signed. */
static bool field_is_namespaced(const char *key)
{
        return strchr(key, '.') != NULL;
}

/* Validates the members of one section object; the section keys at the top level are left to the caller. */
static int check_section(json_t *object, Section section, const char *path, RecordError *err)
{
        static const char *const section_keys[] = { "privileged", "perMachine", "binding",
                                                    "status",     "signature",  "secret" };
        FieldPath sub;
        const char *key;
        json_t *v;
        int r;

        json_object_foreach (object, key, v) {
                const FieldRule *rule = NULL;

                if (section == IN_REGULAR && in_list(key, section_keys, ELEMENTSOF(section_keys)))
                        continue;
                path_key(sub, path, key);
                for (size_t i = 0; i < ELEMENTSOF(field_rules); i++)
                        if (streq(key, field_rules[i].name)) {
                                rule = field_rules + i;
                                break;
                        }
                if (!rule) {
                        if (field_is_namespaced(key))
                                continue;
                        return record_error(
                                err, sub, -EBADMSG,
                                "is not a known user record field (extensions must be namespaced, "
                                "e.g. io.corehomed.%.32s)",
                                key);
                }
                if (!(rule->sections & section))
                        return record_error(err, sub, -EBADMSG, "is not allowed in this section");
                if (json_is_null(v))
                        return record_error(err, sub, -EBADMSG, "must not be null");
                r = check_field(rule, v, sub, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_per_machine(json_t *v, RecordError *err)
{
        FieldPath sub;
        json_t *e;
        size_t i;
        int r;

        if (!json_is_array(v))
                return record_error(err, "perMachine", -EBADMSG, "must be an array of objects");
        json_array_foreach (v, i, e) {
                path_index(sub, "perMachine", i);
                if (!json_is_object(e))
                        return record_error(err, sub, -EBADMSG, "must be an object");
                /* An entry that matches nothing is dead weight at best and a typo at worst. */
                if (!json_object_get(e, "matchMachineId") && !json_object_get(e, "matchHostname"))
                        return record_error(err, sub, -EBADMSG,
                                            "has neither matchMachineId nor matchHostname");
                r = check_section(e, IN_PER_MACHINE, sub, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* binding and status: objects keyed by machine ID. */
static int check_per_machine_id(json_t *v, const char *name, Section section, RecordError *err)
{
        FieldPath sub;
        const char *key;
        json_t *e;
        int r;

        if (!json_is_object(v))
                return record_error(err, name, -EBADMSG, "must be an object keyed by machine ID");
        json_object_foreach (v, key, e) {
                path_key(sub, name, key);
                if (!id128_is_valid(key, false))
                        return record_error(err, sub, -EBADMSG,
                                            "is not a machine ID (32 lower-case hex digits)");
                if (!json_is_object(e))
                        return record_error(err, sub, -EBADMSG, "must be an object");
                r = check_section(e, section, sub, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Exactly the PEM text PEM_write_PUBKEY() produces for an Ed25519 key: one spelling per key, so the
 * signature section cannot carry variants (extra headers, other line breaks) of the same key. */
static bool pem_is_ed25519_public(const char *s)
{
        _cleanup_evp_pkey_ EVP_PKEY *key = NULL;
        _cleanup_free_ char *again = NULL;

        if (ed25519_key_load_public_pem(s, strlen(s), &key) < 0 || ed25519_key_public_pem(key, &again) < 0)
                return false;
        return streq(s, again);
}

static const MemberRule signature_rules[] = {
        { "data", true, false, base64_is_valid, "base64" },
        { "key", true, false, pem_is_ed25519_public, "an Ed25519 public key in PEM form" },
};

static int check_object(json_t *v, const char *name, Section section, RecordError *err)
{
        if (!json_is_object(v))
                return record_error(err, name, -EBADMSG, "must be an object");
        return check_section(v, section, name, err);
}

int user_record_validate(json_t *record, RecordError *err)
{
        json_t *v;
        int r;

        if (!json_is_object(record))
                return record_error(err, NULL, -EBADMSG, "a user record must be a JSON object");

        r = record_check_encodable(record, 1, "", err);
        if (r < 0)
                return r;

        if (!json_is_string(json_object_get(record, "userName")))
                return record_error(err, "userName", -EBADMSG, "is missing (the one mandatory field)");

        r = check_section(record, IN_REGULAR, "", err);
        if (r < 0)
                return r;
        if ((v = json_object_get(record, "privileged")) &&
            (r = check_object(v, "privileged", IN_PRIVILEGED, err)) < 0)
                return r;
        if ((v = json_object_get(record, "secret")) && (r = check_object(v, "secret", IN_SECRET, err)) < 0)
                return r;
        if ((v = json_object_get(record, "perMachine")) && (r = check_per_machine(v, err)) < 0)
                return r;
        if ((v = json_object_get(record, "binding")) &&
            (r = check_per_machine_id(v, "binding", IN_BINDING, err)) < 0)
                return r;
        if ((v = json_object_get(record, "status")) &&
            (r = check_per_machine_id(v, "status", IN_STATUS, err)) < 0)
                return r;
        if ((v = json_object_get(record, "signature")) &&
            (r = check_object_array(v, "signature", signature_rules, ELEMENTSOF(signature_rules), err)) < 0)
                return r;
        return 0;
}
