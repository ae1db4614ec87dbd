/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "id128.h"
#include "path-util.h"
#include "user-record-internal.h"

const char *user_record_signature_state_to_string(UserRecordSignatureState s)
{
        switch (s) {
        case USER_RECORD_UNSIGNED:
                return "unsigned";
        case USER_RECORD_SIGNED_EXCLUSIVE:
                return "signed-exclusive";
        case USER_RECORD_SIGNED:
                return "signed";
        case USER_RECORD_FOREIGN:
                return "foreign";
        }
        return "invalid";
}

int user_record_load(const char *text, size_t size, json_t **ret, RecordError *err)
{
        _cleanup_json_ json_t *record = NULL;
        json_error_t jerr;
        int r;

        if (!text || !ret)
                return -EINVAL;
        /* Bound memory and parse time before jansson sees a byte of a possibly hostile file. */
        if (size > USER_RECORD_TEXT_MAX)
                return record_error(err, NULL, -E2BIG, "record is %zu bytes, more than the %u allowed", size,
                                    USER_RECORD_TEXT_MAX);

        /* Duplicate keys are refused: two parsers that keep different duplicates would see two different
         * records under one signature. */
        record = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!record)
                return record_error(err, NULL, -EBADMSG, "malformed JSON at line %d, column %d: %s",
                                    jerr.line, jerr.column, jerr.text);
        if (!json_is_object(record))
                return record_error(err, NULL, -EBADMSG, "a user record must be a JSON object");

        r = user_record_validate(record, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(record);
        return 0;
}

int user_record_strip(json_t *record, unsigned sections, json_t **ret)
{
        static const struct {
                unsigned section;
                const char *key;
        } keys[] = {
                { USER_RECORD_SECTION_BINDING, "binding" },
                { USER_RECORD_SECTION_STATUS, "status" },
                { USER_RECORD_SECTION_SECRET, "secret" },
                { USER_RECORD_SECTION_SIGNATURE, "signature" },
                { USER_RECORD_SECTION_PRIVILEGED, "privileged" },
                { USER_RECORD_SECTION_PER_MACHINE, "perMachine" },
        };
        _cleanup_json_ json_t *copy = NULL;

        if (!json_is_object(record) || !ret)
                return -EINVAL;
        copy = json_deep_copy(record);
        if (!copy)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (sections & keys[i].section)
                        (void) json_object_del(copy, keys[i].key);
        *ret = TAKE_PTR(copy);
        return 0;
}

int user_record_set_binding(json_t *record, const char *machine_id, uid_t uid, gid_t gid,
                            const char *image_path, const char *storage)
{
        _cleanup_json_ json_t *entry = NULL;
        json_t *binding;

        if (!json_is_object(record) || !id128_is_valid(machine_id, false) || !storage)
                return -EINVAL;
        if (!path_is_absolute_normalized(image_path))
                return -EINVAL;
        /* (uid_t) -1 and the 16-bit -1 mean "invalid" to the kernel and to NSS. */
        if (uid == 0 || uid == (uid_t) -1 || uid == 65535 || gid == 0 || gid == (gid_t) -1 || gid == 65535)
                return -EINVAL;

        entry = json_pack("{s:I,s:s,s:s,s:I}", "gid", (json_int_t) gid, "imagePath", image_path, "storage",
                          storage, "uid", (json_int_t) uid);
        if (!entry)
                return -ENOMEM;

        binding = json_object_get(record, "binding");
        if (!binding) {
                if (json_object_set_new(record, "binding", json_object()) < 0)
                        return -ENOMEM;
                binding = json_object_get(record, "binding");
        }
        if (!json_is_object(binding))
                return -EBADMSG;
        if (json_object_set(binding, machine_id, entry) < 0)
                return -ENOMEM;
        return 0;
}

const char *user_record_user_name(json_t *record)
{
        return json_string_value(json_object_get(record, "userName"));
}

uint64_t user_record_end(json_t *record, const char *extension)
{
        json_t *not_after = json_object_get(record, "notAfterUSec");
        json_t *until = json_object_get(json_object_get(record, extension), "until");

        if (!json_is_integer(not_after) || json_integer_value(not_after) < 0)
                return UINT64_MAX;
        uint64_t end = (uint64_t) json_integer_value(not_after);
        if (json_is_integer(until) && json_integer_value(until) >= 0 &&
            (uint64_t) json_integer_value(until) < end)
                end = (uint64_t) json_integer_value(until);
        return end;
}

bool user_record_last_change_usec(json_t *record, uint64_t *ret)
{
        json_t *v = json_object_get(record, "lastChangeUSec");

        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return false;
        if (ret)
                *ret = (uint64_t) json_integer_value(v);
        return true;
}
