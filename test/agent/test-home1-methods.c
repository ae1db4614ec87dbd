/* SPDX-License-Identifier: MIT */
/* org.freedesktop.home1's method table against a private bus: the test starts a dbus-daemon of its own
 * (system-bus type, its own configuration and socket in a scratch directory), runs the daemon's core and
 * the home1 service on it in this process, and calls every method as a client would: lookups and their
 * errors, authentication and homed's rate limit, references that keep a home active and its deactivation
 * when the last one is closed, lock/unlock, the record-changing methods refused, a record not valid yet
 * refused at login, a luks home left untouched by a wrong password, and who may call what (root, the
 * home's own user, a stranger: forked children with their uids). Needs root (homes are bind-mounted below
 * the scratch root); everything is undone at the end. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "file-util.h"
#include "grant-convert.h"
#include "home.h"
#include "home1-errors.h"
#include "home1.h"
#include "json-util.h"
#include "string-util.h"
#include "userdb.h"
#include "varlink.h"

#define LAST_CHANGE ((json_int_t) 1700000000000000LL)
/* openssl passwd -6 -salt S4ltS4ltS4lt secret / other */
#define HASH_SECRET                                                              \
        "$6$S4ltS4ltS4lt$2lmgVEWYrqrzCFw7zCLKPB7itIMvnPXiZnCQOiY1GoPf5fm3A5bss/" \
        "pCW.Ax9E.XntDTpZz4SVqKxEUZkjbdP/"
#define SECRET            "{\"password\":[\"secret\"]}"
#define WRONG             "{\"password\":[\"wrong\"]}"
#define CALL_TIMEOUT_USEC (30 * USEC_PER_SEC)

typedef struct Fixture {
        char *dir, *root, *bus_address;
        pid_t bus_pid;
        Daemon *d;
        Home1 *m;
        VarlinkServer *userdb;
        sd_bus *client;
        uid_t alice, bob;
} Fixture;

static void write_file(const char *root, const char *path, const char *content)
{
        _cleanup_free_ char *full = NULL, *dir = NULL;

        assert_int_equal(path_join_root(root, path, &full), 0);
        dir = strdup(full);
        assert_non_null(dir);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_parents_and_self(dir, 0755), 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, full, content, strlen(content), 0644, -1, -1), 0);
}

/* A user of ours (the grant extension, our engine's signature), with the password "secret". */
static uid_t create_user(Home *h, const char *name, const char *extra_json)
{
        _cleanup_json_ json_t *rec = NULL, *stored = NULL, *extra = NULL;
        RecordError err = {};

        rec = json_pack("{s:s, s:s, s:s, s:I, s:s, s:{s:[s]}, s:{s:s, s:i}}", "userName", name, "realName",
                        name, "disposition", "regular", "lastChangeUSec", LAST_CHANGE, "shell", "/bin/sh",
                        "privileged", "hashedPassword", HASH_SECRET, GRANT_RECORD_EXTENSION, "brandId",
                        "acme", "revision", 1);
        assert_non_null(rec);
        if (extra_json) {
                extra = json_loads(extra_json, 0, NULL);
                assert_non_null(extra);
                assert_int_equal(json_object_update(rec, extra), 0);
        }
        if (home_create(h, rec, &stored, &err) < 0)
                fail_msg("home_create %s: %s: %s", name, err.field, err.message);
        return (uid_t) json_integer_value(
                json_object_get(json_object_get(json_object_get(stored, "binding"), h->machine_id), "uid"));
}

static int start_bus(Fixture *f)
{
        _cleanup_free_ char *conf = strprintf("%s/bus.conf", f->dir), *sock = strprintf("%s/bus", f->dir);
        _cleanup_free_ char *text = NULL;

        /* A system bus of the test's own: anyone may connect (the forked clients run as other users),
         * talk and own names; replies and signals flow (eavesdrop allows receiving). */
        text = strprintf(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" "
                "\"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig><type>system</type><listen>unix:path=%s</listen><auth>EXTERNAL</auth>"
                "<policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>"
                "<allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>"
                "</policy></busconfig>\n",
                sock);
        assert_int_equal(write_file_atomic(AT_FDCWD, conf, text, strlen(text), 0644, -1, -1), 0);
        f->bus_pid = fork();
        assert_true(f->bus_pid >= 0);
        if (f->bus_pid == 0) {
                int null = open("/dev/null", O_RDWR);
                (void) dup2(null, STDOUT_FILENO);
                (void) dup2(null, STDERR_FILENO); /* "cannot raise the fd limit" as a non-system bus */
                execlp("dbus-daemon", "dbus-daemon", "--nofork", "--nopidfile", "--config-file", conf, NULL);
                _exit(127);
        }
        for (int i = 0; i < 200 && access(sock, F_OK) < 0; i++)
                usleep(25 * 1000);
        if (access(sock, F_OK) < 0)
                return -1;
        f->bus_address = strprintf("unix:path=%s", sock);
        return 0;
}

