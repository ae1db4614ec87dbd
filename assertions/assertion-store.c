/* SPDX-License-Identifier: MIT */
#include "assertion-store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assertion-store-internal.h"
#include "file-util.h"
#include "macros.h"
#include "string-util.h"

/* --- keys --- */

static bool key_byte_plain(unsigned char c, bool first)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '@' || c == '+' || c == '-' || (c == '.' && !first);
}

/* Writes the escaped value at p (when not NULL); returns its length. */
static size_t escape_key_value(char *p, const char *value)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t n = 0;

        for (const char *v = value; *v; v++) {
                unsigned char c = (unsigned char) *v;
                if (key_byte_plain(c, v == value)) {
                        if (p)
                                p[n] = (char) c;
                        n++;
                        continue;
                }
                if (p) {
                        p[n] = '%';
                        p[n + 1] = hex[c >> 4];
                        p[n + 2] = hex[c & 15];
                }
                n += 3;
        }
        return n;
}

int assertion_store_key_from_values(const char *type, const char *const *values, char **ret)
{
        size_t size, at;
        char *key;

        if (!type || !assertion_type_lookup(type))
                return -EINVAL;
        size = strlen(type);
        for (size_t i = 0; values[i]; i++)
                size += 1 + escape_key_value(NULL, values[i]);
        key = malloc(size + 1);
        if (!key)
                return -ENOMEM;
        at = strlen(type);
        memcpy(key, type, at);
        for (size_t i = 0; values[i]; i++) {
                key[at++] = ',';
                at += escape_key_value(key + at, values[i]);
        }
        key[at] = '\0';
        *ret = key;
        return 0;
}

int assertion_store_key(const Assertion *a, char **ret)
{
        const char *const *names = assertion_type_primary_keys(a->type);
        const char *values[8] = {};

        if (!names)
                return -EINVAL;
        for (size_t i = 0; names[i]; i++) {
                if (i + 1 >= ELEMENTSOF(values))
                        return -EINVAL;
                values[i] = assertion_header_string(a, names[i]);
                if (!values[i])
                        return -EINVAL;
        }
        return assertion_store_key_from_values(a->type, values, ret);
}

/* --- packs on disk --- */

static bool parse_pack_name(const char *s, PackName *ret)
{
        char first[17], last[17];

        if (strlen(s) != PACK_NAME_LENGTH || s[16] != '-' || !streq(s + 33, ".pack"))
                return false;
        for (size_t i = 0; i < 33; i++)
                if (i != 16 && !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        memcpy(first, s, 16);
        first[16] = '\0';
        memcpy(last, s + 17, 16);
        last[16] = '\0';
        ret->first = strtoull(first, NULL, 16);
        ret->last = strtoull(last, NULL, 16);
        memcpy(ret->name, s, PACK_NAME_LENGTH + 1);
        return ret->first > 0 && ret->last >= ret->first;
}

void store_format_pack_name(uint64_t first, uint64_t last, PackName *ret)
{
        ret->first = first;
        ret->last = last;
        snprintf(ret->name, sizeof(ret->name), "%016" PRIx64 "-%016" PRIx64 ".pack", first, last);
}

void store_pack_done(Pack *p)
{
        if (p->map)
                (void) munmap((void *) p->map, p->map_size);
        *p = (Pack){};
}

void store_packs_free(Pack *packs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                store_pack_done(&packs[i]);
        free(packs);
}

/* Opens and maps one pack, and checks its header. -ENOENT when it vanished since the listing. */
int store_pack_open(int dir_fd, const PackName *name, Pack *ret)
{
        _cleanup_close_ int fd = -1;
        AssertionPackHeader h;
        struct stat st;
        void *map;
        int r;

        fd = openat(dir_fd, name->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t) st.st_size > SIZE_MAX)
                return -EBADMSG;
        map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED)
                return -errno;
        r = assertion_pack_header_parse(map, (size_t) st.st_size, &h);
        if (r >= 0 && (h.first != name->first || h.last != name->last ||
                       h.header_size + h.index_size > (uint64_t) st.st_size))
                r = -EBADMSG;
        if (r < 0) {
                (void) munmap(map, (size_t) st.st_size);
                return r;
        }
        *ret = (Pack){
                .name = *name,
                .header = h,
                .map = map,
                .map_size = (size_t) st.st_size,
                .index = (const char *) map + h.header_size,
                .stream_offset = h.header_size + h.index_size,
        };
        return 0;
}

