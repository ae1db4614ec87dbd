/* SPDX-License-Identifier: MIT */
/* The bounds of a publish's input at N and N+1: assertions of all input files together, and accounts and
 * account-keys (each a file in every device's directory). N publishes, N+1 is refused before anything is
 * written. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "file-util.h"
#include "fleet-publish.h"
#include "fleet.h"

typedef struct Fixture {
        char dir[64];
        char *account, *account_key, *alice, *root;
        size_t account_size, account_key_size, alice_size;
        FleetInventory *inventory;
} Fixture;

static char *fixture(const char *name, size_t *ret_size)
{
        char path[4096];
        char *data = NULL;
        size_t size;

        snprintf(path, sizeof(path), "%s/trust/%s", getenv("FIXTURES_DIR"), name);
        assert_int_equal(read_file_bounded(AT_FDCWD, path, 1 << 20, &data, &size), 0);
        if (ret_size)
                *ret_size = size;
        return data;
}

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof(Fixture));
        static const char inventory[] = "brand-id: acme\ndevices: [{serial: SN-1, model: appliance-1}]\n";
        char path[4096];

        snprintf(f->dir, sizeof(f->dir), "/tmp/corehomed-publish-limits.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        f->account = fixture("acme.account", &f->account_size);
        f->account_key = fixture("acme.account-key", &f->account_key_size);
        f->alice = fixture("alice.system-user", &f->alice_size);
        snprintf(path, sizeof(path), "%s/trust/trusted/root.assert", getenv("FIXTURES_DIR"));
        f->root = strdup(path);
        if (fleet_inventory_parse(inventory, strlen(inventory), "inv.yaml", &f->inventory, NULL) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;
        char command[128];

        snprintf(command, sizeof(command), "rm -rf '%s'", f->dir);
        assert_int_equal(system(command), 0);
        free(f->account);
        free(f->account_key);
        free(f->alice);
        free(f->root);
        fleet_inventory_free(f->inventory);
        free(f);
        return 0;
}

/* Writes n copies of data as NAME: framed feeds of at most FLEET_FEED_ASSERTIONS_MAX assertions each
 * (what one input file holds at most); returns the file names, NULL-terminated. */
static char **write_copies(Fixture *f, const char *name, const char *data, size_t size, size_t n)
{
        char **files = calloc(n / FLEET_FEED_ASSERTIONS_MAX + 2, sizeof(char *));
        size_t n_files = 0;

        for (size_t done = 0; done < n; n_files++) {
                size_t in_file = n - done < FLEET_FEED_ASSERTIONS_MAX ? n - done : FLEET_FEED_ASSERTIONS_MAX;
                char path[4096];
                FILE *out;

                snprintf(path, sizeof(path), "%s/%s-%zu", f->dir, name, n_files);
                out = fopen(path, "we");
                assert_non_null(out);
                fputs(FLEET_FEED_MAGIC, out);
                for (size_t s = 0; s < in_file; s += ASSERTION_STREAM_MAX) {
                        size_t k = in_file - s < ASSERTION_STREAM_MAX ? in_file - s : ASSERTION_STREAM_MAX;
                        fprintf(out, "%zu\n", k * size + (k - 1));
                        for (size_t i = 0; i < k; i++) {
                                if (i > 0)
                                        fputc('\n', out);
                                fwrite(data, 1, size, out);
                        }
                        fputc('\n', out);
                }
                assert_int_equal(fclose(out), 0);
                files[n_files] = strdup(path);
                done += in_file;
        }
        return files;
}

static char *write_file(Fixture *f, const char *name, const char *data, size_t size)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        assert_int_equal(write_file_atomic(AT_FDCWD, path, data, size, 0644, (uid_t) -1, (gid_t) -1), 0);
        return strdup(path);
}

static int publish(Fixture *f, char **inputs, size_t n_inputs, FleetPublishReport *report, char **ret_error)
{
        char out[4096];
        char *trusted[] = { f->root };

        snprintf(out, sizeof(out), "%s/tree", f->dir);
        FleetPublishOptions o = {
                .out = out,
                .inputs = inputs,
                .n_inputs = n_inputs,
                .trusted = trusted,
                .n_trusted = 1,
                .inventory = f->inventory,
                .now = 1764064800ULL * 1000000ULL, /* 2025-11-25T10:00:00Z */
        };
        return fleet_publish(&o, report, ret_error);
}