static int teardown(void **state);

static int setup(void **state)
{
        _cleanup_free_ char *error = NULL, *service = NULL, *socket_path = NULL;
        Fixture *f = calloc(1, sizeof(Fixture));
        Home *h = NULL;
        RecordError err = {};
        int r;

        if (geteuid() != 0) {
                printf("SKIP: needs root (homes are bind-mounted)\n");
                exit(77);
        }
        if (system("command -v dbus-daemon >/dev/null") != 0) {
                printf("SKIP: dbus-daemon not installed\n");
                exit(77);
        }
        if (access("/etc/machine-id", R_OK) < 0) {
                printf("SKIP: no /etc/machine-id\n");
                exit(77);
        }
        assert_non_null(f);
        f->dir = strdup("/tmp/test-home1.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        /* The forked clients (other users) must reach the bus socket in here. */
        assert_int_equal(chmod(f->dir, 0755), 0);
        f->root = strprintf("%s/root", f->dir);
        /* This machine's id: the records' binding must be the one nss-systemd looks for (below). */
        _cleanup_free_ char *machine_id = NULL;
        size_t size = 0;
        assert_int_equal(read_file_bounded(AT_FDCWD, "/etc/machine-id", 64, &machine_id, &size), 0);
        write_file(f->root, "/etc/machine-id", machine_id);
        write_file(f->root, "/etc/corehomed/corehomed.yaml",
                   "device:\n  brand-id: acme\n  model: appliance-1\nusers:\n  activation: login\n");

        r = home_new(f->root, HOME_ALLOW_MOUNT, &h, &err);
        if (r < 0)
                fail_msg("home_new: %s", err.message);
        f->alice = create_user(h, "alice", NULL);
        f->bob = create_user(h, "bob", "{\"rateLimitBurst\": 3, \"rateLimitIntervalUSec\": 600000000}");
        (void) create_user(h, "carol", "{\"notBeforeUSec\": 4102444800000000}"); /* 2100 */
        (void) create_user(h, "dave", "{\"storage\": \"luks\", \"diskSize\": 268435456}");
        home_free(h);

        /* From here on a failure must not leave the bus or mounts behind: no assertions, teardown. */
        *state = f;
        r = start_bus(f);
        if (r < 0) {
                fprintf(stderr, "cannot start dbus-daemon\n");
                goto fail;
        }
        /* The bus daemon resolves the uid of every client that connects (a uid NSS does not know is turned
         * away): the forked clients' users must resolve, so this test serves them, as corehomed does. */
        service = strprintf("io.corehomed-test-home1-%d", (int) getpid());
        socket_path = strprintf(USERDB_SOCKET_DIR "/%s", service);
        const DaemonOptions o = { .root = f->root,
                                  .userdb_socket = "/nonexistent",
                                  .manager_socket = "/nonexistent",
                                  .userdb_service = service };
        r = daemon_new(&o, &f->d, &error);
        if (r < 0) {
                fprintf(stderr, "daemon_new: %s\n", error ? error : strerror(-r));
                goto fail;
        }
        r = varlink_server_new(f->d->event, socket_path, 0666, -1, &f->userdb);
        if (r >= 0)
                r = userdb_service_add_index(f->userdb, f->d->userdb_index, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "userdb service: %s\n", strerror(-r));
                goto fail;
        }
        r = home1_new(f->d, HOME1_MODE_SERVE, f->bus_address, &f->m, &error);
        if (r < 0) {
                fprintf(stderr, "home1_new: %s\n", error ? error : strerror(-r));
                goto fail;
        }
        /* The name is requested as the loop runs. */
        for (int i = 0; i < 500 && home1_starting(f->m); i++)
                (void) sd_event_run(f->d->event, 10 * 1000);
        if (home1_starting(f->m) || home1_mode(f->m) != HOME1_MODE_SERVE) {
                fprintf(stderr, "home1: did not start serving\n");
                goto fail;
        }
        r = sd_bus_new(&f->client);
        if (r >= 0)
                r = sd_bus_set_address(f->client, f->bus_address);
        if (r >= 0)
                r = sd_bus_set_bus_client(f->client, true);
        if (r >= 0)
                r = sd_bus_start(f->client);
        if (r >= 0)
                r = sd_bus_attach_event(f->client, f->d->event, 0);
        if (r < 0) {
                fprintf(stderr, "client: %s\n", strerror(-r));
                goto fail;
        }
        return 0;
fail:
        teardown(state);
        *state = NULL;
        return -1;
}

