/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "assertion-store-internal.h"
#include "crash-point.h"
#include "file-util.h"
#include "macros.h"
#include "string-util.h"

/* --- writing --- */

static int ensure_dir(AssertionStore *s)
{
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int parent_fd = -1;
        int r;

        if (s->dir_fd >= 0)
                return 0;
        r = mkdir_parents_and_self(s->dir, 0700);
        if (r < 0)
                return r;
        s->dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0)
                return -errno;
        /* The new directory's own entry must be durable before anything in it counts. */
        parent = strndup(s->dir, (size_t) (strrchr(s->dir, '/') - s->dir));
        if (!parent)
                return -ENOMEM;
        parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent_fd < 0 || fsync(parent_fd) < 0)
                return -errno;
        return 0;
}

/* Crash points at every step of writing a pack: "STEP:written" (the temporary file is written),
 * ":synced" (and fsync'ed), ":renamed" (in place under its name), ":durable" (the directory fsync'ed). */
static void step(const char *step, const char *what)
{
        char name[64];

        snprintf(name, sizeof(name), "%s:%s", step, what);
        crash_point(name);
}

int store_pack_write(AssertionStore *s, uint64_t first, uint64_t last, usec_t time_floor,
                     const AssertionPackItem *items, size_t n, const char *what, PackName *ret_name)
{
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = -1;
        char tmp[sizeof(PACK_TMP_PREFIX) + 16];
        PackName name;
        size_t size;
        int r;

        r = assertion_pack_build(first, last, time_floor, items, n, &data, &size);
        if (r < 0)
                return r;
        for (unsigned attempt = 0; fd < 0; attempt++) {
                uint64_t nonce;
                if (attempt >= 16)
                        return -EEXIST;
                if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
                        return -EIO;
                snprintf(tmp, sizeof(tmp), PACK_TMP_PREFIX "%016" PRIx64, nonce);
                fd = openat(s->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0 && errno != EEXIST)
                        return -errno;
        }
        r = write_all(fd, data, size);
        if (r >= 0) {
                step(what, "written");
                if (fsync(fd) < 0)
                        r = -errno;
        }
        store_format_pack_name(first, last, &name);
        if (r >= 0) {
                step(what, "synced");
                /* Never over an existing pack: that would be a second writer (or a bug), not a commit. */
                if (renameat2(s->dir_fd, tmp, s->dir_fd, name.name, RENAME_NOREPLACE) < 0)
                        r = errno == EEXIST ? -EBUSY : -errno;
        }
        if (r < 0) {
                (void) unlinkat(s->dir_fd, tmp, 0);
                return r;
        }
        step(what, "renamed");
        if (fsync(s->dir_fd) < 0)
                return -errno;
        step(what, "durable");
        *ret_name = name;
        return 0;
}

int store_snapshot_add(AssertionStore *s, const PackName *name)
{
        Pack p, *grown;
        size_t keep = 0;
        int r;

        r = store_pack_open(s->dir_fd, name, &p);
        if (r < 0)
                return r;
        while (keep < s->n_packs && s->packs[keep].header.last < name->first)
                keep++;
        for (size_t i = keep; i < s->n_packs; i++)
                store_pack_done(&s->packs[i]);
        grown = reallocarray(s->packs, keep + 1, sizeof(Pack));
        if (!grown) {
                store_pack_done(&p);
                s->n_packs = keep;
                return -ENOMEM;
        }
        s->packs = grown;
        s->packs[keep] = p;
        s->n_packs = keep + 1;
        return 0;
}

void store_item_buffer_done(ItemBuffer *b)
{
        for (size_t i = 0; i < b->n; i++) {
                free((char *) b->items[i].key);
                if (!b->items[i].signature)
                        free((char *) b->items[i].wire);
        }
        free(b->items);
        *b = (ItemBuffer){};
}