static size_t count(char **l)
{
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

static void prerequisites_at_n_and_n_plus_one(void **state)
{
        Fixture *f = *state;

        for (size_t n = FLEET_PUBLISH_PREREQUISITES_MAX; n <= FLEET_PUBLISH_PREREQUISITES_MAX + 1; n++) {
                char **files = write_copies(f, "accounts", f->account, f->account_size, n);
                FleetPublishReport report = {};
                char *error = NULL;
                int r = publish(f, files, count(files), &report, &error);

                if (n == FLEET_PUBLISH_PREREQUISITES_MAX) {
                        if (r < 0)
                                fail_msg("N prerequisites refused: %s", error);
                        assert_true(report.published);
                        assert_int_equal(report.n_prerequisites, 1); /* identical copies are one */
                        assert_int_equal(report.n_devices, 1);
                } else {
                        assert_int_equal(r, -E2BIG);
                        assert_false(report.published);
                        assert_non_null(strstr(error, "more than 64 accounts and account-keys"));
                }
                free(error);
                fleet_publish_report_done(&report);
                for (size_t i = 0; files[i]; i++)
                        unlink(files[i]);
                strv_free(files);
        }
}

static void input_assertions_at_n_and_n_plus_one(void **state)
{
        Fixture *f = *state;

        for (size_t n = FLEET_PUBLISH_ASSERTIONS_MAX; n <= FLEET_PUBLISH_ASSERTIONS_MAX + 1; n++) {
                char **users = write_copies(f, "alice", f->alice, f->alice_size, n - 2);
                char **inputs = calloc(count(users) + 3, sizeof(char *));
                FleetPublishReport report = {};
                char *error = NULL;
                size_t n_inputs = 0;
                int r;

                inputs[n_inputs++] = write_file(f, "account", f->account, f->account_size);
                inputs[n_inputs++] = write_file(f, "account-key", f->account_key, f->account_key_size);
                for (size_t i = 0; users[i]; i++)
                        inputs[n_inputs++] = users[i];
                r = publish(f, inputs, n_inputs, &report, &error);
                if (n == FLEET_PUBLISH_ASSERTIONS_MAX) {
                        if (r < 0)
                                fail_msg("N input assertions refused: %s", error);
                        assert_int_equal(report.verification->n_assertions, n);
                        assert_int_equal(report.n_grants, 1); /* identical copies are one */
                        assert_int_equal(report.grants[0].n_devices, 1);
                } else {
                        assert_int_equal(r, -E2BIG);
                        assert_false(report.published);
                        assert_non_null(strstr(error, "more than 16384 assertions"));
                }
                free(error);
                fleet_publish_report_done(&report);
                for (size_t i = 0; i < n_inputs; i++)
                        unlink(inputs[i]);
                strv_free(inputs);
                free(users);
        }
}

/* More input than one trust batch is checked in chunks; of one grant's revisions the higher is served,
 * whether it comes before the lower ones (one batch keeps it and skips them) or after them, in a later
 * chunk (no batch compares the two). */
static void revisions_across_trust_batches(void **state)
{
        Fixture *f = *state;
        size_t r1_size, r2_size;
        char *r1 = fixture("alice-r1.system-user", &r1_size),
             *r2 = fixture("alice-r2-revoked.system-user", &r2_size);

        for (int r2_first = 0; r2_first <= 1; r2_first++) {
                char **copies = write_copies(f, "alice-r1", r1, r1_size, ASSERTION_BATCH_MAX + 10);
                char **inputs = calloc(count(copies) + 4, sizeof(char *));
                FleetPublishReport report = {};
                char *error = NULL;
                size_t n_inputs = 0;
                int r;

                inputs[n_inputs++] = write_file(f, "account", f->account, f->account_size);
                inputs[n_inputs++] = write_file(f, "account-key", f->account_key, f->account_key_size);
                if (r2_first)
                        inputs[n_inputs++] = write_file(f, "alice-r2", r2, r2_size);
                for (size_t i = 0; copies[i]; i++)
                        inputs[n_inputs++] = copies[i];
                if (!r2_first)
                        inputs[n_inputs++] = write_file(f, "alice-r2", r2, r2_size);
                r = publish(f, inputs, n_inputs, &report, &error);
                if (r < 0)
                        fail_msg("refused: %s", error);
                assert_int_equal(report.verification->n_assertions, ASSERTION_BATCH_MAX + 13);
                assert_int_equal(report.verification->n_assertions_refused, 0);
                assert_int_equal(report.n_grants, 1);
                assert_int_equal(report.grants[0].what.revision, 2);
                free(error);
                fleet_publish_report_done(&report);
                for (size_t i = 0; i < n_inputs; i++)
                        unlink(inputs[i]);
                strv_free(inputs);
                free(copies);
        }
        free(r1);
        free(r2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(prerequisites_at_n_and_n_plus_one, setup, teardown),
                cmocka_unit_test_setup_teardown(input_assertions_at_n_and_n_plus_one, setup, teardown),
                cmocka_unit_test_setup_teardown(revisions_across_trust_batches, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
