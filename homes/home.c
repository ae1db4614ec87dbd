/* SPDX-License-Identifier: MIT */
#include "home.h"

#include "crash-point.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"
#include "home-batch.h"
#include "home-storage.h"
#include "uid-alloc.h"
#include "user-record-password.h"

#define HOST_RECORD_SUFFIX ".identity"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

static const char *const home_state_names[_HOME_STATE_MAX] = {
        [HOME_STATE_ABSENT] = "absent", [HOME_STATE_INACTIVE] = "inactive", [HOME_STATE_DIRTY] = "dirty",
        [HOME_STATE_ACTIVE] = "active", [HOME_STATE_LOCKED] = "locked",
};

const char *home_state_to_string(HomeState s)
{
        if (s < 0 || s >= _HOME_STATE_MAX)
                return NULL;
        return home_state_names[s];
}

Home *home_free(Home *h)
{
        if (!h)
                return NULL;
        (void) home_batch_end(h); /* an error path: what the batch made is at least synced */
        free(h->root);
        engine_key_free(h->key);
        free(h);
        return NULL;
}

usec_t home_now(const Home *h)
{
        return h->now ? h->now : time_now_realtime();
}

/* The machine-id of the tree; "" when it has none yet (an image before its first boot: the file missing,
 * empty, or "uninitialized" as systemd writes it for the first boot to fill in). -ENOMEDIUM for anything
 * else that is not 32 lower-case hex digits. */
static int read_machine_id(const char *root, char ret[static 33])
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t size;
        int r;

        ret[0] = '\0';
        r = path_join_root(root, HOME_MACHINE_ID_PATH, &path);
        if (r < 0)
                return r;
        r = read_file_bounded(AT_FDCWD, path, 64, &data, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return -ENOMEDIUM;
        if (size > 0 && data[size - 1] == '\n')
                size--;
        if (size == 0 || (size == strlen(HOME_MACHINE_ID_UNINITIALIZED) &&
                          memcmp(data, HOME_MACHINE_ID_UNINITIALIZED, size) == 0))
                return 0;
        if (size != 32)
                return -ENOMEDIUM;
        for (size_t i = 0; i < 32; i++)
                if (!((data[i] >= '0' && data[i] <= '9') || (data[i] >= 'a' && data[i] <= 'f')))
                        return -ENOMEDIUM;
        memcpy(ret, data, 32);
        ret[32] = '\0';
        return 0;
}

bool home_has_machine_id(const Home *h)
{
        return h->machine_id[0] != '\0';
}

int home_reload_machine_id(Home *h)
{
        char id[33];
        int r = read_machine_id(h->root, id);

        if (r < 0)
                return r;
        memcpy(h->machine_id, id, sizeof(id));
        return home_has_machine_id(h);
}

int home_new(const char *root, unsigned flags, Home **ret, RecordError *err)
{
        _cleanup_home_ Home *h = calloc(1, sizeof(Home));
        int r;

        if (!h)
                return -ENOMEM;
        if (root && !streq(root, "/") && !streq(root, "")) {
                h->root = strdup(root);
                if (!h->root)
                        return -ENOMEM;
        }
        h->flags = flags;

        r = read_machine_id(h->root, h->machine_id);
        if (r < 0)
                return home_error(err, r,
                                  "%s%s: malformed (32 lower-case hex digits expected, or empty or "
                                  "\"uninitialized\" before the first boot)",
                                  strempty(h->root), HOME_MACHINE_ID_PATH);
        r = engine_key_load_or_create(h->root, &h->key);
        if (r < 0)
                return home_error(err, r, "%s%s: cannot load or create the engine key: %s",
                                  strempty(h->root), ENGINE_KEY_PRIVATE_PATH, strerror(-r));
        r = engine_key_install_public(h->root, h->key);
        if (r < 0)
                return home_error(err, r, "%s%s: cannot install the engine's public key: %s",
                                  strempty(h->root), ENGINE_KEY_PUBLIC_PATH, strerror(-r));
        *ret = TAKE_PTR(h);
        return 0;
}