static int teardown(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *cmd = NULL;

        if (!f)
                return 0;
        sd_bus_flush_close_unref(f->client);
        home1_free(f->m);
        varlink_server_free(f->userdb);
        daemon_free(f->d); /* with --root: deactivates every home */
        if (f->bus_pid > 0) {
                (void) kill(f->bus_pid, SIGTERM);
                (void) waitpid(f->bus_pid, NULL, 0);
        }
        cmd = strprintf("rm -rf --one-file-system '%s'", f->dir);
        if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", f->dir);
        free(f->bus_address);
        free(f->root);
        free(f->dir);
        free(f);
        return 0;
}

/* ---- calls ---- */

typedef struct Call {
        sd_bus_message *reply;
        bool done;
} Call;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Call *c = userdata;

        c->reply = sd_bus_message_ref(m);
        c->done = true;
        return 0;
}

static void run_until(Fixture *f, bool *flag)
{
        for (int i = 0; !*flag && i < 600; i++)
                assert_true(sd_event_run(f->d->event, 100 * 1000) >= 0);
        assert_true(*flag);
}

/* Calls member on path/interface and runs the daemon's loop until the answer is there. */
static sd_bus_message *call_on(Fixture *f, const char *path, const char *interface, const char *member,
                               const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Call c = {};
        va_list ap;

        assert_true(sd_bus_message_new_method_call(f->client, &m, HOME1_BUS_NAME, path, interface, member) >=
                    0);
        if (types) {
                va_start(ap, types);
                assert_true(sd_bus_message_appendv(m, types, ap) >= 0);
                va_end(ap);
        }
        assert_true(sd_bus_call_async(f->client, NULL, m, on_reply, &c, CALL_TIMEOUT_USEC) >= 0);
        run_until(f, &c.done);
        return c.reply;
}

#define call(f, member, ...) call_on(f, HOME1_OBJECT_PATH, HOME1_MANAGER_INTERFACE, member, __VA_ARGS__)

static void expect_ok(sd_bus_message *reply)
{
        if (sd_bus_message_is_method_error(reply, NULL))
                fail_msg("error %s: %s", sd_bus_message_get_error(reply)->name,
                         sd_bus_message_get_error(reply)->message);
        sd_bus_message_unref(reply);
}

static void expect_error(sd_bus_message *reply, const char *name)
{
        if (!sd_bus_message_is_method_error(reply, name))
                fail_msg("expected %s, got %s", name,
                         sd_bus_message_is_method_error(reply, NULL) ? sd_bus_message_get_error(reply)->name
                                                                     : "success");
        sd_bus_message_unref(reply);
}

static const char *state_of(Fixture *f, const char *user)
{
        static char buf[32];
        sd_bus_message *reply = call(f, "GetHomeByName", "s", user);
        const char *s = NULL;

        assert_false(sd_bus_message_is_method_error(reply, NULL));
        assert_true(sd_bus_message_read(reply, "us", NULL, &s) > 0);
        snprintf(buf, sizeof(buf), "%s", s);
        sd_bus_message_unref(reply);
        return buf;
}

static bool mounted(Fixture *f, const char *user)
{
        _cleanup_free_ char *p = strprintf("%s/home/%s", f->root, user), *line = NULL;
        _cleanup_fclose_ FILE *m = fopen("/proc/self/mounts", "re");
        size_t n = 0;

        assert_non_null(m);
        while (getline(&line, &n, m) > 0) {
                char *target = strchr(line, ' ');
                if (target && strncmp(target + 1, p, strlen(p)) == 0 && target[1 + strlen(p)] == ' ')
                        return true;
        }
        return false;
}

