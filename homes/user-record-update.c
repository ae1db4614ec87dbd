/* SPDX-License-Identifier: MIT */
/* Which of two records of one user wins. lastChangeUSec orders them as systemd-homed does; refusing older
 * and equal-but-different records stops an attacker from replaying a record signed earlier (say, before
 * the account was locked) and from swapping content without moving the clock. */
#include <errno.h>
#include <inttypes.h>

#include "user-record-internal.h"

static bool streq_null(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

int user_record_check_update(json_t *old_record, json_t *new_record, RecordError *err)
{
        _cleanup_free_ char *old_text = NULL, *new_text = NULL;
        uint64_t old_usec = 0, new_usec = 0;
        bool old_has, new_has;
        int r;

        if (!json_is_object(old_record) || !json_is_object(new_record))
                return -EINVAL;

        if (!streq_null(user_record_user_name(old_record), user_record_user_name(new_record)))
                return record_error(err, "userName", -EINVAL, "the new record is for another user");
        /* A record with a realm is never an update of one without (USER_RECORD.md, realm). */
        if (!streq_null(json_string_value(json_object_get(old_record, "realm")),
                        json_string_value(json_object_get(new_record, "realm"))))
                return record_error(err, "realm", -EINVAL, "the new record is for another realm");

        old_has = user_record_last_change_usec(old_record, &old_usec);
        new_has = user_record_last_change_usec(new_record, &new_usec);
        if (old_has && !new_has)
                return record_error(err, "lastChangeUSec", -ESTALE,
                                    "refusing to downgrade: the new record has no lastChangeUSec");
        if (old_has && new_has && new_usec < old_usec)
                return record_error(err, "lastChangeUSec", -ESTALE,
                                    "refusing to downgrade: lastChangeUSec %" PRIu64
                                    " is older than %" PRIu64,
                                    new_usec, old_usec);
        if (new_has && (!old_has || new_usec > old_usec))
                return 0;

        /* Same timestamp (or neither has one): only the very same record may come again. */
        r = user_record_canonical_text(old_record, &old_text);
        if (r < 0)
                return r;
        r = user_record_canonical_text(new_record, &new_text);
        if (r < 0)
                return r;
        if (!streq(old_text, new_text))
                return record_error(err, "lastChangeUSec", -ESTALE,
                                    "refusing to downgrade: same lastChangeUSec but different content");
        return USER_RECORD_UPDATE_SAME;
}