static int root_path(Home *h, char **ret, const char *format, ...) _printf_(3, 4);
static int root_path(Home *h, char **ret, const char *format, ...)
{
        _cleanup_free_ char *p = NULL;
        va_list ap;
        int n;

        va_start(ap, format);
        n = vasprintf(&p, format, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        return path_join_root(h->root, p, ret);
}

static int host_record_path(Home *h, const char *user_name, char **ret)
{
        return root_path(h, ret, "%s/%s%s", HOME_HOST_RECORD_DIR, user_name, HOST_RECORD_SUFFIX);
}

static void home_layout_done(HomeLayout *l)
{
        free(l->image_path);
        free(l->home_directory);
        free(l->skeleton);
        free(l->staging);
}

static bool record_flag(json_t *record, const char *key)
{
        return json_is_true(json_object_get(record, key));
}

/* The paths and properties of user_name's home, from its record. The engine supports only homed's default
 * paths: homeDirectory becomes pw_dir and imagePath what gets mounted, so a record pointing elsewhere
 * could mount or expose a directory that is not this user's home. */
static int home_layout_from_record(Home *h, json_t *record, const HomeStorage *storage, uid_t uid,
                                   HomeLayout *ret, RecordError *err)
{
        const char *user_name = user_record_user_name(record);
        _cleanup_free_ char *image = NULL, *dir = NULL, *staging = NULL;
        json_t *v;
        HomeLayout l = {
                .user_name = user_name,
                .uid = uid,
                .gid = (gid_t) uid,
                .access_mode = 0700,
                /* nosuid and nodev always: a record (which may come from a remote assertion) must not be
                 * able to make set-uid binaries or device nodes in a home effective. */
                .mount_flags =
                        MS_NOSUID | MS_NODEV | (record_flag(record, "mountNoExecute") ? MS_NOEXEC : 0),
                .record = record,
                .machine_id = h->machine_id,
        };
        int r;

        if (!user_name)
                return home_error(err, -EBADMSG, "record has no userName");
        if (asprintf(&dir, "%s/%s", HOME_DIR, user_name) < 0 ||
            asprintf(&image, "%s/%s%s", HOME_DIR, user_name, storage->image_suffix) < 0 ||
            asprintf(&staging, "%s/%s", HOME_STAGING_DIR, user_name) < 0)
                return -ENOMEM;

        v = json_object_get(record, "homeDirectory");
        if (v && !(json_is_string(v) && streq(json_string_value(v), dir)))
                return home_error(err, -EINVAL, "homeDirectory: only %s is supported for this user", dir);
        v = json_object_get(record, "imagePath");
        if (v && !(json_is_string(v) && streq(json_string_value(v), image)))
                return home_error(err, -EINVAL, "imagePath: only %s is supported for this user", image);
        v = json_object_get(record, "accessMode");
        if (v) {
                if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0777)
                        return home_error(err, -EINVAL, "accessMode: not a mode in 0..0777");
                l.access_mode = (mode_t) json_integer_value(v);
        }
        v = json_object_get(record, "skeletonDirectory");
        if (v && !json_is_string(v))
                return home_error(err, -EINVAL, "skeletonDirectory: not a string");

        r = path_join_root(h->root, dir, &l.home_directory);
        if (r >= 0)
                r = path_join_root(h->root, image, &l.image_path);
        if (r >= 0)
                r = path_join_root(h->root, staging, &l.staging);
        if (r >= 0)
                r = path_join_root(h->root, v ? json_string_value(v) : HOME_DEFAULT_SKELETON, &l.skeleton);
        if (r < 0) {
                home_layout_done(&l);
                return r == -EINVAL ? home_error(err, r, "skeletonDirectory: not an absolute path") : r;
        }
        *ret = l;
        return 0;
}

/* The storage a record asks for; binding (what the home was created with) wins over the regular section.
 * homed's default for a new home is luks; ours is directory: a luks home needs its password before it
 * exists, which a record made from an assertion does not bring. */
static const HomeStorage *home_storage_for(Home *h, json_t *record, RecordError *err)
{
        json_t *binding = json_object_get(json_object_get(record, "binding"), h->machine_id);
        json_t *v = json_object_get(binding, "storage");
        const char *name;

        if (!v)
                v = json_object_get(record, "storage");
        name = json_is_string(v) ? json_string_value(v) : "directory";
        if (streq(name, home_storage_directory.name))
                return &home_storage_directory;
        if (streq(name, home_storage_subvolume.name))
                return &home_storage_subvolume;
        if (streq(name, home_storage_luks.name))
                return &home_storage_luks;
        home_error(err, -EOPNOTSUPP, "storage: \"%s\" is not supported (directory, subvolume, luks)", name);
        return NULL;
}

static bool binding_uid(Home *h, json_t *record, uid_t *ret)
{
        json_t *binding = json_object_get(json_object_get(record, "binding"), h->machine_id);
        json_t *v = json_object_get(binding, "uid");

        if (!v)
                v = json_object_get(record, "uid");
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= UINT32_MAX)
                return false;
        *ret = (uid_t) json_integer_value(v);
        return true;
}

/* The uid of a home whose record has no binding for this machine yet (made on an image without a
 * machine-id): the owner of its image, which is what homed takes first for such a record too
 * (manager_augment_record_with_uid()). False when there is no image yet (a luks home before its first
 * login) or its owner is outside homed's range. */
static bool image_owner_uid(Home *h, json_t *record, uid_t *ret)
{
        const HomeStorage *storage = home_storage_for(h, record, NULL);
        const char *user_name = user_record_user_name(record);
        _cleanup_free_ char *image = NULL;
        struct stat st;

        if (!storage || !user_name ||
            root_path(h, &image, "%s/%s%s", HOME_DIR, user_name, storage->image_suffix) < 0)
                return false;
        if (lstat(image, &st) < 0 || st.st_uid < HOME_UID_MIN || st.st_uid > HOME_UID_MAX)
                return false;
        *ret = st.st_uid;
        return true;
}

/* The uid of a home: its binding's; before the tree has a machine-id, its image's owner, or none
 * ((uid_t) -1) for a home made only at its first login (luks), which has no image yet. */
static bool home_record_uid(Home *h, json_t *record, uid_t *ret)
{
        const HomeStorage *storage;

        if (binding_uid(h, record, ret))
                return true;
        if (home_has_machine_id(h))
                return false;
        if (image_owner_uid(h, record, ret))
                return true;
        storage = home_storage_for(h, record, NULL);
        if (!storage || !storage->realize)
                return false;
        *ret = (uid_t) -1;
        return true;
}

int home_load_record(Home *h, const char *user_name, json_t **ret, RecordError *err)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t size;
        int r;

        if (!user_name_is_valid_syntax(user_name))
                return home_error(err, -EINVAL, "\"%s\": not a valid user name", user_name);
        r = host_record_path(h, user_name, &path);
        if (r < 0)
                return r;
        r = read_file_bounded(AT_FDCWD, path, USER_RECORD_TEXT_MAX, &data, &size);
        if (r == -ENOENT)
                return home_error(err, r, "%s: no such home", user_name);
        if (r < 0)
                return home_error(err, r, "%s: cannot read: %s", path, strerror(-r));
        r = user_record_load(data, size, ret, err);
        if (r < 0)
                return r;
        return 0;
}