/* Waits (running the loop) until user's home is in state. */
static void wait_state(Fixture *f, const char *user, const char *state)
{
        for (int i = 0; i < 100 && !streq(state_of(f, user), state); i++)
                assert_true(sd_event_run(f->d->event, 50 * 1000) >= 0);
        assert_string_equal(state_of(f, user), state);
}

/* ---- the tests ---- */

static void test_lookups(void **state)
{
        Fixture *f = *state;
        _cleanup_json_ json_t *rec = NULL;
        _cleanup_free_ char *uid_path = strprintf(HOME1_HOME_PATH "/%u", (unsigned) f->alice);
        const char *name, *st, *real, *home, *shell, *path, *json;
        uint32_t uid, gid;
        int incomplete;
        bool seen = false;
        sd_bus_message *reply;

        reply = call(f, "ListHomes", NULL);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(susussso)") > 0);
        while (sd_bus_message_read(reply, "(susussso)", &name, &uid, &st, &gid, &real, &home, &shell,
                                   &path) > 0)
                if (streq(name, "alice")) {
                        seen = true;
                        assert_int_equal(uid, f->alice);
                        assert_int_equal(gid, f->alice);
                        assert_string_equal(st, "inactive"); /* users.activation: login */
                        assert_string_equal(home, "/home/alice");
                        assert_string_equal(shell, "/bin/sh");
                        assert_string_equal(path, HOME1_HOME_PATH "/alice");
                }
        assert_true(seen);
        sd_bus_message_unref(reply);

        reply = call(f, "GetHomeByUID", "u", (uint32_t) f->alice);
        assert_true(sd_bus_message_read(reply, "ssussso", &name, &st, &gid, &real, &home, &shell, &path) >
                    0);
        assert_string_equal(name, "alice");
        assert_string_equal(path, uid_path);
        sd_bus_message_unref(reply);

        /* The record for root: complete, with homed's status fields and our signature. */
        reply = call(f, "GetUserRecordByName", "s", "alice");
        assert_true(sd_bus_message_read(reply, "sbo", &json, &incomplete, &path) > 0);
        assert_false(incomplete);
        rec = json_loads(json, 0, NULL);
        assert_non_null(rec);
        assert_non_null(json_object_get(json_object_get(rec, "privileged"), "hashedPassword"));
        assert_true(json_array_size(json_object_get(rec, "signature")) == 1);
        json_t *st_mine =
                json_object_get(json_object_get(rec, "status"), f->d->provisioner->home->machine_id);
        assert_string_equal(json_string_value(json_object_get(st_mine, "state")), "inactive");
        assert_true(json_is_false(json_object_get(st_mine, "signedLocally")));
        assert_null(json_object_get(rec, "secret"));
        sd_bus_message_unref(reply);

        expect_error(call(f, "GetHomeByName", "s", "nobody-here"), HOME1_ERROR_NO_SUCH_HOME);
        expect_error(call(f, "GetUserRecordByUID", "u", (uint32_t) 60000), HOME1_ERROR_NO_SUCH_HOME);
        expect_error(call(f, "GetHomeByName", "s", "not a name"), HOME1_ERROR_INVALID_ARGS);

        /* The Home object and its properties. */
        reply = call_on(f, HOME1_HOME_PATH "/alice", "org.freedesktop.DBus.Properties", "Get", "ss",
                        HOME1_HOME_INTERFACE, "UnixRecord");
        assert_true(sd_bus_message_enter_container(reply, 'v', "(suusss)") > 0);
        assert_true(sd_bus_message_read(reply, "(suusss)", &name, &uid, &gid, &real, &home, &shell) > 0);
        assert_string_equal(name, "alice");
        assert_int_equal(uid, f->alice);
        sd_bus_message_unref(reply);
        reply = call_on(f, uid_path, "org.freedesktop.DBus.Properties", "Get", "ss", HOME1_HOME_INTERFACE,
                        "UserName");
        assert_true(sd_bus_message_read(reply, "v", "s", &name) > 0);
        assert_string_equal(name, "alice");
        sd_bus_message_unref(reply);
        expect_error(call_on(f, HOME1_HOME_PATH "/nobody", "org.freedesktop.DBus.Properties", "Get", "ss",
                             HOME1_HOME_INTERFACE, "UserName"),
                     "org.freedesktop.DBus.Error.UnknownObject");
}