static int item_buffer_grow(ItemBuffer *b)
{
        size_t want = b->allocated ? b->allocated * 2 : 64;
        AssertionPackItem *items;

        if (b->n < b->allocated)
                return 0;
        items = reallocarray(b->items, want, sizeof(AssertionPackItem));
        if (!items)
                return -ENOMEM;
        b->items = items;
        b->allocated = want;
        return 0;
}

int store_item_buffer_add(ItemBuffer *b, char *key, char *wire, size_t wire_size)
{
        if (item_buffer_grow(b) < 0) {
                free(key);
                free(wire);
                return -ENOMEM;
        }
        b->items[b->n++] = (AssertionPackItem){ .key = key, .wire = wire, .wire_size = wire_size };
        return 0;
}

int store_item_buffer_add_assertion(ItemBuffer *b, char *key, const Assertion *a)
{
        if (item_buffer_grow(b) < 0) {
                free(key);
                return -ENOMEM;
        }
        b->items[b->n++] = (AssertionPackItem){ .key = key,
                                                .wire = a->content,
                                                .wire_size = a->content_size,
                                                .signature = a->signature,
                                                .signature_size = a->signature_size };
        return 0;
}

static int compare_items(const void *a, const void *b)
{
        return strcmp(((const AssertionPackItem *) a)->key, ((const AssertionPackItem *) b)->key);
}

/* The state on disk must still be the snapshot: another writer's commit since would be overwritten by a
 * batch checked against an older state. */
static int check_current(AssertionStore *s)
{
        _cleanup_free_ PackName *names = NULL;
        size_t n = 0, n_live = 0;
        int r;

        r = store_list_dir(s->dir_fd, &names, &n, NULL);
        if (r < 0)
                return r;
        r = store_split_live(names, n, &n_live);
        if (r < 0)
                return r == -EAGAIN ? -EBADMSG : r;
        return (n_live > 0 ? names[n_live - 1].last : 0) == assertion_store_sequence(s) ? 0 : -EBUSY;
}

/* Merges the k newest packs into one (for a key in several, the newest wins). */
static int merge_newest(AssertionStore *s, size_t k)
{
        size_t base = s->n_packs - k;
        _cleanup_(store_item_buffer_done) ItemBuffer b = {};
        PackName merged, covered[STORE_MERGE_FAN_IN];
        Cursor c[STORE_MERGE_FAN_IN];
        usec_t floor = 0;
        int r;

        for (size_t i = 0; i < k; i++) {
                const Pack *p = &s->packs[base + i];
                covered[i] = p->name;
                if (p->header.time_floor > floor)
                        floor = p->header.time_floor;
                r = store_cursor_init(s, base + i, "", &c[i]);
                if (r < 0)
                        return r;
        }
        for (size_t best; (best = store_cursors_pick(c, k)) != SIZE_MAX;) {
                char *key = strndup(c[best].key, c[best].key_size), *wire = NULL;
                const char *entry;

                if (!key)
                        return -ENOMEM;
                r = store_pack_entry(&s->packs[c[best].layer], c[best].offset, c[best].size, &entry);
                if (r >= 0 && !(wire = memdup_suffix0(entry, c[best].size)))
                        r = -ENOMEM;
                if (r < 0) {
                        free(key);
                        return r;
                }
                r = store_item_buffer_add(&b, key, wire, c[best].size);
                if (r < 0)
                        return r;
                r = store_cursors_advance_past(s, c, k, best);
                if (r < 0)
                        return r;
        }

        r = store_pack_write(s, s->packs[base].header.first, s->packs[s->n_packs - 1].header.last, floor,
                             b.items, b.n, "store-merge", &merged);
        if (r < 0)
                return r;
        /* Covered now, so readers skip them already; deleting them is housekeeping. */
        for (size_t i = 0; i < k; i++) {
                (void) unlinkat(s->dir_fd, covered[i].name, 0);
                crash_point("store-merge:pruned-one");
        }
        return store_snapshot_add(s, &merged);
}