/* Adds the UID of every other home we can see: host records (lenient parse: homed's own records may hold
 * reals our strict loader refuses, but their UIDs still count) and the owners of /home/<x>.homedir, which
 * also catches a home without a record. */
static int collect_home_uids(Home *h, const char *exclude, uid_t **ret, size_t *ret_n)
{
        _cleanup_free_ uid_t *ids = NULL;
        _cleanup_free_ char *dir = NULL, *home_dir = NULL;
        size_t n = 0, allocated = 0;
        const char *dirs[2];
        int r;

        r = path_join_root(h->root, HOME_HOST_RECORD_DIR, &dir);
        if (r >= 0)
                r = path_join_root(h->root, HOME_DIR, &home_dir);
        if (r < 0)
                return r;
        dirs[0] = dir;
        dirs[1] = home_dir;

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_(closedirp) DIR *d = opendir(dirs[i]);
                struct dirent *de;

                if (!d) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                while ((de = readdir(d))) {
                        const char *suffix = i == 0 ? HOST_RECORD_SUFFIX : ".homedir";
                        size_t l = strlen(de->d_name), sl = strlen(suffix);
                        uid_t uid;
                        bool found = false;

                        if (de->d_name[0] == '.' || l <= sl || !streq(de->d_name + l - sl, suffix))
                                continue;
                        if (exclude && l - sl == strlen(exclude) && strneq(de->d_name, exclude, l - sl))
                                continue;
                        if (i == 0) {
                                _cleanup_free_ char *data = NULL;
                                _cleanup_json_ json_t *j = NULL;
                                size_t size;

                                if (read_file_bounded(dirfd(d), de->d_name, USER_RECORD_TEXT_MAX, &data,
                                                      &size) < 0)
                                        continue;
                                j = json_loadb(data, size, 0, NULL);
                                found = j && binding_uid(h, j, &uid);
                        } else {
                                struct stat st;
                                found = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) >= 0;
                                uid = st.st_uid;
                        }
                        if (!found)
                                continue;
                        if (n == allocated) {
                                size_t want = allocated ? allocated * 2 : 32;
                                uid_t *p = reallocarray(ids, want, sizeof(uid_t));
                                if (!p)
                                        return -ENOMEM;
                                ids = p;
                                allocated = want;
                        }
                        ids[n++] = uid;
                }
        }
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

/* The UIDs in use: read from the tree, or once per batch and kept current by home_pick_uid(). */
static int home_used_uids(Home *h, UidUsage **ret_owned, UidUsage **ret, RecordError *err)
{
        _cleanup_free_ uid_t *homes = NULL;
        size_t n_homes = 0;
        UidUsage *used = NULL;
        int r;

        if (h->batch && h->batch->used) {
                *ret = h->batch->used;
                return 0;
        }
        r = collect_home_uids(h, NULL, &homes, &n_homes);
        if (r < 0)
                return home_error(err, r, "cannot list existing homes: %s", strerror(-r));
        r = uid_usage_load(h->root, homes, n_homes, &used);
        if (r < 0)
                return home_error(err, r, "cannot read passwd/group under the root: %s", strerror(-r));
        if (h->batch)
                h->batch->used = used;
        else
                *ret_owned = used;
        *ret = used;
        return 0;
}

static int home_pick_uid(Home *h, json_t *record, uid_t *ret, RecordError *err)
{
        _cleanup_(uid_usage_freep) UidUsage *owned = NULL;
        UidUsage *used = NULL;
        json_t *v;
        int r;

        r = home_used_uids(h, &owned, &used, err);
        if (r < 0)
                return r;

        v = json_object_get(record, "uid");
        if (v) {
                json_int_t uid = json_is_integer(v) ? json_integer_value(v) : -1;
                json_t *gid = json_object_get(record, "gid");

                /* Only homed's range: a record (possibly derived from a remote assertion) must not be able
                 * to claim root's or a system user's files. */
                if (uid < HOME_UID_MIN || uid > HOME_UID_MAX)
                        return home_error(err, -ERANGE, "uid: %lld is outside %u..%u", (long long) uid,
                                          (unsigned) HOME_UID_MIN, (unsigned) HOME_UID_MAX);
                if (gid && !(json_is_integer(gid) && json_integer_value(gid) == uid))
                        return home_error(err, -EINVAL, "gid: must equal uid (per-user group)");
                if (uid_usage_contains(used, (uid_t) uid))
                        return home_error(err, -EEXIST, "uid: %lld is already in use", (long long) uid);
                *ret = (uid_t) uid;
        } else {
                r = uid_alloc_pick(used, user_record_user_name(record), ret);
                if (r < 0)
                        return home_error(err, r, "no free UID left in %u..%u", (unsigned) HOME_UID_MIN,
                                          (unsigned) HOME_UID_MAX);
        }
        /* Taken from now on for the rest of the batch, whether or not this home is finished. */
        return h->batch ? uid_usage_mark(used, *ret) : 0;
}

/* Signs record (binding already set) and renders both files' text. */
static int home_sign_and_format(Home *h, json_t *record, json_t **ret_signed, char **ret_host,
                                char **ret_embedded, RecordError *err)
{
        _cleanup_json_ json_t *signed_record = NULL;
        _cleanup_free_ char *host_text = NULL, *embedded_text = NULL;
        int r;

        r = user_record_sign(record, h->key->pkey, &signed_record);
        if (r < 0)
                return home_error(err, r, "cannot sign the record: %s", strerror(-r));
        r = user_record_format_pretty(signed_record, &host_text);
        if (r < 0)
                return r;
        r = home_format_embedded(signed_record, &embedded_text);
        if (r < 0)
                return r;
        *ret_signed = TAKE_PTR(signed_record);
        *ret_host = TAKE_PTR(host_text);
        *ret_embedded = TAKE_PTR(embedded_text);
        return 0;
}

