/* SPDX-License-Identifier: MIT */
#include "home-luks-volume.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "home-luks-token.h"
#include "home-storage.h"

static inline uint64_t MIN_U64(uint64_t a, uint64_t b)
{
        return a < b ? a : b;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct crypt_device *, crypt_free)

static void log_to_volume(int level, const char *msg, void *userdata)
{
        HomeLuksVolume *v = userdata;
        size_t n;

        /* Only errors are kept, for the caller's message: the library itself never logs (DESIGN.md). */
        if (level != CRYPT_LOG_ERROR || !v)
                return;
        snprintf(v->log, sizeof(v->log), "%s", msg);
        n = strlen(v->log);
        while (n > 0 && v->log[n - 1] == '\n')
                v->log[--n] = '\0';
}

static void log_nowhere(int level, const char *msg, void *userdata)
{
        (void) level, (void) msg, (void) userdata;
}

HomeLuksVolume *home_luks_volume_free(HomeLuksVolume *v)
{
        if (!v)
                return NULL;
        crypt_free(v->cd);
        if (v->volume_key) {
                explicit_bzero(v->volume_key, v->volume_key_size);
                free(v->volume_key);
        }
        free(v);
        return NULL;
}

static int volume_new(const char *node, HomeLuksVolume **ret)
{
        _cleanup_(home_luks_volume_freep) HomeLuksVolume *v = calloc(1, sizeof(HomeLuksVolume));
        int r;

        if (!v)
                return -ENOMEM;
        v->keyslot = -1;
        r = crypt_init(&v->cd, node);
        if (r < 0)
                return r;
        crypt_set_log_callback(v->cd, log_to_volume, v);
        *ret = TAKE_PTR(v);
        return 0;
}

static void pbkdf_from_settings(const HomeLuksSettings *s, struct crypt_pbkdf_type *ret)
{
        *ret = (struct crypt_pbkdf_type){
                .type = s->pbkdf_type,
                .hash = s->pbkdf_hash,
                .time_ms = s->pbkdf_time_ms,
                .max_memory_kb = s->pbkdf_memory_kb,
                .parallel_threads = s->pbkdf_threads,
        };
}

int home_luks_volume_format(const char *node, const HomeLuksSettings *s, const char *uuid, const char *label,
                            const char *password, json_t *record, HomeLuksVolume **ret, RecordError *err)
{
        _cleanup_(home_luks_volume_freep) HomeLuksVolume *v = NULL;
        struct crypt_pbkdf_type pbkdf;
        struct crypt_params_luks2 params = {
                .label = label,
                .subsystem = HOME_LUKS_SUBSYSTEM,
                .sector_size = s->sector_size,
                .pbkdf = &pbkdf,
        };
        int r;

        r = volume_new(node, &v);
        if (r < 0)
                return home_error(err, r, "%s: %s", node, strerror(-r));
        v->volume_key_size = s->volume_key_size;
        v->volume_key = malloc(v->volume_key_size);
        if (!v->volume_key)
                return -ENOMEM;
        if (getrandom(v->volume_key, v->volume_key_size, 0) != (ssize_t) v->volume_key_size)
                return -EIO;
        pbkdf_from_settings(s, &pbkdf);

        r = crypt_set_metadata_size(v->cd, HOME_LUKS_METADATA_SIZE, 0);
        if (r >= 0)
                r = crypt_format(v->cd, CRYPT_LUKS2, s->cipher, s->cipher_mode, uuid,
                                 (const char *) v->volume_key, v->volume_key_size, &params);
        if (r >= 0)
                r = crypt_set_pbkdf_type(v->cd, &pbkdf);
        if (r >= 0)
                r = crypt_keyslot_add_by_volume_key(v->cd, 0, (const char *) v->volume_key,
                                                    v->volume_key_size, password, strlen(password));
        if (r < 0)
                goto fail;
        v->keyslot = r;
        r = home_luks_volume_store_record(v, record);
        if (r < 0)
                goto fail;
        *ret = TAKE_PTR(v);
        return 0;
fail:
        /* libcryptsetup's own words say best what it refused (e.g. PBKDF parameters). */
        return home_error(err, r, "%s: cannot format LUKS2 volume: %s", node,
                          v->log[0] ? v->log : strerror(-r));
}

