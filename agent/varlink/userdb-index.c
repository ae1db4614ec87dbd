/* SPDX-License-Identifier: MIT */
/* The index of served records; see userdb-index.h. */

#include "userdb-index.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"
#include "json-util.h"
#include "siphash24.h"
#include "string-util.h"
#include "user-record.h"
#include "userdb-record.h"

#define HOST_RECORD_SUFFIX ".identity"
#define BUCKETS_MIN        64U

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

/* What a file was when its entry was read. */
typedef struct FileId {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime, ctime;
} FileId;

typedef struct Entry {
        char *key;
        uint64_t hash;
        FileId id;
        bool stale;   /* the file is not (known to be) what was read: read it before answering from it */
        bool served;  /* record holds a record of ours */
        bool unbound; /* a record with our grant extension but no binding for this machine (see
                         userdb_index_unbound()) */
        bool seen;    /* listed by the scan in progress */
        UserdbRecord record;
        struct Entry *next_by_key, *next_by_uid;
} Entry;

struct UserdbIndex {
        Home *home;
        char *service_name;
        char *dir; /* $ROOT/var/lib/systemd/home */
        uint8_t hash_key[SIPHASH24_KEY_SIZE];
        Entry **by_key, **by_uid; /* n_buckets chains each */
        size_t n_buckets;
        size_t n_entries, n_stale;
        const UserdbRecord **sorted; /* served records by key; rebuilt when sorted_valid is false */
        size_t n_sorted;
        bool sorted_valid;
};

/* ---- records ---- */

static void text_done(UserdbText *t)
{
        free(t->data);
        *t = (UserdbText){};
}

static void record_done(UserdbRecord *r)
{
        if (r->user_other.data != r->user_privileged.data)
                text_done(&r->user_other);
        text_done(&r->user_privileged);
        text_done(&r->group);
        strv_free(r->member_of);
        free((char *) r->user_name);
        *r = (UserdbRecord){};
}