static int write_host_record(Home *h, const char *user_name, const char *text, RecordError *err)
{
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int r;

        r = path_join_root(h->root, HOME_HOST_RECORD_DIR, &dir);
        if (r >= 0)
                r = host_record_path(h, user_name, &path);
        if (r < 0)
                return r;
        r = mkdir_parents_and_self(dir, 0700);
        if (r >= 0)
                r = (home_sync_each(h) ? write_file_atomic : write_file_atomic_unsynced)(
                        AT_FDCWD, path, text, strlen(text), 0600, 0, 0);
        if (r < 0)
                return home_error(err, r, "%s: cannot write host record: %s", path, strerror(-r));
        return 0;
}

static int path_exists(const char *path)
{
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return 1;
}

/* A record a home may be made from: valid, and with a user name homed would accept for a home. */
static int home_record_check(json_t *record, const char **ret_user_name, RecordError *err)
{
        const char *user_name = NULL;
        int r;

        r = user_record_validate(record, err);
        if (r < 0)
                return r;
        user_name = user_record_user_name(record);
        if (!user_name || !user_name_is_valid(user_name))
                return home_error(err, -EINVAL, "userName: \"%s\" is not allowed for a home",
                                  strempty(user_name));
        *ret_user_name = user_name;
        return 0;
}

int home_create(Home *h, json_t *record, json_t **ret_record, RecordError *err)
{
        _cleanup_json_ json_t *prepared = NULL, *signed_record = NULL;
        _cleanup_free_ char *host_path = NULL, *host_text = NULL, *embedded_text = NULL;
        _cleanup_(home_layout_done) HomeLayout l = {};
        const HomeStorage *storage;
        const char *user_name = NULL;
        uid_t uid;
        int r;

        r = home_record_check(record, &user_name, err);
        if (r < 0)
                return r;
        storage = home_storage_for(h, record, err);
        if (!storage)
                return -EOPNOTSUPP;

        r = host_record_path(h, user_name, &host_path);
        if (r < 0)
                return r;
        r = path_exists(host_path);
        if (r != 0)
                return r < 0 ? r : home_error(err, -EEXIST, "%s: a home record already exists", host_path);

        r = home_pick_uid(h, record, &uid, err);
        if (r < 0)
                return r;

        /* The stored record never carries secrets, and its binding and signature are ours to write. */
        r = user_record_strip(record,
                              USER_RECORD_SECTION_SECRET | USER_RECORD_SECTION_STATUS |
                                      USER_RECORD_SECTION_SIGNATURE | USER_RECORD_SECTION_BINDING,
                              &prepared);
        if (r < 0)
                return r;
        r = home_layout_from_record(h, prepared, storage, uid, &l, err);
        if (r < 0)
                return r;
        r = path_exists(l.image_path);
        if (r != 0)
                return r < 0 ? r : home_error(err, -EEXIST, "%s: a home already exists", l.image_path);

        if (!json_object_get(prepared, "lastChangeUSec") &&
            json_object_set_new(prepared, "lastChangeUSec", json_integer((json_int_t) home_now(h))) < 0)
                return -ENOMEM;
        /* Without a machine-id yet (an image before its first boot) there is nothing to key the binding
         * by: the home is made (owned by uid), the binding is added at the first boot (home_bind()). */
        if (home_has_machine_id(h)) {
                r = user_record_set_binding(prepared, h->machine_id, uid, (gid_t) uid,
                                            l.image_path + strlen(strempty(h->root)), storage->name);
                if (r < 0)
                        return r;
        }
        r = home_sign_and_format(h, prepared, &signed_record, &host_text, &embedded_text, err);
        if (r < 0)
                return r;

        /* Host record first: homed adopts a foreign-signed home only if the record is there when the home
         * directory appears under its final name. */
        if (h->fail_at && streq(h->fail_at, "host-record"))
                return home_error(err, -EIO, "%s: injected failure", host_path);
        r = write_host_record(h, user_name, host_text, err);
        if (r < 0)
                return r;
        crash_point("home-create:host-record");
        /* A luks home stays absent until home_realize() brings its password. */
        r = storage->create ? storage->create(h, &l, embedded_text, strlen(embedded_text), err) : 0;
        if (r < 0) {
                (void) unlink(host_path);
                return r;
        }
        if (ret_record)
                *ret_record = TAKE_PTR(signed_record);
        return 0;
}

static int marker_test(Home *h, const char *dir, const char *user_name, const char *suffix);

/* Can ~/.identity be written now? A home must be present; a luks home's file system must also be mounted
 * and not suspended (a write to a locked home would block until it is unlocked). Otherwise it is brought up
 * to date at the next activation. */
static int home_identity_writable(Home *h, const HomeStorage *storage, const HomeLayout *l)
{
        int r = storage->probe(h, l);

        if (r <= 0 || !storage->needs_password)
                return r;
        r = marker_test(h, HOME_LOCKED_MARKER_DIR, l->user_name, ".locked");
        if (r != 0)
                return r < 0 ? r : 0;
        return home_path_is_mount_point(l->home_directory);
}