int home_luks_volume_load(const char *node, const char *uuid, const char *label, const HomeLuksSettings *s,
                          HomeLuksVolume **ret)
{
        _cleanup_(home_luks_volume_freep) HomeLuksVolume *v = NULL;
        const char *found;
        int r;

        r = volume_new(node, &v);
        if (r < 0)
                return r;
        r = crypt_load(v->cd, CRYPT_LUKS2, NULL);
        if (r < 0)
                return r;
        /* An image swapped for another (a copy of someone else's home renamed into place) must not be
         * opened as this user's. */
        found = crypt_get_uuid(v->cd);
        if (uuid && (!found || strcasecmp(found, uuid) != 0))
                return -EMEDIUMTYPE;
        found = crypt_get_label(v->cd);
        if (!found || !streq(found, label))
                return -EMEDIUMTYPE;
        if (!streq(crypt_get_cipher(v->cd) ?: "", s->cipher) ||
            !streq(crypt_get_cipher_mode(v->cd) ?: "", s->cipher_mode) ||
            crypt_get_volume_key_size(v->cd) != (int) s->volume_key_size)
                return -EMEDIUMTYPE;
        v->volume_key_size = s->volume_key_size;
        *ret = TAKE_PTR(v);
        return 0;
}

int home_luks_volume_unlock(HomeLuksVolume *v, char *const *passwords)
{
        if (!v->volume_key) {
                v->volume_key = malloc(v->volume_key_size);
                if (!v->volume_key)
                        return -ENOMEM;
        }
        for (size_t i = 0; passwords && passwords[i]; i++) {
                size_t size = v->volume_key_size;
                int r = crypt_volume_key_get(v->cd, CRYPT_ANY_SLOT, (char *) v->volume_key, &size,
                                             passwords[i], strlen(passwords[i]));

                if (r >= 0 && size == v->volume_key_size) {
                        v->keyslot = r;
                        return (int) i;
                }
                if (r < 0 && r != -EPERM && r != -ENOENT)
                        return r;
        }
        return -ENOKEY;
}

int home_luks_volume_keyslots(HomeLuksVolume *v)
{
        int n = 0, max = crypt_keyslot_max(CRYPT_LUKS2);

        for (int k = 0; k < max; k++) {
                crypt_keyslot_info i = crypt_keyslot_status(v->cd, k);
                if (i == CRYPT_SLOT_ACTIVE || i == CRYPT_SLOT_ACTIVE_LAST)
                        n++;
        }
        return n;
}

static int destroy_other_keyslots(HomeLuksVolume *v, int keep)
{
        int n = 0, max = crypt_keyslot_max(CRYPT_LUKS2);

        for (int k = 0; k < max; k++) {
                crypt_keyslot_info i = crypt_keyslot_status(v->cd, k);
                int r;

                if (k == keep ||
                    (i != CRYPT_SLOT_ACTIVE && i != CRYPT_SLOT_ACTIVE_LAST && i != CRYPT_SLOT_UNBOUND))
                        continue;
                r = crypt_keyslot_destroy(v->cd, k);
                if (r < 0)
                        return r;
                n++;
        }
        return n;
}

int home_luks_volume_rekey(HomeLuksVolume *v, const HomeLuksSettings *s, const char *password)
{
        struct crypt_pbkdf_type pbkdf;
        size_t size = v->volume_key_size;
        uint8_t *probe;
        int r, slot;

        if (!v->volume_key || v->keyslot < 0)
                return -EINVAL;
        /* Does v's own keyslot already hold password? Asking that one slot costs one PBKDF run. */
        probe = malloc(size);
        if (!probe)
                return -ENOMEM;
        r = crypt_volume_key_get(v->cd, v->keyslot, (char *) probe, &size, password, strlen(password));
        explicit_bzero(probe, v->volume_key_size);
        free(probe);
        if (r >= 0)
                return destroy_other_keyslots(v, v->keyslot);
        if (r != -EPERM && r != -ENOENT)
                return r;

        pbkdf_from_settings(s, &pbkdf);
        r = crypt_set_pbkdf_type(v->cd, &pbkdf);
        if (r < 0)
                return r;
        slot = crypt_keyslot_add_by_volume_key(v->cd, CRYPT_ANY_SLOT, (const char *) v->volume_key,
                                               v->volume_key_size, password, strlen(password));
        if (slot < 0)
                return slot;
        v->keyslot = slot;
        return destroy_other_keyslots(v, slot);
}

int home_luks_volume_store_record(HomeLuksVolume *v, json_t *record)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = home_luks_token_format(v->cd, record, v->volume_key, v->volume_key_size, &text);
        if (r < 0)
                return r;
        return home_luks_token_store(v->cd, text);
}

