/* SPDX-License-Identifier: MIT */
#include "uid-alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "file-util.h"
#include "macros.h"
#include "siphash24.h"

/* The key systemd-homed 252 uses for the first UID candidate (UID_HASH_KEY in homed-manager.c); it has to be
 * the same bytes, or our homes would get different UIDs from the ones homed gives the same names. */
static const uint8_t homed_uid_hash_key[SIPHASH24_KEY_SIZE] = {
        0xa3, 0xb8, 0x82, 0x69, 0x9a, 0x71, 0xf7, 0xa9, 0xe0, 0x7c, 0xf6, 0xf1, 0x21, 0x69, 0xd2, 0x1e,
};

#define HOME_UID_COUNT ((uint32_t) (HOME_UID_MAX - HOME_UID_MIN + 1))

uid_t uid_alloc_first_candidate(const char *user_name)
{
        uint32_t h = (uint32_t) siphash24(user_name, strlen(user_name), homed_uid_hash_key);

        return (uid_t) (h % HOME_UID_COUNT) + HOME_UID_MIN;
}

uid_t uid_alloc_next_candidate(uid_t uid)
{
        if (uid < HOME_UID_MIN || uid >= HOME_UID_MAX)
                return HOME_UID_MIN;
        return uid + 1;
}

UidUsage *uid_usage_free(UidUsage *u)
{
        if (!u)
                return NULL;
        free(u->ids);
        free(u);
        return NULL;
}

static int uid_usage_add(UidUsage *u, size_t *allocated, uid_t id)
{
        if (u->n == *allocated) {
                size_t want = *allocated ? *allocated * 2 : 64;
                uid_t *n = reallocarray(u->ids, want, sizeof(uid_t));
                if (!n)
                        return -ENOMEM;
                u->ids = n;
                *allocated = want;
        }
        u->ids[u->n++] = id;
        return 0;
}

/* Parses the third colon-separated field of one line as a decimal id; false when the line has no such
 * field or it is not a plain number in range. */
static bool line_third_field_id(const char *line, size_t length, uid_t *ret)
{
        const char *p = line, *end = line + length;
        uint64_t v = 0;
        bool digits = false;

        for (unsigned colons = 0; colons < 2; p++) {
                if (p >= end)
                        return false;
                if (*p == ':')
                        colons++;
        }
        for (; p < end && *p != ':'; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (uint64_t) (*p - '0');
                if (v > UINT32_MAX)
                        return false;
                digits = true;
        }
        if (!digits || p >= end)
                return false;
        *ret = (uid_t) v;
        return true;
}

static int uid_usage_add_file(UidUsage *u, size_t *allocated, const char *root, const char *path)
{
        _cleanup_free_ char *full = NULL, *data = NULL;
        size_t size;
        int r;

        r = path_join_root(root, path, &full);
        if (r < 0)
                return r;
        r = read_file_bounded(AT_FDCWD, full, UID_ALLOC_DB_MAX, &data, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        for (const char *line = data; line < data + size;) {
                const char *nl = memchr(line, '\n', (size_t) (data + size - line));
                size_t length = nl ? (size_t) (nl - line) : (size_t) (data + size - line);
                uid_t id;

                if (line_third_field_id(line, length, &id)) {
                        r = uid_usage_add(u, allocated, id);
                        if (r < 0)
                                return r;
                }
                line += length + 1;
        }
        return 0;
}

static int uid_compare(const void *a, const void *b)
{
        uid_t x = *(const uid_t *) a, y = *(const uid_t *) b;

        return x < y ? -1 : x > y;
}

int uid_usage_load(const char *root, const uid_t *extra_ids, size_t n_extra, UidUsage **ret)
{
        static const char *const files[] = {
                "/etc/passwd",
                "/etc/group",
                "/var/lib/extrausers/passwd",
                "/var/lib/extrausers/group",
        };
        _cleanup_(uid_usage_freep) UidUsage *u = calloc(1, sizeof(UidUsage));
        size_t allocated = 0;
        int r;

        if (!u)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                r = uid_usage_add_file(u, &allocated, root, files[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_extra; i++) {
                r = uid_usage_add(u, &allocated, extra_ids[i]);
                if (r < 0)
                        return r;
        }
        if (u->n > 0)
                qsort(u->ids, u->n, sizeof(uid_t), uid_compare);
        *ret = TAKE_PTR(u);
        return 0;
}

int uid_usage_mark(UidUsage *u, uid_t id)
{
        size_t at = 0;
        uid_t *ids;

        while (at < u->n && u->ids[at] < id)
                at++;
        if (at < u->n && u->ids[at] == id)
                return 0;
        ids = reallocarray(u->ids, u->n + 1, sizeof(uid_t));
        if (!ids)
                return -ENOMEM;
        u->ids = ids;
        memmove(u->ids + at + 1, u->ids + at, (u->n - at) * sizeof(uid_t));
        u->ids[at] = id;
        u->n++;
        return 0;
}

bool uid_usage_contains(const UidUsage *u, uid_t id)
{
        if (!u || u->n == 0)
                return false;
        return bsearch(&id, u->ids, u->n, sizeof(uid_t), uid_compare) != NULL;
}

int uid_alloc_pick(const UidUsage *used, const char *user_name, uid_t *ret)
{
        uid_t candidate = uid_alloc_first_candidate(user_name);

        for (uint32_t tries = 0; tries < HOME_UID_COUNT; tries++) {
                if (!uid_usage_contains(used, candidate)) {
                        *ret = candidate;
                        return 0;
                }
                candidate = uid_alloc_next_candidate(candidate);
        }
        return -EBUSY;
}