int home_update(Home *h, json_t *record, json_t **ret_record, RecordError *err)
{
        _cleanup_json_ json_t *old = NULL, *prepared = NULL, *signed_record = NULL;
        _cleanup_free_ char *host_text = NULL, *embedded_text = NULL;
        _cleanup_(home_layout_done) HomeLayout l = {};
        const HomeStorage *storage;
        const char *user_name = NULL;
        json_t *v;
        uid_t uid;
        int r;

        r = home_record_check(record, &user_name, err);
        if (r < 0)
                return r;
        r = home_load_record(h, user_name, &old, err);
        if (r < 0)
                return r;
        if (!home_record_uid(h, old, &uid))
                return home_error(err, -EBADMSG, "%s: stored record has no binding for this machine",
                                  user_name);
        storage = home_storage_for(h, old, err);
        if (!storage)
                return -EOPNOTSUPP;

        r = user_record_strip(record,
                              USER_RECORD_SECTION_SECRET | USER_RECORD_SECTION_STATUS |
                                      USER_RECORD_SECTION_SIGNATURE | USER_RECORD_SECTION_BINDING,
                              &prepared);
        if (r < 0)
                return r;
        /* Refuses replays and downgrades (-ESTALE) and records of another user. */
        r = user_record_check_update(old, prepared, err);
        if (r < 0)
                return r;
        if (r == USER_RECORD_UPDATE_SAME) {
                /* The host record is already this one; an update interrupted between the two files may
                 * have left the home's copy behind, so bring it in line (a no-op rewrite otherwise). */
                r = home_layout_from_record(h, old, storage, uid, &l, err);
                if (r >= 0)
                        r = home_format_embedded(old, &embedded_text);
                if (r >= 0 && home_identity_writable(h, storage, &l) > 0)
                        r = storage->update_identity(h, &l, embedded_text, strlen(embedded_text));
                if (r < 0)
                        return home_error(err, r, "%s/.identity: cannot update: %s", strempty(l.image_path),
                                          strerror(-r));
                if (ret_record)
                        *ret_record = TAKE_PTR(old);
                return USER_RECORD_UPDATE_SAME;
        }
        v = json_object_get(prepared, "uid");
        if (v && !(json_is_integer(v) && json_integer_value(v) == (json_int_t) uid))
                return home_error(err, -EINVAL, "uid: the home has uid %u; it cannot change",
                                  (unsigned) uid);
        r = home_layout_from_record(h, prepared, storage, uid, &l, err);
        if (r < 0)
                return r;

        /* The binding stays as created: storage and UID are properties of the home on disk. */
        v = json_object_get(old, "binding");
        if (v && json_object_set_new(prepared, "binding", json_deep_copy(v)) < 0)
                return -ENOMEM;
        r = home_sign_and_format(h, prepared, &signed_record, &host_text, &embedded_text, err);
        if (r < 0)
                return r;
        r = write_host_record(h, user_name, host_text, err);
        if (r < 0)
                return r;
        crash_point("home-update:host-record");
        r = home_identity_writable(h, storage, &l);
        if (r > 0)
                r = storage->update_identity(h, &l, embedded_text, strlen(embedded_text));
        if (r < 0)
                return home_error(err, r, "%s/.identity: cannot update: %s", l.image_path, strerror(-r));
        if (ret_record)
                *ret_record = TAKE_PTR(signed_record);
        return 0;
}

/* The uid a home made before the first boot takes now: its image's owner, unless another home or user has
 * that uid here (then refused: its files would have to change owner), or a new one for a home without an
 * image yet. */
static int bind_pick_uid(Home *h, json_t *record, const char *user_name, uid_t *ret, RecordError *err)
{
        _cleanup_(uid_usage_freep) UidUsage *used = NULL;
        _cleanup_free_ uid_t *homes = NULL;
        size_t n_homes = 0;
        uid_t uid;
        int r;

        if (!image_owner_uid(h, record, &uid))
                return home_pick_uid(h, record, ret, err);
        r = collect_home_uids(h, user_name, &homes, &n_homes);
        if (r < 0)
                return home_error(err, r, "cannot list existing homes: %s", strerror(-r));
        r = uid_usage_load(h->root, homes, n_homes, &used);
        if (r < 0)
                return home_error(err, r, "cannot read passwd/group under the root: %s", strerror(-r));
        if (uid_usage_contains(used, uid))
                return home_error(err, -EEXIST,
                                  "%s: the home belongs to uid %u, which another user or group has here",
                                  user_name, (unsigned) uid);
        *ret = uid;
        return 0;
}

int home_bind(Home *h, const char *user_name, uid_t *ret_uid, RecordError *err)
{
        _cleanup_json_ json_t *record = NULL;
        _cleanup_free_ char *image = NULL, *text = NULL;
        const HomeStorage *storage;
        uid_t uid;
        int r;

        if (!home_has_machine_id(h))
                return home_error(err, -ENOMEDIUM, "%s: this machine has no machine-id yet", user_name);
        r = home_load_record(h, user_name, &record, err);
        if (r < 0)
                return r;
        if (binding_uid(h, record, &uid)) {
                if (ret_uid)
                        *ret_uid = uid;
                return 0;
        }
        /* Only our own records: another signer's home is its owner's to bind (homed binds its own). */
        UserRecordSignatureState state;
        if (user_record_verify(record, h->key->pkey, &state) < 0 ||
            (state != USER_RECORD_SIGNED && state != USER_RECORD_SIGNED_EXCLUSIVE))
                return home_error(err, -EPERM, "%s: the record is not signed by this machine's key",
                                  user_name);
        storage = home_storage_for(h, record, err);
        if (!storage)
                return -EOPNOTSUPP;
        r = bind_pick_uid(h, record, user_name, &uid, err);
        if (r < 0)
                return r;
        if (asprintf(&image, "%s/%s%s", HOME_DIR, user_name, storage->image_suffix) < 0)
                return -ENOMEM;
        /* The binding is not signed: the record's signature stays valid, and ~/.identity (which carries
         * no binding) stays as it is. */
        r = user_record_set_binding(record, h->machine_id, uid, (gid_t) uid, image, storage->name);
        if (r >= 0)
                r = user_record_format_pretty(record, &text);
        if (r < 0)
                return r;
        r = write_host_record(h, user_name, text, err);
        if (r < 0)
                return r;
        if (ret_uid)
                *ret_uid = uid;
        return 1;
}

