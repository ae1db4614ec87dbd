/* SPDX-License-Identifier: MIT */
/* The home1 worker (agent/daemon/home1-worker.h): a function runs in a forked child and its answer comes
 * back through the loop. The child closes what it inherited but keeps libcryptsetup's random device: once
 * the daemon has used libcryptsetup (a lock, an unlock, a token read), a re-key in a later worker must still
 * be able to salt its new keyslot (the VM's password-change scenario failed with "Error reading from RNG").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../homes/luks-test-util.h"
#include "home-luks-settings.h"
#include "home-luks-volume.h"
#include "home1-worker.h"

#define IMAGE_SIZE (32ULL * 1024 * 1024)
#define LUKS_UUID  "1b4e28ba-2fa1-11d2-883f-0016d3cca427"

typedef struct Rekey {
        const char *path;
        HomeLuksSettings settings;
} Rekey;

typedef struct Outcome {
        bool done;
        int r;
        RecordError err;
} Outcome;

/* In the child: open the volume with the old password and move it to the new one (adds a keyslot). */
static int rekey_in_child(Home *h, const void *args, RecordError *err)
{
        const Rekey *k = args;
        char *const passwords[] = { (char *) TEST_PASSWORD, NULL };
        HomeLuksVolume *v = NULL;
        int r = home_luks_volume_load(k->path, LUKS_UUID, "alice", &k->settings, &v);

        if (r >= 0)
                r = home_luks_volume_unlock(v, passwords);
        if (r >= 0)
                r = home_luks_volume_rekey(v, &k->settings, TEST_PASSWORD_NEW);
        if (r > 0)
                r = 0; /* the number of keyslots it destroyed; a worker answers 0 or -errno */
        if (r < 0)
                snprintf(err->message, sizeof(err->message), "%s", v && v->log[0] ? v->log : strerror(-r));
        home_luks_volume_free(v);
        return r;
}

static void on_done(Home1Worker *w, int r, const RecordError *err, void *userdata)
{
        Outcome *o = userdata;

        o->done = true;
        o->r = r;
        o->err = *err;
}

static void rekey_in_a_worker_after_the_parent_used_libcryptsetup(void **state)
{
        _cleanup_json_ json_t *rec = test_luks_record("alice", TEST_NOW, TEST_PASSWORD);
        _cleanup_free_ char *path = NULL;
        HomeLuksVolume *v = NULL;
        Home1Worker *w = NULL;
        sd_event *e = NULL;
        RecordError err = {};
        Outcome o = {};
        Rekey k = {};
        int fd;

        assert_int_equal(home_luks_settings_from_record(rec, TEST_MACHINE_ID, &k.settings, &err), 0);
        fd = test_image_new(IMAGE_SIZE, &path);
        close(fd);
        k.path = path;
        /* The parent formats: libcryptsetup opens its random device in this process. */
        if (home_luks_volume_format(path, &k.settings, LUKS_UUID, "alice", TEST_PASSWORD, rec, &v, &err) < 0)
                fail_msg("format: %s", err.message);
        home_luks_volume_free(v);

        assert_true(sd_event_new(&e) >= 0);
        assert_int_equal(home1_worker_start(e, NULL, rekey_in_child, &k, on_done, &o, &w), 0);
        for (int i = 0; i < 600 && !o.done; i++)
                assert_true(sd_event_run(e, 100 * 1000) >= 0);
        assert_true(o.done);
        if (o.r < 0)
                fail_msg("re-key in the worker: %s (%s)", o.err.message, strerror(-o.r));
        assert_true(test_password_opens(path, TEST_PASSWORD_NEW));
        assert_false(test_password_opens(path, TEST_PASSWORD));

        home1_worker_free(w);
        sd_event_unref(e);
        unlink(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(rekey_in_a_worker_after_the_parent_used_libcryptsetup),
        };

        if (geteuid() != 0) {
                printf("SKIP: needs root (libcryptsetup locking)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
