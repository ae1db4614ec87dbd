/* SPDX-License-Identifier: MIT */
/* The GPT of a LUKS home image as homed writes it, read back by sfdisk(8): one partition of homed's type,
 * named after the user, 4 KiB aligned; found again by type, name and UUID, exactly once. Plain files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include <cmocka.h>

#include "home-gpt.h"
#include "luks-test-util.h"

#define MIB        (1024ULL * 1024)
#define PART_UUID  "0f5a6c1e-7d2b-4c3a-8e9f-a1b2c3d4e5f6"
#define OTHER_UUID "1f5a6c1e-7d2b-4c3a-8e9f-a1b2c3d4e5f6"

static void layout_is_homeds(void **state)
{
        _cleanup_free_ char *path = NULL, *out = NULL;
        _cleanup_json_ json_t *j = NULL;
        HomeGptPartition p;
        json_t *table, *part;
        int fd = test_image_new(64 * MIB, &path);

        assert_int_equal(home_gpt_make(fd, "alice", PART_UUID, &p), 0);
        close(fd);
        out = test_output("sfdisk --json '%s'", path);
        j = json_loads(out, 0, NULL);
        assert_non_null(j);
        table = json_object_get(j, "partitiontable");
        assert_string_equal(json_string_value(json_object_get(table, "label")), "gpt");
        assert_int_equal(json_array_size(json_object_get(table, "partitions")), 1);
        part = json_array_get(json_object_get(table, "partitions"), 0);
        assert_int_equal(
                strcasecmp(json_string_value(json_object_get(part, "type")), HOME_GPT_TYPE_USER_HOME), 0);
        assert_string_equal(json_string_value(json_object_get(part, "name")), "alice");
        assert_int_equal(strcasecmp(json_string_value(json_object_get(part, "uuid")), PART_UUID), 0);
        /* First usable LBA (libfdisk aligns to 1 MiB) rounded up to 4 KiB; last one rounded down. */
        assert_int_equal(json_integer_value(json_object_get(part, "start")) * 512, p.offset);
        assert_int_equal(json_integer_value(json_object_get(part, "size")) * 512, p.size);
        assert_int_equal(p.offset, 1 * MIB);
        assert_int_equal(p.offset % 4096, 0);
        assert_int_equal((p.offset + p.size) % 4096, 0);
        /* The backup GPT at the end (33 sectors) stays outside the partition. */
        assert_true(p.offset + p.size <= 64 * MIB - 33 * 512);
        unlink(path);
}

static void find_by_type_name_and_uuid(void **state)
{
        _cleanup_free_ char *path = NULL;
        HomeGptPartition made, found;
        int fd = test_image_new(64 * MIB, &path);

        assert_int_equal(home_gpt_make(fd, "alice", PART_UUID, &made), 0);
        assert_int_equal(home_gpt_find(fd, "alice", NULL, &found), 0);
        assert_int_equal(found.offset, made.offset);
        assert_int_equal(found.size, made.size);
        assert_string_equal(found.uuid, PART_UUID);
        assert_int_equal(home_gpt_find(fd, "alice", PART_UUID, &found), 0);
        assert_int_equal(home_gpt_find(fd, "alice", OTHER_UUID, &found), -ENOPKG);
        assert_int_equal(home_gpt_find(fd, "alic", NULL, &found), -ENOPKG);
        assert_int_equal(home_gpt_find(fd, "bob", NULL, &found), -ENOPKG);
        close(fd);
        unlink(path);
}

static void no_table_or_two_candidates_is_enopkg(void **state)
{
        _cleanup_free_ char *path = NULL, *out = NULL;
        HomeGptPartition found;
        int fd = test_image_new(64 * MIB, &path);

        assert_int_equal(home_gpt_find(fd, "alice", NULL, &found), -ENOPKG);
        close(fd);
        /* Two home partitions named alice: which one would be opened must not be the image's choice. */
        out = test_output(
                "printf 'label: gpt\\n"
                "start=2048, size=20480, type=773F91EF-66D4-49B5-BD83-D683BF40AD16, name=alice\\n"
                "start=22528, size=20480, type=773F91EF-66D4-49B5-BD83-D683BF40AD16, name=alice\\n' | "
                "sfdisk -q '%s' >/dev/null 2>&1 && echo ok",
                path);
        assert_string_equal(out, "ok\n");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(home_gpt_find(fd, "alice", NULL, &found), -ENOPKG);
        close(fd);
        unlink(path);
}

static void other_types_are_ignored(void **state)
{
        _cleanup_free_ char *path = NULL, *out = NULL;
        HomeGptPartition found;
        int fd = test_image_new(64 * MIB, &path);

        close(fd);
        /* A Linux data partition named alice next to the home partition: only the home type counts. */
        out = test_output(
                "printf 'label: gpt\\n"
                "start=2048, size=20480, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=alice\\n"
                "start=22528, size=20480, type=773F91EF-66D4-49B5-BD83-D683BF40AD16, name=alice\\n' | "
                "sfdisk -q '%s' >/dev/null 2>&1 && echo ok",
                path);
        assert_string_equal(out, "ok\n");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_int_equal(home_gpt_find(fd, "alice", NULL, &found), 0);
        assert_int_equal(found.offset, 22528ULL * 512);
        close(fd);
        unlink(path);
}

static void too_small_is_refused(void **state)
{
        _cleanup_free_ char *path = NULL;
        HomeGptPartition p;
        int fd = test_image_new(16 * 1024, &path);

        assert_true(home_gpt_make(fd, "alice", PART_UUID, &p) < 0);
        close(fd);
        unlink(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(layout_is_homeds),
                cmocka_unit_test(find_by_type_name_and_uuid),
                cmocka_unit_test(no_table_or_two_candidates_is_enopkg),
                cmocka_unit_test(other_types_are_ignored),
                cmocka_unit_test(too_small_is_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
