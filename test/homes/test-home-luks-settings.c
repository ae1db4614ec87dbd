/* SPDX-License-Identifier: MIT */
/* LUKS settings from a record as homed reads them: defaults, perMachine overrides for this machine only,
 * the binding for an existing volume, limits at N and N+1, and the image size. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "home-luks-settings.h"
#include "luks-test-util.h"

#define MIB (1024ULL * 1024)
#define GIB (1024ULL * MIB)

static int settings(json_t *rec, HomeLuksSettings *s)
{
        RecordError err = {};

        return home_luks_settings_from_record(rec, TEST_MACHINE_ID, s, &err);
}

static void defaults_are_homeds(void **state)
{
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);
        HomeLuksSettings s;

        assert_int_equal(settings(rec, &s), 0);
        assert_string_equal(s.cipher, "aes");
        assert_string_equal(s.cipher_mode, "xts-plain64");
        assert_int_equal(s.volume_key_size, 32);
        assert_string_equal(s.pbkdf_type, "argon2id");
        assert_string_equal(s.pbkdf_hash, "sha512");
        assert_int_equal(s.pbkdf_time_ms, 500);
        assert_int_equal(s.pbkdf_memory_kb, 64 * 1024);
        assert_int_equal(s.pbkdf_threads, 1);
        assert_int_equal(s.sector_size, 512);
        assert_string_equal(s.fs_type, "ext4");
        assert_false(s.discard);
        assert_int_equal(s.disk_size, 0);
}

static void pbkdf2_has_no_memory_or_threads(void **state)
{
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);
        HomeLuksSettings s;

        assert_int_equal(json_object_set_new(rec, "luksPbkdfType", json_string("pbkdf2")), 0);
        assert_int_equal(settings(rec, &s), 0);
        assert_int_equal(s.pbkdf_memory_kb, 0);
        assert_int_equal(s.pbkdf_threads, 0);
}

static void record_values_are_rounded_as_homed(void **state)
{
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);
        HomeLuksSettings s;

        assert_int_equal(json_object_set_new(rec, "luksPbkdfTimeCostUSec", json_integer(1500)), 0);
        assert_int_equal(json_object_set_new(rec, "luksPbkdfMemoryCost", json_integer(100 * 1024 + 1)), 0);
        assert_int_equal(json_object_set_new(rec, "luksPbkdfParallelThreads", json_integer(4)), 0);
        assert_int_equal(json_object_set_new(rec, "fileSystemType", json_string("btrfs")), 0);
        assert_int_equal(json_object_set_new(rec, "diskSize", json_integer(300 * MIB)), 0);
        assert_int_equal(settings(rec, &s), 0);
        assert_int_equal(s.pbkdf_time_ms, 2);
        assert_int_equal(s.pbkdf_memory_kb, 101);
        assert_int_equal(s.pbkdf_threads, 4);
        assert_string_equal(s.fs_type, "btrfs");
        assert_int_equal(s.disk_size, 300 * MIB);
}

static void per_machine_applies_only_to_this_machine(void **state)
{
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);
        HomeLuksSettings s;

        assert_int_equal(json_object_set_new(rec, "luksPbkdfType", json_string("argon2i")), 0);
        assert_int_equal(json_object_set_new(rec, "perMachine",
                                             json_pack("[{s:s, s:s}, {s:[s], s:I}]", "matchMachineId",
                                                       "ffffffffffffffffffffffffffffffff", "luksPbkdfType",
                                                       "pbkdf2", "matchMachineId", TEST_MACHINE_ID,
                                                       "luksPbkdfTimeCostUSec", (json_int_t) 7000)),
                         0);
        assert_int_equal(settings(rec, &s), 0);
        assert_string_equal(s.pbkdf_type, "argon2i");
        assert_int_equal(s.pbkdf_time_ms, 7);
}

static void binding_describes_the_existing_volume(void **state)
{
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);
        HomeLuksSettings s;

        assert_int_equal(json_object_set_new(rec, "luksVolumeKeySize", json_integer(32)), 0);
        assert_int_equal(
                json_object_set_new(rec, "binding",
                                    json_pack("{s:{s:I, s:s}}", TEST_MACHINE_ID, "luksVolumeKeySize",
                                              (json_int_t) 64, "fileSystemType", "btrfs")),
                0);
        assert_int_equal(settings(rec, &s), 0);
        assert_int_equal(s.volume_key_size, 64);
        assert_string_equal(s.fs_type, "btrfs");
}

static void limit(const char *field, json_int_t at, bool refused_above)
{
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);
        HomeLuksSettings s;

        assert_int_equal(json_object_set_new(rec, field, json_integer(at)), 0);
        assert_int_equal(settings(rec, &s), 0);
        assert_int_equal(json_object_set_new(rec, field, json_integer(at + 1)), 0);
        if (refused_above)
                assert_int_equal(settings(rec, &s), -EINVAL);
}

static void limits_at_n_and_n_plus_1(void **state)
{
        limit("luksPbkdfTimeCostUSec", (json_int_t) HOME_LUKS_PBKDF_TIME_MAX_USEC, true);
        limit("luksPbkdfMemoryCost", (json_int_t) HOME_LUKS_PBKDF_MEMORY_MAX, true);
        limit("luksPbkdfParallelThreads", HOME_LUKS_PBKDF_THREADS_MAX, true);
        limit("diskSize", (json_int_t) HOME_LUKS_DISK_SIZE_MAX, true);
}

static void unsupported_values_name_their_field(void **state)
{
        static const struct {
                const char *field, *value;
        } bad[] = {
                { "luksCipher", "serpent" },   { "luksCipherMode", "cbc-essiv:sha256" },
                { "luksPbkdfType", "scrypt" }, { "luksPbkdfHashAlgorithm", "sha1" },
                { "fileSystemType", "xfs" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);
                HomeLuksSettings s;
                RecordError err = {};

                assert_int_equal(json_object_set_new(rec, bad[i].field, json_string(bad[i].value)), 0);
                assert_int_equal(home_luks_settings_from_record(rec, TEST_MACHINE_ID, &s, &err), -EINVAL);
                assert_non_null(strstr(err.message, bad[i].field));
        }
        _cleanup_json_ json_t *rec = test_record("alice", TEST_NOW);
        HomeLuksSettings s;
        assert_int_equal(json_object_set_new(rec, "luksVolumeKeySize", json_integer(48)), 0);
        assert_int_equal(settings(rec, &s), -EINVAL);
}

static void image_size_as_homed(void **state)
{
        HomeLuksSettings s = { .fs_type = "ext4" };
        uint64_t size;

        /* diskSize, rounded down to 4 KiB. */
        s.disk_size = 100 * MIB + 5;
        assert_int_equal(home_luks_image_size(&s, 10 * GIB, &size), 0);
        assert_int_equal(size, 100 * MIB);
        /* Capped at what is available. */
        assert_int_equal(home_luks_image_size(&s, 50 * MIB + 4095, &size), 0);
        assert_int_equal(size, 50 * MIB);
        /* No diskSize: 83% of the available space. */
        s.disk_size = 0;
        assert_int_equal(home_luks_image_size(&s, 1000 * MIB, &size), 0);
        assert_int_equal(size, (1000 * MIB / 100 * 83) & ~4095ULL);
        /* Never below the file system's minimum plus the GPT and LUKS2 overhead. */
        s.disk_size = 1 * MIB;
        assert_int_equal(home_luks_image_size(&s, 10 * GIB, &size), 0);
        assert_int_equal(size, 1 * MIB + HOME_LUKS_OVERHEAD);
        assert_int_equal(home_luks_image_size(&s, HOME_LUKS_OVERHEAD, &size), -ERANGE);
        snprintf(s.fs_type, sizeof(s.fs_type), "btrfs");
        assert_int_equal(home_luks_image_size(&s, 10 * GIB, &size), 0);
        assert_int_equal(size, 256 * MIB + HOME_LUKS_OVERHEAD);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(defaults_are_homeds),
                cmocka_unit_test(pbkdf2_has_no_memory_or_threads),
                cmocka_unit_test(record_values_are_rounded_as_homed),
                cmocka_unit_test(per_machine_applies_only_to_this_machine),
                cmocka_unit_test(binding_describes_the_existing_volume),
                cmocka_unit_test(limits_at_n_and_n_plus_1),
                cmocka_unit_test(unsupported_values_name_their_field),
                cmocka_unit_test(image_size_as_homed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