static int compare_pack_names(const void *a, const void *b)
{
        const PackName *x = a, *y = b;

        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        /* The widest first: it covers the others with the same start. */
        return x->last > y->last ? -1 : x->last < y->last ? 1 : 0;
}

int store_list_dir(int dir_fd, PackName **ret, size_t *ret_n, char ***ret_tmp)
{
        _cleanup_free_ PackName *names = NULL;
        _cleanup_strv_free_ char **tmp = NULL;
        size_t n = 0, n_tmp = 0;
        int fd;
        DIR *d;

        fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        rewinddir(d);
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                PackName pn;

                if (ret_tmp && startswith(de->d_name, PACK_TMP_PREFIX)) {
                        char **grown = reallocarray(tmp, n_tmp + 2, sizeof(char *));
                        if (!grown)
                                goto oom;
                        tmp = grown;
                        tmp[n_tmp] = strdup(de->d_name);
                        tmp[++n_tmp] = NULL;
                        if (!tmp[n_tmp - 1])
                                goto oom;
                        continue;
                }
                if (!parse_pack_name(de->d_name, &pn))
                        continue;
                if (n % 16 == 0) {
                        PackName *grown = reallocarray(names, n + 16, sizeof(PackName));
                        if (!grown)
                                goto oom;
                        names = grown;
                }
                names[n++] = pn;
        }
        if (errno != 0) {
                int r = -errno;
                closedir(d);
                return r;
        }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof(PackName), compare_pack_names);
        *ret = TAKE_PTR(names);
        *ret_n = n;
        if (ret_tmp)
                *ret_tmp = TAKE_PTR(tmp);
        return 0;
oom:
        closedir(d);
        return -ENOMEM;
}

int store_split_live(PackName *names, size_t n, size_t *ret_n_live)
{
        _cleanup_free_ PackName *covered = NULL;
        size_t n_live = 0, n_covered = 0;
        uint64_t last = 0;

        if (n > 0 && !(covered = calloc(n, sizeof(PackName))))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (names[i].last <= last)
                        covered[n_covered++] = names[i];
                else if (names[i].first == last + 1) {
                        last = names[i].last;
                        names[n_live++] = names[i];
                } else
                        return -EAGAIN;
        }
        if (n_covered > 0)
                memcpy(names + n_live, covered, n_covered * sizeof(PackName));
        *ret_n_live = n_live;
        return 0;
}

/* One attempt at a consistent snapshot: list, keep the live packs, open them. */
static int snapshot_try(AssertionStore *s, Pack **ret, size_t *ret_n)
{
        _cleanup_free_ PackName *names = NULL;
        Pack *packs = NULL;
        size_t n = 0, n_live = 0;
        int r;

        r = store_list_dir(s->dir_fd, &names, &n, NULL);
        if (r < 0)
                return r;
        r = store_split_live(names, n, &n_live);
        if (r < 0)
                return r;
        if (n_live > 0 && !(packs = calloc(n_live, sizeof(Pack))))
                return -ENOMEM;
        for (size_t i = 0; i < n_live; i++) {
                r = store_pack_open(s->dir_fd, &names[i], &packs[i]);
                if (r < 0) {
                        store_packs_free(packs, i);
                        /* Deleted after the listing: a merge replaced it. */
                        return r == -ENOENT ? -EAGAIN : r;
                }
        }
        *ret = packs;
        *ret_n = n_live;
        return 0;
}

int store_snapshot_load(AssertionStore *s, char **ret_error)
{
        Pack *packs = NULL;
        size_t n = 0;
        int r = 0;

        if (s->dir_fd < 0)
                return 0;
        for (unsigned attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
                r = snapshot_try(s, &packs, &n);
                if (r != -EAGAIN)
                        break;
        }
        if (r == -EAGAIN)
                return error_set(ret_error, -EBADMSG,
                                 "%s: the packs do not hold every batch from the first to the last", s->dir);
        if (r < 0)
                return error_set(ret_error, r, "%s: cannot read the packs: %s", s->dir,
                                 r == -EBADMSG ? "damaged pack" : strerror(-r));
        store_packs_free(s->packs, s->n_packs);
        s->packs = packs;
        s->n_packs = n;
        return 0;
}

/* --- reading --- */

AssertionStore *assertion_store_free(AssertionStore *s)
{
        if (!s)
                return NULL;
        store_packs_free(s->packs, s->n_packs);
        store_legacy_clear(s);
        safe_close(s->dir_fd);
        free(s->dir);
        return mfree(s);
}