static int marker_path(Home *h, const char *dir, const char *user_name, const char *suffix, char **ret)
{
        return root_path(h, ret, "%s/%s%s", dir, user_name, suffix);
}

static int marker_set(Home *h, const char *dir, const char *user_name, const char *suffix)
{
        _cleanup_free_ char *d = NULL, *p = NULL;
        int r;

        r = path_join_root(h->root, dir, &d);
        if (r >= 0)
                r = marker_path(h, dir, user_name, suffix, &p);
        if (r >= 0)
                r = mkdir_parents_and_self(d, 0700);
        if (r >= 0)
                r = write_file_atomic(AT_FDCWD, p, "", 0, 0600, 0, 0);
        return r;
}

static int marker_clear(Home *h, const char *dir, const char *user_name, const char *suffix)
{
        _cleanup_free_ char *p = NULL;
        int r = marker_path(h, dir, user_name, suffix, &p);

        if (r < 0)
                return r;
        if (unlink(p) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static int marker_test(Home *h, const char *dir, const char *user_name, const char *suffix)
{
        _cleanup_free_ char *p = NULL;
        int r = marker_path(h, dir, user_name, suffix, &p);

        return r < 0 ? r : path_exists(p);
}

/* Loads the record and works out layout, storage and state in one go: what every operation on an
 * existing home starts with. */
typedef struct HomeContext {
        json_t *record;
        HomeLayout layout;
        const HomeStorage *storage;
        HomeState state;
} HomeContext;

static void home_context_done(HomeContext *c)
{
        if (c->record)
                json_decref(c->record);
        home_layout_done(&c->layout);
}

static int home_context_load(Home *h, const char *user_name, HomeContext *c, RecordError *err)
{
        uid_t uid;
        int r;

        r = home_load_record(h, user_name, &c->record, err);
        if (r < 0)
                return r;
        if (!home_record_uid(h, c->record, &uid))
                return home_error(err, -EBADMSG, "%s: record has no binding for this machine", user_name);
        c->storage = home_storage_for(h, c->record, err);
        if (!c->storage)
                return -EOPNOTSUPP;
        r = home_layout_from_record(h, c->record, c->storage, uid, &c->layout, err);
        if (r < 0)
                return r;

        r = c->storage->probe(h, &c->layout);
        if (r < 0)
                return home_error(err, r, "%s: %s", c->layout.image_path, strerror(-r));
        if (r == 0) {
                c->state = HOME_STATE_ABSENT;
                return 0;
        }
        r = home_path_is_mount_point(c->layout.home_directory);
        if (r < 0)
                return home_error(err, r, "%s: cannot tell whether it is mounted: %s",
                                  c->layout.home_directory, strerror(-r));
        if (r > 0) {
                r = marker_test(h, HOME_LOCKED_MARKER_DIR, user_name, ".locked");
                c->state = r > 0 ? HOME_STATE_LOCKED : HOME_STATE_ACTIVE;
                return 0;
        }
        r = marker_test(h, HOME_ACTIVE_MARKER_DIR, user_name, ".active");
        c->state = r > 0 ? HOME_STATE_DIRTY : HOME_STATE_INACTIVE;
        return 0;
}

int home_state(Home *h, const char *user_name, HomeState *ret)
{
        _cleanup_(home_context_done) HomeContext c = {};
        int r = home_context_load(h, user_name, &c, NULL);

        if (r < 0)
                return r;
        *ret = c.state;
        return 0;
}

static int require_mount(Home *h, const char *user_name, RecordError *err)
{
        if (!(h->flags & HOME_ALLOW_MOUNT))
                return home_error(err, -EPERM, "%s: mounting is disabled here (offline work on an image)",
                                  user_name);
        return 0;
}

static json_t *context_binding(Home *h, HomeContext *c)
{
        return json_object_get(json_object_get(c->record, "binding"), h->machine_id);
}

/* A backend added to this machine's binding (where the volume is): the host record is rewritten. The
 * binding is not signed, so the signature stays valid. */
static int write_binding(Home *h, const char *user_name, HomeContext *c, RecordError *err)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = user_record_format_pretty(c->record, &text);
        if (r < 0)
                return r;
        return write_host_record(h, user_name, text, err);
}

/* The password of passwords the record accepts (crypt_r against hashedPassword): its index. */
static int check_passwords(HomeContext *c, const char *user_name, char *const *passwords, RecordError *err)
{
        int r = user_record_find_password(c->record, passwords);

        if (r == -ENOKEY)
                return home_error(err, r,
                                  "%s: the record has no password hash, so the encrypted home cannot be "
                                  "keyed or opened",
                                  user_name);
        if (r == -EKEYREJECTED)
                return home_error(err, r, "%s: wrong password", user_name);
        return r;
}

static int home_do_activate(Home *h, const char *user_name, char *const *passwords, RecordError *err)
{
        _cleanup_(home_context_done) HomeContext c = {};
        const char *password = NULL;
        int r;

        r = require_mount(h, user_name, err);
        if (r < 0)
                return r;
        r = home_context_load(h, user_name, &c, err);
        if (r < 0)
                return r;
        if (c.state == HOME_STATE_ABSENT)
                return home_error(err, -ENXIO, "%s: home is absent", user_name);
        if (c.state == HOME_STATE_ACTIVE || c.state == HOME_STATE_LOCKED)
                return home_error(err, -EALREADY, "%s: home is already active", user_name);
        if (c.storage->needs_password) {
                if (!passwords || !passwords[0])
                        return home_error(err, -ENOKEY, "%s: an encrypted home needs a password", user_name);
                /* The record decides who may log in: a password it no longer accepts is refused even if it
                 * still opens an old keyslot. */
                r = check_passwords(&c, user_name, passwords, err);
                if (r < 0)
                        return r;
                password = passwords[r];
        }

        /* Marked before mounting, so a crash right after the mount shows up as dirty, not as clean. */
        r = marker_set(h, HOME_ACTIVE_MARKER_DIR, user_name, ".active");
        if (r < 0)
                return home_error(err, r, "%s: cannot record activation: %s", user_name, strerror(-r));
        (void) marker_clear(h, HOME_LOCKED_MARKER_DIR, user_name, ".locked");
        r = c.storage->activate(h, &c.layout, password, passwords, context_binding(h, &c), err);
        if (r < 0) {
                (void) marker_clear(h, HOME_ACTIVE_MARKER_DIR, user_name, ".active");
                return r;
        }
        /* The home is mounted; a binding that cannot be recorded now is filled in at the next activation. */
        if (r > 0)
                (void) write_binding(h, user_name, &c, NULL);
        return 0;
}

int home_activate(Home *h, const char *user_name, RecordError *err)
{
        return home_do_activate(h, user_name, NULL, err);
}

int home_activate_with_passwords(Home *h, const char *user_name, char *const *passwords, RecordError *err)
{
        return home_do_activate(h, user_name, passwords, err);
}

int home_realize(Home *h, const char *user_name, const char *password, unsigned flags, RecordError *err)
{
        _cleanup_(home_context_done) HomeContext c = {};
        bool activate = flags & HOME_REALIZE_ACTIVATE;
        int r;

        r = require_mount(h, user_name, err);
        if (r < 0)
                return r;
        r = home_context_load(h, user_name, &c, err);
        if (r < 0)
                return r;
        if (!c.storage->realize)
                return home_error(err, -EOPNOTSUPP, "%s: %s homes exist from their creation on", user_name,
                                  c.storage->name);
        if (c.state != HOME_STATE_ABSENT)
                return home_error(err, -EEXIST, "%s: home exists already", user_name);
        r = check_passwords(&c, user_name, (char *const[]){ (char *) password, NULL }, err);
        if (r < 0)
                return r;

        if (activate) {
                r = marker_set(h, HOME_ACTIVE_MARKER_DIR, user_name, ".active");
                if (r < 0)
                        return home_error(err, r, "%s: cannot record activation: %s", user_name,
                                          strerror(-r));
                (void) marker_clear(h, HOME_LOCKED_MARKER_DIR, user_name, ".locked");
        }
        r = c.storage->realize(h, &c.layout, password, activate, context_binding(h, &c), err);
        if (r < 0) {
                if (activate)
                        (void) marker_clear(h, HOME_ACTIVE_MARKER_DIR, user_name, ".active");
                return r;
        }
        crash_point("home-realize:before-binding");
        /* Without the UUIDs in the binding the home still opens (found by name and type); the next
         * activation records them. */
        if (r > 0)
                (void) write_binding(h, user_name, &c, NULL);
        return 0;
}

int home_deactivate(Home *h, const char *user_name, RecordError *err)
{
        _cleanup_(home_context_done) HomeContext c = {};
        int r;

        r = home_context_load(h, user_name, &c, err);
        if (r < 0)
                return r;
        if (c.state == HOME_STATE_INACTIVE || c.state == HOME_STATE_ABSENT)
                return home_error(err, -EALREADY, "%s: home is not active", user_name);
        /* Unmounting a suspended volume would block until it is resumed (homed refuses too). */
        if (c.state == HOME_STATE_LOCKED && c.storage->needs_password)
                return home_error(err, -EBUSY, "%s: home is locked; unlock it first", user_name);
        if (c.state != HOME_STATE_DIRTY) {
                r = require_mount(h, user_name, err);
                if (r < 0)
                        return r;
                r = c.storage->deactivate(h, &c.layout, err);
                if (r < 0)
                        return r;
        }
        (void) marker_clear(h, HOME_LOCKED_MARKER_DIR, user_name, ".locked");
        r = marker_clear(h, HOME_ACTIVE_MARKER_DIR, user_name, ".active");
        if (r < 0)
                return home_error(err, r, "%s: cannot clear activation mark: %s", user_name, strerror(-r));
        return 0;
}

static int home_set_locked(Home *h, const char *user_name, bool locked, char *const *passwords,
                           RecordError *err)
{
        _cleanup_(home_context_done) HomeContext c = {};
        int r;

        r = require_mount(h, user_name, err);
        if (r < 0)
                return r;
        r = home_context_load(h, user_name, &c, err);
        if (r < 0)
                return r;
        if (c.state != HOME_STATE_ACTIVE && c.state != HOME_STATE_LOCKED)
                return home_error(err, -ENOTCONN, "%s: home is not active", user_name);
        if ((c.state == HOME_STATE_LOCKED) == locked)
                return home_error(err, -EALREADY, "%s: home is already %s", user_name,
                                  locked ? "locked" : "unlocked");

        if (locked) {
                /* Marked first: if locking fails the home is reported locked, never silently open. */
                r = marker_set(h, HOME_LOCKED_MARKER_DIR, user_name, ".locked");
                if (r < 0)
                        return home_error(err, r, "%s: cannot record lock: %s", user_name, strerror(-r));
                r = c.storage->lock(h, &c.layout, err);
                if (r < 0) {
                        (void) marker_clear(h, HOME_LOCKED_MARKER_DIR, user_name, ".locked");
                        return r;
                }
                return 0;
        }
        if (c.storage->needs_password) {
                if (!passwords || !passwords[0])
                        return home_error(err, -ENOKEY, "%s: an encrypted home needs a password", user_name);
                r = check_passwords(&c, user_name, passwords, err);
                if (r < 0)
                        return r;
        }
        r = c.storage->unlock(h, &c.layout, passwords, err);
        if (r < 0)
                return r;
        return marker_clear(h, HOME_LOCKED_MARKER_DIR, user_name, ".locked");
}

int home_lock(Home *h, const char *user_name, RecordError *err)
{
        return home_set_locked(h, user_name, true, NULL, err);
}

int home_unlock(Home *h, const char *user_name, RecordError *err)
{
        return home_set_locked(h, user_name, false, NULL, err);
}

int home_unlock_with_passwords(Home *h, const char *user_name, char *const *passwords, RecordError *err)
{
        return home_set_locked(h, user_name, false, passwords, err);
}

int home_remove(Home *h, const char *user_name, RecordError *err)
{
        _cleanup_(home_context_done) HomeContext c = {};
        _cleanup_free_ char *host_path = NULL;
        int r;

        r = home_context_load(h, user_name, &c, err);
        if (r < 0)
                return r;
        if (c.state == HOME_STATE_ACTIVE || c.state == HOME_STATE_LOCKED) {
                if (!(h->flags & HOME_ALLOW_MOUNT))
                        return home_error(err, -EBUSY, "%s: home is active and mounting is disabled here",
                                          user_name);
        }
        /* A locked luks home cannot be deactivated without its password; its remove tears it down. */
        if (c.state == HOME_STATE_ACTIVE || (c.state == HOME_STATE_LOCKED && !c.storage->needs_password)) {
                r = home_deactivate(h, user_name, err);
                if (r < 0)
                        return r;
        }
        /* Also for an absent home: a luks remove erases leftovers an interrupted realize or remove left. */
        r = c.storage->remove(h, &c.layout, err);
        if (r < 0)
                return r;
        crash_point("home-remove:home-deleted");

        /* The record goes last: a record without a home is "absent" and can be removed again, while a home
         * without a record would be adopted by homed. */
        r = host_record_path(h, user_name, &host_path);
        if (r < 0)
                return r;
        if (unlink(host_path) < 0 && errno != ENOENT)
                return home_error(err, -errno, "%s: cannot remove: %m", host_path);
        (void) marker_clear(h, HOME_ACTIVE_MARKER_DIR, user_name, ".active");
        (void) marker_clear(h, HOME_LOCKED_MARKER_DIR, user_name, ".locked");
        return 0;
}

void home_list_free(HomeListEntry *l, size_t n)
{
        if (!l)
                return;
        for (size_t i = 0; i < n; i++)
                free(l[i].user_name);
        free(l);
}

static int entry_compare(const void *a, const void *b)
{
        return strcmp(((const HomeListEntry *) a)->user_name, ((const HomeListEntry *) b)->user_name);
}

static void home_list_fill(Home *h, HomeListEntry *e)
{
        _cleanup_(home_context_done) HomeContext c = {};
        UserRecordSignatureState s;

        e->uid = (uid_t) -1;
        e->state = HOME_STATE_ABSENT;
        if (home_context_load(h, e->user_name, &c, NULL) < 0) {
                if (c.record)
                        (void) home_record_uid(h, c.record, &e->uid);
                return;
        }
        e->uid = c.layout.uid;
        e->state = c.state;
        e->ours = user_record_verify(c.record, h->key->pkey, &s) >= 0 &&
                  (s == USER_RECORD_SIGNED || s == USER_RECORD_SIGNED_EXCLUSIVE);
}

int home_list(Home *h, HomeListEntry **ret, size_t *ret_n)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        HomeListEntry *l = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        int r;

        r = path_join_root(h->root, HOME_HOST_RECORD_DIR, &dir);
        if (r < 0)
                return r;
        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name), sl = strlen(HOST_RECORD_SUFFIX);
                char *name;

                if (len <= sl || !streq(de->d_name + len - sl, HOST_RECORD_SUFFIX))
                        continue;
                name = strndup(de->d_name, len - sl);
                if (!name) {
                        home_list_free(l, n);
                        return -ENOMEM;
                }
                if (!user_name_is_valid_syntax(name)) {
                        free(name);
                        continue;
                }
                if (n == allocated) {
                        size_t want = allocated ? allocated * 2 : 16;
                        HomeListEntry *p = reallocarray(l, want, sizeof(HomeListEntry));
                        if (!p) {
                                free(name);
                                home_list_free(l, n);
                                return -ENOMEM;
                        }
                        l = p;
                        allocated = want;
                }
                l[n] = (HomeListEntry){ .user_name = name };
                home_list_fill(h, &l[n]);
                n++;
        }
        if (n > 0)
                qsort(l, n, sizeof(HomeListEntry), entry_compare);
        *ret = l;
        *ret_n = n;
        return 0;
}
