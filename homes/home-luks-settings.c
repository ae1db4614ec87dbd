/* SPDX-License-Identifier: MIT */
#include "home-luks-settings.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "home-storage.h"
#include "macros.h"

#define ROUND_DOWN_4K(x) ((x) & ~UINT64_C(4095))
#define MIN(a, b)        ((a) < (b) ? (a) : (b))

static bool machine_matches(json_t *match, const char *machine_id)
{
        json_t *e;
        size_t i;

        if (json_is_string(match))
                return streq(json_string_value(match), machine_id);
        json_array_foreach (match, i, e)
                if (json_is_string(e) && streq(json_string_value(e), machine_id))
                        return true;
        return false;
}

json_t *home_record_field(json_t *record, const char *machine_id, const char *key)
{
        json_t *v = json_object_get(record, key), *e;
        size_t i;

        /* matchHostname entries are not applied: the engine has no business with the host name, which is
         * not an identity (any root can set it). */
        json_array_foreach (json_object_get(record, "perMachine"), i, e) {
                json_t *w = json_object_get(e, key);

                if (w && machine_id && machine_matches(json_object_get(e, "matchMachineId"), machine_id))
                        v = w;
        }
        return v;
}

static json_t *binding_field(json_t *record, const char *machine_id, const char *key)
{
        json_t *v = json_object_get(json_object_get(json_object_get(record, "binding"), machine_id), key);

        return v ? v : home_record_field(record, machine_id, key);
}

static int get_string(json_t *v, const char *field, const char *def, char *buf, size_t size,
                      const char *const *allowed, size_t n_allowed, RecordError *err)
{
        const char *s = v ? json_string_value(v) : def;

        if (!s)
                return home_error(err, -EINVAL, "%s: not a string", field);
        for (size_t i = 0; i < n_allowed; i++)
                if (streq(s, allowed[i])) {
                        snprintf(buf, size, "%s", s);
                        return 0;
                }
        return home_error(err, -EINVAL, "%s: \"%s\" is not supported here", field, s);
}