int home_luks_volume_read_record(HomeLuksVolume *v, json_t **ret)
{
        return home_luks_token_read(v->cd, v->volume_key, v->volume_key_size, ret);
}

int home_luks_volume_activate(HomeLuksVolume *v, const char *dm_name, bool discard)
{
        return crypt_activate_by_volume_key(v->cd, dm_name, (const char *) v->volume_key, v->volume_key_size,
                                            discard ? CRYPT_ACTIVATE_ALLOW_DISCARDS : 0);
}

int home_luks_dm_exists(const char *dm_name)
{
        crypt_status_info s;

        crypt_set_log_callback(NULL, log_nowhere, NULL);
        s = crypt_status(NULL, dm_name);
        return s == CRYPT_ACTIVE || s == CRYPT_BUSY;
}

static int init_by_name(const char *dm_name, struct crypt_device **ret)
{
        int r;

        if (home_luks_dm_exists(dm_name) <= 0)
                return -ENODEV;
        r = crypt_init_by_name(ret, dm_name);
        if (r < 0)
                return r;
        crypt_set_log_callback(*ret, log_nowhere, NULL);
        return 0;
}

int home_luks_dm_close(const char *dm_name)
{
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int r = init_by_name(dm_name, &cd);

        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        return crypt_deactivate_by_name(cd, dm_name, 0);
}

int home_luks_dm_close_force(const char *dm_name)
{
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int r = init_by_name(dm_name, &cd);

        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        /* FORCE replaces the table with an error target first: whoever still uses it (or waits on a
         * suspended device) gets I/O errors instead of the data, and the device goes. */
        return crypt_deactivate_by_name(cd, dm_name, CRYPT_DEACTIVATE_FORCE);
}

int home_luks_dm_suspend(const char *dm_name)
{
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int r = init_by_name(dm_name, &cd);

        return r < 0 ? r : crypt_suspend(cd, dm_name);
}

int home_luks_dm_resume(const char *dm_name, char *const *passwords)
{
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        int r = init_by_name(dm_name, &cd);

        if (r < 0)
                return r;
        for (size_t i = 0; passwords && passwords[i]; i++) {
                r = crypt_resume_by_passphrase(cd, dm_name, CRYPT_ANY_SLOT, passwords[i],
                                               strlen(passwords[i]));
                if (r >= 0)
                        return 0;
                if (r != -EPERM && r != -ENOENT)
                        return r;
        }
        return -ENOKEY;
}

static int zero_range(int fd, uint64_t length)
{
        static const uint8_t zeros[64 * 1024];

        for (uint64_t done = 0; done < length;) {
                size_t n = (size_t) MIN_U64(length - done, sizeof(zeros));
                ssize_t k = pwrite(fd, zeros, n, (off_t) done);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break; /* the end of the device */
                done += (uint64_t) k;
        }
        /* Overwritten only once it is on the medium: unlinking the image before would let the page cache
         * drop our zeros and leave the header on disk. */
        return fsync(fd) < 0 ? -errno : 0;
}

static int device_size(int fd, uint64_t *ret)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                *ret = (uint64_t) st.st_size;
                return 0;
        }
        if (S_ISBLK(st.st_mode))
                return ioctl(fd, BLKGETSIZE64, ret) < 0 ? -errno : 0;
        return -EBADFD;
}

int home_luks_volume_erase(const char *node)
{
        _cleanup_(home_luks_volume_freep) HomeLuksVolume *v = NULL;
        _cleanup_close_ int fd = -1;
        uint64_t wipe = HOME_LUKS_HEADER_WIPE_FALLBACK, size;
        int r;

        r = volume_new(node, &v);
        if (r >= 0 && crypt_load(v->cd, CRYPT_LUKS2, NULL) >= 0) {
                int max = crypt_keyslot_max(CRYPT_LUKS2);

                for (int k = 0; k < max; k++) {
                        crypt_keyslot_info i = crypt_keyslot_status(v->cd, k);

                        if (i != CRYPT_SLOT_ACTIVE && i != CRYPT_SLOT_ACTIVE_LAST && i != CRYPT_SLOT_UNBOUND)
                                continue;
                        r = crypt_keyslot_destroy(v->cd, k);
                        if (r < 0)
                                return r;
                }
                wipe = crypt_get_data_offset(v->cd) * 512;
        }
        v = home_luks_volume_free(v);

        fd = open(node, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        r = device_size(fd, &size);
        if (r < 0)
                return r;
        return zero_range(fd, MIN_U64(wipe, size));
}