int assertion_store_open(const char *root, AssertionStore **ret, char **ret_error)
{
        _cleanup_assertion_store_ AssertionStore *s = calloc(1, sizeof(AssertionStore));
        int r;

        if (!s)
                return -ENOMEM;
        s->dir_fd = -1;
        r = path_join_root(root, ASSERTION_STORE_DIR, &s->dir);
        if (r < 0)
                return r;
        s->dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0 && errno != ENOENT)
                return error_set(ret_error, -errno, "%s: %s", s->dir, strerror(errno));

        /* The old layer first: its files are deleted only after the pack holding them was committed, so a
         * file missing from this listing is in a pack the next listing sees. */
        r = store_legacy_load(s, ret_error);
        if (r < 0)
                return r;
        r = store_snapshot_load(s, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int assertion_store_find(AssertionStore *s, const char *key, AssertionStoreEntry *ret)
{
        size_t index;

        for (size_t i = s->n_packs; i-- > 0;) {
                Pack *p = &s->packs[i];
                AssertionPackEntry e;
                int r = assertion_pack_index_find(p->index, p->header.index_size, key, &e);
                if (r < 0)
                        return r;
                if (r > 0) {
                        if (ret)
                                *ret = (AssertionStoreEntry){ .layer = i,
                                                              .offset = e.offset,
                                                              .size = e.size };
                        return 1;
                }
        }
        if (store_legacy_find(s, key, &index)) {
                if (ret)
                        *ret = (AssertionStoreEntry){ .layer = s->n_packs, .offset = index };
                return 1;
        }
        return 0;
}

int store_pack_entry(const Pack *p, uint64_t offset, uint64_t size, const char **ret)
{
        uint64_t stream_size = p->map_size - p->stream_offset;

        if (size == 0 || size > ENTRY_MAX || offset > stream_size || size > stream_size - offset)
                return -EBADMSG;
        *ret = p->map + p->stream_offset + offset;
        return 0;
}

int assertion_store_load(AssertionStore *s, const AssertionStoreEntry *e, const char *key, Assertion **ret,
                         char **ret_error)
{
        _cleanup_assertion_ Assertion *a = NULL;
        _cleanup_free_ char *encoded = NULL, *actual = NULL;
        const char *data = NULL;
        AssertionError err = {};
        char reason[300];
        size_t size;
        int r;

        if (e->layer > s->n_packs || (e->layer == s->n_packs && e->offset >= s->n_legacy))
                return -EINVAL;
        if (e->layer == s->n_packs) {
                r = assertion_encode(s->legacy[e->offset].assertion, &encoded, &size);
                data = encoded;
        } else {
                size = e->size;
                r = store_pack_entry(&s->packs[e->layer], e->offset, e->size, &data);
        }
        if (r >= 0)
                r = assertion_decode(data, size, &a, &err);
        if (r >= 0)
                r = assertion_store_key(a, &actual);
        if (r >= 0 && !streq(actual, key))
                r = -EBADMSG;
        if (r < 0)
                return error_set(ret_error, r == -ENOMEM ? r : -EBADMSG, "%s: stored %s: %s", s->dir, key,
                                 err.message[0]  ? assertion_error_format(&err, reason, sizeof(reason))
                                 : r == -EBADMSG ? "damaged (not the assertion its index names)"
                                                 : strerror(-r));
        *ret = TAKE_PTR(a);
        return 0;
}

static int cursor_fill(const AssertionStore *s, Cursor *c)
{
        AssertionPackEntry e;
        int r;

        c->key = NULL;
        if (c->pos >= c->end)
                return 0;
        if (c->layer == s->n_packs) {
                c->key = s->legacy[c->pos].key;
                c->key_size = strlen(c->key);
                c->offset = c->pos;
                c->next = c->pos + 1;
                return 0;
        }
        r = assertion_pack_index_entry(s->packs[c->layer].index, c->end, c->pos, &e);
        if (r < 0)
                return r;
        c->key = e.key;
        c->key_size = e.key_size;
        c->offset = e.offset;
        c->size = e.size;
        c->next = e.next;
        return 0;
}

static int cursor_advance(const AssertionStore *s, Cursor *c)
{
        c->pos = c->next;
        return cursor_fill(s, c);
}

/* A cursor over the keys of layer that start with prefix: they lie in [prefix, prefix with its last byte
 * incremented). */
int store_cursor_init(const AssertionStore *s, size_t layer, const char *prefix, Cursor *c)
{
        size_t l = strlen(prefix), lo = 0, hi;
        _cleanup_free_ char *after = strdup(prefix);
        int r;

        if (!after)
                return -ENOMEM;
        if (l > 0)
                after[l - 1]++;
        if (layer == s->n_packs) {
                while (l > 0 && lo < s->n_legacy && strcmp(s->legacy[lo].key, prefix) < 0)
                        lo++;
                hi = lo;
                while (hi < s->n_legacy && (l == 0 || strcmp(s->legacy[hi].key, after) < 0))
                        hi++;
        } else {
                const Pack *p = &s->packs[layer];
                hi = p->header.index_size;
                if (l > 0) {
                        r = assertion_pack_index_lower_bound(p->index, p->header.index_size, prefix, l, &lo);
                        if (r < 0)
                                return r;
                        r = assertion_pack_index_lower_bound(p->index, p->header.index_size, after, l, &hi);
                        if (r < 0)
                                return r;
                }
        }
        *c = (Cursor){ .layer = layer, .pos = lo, .end = hi };
        return cursor_fill(s, c);
}

static int compare_cursor_keys(const Cursor *a, const Cursor *b)
{
        int c = memcmp(a->key, b->key, a->key_size < b->key_size ? a->key_size : b->key_size);

        if (c != 0)
                return c;
        return a->key_size < b->key_size ? -1 : a->key_size > b->key_size ? 1 : 0;
}

size_t store_cursors_pick(const Cursor *c, size_t n)
{
        size_t best = SIZE_MAX;

        for (size_t i = 0; i < n; i++)
                if (c[i].key && (best == SIZE_MAX || compare_cursor_keys(&c[i], &c[best]) < 0 ||
                                 (compare_cursor_keys(&c[i], &c[best]) == 0 && c[i].layer > c[best].layer)))
                        best = i;
        return best;
}

int store_cursors_advance_past(const AssertionStore *s, Cursor *c, size_t n, size_t best)
{
        Cursor picked = c[best];
        int r;

        for (size_t i = 0; i < n; i++) {
                if (!c[i].key || compare_cursor_keys(&c[i], &picked) != 0)
                        continue;
                r = cursor_advance(s, &c[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int assertion_store_foreach(AssertionStore *s, const char *prefix,
                            int (*f)(const char *key, const AssertionStoreEntry *e, void *userdata),
                            void *userdata)
{
        size_t n_layers = s->n_packs + 1;
        _cleanup_free_ Cursor *cursors = calloc(n_layers, sizeof(Cursor));
        int r;

        if (!cursors)
                return -ENOMEM;
        for (size_t i = 0; i < n_layers; i++) {
                r = store_cursor_init(s, i, prefix, &cursors[i]);
                if (r < 0)
                        return r;
        }
        for (size_t best; (best = store_cursors_pick(cursors, n_layers)) != SIZE_MAX;) {
                _cleanup_free_ char *key = strndup(cursors[best].key, cursors[best].key_size);
                AssertionStoreEntry e = { .layer = cursors[best].layer,
                                          .offset = cursors[best].offset,
                                          .size = cursors[best].size };

                if (!key)
                        return -ENOMEM;
                r = f(key, &e, userdata);
                if (r != 0)
                        return r < 0 ? r : 0;
                r = store_cursors_advance_past(s, cursors, n_layers, best);
                if (r < 0)
                        return r;
        }
        return 0;
}

usec_t assertion_store_time_floor(const AssertionStore *s)
{
        usec_t floor = s->legacy_floor;

        for (size_t i = 0; i < s->n_packs; i++)
                if (s->packs[i].header.time_floor > floor)
                        floor = s->packs[i].header.time_floor;
        return floor;
}

uint64_t assertion_store_sequence(const AssertionStore *s)
{
        return s->n_packs > 0 ? s->packs[s->n_packs - 1].header.last : 0;
}

uint64_t assertion_store_size(const AssertionStore *s)
{
        uint64_t n = s->n_legacy;

        for (size_t i = 0; i < s->n_packs; i++)
                n += s->packs[i].header.count;
        return n;
}

int assertion_store_read_time_floor(const char *root, usec_t *ret)
{
        _cleanup_assertion_store_ AssertionStore *s = NULL;
        int r;

        r = assertion_store_open(root, &s, NULL);
        if (r < 0)
                return r;
        *ret = assertion_store_time_floor(s);
        return 0;
}