static void test_authenticate(void **state)
{
        Fixture *f = *state;

        /* No secret: the question pam_systemd_home answers with "Password: ". */
        expect_error(call(f, "AuthenticateHome", "ss", "alice", ""), HOME1_ERROR_BAD_PASSWORD);
        expect_error(call(f, "AuthenticateHome", "ss", "alice", WRONG), HOME1_ERROR_BAD_PASSWORD);
        expect_ok(call(f, "AuthenticateHome", "ss", "alice", SECRET));
        /* Several passwords (pam_systemd_home's retries): one of them is enough. */
        expect_ok(call(f, "AuthenticateHome", "ss", "alice", "{\"password\":[\"wrong\",\"secret\"]}"));
        expect_error(call(f, "AuthenticateHome", "ss", "alice", "{\"password\":"), HOME1_ERROR_INVALID_ARGS);
        /* The Home object's method is the same. */
        expect_ok(call_on(f, HOME1_HOME_PATH "/alice", HOME1_HOME_INTERFACE, "Authenticate", "s", SECRET));
}

static void test_ratelimit(void **state)
{
        Fixture *f = *state;

        /* bob's record allows 3 attempts per 10 minutes: every attempt counts, right or wrong. */
        expect_error(call(f, "AuthenticateHome", "ss", "bob", WRONG), HOME1_ERROR_BAD_PASSWORD);
        expect_error(call(f, "AuthenticateHome", "ss", "bob", WRONG), HOME1_ERROR_BAD_PASSWORD);
        expect_ok(call(f, "AuthenticateHome", "ss", "bob", SECRET));
        expect_error(call(f, "AuthenticateHome", "ss", "bob", SECRET), HOME1_ERROR_AUTHENTICATION_LIMIT_HIT);
        expect_error(call(f, "AcquireHome", "ssb", "bob", SECRET, 0), HOME1_ERROR_AUTHENTICATION_LIMIT_HIT);
        assert_string_equal(state_of(f, "bob"), "inactive");
        /* The record shows it, so that pam_systemd_home's account check says "too many logins". */
        sd_bus_message *reply = call(f, "GetUserRecordByName", "s", "bob");
        const char *json;
        assert_true(sd_bus_message_read(reply, "sbo", &json, NULL, NULL) > 0);
        assert_non_null(strstr(json, "\"rateLimitCount\":3"));
        sd_bus_message_unref(reply);
}

static void test_acquire_release(void **state)
{
        Fixture *f = *state;
        sd_bus_message *reply;
        int fd1 = -1, fd2 = -1, fd;

        expect_error(call(f, "RefHome", "sb", "alice", 0), HOME1_ERROR_HOME_NOT_ACTIVE);
        expect_error(call(f, "AcquireHome", "ssb", "alice", WRONG, 0), HOME1_ERROR_BAD_PASSWORD);
        assert_false(mounted(f, "alice"));

        reply = call(f, "AcquireHome", "ssb", "alice", SECRET, 0);
        assert_false(sd_bus_message_is_method_error(reply, NULL));
        assert_true(sd_bus_message_read(reply, "h", &fd) > 0);
        fd1 = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        sd_bus_message_unref(reply);
        assert_string_equal(state_of(f, "alice"), "active");
        assert_true(mounted(f, "alice"));

        reply = call(f, "RefHome", "sb", "alice", 1);
        assert_true(sd_bus_message_read(reply, "h", &fd) > 0);
        fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        sd_bus_message_unref(reply);

        /* One reference closed: the other keeps the home. ReleaseHome says it is still referenced. */
        close(fd1);
        expect_error(call(f, "ReleaseHome", "s", "alice"), HOME1_ERROR_HOME_BUSY);
        assert_true(mounted(f, "alice"));
        /* The last one: deactivated at once; ReleaseHome afterwards is fine. */
        close(fd2);
        wait_state(f, "alice", "inactive");
        assert_false(mounted(f, "alice"));
        expect_ok(call(f, "ReleaseHome", "s", "alice"));
}