static int get_uint(json_t *v, const char *field, uint64_t def, uint64_t max, uint64_t *ret,
                    RecordError *err)
{
        if (!v) {
                *ret = def;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return home_error(err, -EINVAL, "%s: not an unsigned integer", field);
        if ((uint64_t) json_integer_value(v) > max)
                return home_error(err, -EINVAL, "%s: %lld is above the limit of %llu", field,
                                  (long long) json_integer_value(v), (unsigned long long) max);
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

int home_luks_settings_from_record(json_t *record, const char *machine_id, HomeLuksSettings *ret,
                                   RecordError *err)
{
        static const char *const ciphers[] = { "aes" }, *const modes[] = { "xts-plain64" },
                                 *const pbkdfs[] = { "argon2id", "argon2i", "pbkdf2" },
                                 *const hashes[] = { "sha256", "sha512" }, *const fs[] = { "ext4", "btrfs" };
        HomeLuksSettings s = {};
        uint64_t u = 0, time_usec = 0, memory = 0, threads = 0, sector = 0;
        bool is_pbkdf2;
        json_t *v;
        int r;

        /* The token holds the record encrypted with the volume key through OpenSSL's EVP cipher of the same
         * name as the volume's (homed's scheme), so only ciphers both dm-crypt and OpenSSL know qualify. */
        r = get_string(binding_field(record, machine_id, "luksCipher"), "luksCipher",
                       HOME_LUKS_CIPHER_DEFAULT, s.cipher, sizeof(s.cipher), ciphers, ELEMENTSOF(ciphers),
                       err);
        if (r >= 0)
                r = get_string(binding_field(record, machine_id, "luksCipherMode"), "luksCipherMode",
                               HOME_LUKS_CIPHER_MODE_DEFAULT, s.cipher_mode, sizeof(s.cipher_mode), modes,
                               ELEMENTSOF(modes), err);
        if (r >= 0)
                r = get_uint(binding_field(record, machine_id, "luksVolumeKeySize"), "luksVolumeKeySize",
                             HOME_LUKS_VOLUME_KEY_DEFAULT, UINT64_MAX, &u, err);
        if (r < 0)
                return r;
        if (u != 32 && u != 64) /* AES-128-XTS or AES-256-XTS */
                return home_error(err, -EINVAL, "luksVolumeKeySize: %llu bytes is not supported (32 or 64)",
                                  (unsigned long long) u);
        s.volume_key_size = (size_t) u;

        r = get_string(home_record_field(record, machine_id, "luksPbkdfType"), "luksPbkdfType",
                       HOME_LUKS_PBKDF_DEFAULT, s.pbkdf_type, sizeof(s.pbkdf_type), pbkdfs,
                       ELEMENTSOF(pbkdfs), err);
        if (r >= 0)
                r = get_string(home_record_field(record, machine_id, "luksPbkdfHashAlgorithm"),
                               "luksPbkdfHashAlgorithm", HOME_LUKS_PBKDF_HASH_DEFAULT, s.pbkdf_hash,
                               sizeof(s.pbkdf_hash), hashes, ELEMENTSOF(hashes), err);
        if (r < 0)
                return r;
        is_pbkdf2 = streq(s.pbkdf_type, "pbkdf2");
        r = get_uint(home_record_field(record, machine_id, "luksPbkdfTimeCostUSec"), "luksPbkdfTimeCostUSec",
                     HOME_LUKS_PBKDF_TIME_DEFAULT_USEC, HOME_LUKS_PBKDF_TIME_MAX_USEC, &time_usec, err);
        if (r >= 0)
                r = get_uint(home_record_field(record, machine_id, "luksPbkdfMemoryCost"),
                             "luksPbkdfMemoryCost", is_pbkdf2 ? 0 : HOME_LUKS_PBKDF_MEMORY_DEFAULT,
                             HOME_LUKS_PBKDF_MEMORY_MAX, &memory, err);
        if (r >= 0)
                r = get_uint(home_record_field(record, machine_id, "luksPbkdfParallelThreads"),
                             "luksPbkdfParallelThreads", is_pbkdf2 ? 0 : 1, HOME_LUKS_PBKDF_THREADS_MAX,
                             &threads, err);
        if (r < 0)
                return r;
        /* As homed: milliseconds and KiB, rounded up (libcryptsetup's units). */
        s.pbkdf_time_ms = (uint32_t) ((time_usec + 999) / 1000);
        if (s.pbkdf_time_ms == 0)
                s.pbkdf_time_ms = 1;
        s.pbkdf_memory_kb = (uint32_t) ((memory + 1023) / 1024);
        s.pbkdf_threads = (uint32_t) threads;

        r = get_uint(home_record_field(record, machine_id, "luksSectorSize"), "luksSectorSize", 512,
                     UINT64_MAX, &sector, err);
        if (r < 0)
                return r;
        /* homed's rule: the largest power of two not above the value, clamped to 512..4096. */
        s.sector_size = 512;
        while (s.sector_size < 4096 && (uint64_t) s.sector_size * 2 <= sector)
                s.sector_size *= 2;

        r = get_string(binding_field(record, machine_id, "fileSystemType"), "fileSystemType",
                       HOME_LUKS_FS_DEFAULT, s.fs_type, sizeof(s.fs_type), fs, ELEMENTSOF(fs), err);
        if (r < 0)
                return r;
        v = home_record_field(record, machine_id, "luksDiscard");
        s.discard = json_is_true(v);
        r = get_uint(home_record_field(record, machine_id, "diskSize"), "diskSize", 0,
                     HOME_LUKS_DISK_SIZE_MAX, &s.disk_size, err);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

static uint64_t fs_minimum(const char *fs_type)
{
        /* mkfs' own minimums (homed's table): ext4 1 MiB, btrfs 256 MiB. */
        return streq(fs_type, "btrfs") ? 256ULL * 1024 * 1024 : 1024ULL * 1024;
}

int home_luks_image_size(const HomeLuksSettings *s, uint64_t available, uint64_t *ret)
{
        uint64_t minimum = fs_minimum(s->fs_type) + HOME_LUKS_OVERHEAD, size;

        if (s->disk_size > HOME_LUKS_DISK_SIZE_MAX)
                return -EINVAL;
        available = ROUND_DOWN_4K(available);
        if (s->disk_size > 0)
                size = MIN(ROUND_DOWN_4K(s->disk_size), available);
        else
                size = ROUND_DOWN_4K(available / 100 * HOME_LUKS_DISK_SIZE_DEFAULT_PERCENT);
        if (size < minimum) {
                if (available < minimum)
                        return -ERANGE;
                size = minimum;
        }
        *ret = size;
        return 0;
}