/* {"record": record, "incomplete": incomplete} as compact text: what the service would send. */
static int render_reply(json_t *record, bool incomplete, UserdbText *ret)
{
        _cleanup_json_ json_t *parameters =
                json_pack("{s:O, s:b}", "record", record, "incomplete", incomplete);
        char *text;

        if (!parameters)
                return -ENOMEM;
        text = json_dumps(parameters, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        *ret = (UserdbText){ .data = text, .size = strlen(text) };
        return 0;
}

static int render_user(UserdbIndex *x, json_t *host, uid_t peer_uid, UserdbText *ret)
{
        _cleanup_json_ json_t *served = NULL;
        bool incomplete = false;
        int r;

        r = userdb_user_record_for_peer(host, x->home->machine_id, x->service_name, peer_uid, &served,
                                        &incomplete);
        if (r < 0)
                return r;
        return render_reply(served, incomplete, ret);
}

static int member_of_strv(json_t *host, char ***ret)
{
        json_t *groups = json_object_get(host, "memberOf"), *g;
        size_t i, n = 0;
        char **l = calloc(json_array_size(groups) + 1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        json_array_foreach (groups, i, g) {
                if (!json_is_string(g))
                        continue;
                l[n] = strdup(json_string_value(g));
                if (!l[n]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                n++;
        }
        *ret = l;
        return 0;
}

/* Fills r from host, a record of ours. */
static int record_render(UserdbIndex *x, const char *key, json_t *host, UserdbRecord *ret)
{
        _cleanup_json_ json_t *group = NULL;
        UserdbRecord r = { .key = key, .not_after = userdb_record_end(host) };
        int k;

        k = userdb_record_binding_uid(host, x->home->machine_id, &r.uid);
        if (k < 0)
                return k;
        r.user_name = strdup(strempty(user_record_user_name(host)));
        k = r.user_name ? member_of_strv(host, &r.member_of) : -ENOMEM;
        if (k >= 0)
                k = render_user(x, host, 0, &r.user_privileged);
        /* Another uid than root's and the user's: (uid_t) -1 is never a binding's uid. */
        if (k >= 0 && json_object_get(host, "privileged"))
                k = render_user(x, host, (uid_t) -1, &r.user_other);
        else
                r.user_other = r.user_privileged;
        if (k >= 0)
                k = userdb_group_record(host, x->home->machine_id, x->service_name, &group);
        if (k >= 0)
                k = render_reply(group, false, &r.group);
        if (k < 0) {
                record_done(&r);
                return k;
        }
        *ret = r;
        return 0;
}

/* ---- tables ---- */

static size_t bucket_of_uid(const UserdbIndex *x, uid_t uid)
{
        /* Fibonacci hashing: uids of homes are consecutive, this spreads them over the buckets. */
        return (size_t) (((uint64_t) uid * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (x->n_buckets - 1);
}

static Entry *find_entry(const UserdbIndex *x, const char *key, uint64_t hash)
{
        for (Entry *e = x->by_key[hash & (x->n_buckets - 1)]; e; e = e->next_by_key)
                if (e->hash == hash && streq(e->key, key))
                        return e;
        return NULL;
}

static void uid_link(UserdbIndex *x, Entry *e)
{
        size_t b = bucket_of_uid(x, e->record.uid);

        e->next_by_uid = x->by_uid[b];
        x->by_uid[b] = e;
}

static void uid_unlink(UserdbIndex *x, Entry *e)
{
        for (Entry **p = &x->by_uid[bucket_of_uid(x, e->record.uid)]; *p; p = &(*p)->next_by_uid)
                if (*p == e) {
                        *p = e->next_by_uid;
                        e->next_by_uid = NULL;
                        return;
                }
}

/* Doubles the buckets when the chains grow longer than one entry on average. */
static int grow(UserdbIndex *x)
{
        size_t n = x->n_buckets * 2;
        Entry **by_key, **by_uid;

        if (x->n_entries < x->n_buckets)
                return 0;
        by_key = calloc(n, sizeof(Entry *));
        by_uid = calloc(n, sizeof(Entry *));
        if (!by_key || !by_uid) {
                free(by_key);
                free(by_uid);
                return -ENOMEM;
        }
        for (size_t b = 0; b < x->n_buckets; b++)
                for (Entry *e = x->by_key[b], *next; e; e = next) {
                        next = e->next_by_key;
                        e->next_by_key = by_key[e->hash & (n - 1)];
                        by_key[e->hash & (n - 1)] = e;
                }
        free(x->by_key);
        free(x->by_uid);
        x->by_key = by_key;
        x->by_uid = by_uid;
        x->n_buckets = n;
        for (size_t b = 0; b < n; b++)
                for (Entry *e = x->by_key[b]; e; e = e->next_by_key)
                        if (e->served)
                                uid_link(x, e);
        return 0;
}

static void entry_forget_record(UserdbIndex *x, Entry *e)
{
        if (!e->served)
                return;
        uid_unlink(x, e);
        record_done(&e->record);
        e->served = false;
        x->sorted_valid = false;
}

static void entry_mark_stale(UserdbIndex *x, Entry *e)
{
        if (!e->stale)
                x->n_stale++;
        e->stale = true;
}

static void entry_remove(UserdbIndex *x, Entry *e)
{
        for (Entry **p = &x->by_key[e->hash & (x->n_buckets - 1)]; *p; p = &(*p)->next_by_key)
                if (*p == e) {
                        *p = e->next_by_key;
                        break;
                }
        entry_forget_record(x, e);
        if (e->stale)
                x->n_stale--;
        x->n_entries--;
        free(e->key);
        free(e);
}

static int entry_add(UserdbIndex *x, const char *key, uint64_t hash, Entry **ret)
{
        Entry *e;
        int r;

        r = grow(x);
        if (r < 0)
                return r;
        e = calloc(1, sizeof(Entry));
        if (!e || !(e->key = strdup(key))) {
                free(e);
                return -ENOMEM;
        }
        e->hash = hash;
        e->next_by_key = x->by_key[hash & (x->n_buckets - 1)];
        x->by_key[hash & (x->n_buckets - 1)] = e;
        x->n_entries++;
        entry_mark_stale(x, e);
        *ret = e;
        return 0;
}

/* ---- files ---- */

static FileId file_id(const struct stat *st)
{
        return (FileId){ .dev = st->st_dev,
                         .ino = st->st_ino,
                         .size = st->st_size,
                         .mtime = st->st_mtim,
                         .ctime = st->st_ctim };
}

static bool file_id_equal(const FileId *a, const FileId *b)
{
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
               a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static uint64_t key_hash(const UserdbIndex *x, const char *key)
{
        /* Keyed per index: a client cannot pick names that all land in one chain. */
        return siphash24(key, strlen(key), x->hash_key);
}

static int entry_read(UserdbIndex *x, Entry *e)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_close_ int fd = -1;
        _cleanup_json_ json_t *host = NULL;
        struct stat st;
        size_t size;
        int r;

        if (asprintf(&path, "%s/%s" HOST_RECORD_SUFFIX, x->dir, e->key) < 0)
                return -ENOMEM;
        r = open_regular_file(AT_FDCWD, path, &fd, &st);
        if (r < 0)
                return r;
        /* The identity of what is read now: a replacement after the scan is simply the newer version. */
        e->id = file_id(&st);
        r = read_fd_bounded(fd, USER_RECORD_TEXT_MAX, &data, &size);
        if (r < 0)
                return r;
        r = user_record_load(data, size, &host, NULL);
        if (r < 0)
                return r;
        if (!userdb_record_is_ours(x->home, host)) {
                uid_t uid;
                e->unbound = json_is_object(json_object_get(host, USERDB_SERVED_EXTENSION)) &&
                             userdb_record_binding_uid(host, x->home->machine_id, &uid) < 0;
                return -EPERM;
        }
        r = record_render(x, e->key, host, &e->record);
        if (r < 0)
                return r;
        e->served = true;
        uid_link(x, e);
        x->sorted_valid = false;
        return 0;
}

/* Reads e's file: e serves its record afterwards when the record is ours, nothing otherwise (a file we
 * cannot read or do not serve is no error of the index: clients move on to other services). Only running
 * out of memory fails, and leaves e stale. */
static int entry_load(UserdbIndex *x, Entry *e)
{
        int r;

        entry_forget_record(x, e);
        if (e->stale)
                x->n_stale--;
        e->stale = false;
        e->unbound = false;
        r = entry_read(x, e);
        if (r == -ENOMEM) {
                entry_mark_stale(x, e);
                return r;
        }
        return 0;
}

static int entry_load_if_stale(UserdbIndex *x, Entry *e)
{
        return e->stale ? entry_load(x, e) : 0;
}

static int load_all(UserdbIndex *x)
{
        for (size_t b = 0; b < x->n_buckets && x->n_stale > 0; b++)
                for (Entry *e = x->by_key[b]; e; e = e->next_by_key) {
                        int r = entry_load_if_stale(x, e);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* The host record name's file, as a scan sees it: new or changed makes its entry stale. */
static int scan_one(UserdbIndex *x, const char *key, const struct stat *st)
{
        uint64_t hash = key_hash(x, key);
        Entry *e = find_entry(x, key, hash);
        FileId id = file_id(st);
        int r;

        if (!e) {
                r = entry_add(x, key, hash, &e);
                if (r < 0)
                        return r;
                e->id = id;
        } else if (!file_id_equal(&e->id, &id)) {
                e->id = id;
                entry_mark_stale(x, e);
        }
        e->seen = true;
        return 0;
}

/* The key of a host record's file name, or NULL when name is none (another file, an invalid user name). */
static char *key_of_file_name(const char *name)
{
        size_t l = strlen(name), sl = strlen(HOST_RECORD_SUFFIX);
        char *key;

        if (l <= sl || !streq(name + l - sl, HOST_RECORD_SUFFIX))
                return NULL;
        key = strndup(name, l - sl);
        if (key && !user_name_is_valid_syntax(key))
                key = mfree(key);
        return key;
}

static void remove_unseen(UserdbIndex *x)
{
        for (size_t b = 0; b < x->n_buckets; b++)
                for (Entry *e = x->by_key[b], *next; e; e = next) {
                        next = e->next_by_key;
                        if (!e->seen)
                                entry_remove(x, e);
                }
}

int userdb_index_scan(UserdbIndex *x)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r = 0;

        for (size_t b = 0; b < x->n_buckets; b++)
                for (Entry *e = x->by_key[b]; e; e = e->next_by_key)
                        e->seen = false;
        d = opendir(x->dir);
        if (!d && errno != ENOENT)
                return -errno;
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *key = key_of_file_name(de->d_name);
                struct stat st;

                if (!key)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT) /* removed since the listing */
                                continue;
                        r = -errno;
                        break;
                }
                r = scan_one(x, key, &st);
                if (r < 0)
                        break;
        }
        if (r < 0)
                /* Entries not reached keep what they had: a failed scan takes nothing away. */
                for (size_t b = 0; b < x->n_buckets; b++)
                        for (Entry *e = x->by_key[b]; e; e = e->next_by_key)
                                e->seen = true;
        remove_unseen(x);
        return r;
}

int userdb_index_scan_name(UserdbIndex *x, const char *user_name)
{
        _cleanup_free_ char *path = NULL;
        struct stat st;
        Entry *e;

        if (!user_name_is_valid_syntax(user_name))
                return 0;
        if (asprintf(&path, "%s/%s" HOST_RECORD_SUFFIX, x->dir, user_name) < 0)
                return -ENOMEM;
        if (lstat(path, &st) < 0) {
                if (errno != ENOENT)
                        return -errno;
                e = find_entry(x, user_name, key_hash(x, user_name));
                if (e)
                        entry_remove(x, e);
                return 0;
        }
        return scan_one(x, user_name, &st);
}

size_t userdb_index_load_some(UserdbIndex *x, size_t max)
{
        for (size_t b = 0; b < x->n_buckets && x->n_stale > 0 && max > 0; b++)
                for (Entry *e = x->by_key[b]; e && max > 0; e = e->next_by_key)
                        if (e->stale) {
                                /* Out of memory: the entry stays unread until it is needed. */
                                (void) entry_load(x, e);
                                max--;
                        }
        return x->n_stale;
}

size_t userdb_index_stale(const UserdbIndex *x)
{
        return x->n_stale;
}

int userdb_index_get_name(UserdbIndex *x, const char *user_name, const UserdbRecord **ret)
{
        Entry *e;
        int r;

        if (!user_name)
                return -ENOENT;
        e = find_entry(x, user_name, key_hash(x, user_name));
        if (!e)
                return -ENOENT;
        r = entry_load_if_stale(x, e);
        if (r < 0)
                return r;
        if (!e->served)
                return -ENOENT;
        *ret = &e->record;
        return 0;
}

static int record_compare(const void *a, const void *b)
{
        return strcmp((*(const UserdbRecord *const *) a)->key, (*(const UserdbRecord *const *) b)->key);
}

int userdb_index_get_uid(UserdbIndex *x, uid_t uid, const UserdbRecord ***ret, size_t *ret_n)
{
        const UserdbRecord **l = NULL;
        size_t n = 0;
        int r;

        r = load_all(x);
        if (r < 0)
                return r;
        for (Entry *e = x->by_uid[bucket_of_uid(x, uid)]; e; e = e->next_by_uid) {
                const UserdbRecord **p;

                if (e->record.uid != uid)
                        continue;
                p = reallocarray(l, n + 1, sizeof(UserdbRecord *));
                if (!p) {
                        free(l);
                        return -ENOMEM;
                }
                l = p;
                l[n++] = &e->record;
        }
        if (n > 1)
                qsort(l, n, sizeof(UserdbRecord *), record_compare);
        *ret = l;
        *ret_n = n;
        return 0;
}

int userdb_index_list(UserdbIndex *x, const UserdbRecord *const **ret, size_t *ret_n)
{
        const UserdbRecord **l;
        size_t n = 0;
        int r;

        r = load_all(x);
        if (r < 0)
                return r;
        if (!x->sorted_valid) {
                l = reallocarray(x->sorted, x->n_entries + 1, sizeof(UserdbRecord *));
                if (!l)
                        return -ENOMEM;
                x->sorted = l;
                for (size_t b = 0; b < x->n_buckets; b++)
                        for (Entry *e = x->by_key[b]; e; e = e->next_by_key)
                                if (e->served)
                                        l[n++] = &e->record;
                qsort(l, n, sizeof(UserdbRecord *), record_compare);
                x->n_sorted = n;
                x->sorted_valid = true;
        }
        *ret = x->sorted;
        *ret_n = x->n_sorted;
        return 0;
}

int userdb_index_unbound(UserdbIndex *x, char ***ret)
{
        char **names = NULL;
        size_t n = 0;

        for (size_t b = 0; b < x->n_buckets; b++)
                for (Entry *e = x->by_key[b]; e; e = e->next_by_key) {
                        char **p;
                        if (e->stale || !e->unbound)
                                continue;
                        if (!ret) {
                                n++;
                                continue;
                        }
                        p = reallocarray(names, n + 2, sizeof(char *));
                        if (!p || !(p[n] = strdup(e->key))) {
                                if (p)
                                        names = p;
                                strv_free(names);
                                return -ENOMEM;
                        }
                        names = p;
                        names[++n] = NULL;
                }
        if (ret)
                *ret = names;
        return (int) n;
}

int userdb_index_next_expiry(UserdbIndex *x, usec_t *ret)
{
        const UserdbRecord *const *l;
        usec_t next = USEC_INFINITY;
        size_t n;
        int r;

        r = userdb_index_list(x, &l, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (l[i]->not_after < next)
                        next = l[i]->not_after;
        *ret = next;
        return 0;
}

const char *userdb_index_service_name(const UserdbIndex *x)
{
        return x->service_name;
}

int userdb_index_new(Home *home, const char *service_name, UserdbIndex **ret)
{
        _cleanup_userdb_index_ UserdbIndex *x = NULL;
        int r;

        if (!home || !home->key || !service_name || !*service_name || !ret)
                return -EINVAL;
        x = calloc(1, sizeof(UserdbIndex));
        if (!x)
                return -ENOMEM;
        x->home = home;
        x->n_buckets = BUCKETS_MIN;
        x->by_key = calloc(x->n_buckets, sizeof(Entry *));
        x->by_uid = calloc(x->n_buckets, sizeof(Entry *));
        x->service_name = strdup(service_name);
        if (!x->by_key || !x->by_uid || !x->service_name)
                return -ENOMEM;
        r = path_join_root(home->root, HOME_HOST_RECORD_DIR, &x->dir);
        if (r < 0)
                return r;
        ssize_t k = getrandom(x->hash_key, sizeof(x->hash_key), 0);
        if (k < 0)
                return -errno;
        if (k != (ssize_t) sizeof(x->hash_key))
                return -EIO;
        *ret = TAKE_PTR(x);
        return 0;
}

UserdbIndex *userdb_index_free(UserdbIndex *x)
{
        if (!x)
                return NULL;
        for (size_t b = 0; x->by_key && b < x->n_buckets; b++)
                for (Entry *e = x->by_key[b], *next; e; e = next) {
                        next = e->next_by_key;
                        if (e->served)
                                record_done(&e->record);
                        free(e->key);
                        free(e);
                }
        free(x->by_key);
        free(x->by_uid);
        free(x->sorted);
        free(x->service_name);
        free(x->dir);
        free(x);
        return NULL;
}