static void test_activate_lock(void **state)
{
        Fixture *f = *state;

        expect_error(call(f, "DeactivateHome", "s", "alice"), HOME1_ERROR_HOME_NOT_ACTIVE);
        expect_error(call(f, "LockHome", "s", "alice"), HOME1_ERROR_HOME_NOT_ACTIVE);
        expect_ok(call(f, "ActivateHome", "ss", "alice", SECRET));
        assert_true(mounted(f, "alice"));
        expect_error(call(f, "ActivateHome", "ss", "alice", SECRET), HOME1_ERROR_HOME_ALREADY_ACTIVE);
        expect_error(call(f, "UnlockHome", "ss", "alice", SECRET), HOME1_ERROR_HOME_NOT_LOCKED);
        expect_ok(call(f, "LockHome", "s", "alice"));
        assert_string_equal(state_of(f, "alice"), "locked");
        expect_error(call(f, "LockHome", "s", "alice"), HOME1_ERROR_HOME_LOCKED);
        expect_error(call(f, "DeactivateHome", "s", "alice"), HOME1_ERROR_HOME_LOCKED);
        expect_error(call(f, "UnlockHome", "ss", "alice", WRONG), HOME1_ERROR_BAD_PASSWORD);
        expect_ok(call(f, "UnlockHome", "ss", "alice", SECRET));
        assert_string_equal(state_of(f, "alice"), "active");
        /* An active home without references: the administrator's activation stays until deactivated. */
        expect_ok(call(f, "DeactivateHome", "s", "alice"));
        assert_false(mounted(f, "alice"));
        /* And before shutdown, every active home goes. */
        expect_ok(call(f, "ActivateHome", "ss", "alice", SECRET));
        expect_ok(call(f, "DeactivateAllHomes", NULL));
        assert_false(mounted(f, "alice"));
}

static void test_refused(void **state)
{
        Fixture *f = *state;
        const char *rec = "{\"userName\":\"alice\",\"lastChangeUSec\":1800000000000000}";

        expect_error(call(f, "CreateHome", "s", rec), HOME1_ERROR_NOT_SUPPORTED);
        expect_error(call(f, "RegisterHome", "s", rec), HOME1_ERROR_NOT_SUPPORTED);
        expect_error(call(f, "UpdateHome", "s", rec), HOME1_ERROR_RECORD_SIGNED);
        expect_error(call(f, "ChangePasswordHome", "sss", "alice", "{\"password\":[\"new\"]}", SECRET),
                     HOME1_ERROR_RECORD_SIGNED);
        expect_error(call(f, "ResizeHome", "sts", "alice", (uint64_t) 1 << 30, SECRET),
                     HOME1_ERROR_RECORD_SIGNED);
        expect_error(call(f, "UnregisterHome", "s", "alice"), HOME1_ERROR_NOT_SUPPORTED);
        expect_error(call(f, "FixateHome", "ss", "alice", SECRET), HOME1_ERROR_HOME_ALREADY_FIXATED);
        expect_error(call(f, "Rebalance", NULL), HOME1_ERROR_REBALANCE_NOT_NEEDED);
        expect_error(call_on(f, HOME1_HOME_PATH "/alice", HOME1_HOME_INTERFACE, "ChangePassword", "ss",
                             "{\"password\":[\"new\"]}", SECRET),
                     HOME1_ERROR_RECORD_SIGNED);
        assert_string_equal(state_of(f, "alice"), "inactive");
}

static void test_not_valid_yet(void **state)
{
        Fixture *f = *state;

        /* carol's record begins in 2100: the right password does not let her in. */
        expect_error(call(f, "AcquireHome", "ssb", "carol", SECRET, 0), HOME1_ERROR_ACCESS_DENIED);
        expect_error(call(f, "AuthenticateHome", "ss", "carol", SECRET), HOME1_ERROR_ACCESS_DENIED);
        assert_false(mounted(f, "carol"));
}

static void test_luks_absent(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *image = strprintf("%s/home/dave.home", f->root);

        /* A luks home is made at the first login that brings its password; a wrong one makes nothing. */
        assert_string_equal(state_of(f, "dave"), "absent");
        expect_error(call(f, "AcquireHome", "ssb", "dave", WRONG, 0), HOME1_ERROR_BAD_PASSWORD);
        expect_error(call(f, "AcquireHome", "ssb", "dave", "", 0), HOME1_ERROR_BAD_PASSWORD);
        expect_error(call(f, "RefHome", "sb", "dave", 0), HOME1_ERROR_HOME_ABSENT);
        assert_int_equal(access(image, F_OK), -1);
        assert_string_equal(state_of(f, "dave"), "absent");
        /* A directory home cannot be realized. */
        expect_error(call(f, "RealizeHome", "ss", "alice", SECRET), HOME1_ERROR_HOME_EXISTS);
}