/* A pack's tier: floor(log_F(count)) for the fan-in F. */
static unsigned tier(uint64_t count)
{
        unsigned t = 0;

        for (; count >= STORE_MERGE_FAN_IN; count /= STORE_MERGE_FAN_IN)
                t++;
        return t;
}

/* Size-tiered merging: when the STORE_MERGE_FAN_IN newest packs are of one tier, they become one pack (of
 * the next tier, which may complete a merge there). So a commit merges once in about F - 1 (each merge
 * costs two more fsyncs), an assertion is rewritten about log_F(n) times, and a store of n assertions has
 * at most F - 1 packs per tier. A failed merge leaves a valid store with more packs; the commit stands. */
static void merge_packs(AssertionStore *s)
{
        while (s->n_packs >= STORE_MERGE_FAN_IN) {
                unsigned t = tier(s->packs[s->n_packs - 1].header.count);
                for (size_t i = s->n_packs - STORE_MERGE_FAN_IN; i < s->n_packs; i++)
                        if (tier(s->packs[i].header.count) != t)
                                return;
                if (merge_newest(s, STORE_MERGE_FAN_IN) < 0)
                        return;
        }
}

int assertion_store_commit(AssertionStore *s, Assertion *const *items, size_t n, usec_t time_floor)
{
        _cleanup_(store_item_buffer_done) ItemBuffer b = {};
        PackName name;
        int r;

        if (n == 0)
                return 0;
        r = ensure_dir(s);
        if (r < 0)
                return r;
        r = check_current(s);
        if (r < 0)
                return r;
        if (store_legacy_present(s)) {
                r = store_legacy_migrate(s);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < n; i++) {
                char *key = NULL;

                r = assertion_store_key(items[i], &key);
                if (r < 0)
                        return r;
                r = store_item_buffer_add_assertion(&b, key, items[i]);
                if (r < 0)
                        return r;
        }
        qsort(b.items, b.n, sizeof(AssertionPackItem), compare_items);

        uint64_t seq = assertion_store_sequence(s) + 1;
        usec_t floor = assertion_store_time_floor(s);
        if (time_floor > floor)
                floor = time_floor;
        r = store_pack_write(s, seq, seq, floor, b.items, b.n, "store-commit", &name);
        if (r < 0)
                return r;
        r = store_snapshot_add(s, &name);
        if (r < 0)
                return r;
        merge_packs(s);
        return 0;
}

int assertion_store_recover(AssertionStore *s)
{
        _cleanup_free_ PackName *names = NULL;
        _cleanup_strv_free_ char **tmp = NULL;
        size_t n = 0, n_live = 0;
        int removed = 0, r;

        if (s->dir_fd < 0)
                return 0;
        r = store_list_dir(s->dir_fd, &names, &n, &tmp);
        if (r < 0)
                return r;
        r = store_split_live(names, n, &n_live);
        if (r < 0)
                return r == -EAGAIN ? -EBADMSG : r;
        for (size_t i = 0; tmp && tmp[i]; i++) {
                if (unlinkat(s->dir_fd, tmp[i], 0) < 0 && errno != ENOENT)
                        return -errno;
                removed++;
                crash_point("store-recover:removed-one");
        }
        for (size_t i = n_live; i < n; i++) {
                if (unlinkat(s->dir_fd, names[i].name, 0) < 0 && errno != ENOENT)
                        return -errno;
                removed++;
                crash_point("store-recover:removed-one");
        }
        if (store_legacy_present(s)) {
                r = store_legacy_migrate(s);
                if (r < 0)
                        return r;
        }
        r = store_snapshot_load(s, NULL);
        return r < 0 ? r : removed;
}

int assertion_store_save(const char *root, const Assertion *a)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL;
        Assertion *items[] = { (Assertion *) a };
        int r;

        r = assertion_store_open(root, &s, NULL);
        if (r < 0)
                return r;
        return assertion_store_commit(s, items, 1, 0);
}