/* Runs fn in a child with uid (and gid) on a connection of its own; returns its exit status. The daemon's
 * loop runs meanwhile. */
static int as_user(Fixture *f, uid_t uid, int (*fn)(sd_bus *bus))
{
        pid_t pid = fork();
        int status = -1;

        assert_true(pid >= 0);
        if (pid == 0) {
                sd_bus *bus = NULL;

                if (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
                        _exit(100);
                if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, f->bus_address) < 0 ||
                    sd_bus_set_bus_client(bus, true) < 0 || sd_bus_start(bus) < 0)
                        _exit(101);
                _exit(fn(bus));
        }
        for (int i = 0; i < 600; i++) {
                if (waitpid(pid, &status, WNOHANG) == pid)
                        break;
                assert_true(sd_event_run(f->d->event, 50 * 1000) >= 0);
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int child_call(sd_bus *bus, const char *member, const char *expect_error_name, const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        if (sd_bus_message_new_method_call(bus, &m, HOME1_BUS_NAME, HOME1_OBJECT_PATH,
                                           HOME1_MANAGER_INTERFACE, member) < 0)
                return 0;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return 0;
        r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &error, &reply);
        if (expect_error_name)
                r = r < 0 && sd_bus_error_has_name(&error, expect_error_name);
        else
                r = r >= 0;
        sd_bus_error_free(&error);
        return r;
}

static int alice_herself(sd_bus *bus)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *json;
        int incomplete = 1, r;

        /* Her own record in full; her own home's authentication; not the administrator's methods. */
        r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_OBJECT_PATH, HOME1_MANAGER_INTERFACE,
                               "GetUserRecordByName", &error, &reply, "s", "alice");
        if (r < 0) {
                fprintf(stderr, "GetUserRecordByName as alice: %s: %s\n", strerror(-r),
                        strempty(error.message));
                return 1;
        }
        if (sd_bus_message_read(reply, "sbo", &json, &incomplete, NULL) < 0)
                return 1;
        if (incomplete || !strstr(json, "hashedPassword"))
                return 7;
        if (!child_call(bus, "AuthenticateHome", NULL, "ss", "alice", SECRET))
                return 2;
        /* The empty name is the caller's own home. */
        if (!child_call(bus, "AuthenticateHome", NULL, "ss", "", SECRET))
                return 3;
        if (!child_call(bus, "ActivateHome", HOME1_ERROR_ACCESS_DENIED, "ss", "alice", SECRET))
                return 4;
        if (!child_call(bus, "RemoveHome", HOME1_ERROR_ACCESS_DENIED, "s", "alice"))
                return 5;
        if (!child_call(bus, "DeactivateAllHomes", HOME1_ERROR_ACCESS_DENIED, ""))
                return 6;
        return 0;
}

static int bob_at_alice(sd_bus *bus)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *json;
        int incomplete = 0;

        /* Another user sees alice's record without its privileged section, and cannot use her home. */
        if (sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_OBJECT_PATH, HOME1_MANAGER_INTERFACE,
                               "GetUserRecordByName", NULL, &reply, "s", "alice") < 0 ||
            sd_bus_message_read(reply, "sbo", &json, &incomplete, NULL) < 0 || !incomplete ||
            strstr(json, "hashedPassword"))
                return 1;
        if (!child_call(bus, "AuthenticateHome", HOME1_ERROR_ACCESS_DENIED, "ss", "alice", SECRET))
                return 2;
        if (!child_call(bus, "AcquireHome", HOME1_ERROR_ACCESS_DENIED, "ssb", "alice", SECRET, 0))
                return 3;
        if (!child_call(bus, "RefHome", HOME1_ERROR_ACCESS_DENIED, "sb", "alice", 0))
                return 4;
        return 0;
}

static void test_callers(void **state)
{
        Fixture *f = *state;

        assert_int_equal(as_user(f, f->alice, alice_herself), 0);
        assert_int_equal(as_user(f, f->bob, bob_at_alice), 0);
        assert_false(mounted(f, "alice"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lookups),       cmocka_unit_test(test_authenticate),
                cmocka_unit_test(test_ratelimit),     cmocka_unit_test(test_acquire_release),
                cmocka_unit_test(test_activate_lock), cmocka_unit_test(test_refused),
                cmocka_unit_test(test_not_valid_yet), cmocka_unit_test(test_luks_absent),
                cmocka_unit_test(test_callers),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
