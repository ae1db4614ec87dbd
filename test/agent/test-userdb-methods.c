/* SPDX-License-Identifier: MIT */
/* io.systemd.UserDatabase semantics as systemd's clients expect them: lookups by name and id, enumeration
 * with more/continues, NoRecordFound / ConflictingRecordFound / BadService / ExpectedMore /
 * InvalidParameter, unknown parameters ignored, the privileged section only for root and the user, the
 * status service, per-user groups, memberships, only our own records, and fresh data on every call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "file-util.h"
#include "grant-convert.h"
#include "home.h"
#include "test-varlink-util.h"
#include "userdb.h"

#define MACHINE_ID "0123456789abcdef0123456789abcdef"
#define SERVICE    "io.corehomed.test"
#define NOW        ((usec_t) 1700000000000000ULL)

typedef struct Fixture {
        char *root;
        Home *home;
        sd_event *e;
        VarlinkServer *s;
        char *dir, *path;
        uid_t alice_uid, bob_uid;
        UserdbIndex *index; /* the server answers from this index, scanned only when a test says so */
} Fixture;

static void write_file(const char *root, const char *path, const char *content, mode_t mode)
{
        _cleanup_free_ char *full = NULL, *dir = NULL;

        assert_int_equal(path_join_root(root, path, &full), 0);
        dir = strdup(full);
        assert_non_null(dir);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_parents_and_self(dir, 0755), 0);
        assert_int_equal(write_file_atomic(AT_FDCWD, full, content, strlen(content), mode, -1, -1), 0);
}

static uid_t create_user(Fixture *f, const char *name, json_t *member_of, bool grant)
{
        _cleanup_json_ json_t *rec = NULL, *stored = NULL;
        RecordError err = {};

        rec = json_pack("{s:s, s:s, s:s, s:I, s:{s:[s]}}", "userName", name, "realName", name, "disposition",
                        "regular", "lastChangeUSec", (json_int_t) NOW, "privileged", "hashedPassword",
                        "$6$salt$hash");
        assert_non_null(rec);
        if (grant)
                assert_int_equal(
                        json_object_set_new(rec, USERDB_SERVED_EXTENSION,
                                            json_pack("{s:s, s:i}", "brandId", "acme", "revision", 1)),
                        0);
        if (member_of)
                assert_int_equal(json_object_set(rec, "memberOf", member_of), 0);
        if (home_create(f->home, rec, &stored, &err) < 0)
                fail_msg("home_create %s: %s: %s", name, err.field, err.message);
        return (uid_t) json_integer_value(
                json_object_get(json_object_get(json_object_get(stored, "binding"), MACHINE_ID), "uid"));
}

static int setup_with(void **state, bool indexed)
{
        Fixture *f = calloc(1, sizeof(Fixture));
        RecordError err = {};
        _cleanup_json_ json_t *alice_groups = json_pack("[s, s]", "sudo", "adm");
        _cleanup_json_ json_t *bob_groups = json_pack("[s]", "sudo");

        assert_non_null(f);
        f->root = strdup("/tmp/test-userdb.XXXXXX");
        assert_non_null(mkdtemp(f->root));
        assert_int_equal(chmod(f->root, 0755), 0);
        write_file(f->root, "/etc/machine-id", MACHINE_ID "\n", 0444);
        write_file(f->root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0644);
        write_file(f->root, "/etc/group", "root:x:0:\n", 0644);
        if (home_new(f->root, 0, &f->home, &err) < 0)
                fail_msg("home_new: %s", err.message);
        f->home->now = NOW;

        f->alice_uid = create_user(f, "alice", alice_groups, true);
        f->bob_uid = create_user(f, "bob", bob_groups, true);
        /* A home corehomed did not make from a grant: not ours to serve. */
        (void) create_user(f, "carol", NULL, false);

        f->dir = test_socket_dir_new(&f->path);
        assert_int_equal(chmod(f->dir, 0755), 0);
        assert_true(sd_event_new(&f->e) >= 0);
        assert_int_equal(varlink_server_new(f->e, f->path, 0666, -1, &f->s), 0);
        if (indexed) {
                assert_int_equal(userdb_index_new(f->home, SERVICE, &f->index), 0);
                assert_int_equal(userdb_service_add_index(f->s, f->index, NULL, NULL), 0);
        } else
                assert_int_equal(userdb_service_add(f->s, f->home, SERVICE), 0);
        *state = f;
        return 0;
}

static int setup(void **state)
{
        return setup_with(state, false);
}

/* The daemon's shape: an index its owner scans when the homes changed. */
static int setup_indexed(void **state)
{
        return setup_with(state, true);
}

static int teardown(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *cmd = NULL;

        varlink_server_free(f->s);
        userdb_index_free(f->index);
        sd_event_unref(f->e);
        test_socket_dir_free(f->dir, f->path);
        home_free(f->home);
        assert_true(asprintf(&cmd, "rm -rf '%s'", f->root) > 0);
        assert_int_equal(system(cmd), 0);
        free(f->root);
        free(f);
        return 0;
}

/* One call; returns every message up to and including the final one, as an array. */
static json_t *call(Fixture *f, const char *method, const char *parameters, bool more)
{
        TestClient *c = test_client_new(f->path);
        _cleanup_free_ char *text = NULL;
        json_t *all = json_array();

        assert_true(asprintf(&text, "{\"method\":\"%s\",\"parameters\":%s%s}", method, parameters,
                             more ? ",\"more\":true" : "") > 0);
        test_send_message(c->fd, text);
        for (;;) {
                json_t *m = test_client_read(f->e, c, 5000);

                assert_non_null(m);
                assert_int_equal(json_array_append_new(all, m), 0);
                if (!test_reply_continues(m))
                        break;
        }
        test_client_free(c);
        return all;
}

static void assert_error(json_t *all, const char *error)
{
        assert_int_equal(json_array_size(all), 1);
        assert_string_equal(strempty(test_reply_error(json_array_get(all, 0))), error);
}

static json_t *single_record(json_t *all)
{
        json_t *m = json_array_get(all, 0);

        assert_int_equal(json_array_size(all), 1);
        if (test_reply_error(m))
                fail_msg("error %s", test_reply_error(m));
        return json_object_get(test_reply_parameters(m), "record");
}

#define GET_USER  USERDB_INTERFACE ".GetUserRecord"
#define GET_GROUP USERDB_INTERFACE ".GetGroupRecord"
#define GET_MEMB  USERDB_INTERFACE ".GetMemberships"

static void user_by_name_carries_binding_status_and_privileged_for_root(void **state)
{
        Fixture *f = *state;
        _cleanup_json_ json_t *all =
                call(f, GET_USER, "{\"userName\":\"alice\",\"service\":\"" SERVICE "\"}", false);
        json_t *rec = single_record(all);
        json_t *params = test_reply_parameters(json_array_get(all, 0));

        assert_string_equal(json_string_value(json_object_get(rec, "userName")), "alice");
        assert_int_equal(json_integer_value(json_object_get(
                                 json_object_get(json_object_get(rec, "binding"), MACHINE_ID), "uid")),
                         f->alice_uid);
        assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(json_object_get(rec, "status"), MACHINE_ID), "service")),
                            SERVICE);
        /* We are root: the hash is there, and the record is complete. */
        assert_non_null(json_object_get(json_object_get(rec, "privileged"), "hashedPassword"));
        assert_true(json_is_false(json_object_get(params, "incomplete")));
        assert_null(json_object_get(rec, "secret"));
        assert_non_null(json_object_get(rec, "signature"));
}

static void user_by_uid_finds_same_record(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *p = NULL;
        _cleanup_json_ json_t *all = NULL;

        assert_true(asprintf(&p, "{\"uid\":%u,\"service\":\"" SERVICE "\"}", (unsigned) f->bob_uid) > 0);
        all = call(f, GET_USER, p, false);
        assert_string_equal(json_string_value(json_object_get(single_record(all), "userName")), "bob");
}

static void name_and_uid_of_different_users_conflict(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *p = NULL, *q = NULL;
        _cleanup_json_ json_t *all = NULL, *ok = NULL;

        assert_true(asprintf(&p, "{\"uid\":%u,\"userName\":\"alice\",\"service\":\"" SERVICE "\"}",
                             (unsigned) f->bob_uid) > 0);
        all = call(f, GET_USER, p, false);
        assert_error(all, USERDB_ERROR_CONFLICTING_RECORD_FOUND);
        assert_true(asprintf(&q, "{\"uid\":%u,\"userName\":\"bob\",\"service\":\"" SERVICE "\"}",
                             (unsigned) f->bob_uid) > 0);
        ok = call(f, GET_USER, q, false);
        assert_string_equal(json_string_value(json_object_get(single_record(ok), "userName")), "bob");
}

static void unknown_invalid_and_foreign_users_are_not_found(void **state)
{
        Fixture *f = *state;
        const char *params[] = {
                "{\"userName\":\"nobody-here\",\"service\":\"" SERVICE "\"}",
                "{\"userName\":\"../alice\",\"service\":\"" SERVICE "\"}",
                "{\"userName\":\"carol\",\"service\":\"" SERVICE "\"}", /* a home without a grant */
                "{\"uid\":4711,\"service\":\"" SERVICE "\"}",
        };

        for (size_t i = 0; i < ELEMENTSOF(params); i++) {
                _cleanup_json_ json_t *all = call(f, GET_USER, params[i], false);

                assert_error(all, USERDB_ERROR_NO_RECORD_FOUND);
        }
}

static void wrong_or_missing_service_is_bad_service(void **state)
{
        Fixture *f = *state;
        const char *params[] = {
                "{\"userName\":\"alice\",\"service\":\"io.systemd.Home\"}",
                "{\"userName\":\"alice\"}",
                "{\"userName\":\"alice\",\"service\":null}",
        };

        for (size_t i = 0; i < ELEMENTSOF(params); i++) {
                _cleanup_json_ json_t *u = call(f, GET_USER, params[i], false);
                _cleanup_json_ json_t *g = call(f, GET_GROUP, params[i], false);
                _cleanup_json_ json_t *m = call(f, GET_MEMB, params[i], true);

                assert_error(u, USERDB_ERROR_BAD_SERVICE);
                assert_error(g, USERDB_ERROR_BAD_SERVICE);
                assert_error(m, USERDB_ERROR_BAD_SERVICE);
        }
}

static void mistyped_parameters_are_invalid_parameter(void **state)
{
        Fixture *f = *state;
        struct {
                const char *method, *params, *name;
        } cases[] = {
                { GET_USER, "{\"uid\":\"60001\",\"service\":\"" SERVICE "\"}", "uid" },
                { GET_USER, "{\"uid\":-1,\"service\":\"" SERVICE "\"}", "uid" },
                { GET_USER, "{\"uid\":4294967295,\"service\":\"" SERVICE "\"}", "uid" },
                /* 16-bit (uid_t) -1: never a valid uid, as systemd's uid_is_valid() */
                { GET_USER, "{\"uid\":65535,\"service\":\"" SERVICE "\"}", "uid" },
                { GET_USER, "{\"userName\":7,\"service\":\"" SERVICE "\"}", "userName" },
                { GET_USER, "{\"userName\":\"alice\",\"service\":7}", "service" },
                { GET_GROUP, "{\"gid\":1.5,\"service\":\"" SERVICE "\"}", "gid" },
                { GET_GROUP, "{\"groupName\":[],\"service\":\"" SERVICE "\"}", "groupName" },
                { GET_MEMB, "{\"groupName\":{},\"service\":\"" SERVICE "\"}", "groupName" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_json_ json_t *all = call(f, cases[i].method, cases[i].params, false);
                json_t *m = json_array_get(all, 0);

                assert_error(all, VARLINK_ERROR_INVALID_PARAMETER);
                assert_string_equal(
                        json_string_value(json_object_get(test_reply_parameters(m), "parameter")),
                        cases[i].name);
        }
}

static void unknown_parameters_are_ignored(void **state)
{
        Fixture *f = *state;
        _cleanup_json_ json_t *all =
                call(f, GET_USER,
                     "{\"userName\":\"alice\",\"service\":\"" SERVICE "\",\"fuzzyNames\":[\"x\"],"
                     "\"dispositionMask\":[\"regular\"],\"uidMin\":0}",
                     false);

        assert_string_equal(json_string_value(json_object_get(single_record(all), "userName")), "alice");
}

static void enumeration_streams_our_users_only(void **state)
{
        Fixture *f = *state;
        _cleanup_json_ json_t *all = call(f, GET_USER, "{\"service\":\"" SERVICE "\"}", true);
        _cleanup_json_ json_t *no_more = call(f, GET_USER, "{\"service\":\"" SERVICE "\"}", false);

        assert_int_equal(json_array_size(all), 2);
        assert_true(test_reply_continues(json_array_get(all, 0)));
        assert_false(test_reply_continues(json_array_get(all, 1)));
        assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(test_reply_parameters(json_array_get(all, 0)), "record"),
                                    "userName")),
                            "alice");
        assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(test_reply_parameters(json_array_get(all, 1)), "record"),
                                    "userName")),
                            "bob");
        /* Several results cannot be one reply. */
        assert_error(no_more, VARLINK_ERROR_EXPECTED_MORE);
}

static void enumeration_with_single_result_needs_no_more(void **state)
{
        Fixture *f = *state;
        RecordError err = {};
        _cleanup_json_ json_t *all = NULL, *none = NULL;

        assert_int_equal(home_remove(f->home, "bob", &err), 0);
        all = call(f, GET_USER, "{\"service\":\"" SERVICE "\"}", false);
        assert_string_equal(json_string_value(json_object_get(single_record(all), "userName")), "alice");
        assert_int_equal(home_remove(f->home, "alice", &err), 0);
        none = call(f, GET_USER, "{\"service\":\"" SERVICE "\"}", true);
        assert_error(none, USERDB_ERROR_NO_RECORD_FOUND);
}

static void removed_user_disappears_at_once(void **state)
{
        Fixture *f = *state;
        RecordError err = {};
        _cleanup_json_ json_t *before = NULL, *after = NULL, *group = NULL;

        before = call(f, GET_USER, "{\"userName\":\"bob\",\"service\":\"" SERVICE "\"}", false);
        assert_non_null(single_record(before));
        assert_int_equal(home_remove(f->home, "bob", &err), 0);
        after = call(f, GET_USER, "{\"userName\":\"bob\",\"service\":\"" SERVICE "\"}", false);
        assert_error(after, USERDB_ERROR_NO_RECORD_FOUND);
        group = call(f, GET_GROUP, "{\"groupName\":\"bob\",\"service\":\"" SERVICE "\"}", false);
        assert_error(group, USERDB_ERROR_NO_RECORD_FOUND);
}

static void tampered_record_is_not_served(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *path = NULL, *data = NULL;
        _cleanup_json_ json_t *all = NULL;
        char *p;
        size_t size;

        /* Someone edits alice's realName without our key: the signature no longer holds. */
        assert_int_equal(path_join_root(f->root, "/var/lib/systemd/home/alice.identity", &path), 0);
        assert_int_equal(read_file_bounded(AT_FDCWD, path, 1 << 20, &data, &size), 0);
        p = strstr(data, "\"realName\" : \"alice\"");
        assert_non_null(p);
        memcpy(p + strlen("\"realName\" : \""), "ALICE", 5);
        assert_int_equal(write_file_atomic(AT_FDCWD, path, data, size, 0600, -1, -1), 0);
        all = call(f, GET_USER, "{\"userName\":\"alice\",\"service\":\"" SERVICE "\"}", false);
        assert_error(all, USERDB_ERROR_NO_RECORD_FOUND);
}

static void group_by_name_and_gid_is_per_user_group(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *p = NULL;
        _cleanup_json_ json_t *by_name = NULL, *by_gid = NULL, *all = NULL, *conflict = NULL, *none = NULL;
        json_t *g;

        by_name = call(f, GET_GROUP, "{\"groupName\":\"alice\",\"service\":\"" SERVICE "\"}", false);
        g = single_record(by_name);
        assert_string_equal(json_string_value(json_object_get(g, "groupName")), "alice");
        assert_int_equal(json_integer_value(json_object_get(g, "gid")), f->alice_uid);
        assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(json_object_get(g, "status"), MACHINE_ID), "service")),
                            SERVICE);
        assert_true(json_is_false(
                json_object_get(test_reply_parameters(json_array_get(by_name, 0)), "incomplete")));

        assert_true(asprintf(&p, "{\"gid\":%u,\"service\":\"" SERVICE "\"}", (unsigned) f->bob_uid) > 0);
        by_gid = call(f, GET_GROUP, p, false);
        assert_string_equal(json_string_value(json_object_get(single_record(by_gid), "groupName")), "bob");

        all = call(f, GET_GROUP, "{\"service\":\"" SERVICE "\"}", true);
        assert_int_equal(json_array_size(all), 2);

        free(p);
        assert_true(asprintf(&p, "{\"gid\":%u,\"groupName\":\"alice\",\"service\":\"" SERVICE "\"}",
                             (unsigned) f->bob_uid) > 0);
        conflict = call(f, GET_GROUP, p, false);
        assert_error(conflict, USERDB_ERROR_CONFLICTING_RECORD_FOUND);
        /* sudo is a group in /etc/group, not ours: we only know who is a member. */
        none = call(f, GET_GROUP, "{\"groupName\":\"sudo\",\"service\":\"" SERVICE "\"}", false);
        assert_error(none, USERDB_ERROR_NO_RECORD_FOUND);
}

static size_t count_pairs(json_t *all, const char *user, const char *group)
{
        size_t n = 0, i;
        json_t *m;

        json_array_foreach (all, i, m) {
                json_t *p = test_reply_parameters(m);

                assert_null(test_reply_error(m));
                n += streq(json_string_value(json_object_get(p, "userName")), user) &&
                     streq(json_string_value(json_object_get(p, "groupName")), group);
        }
        return n;
}

static void memberships_follow_member_of(void **state)
{
        Fixture *f = *state;
        _cleanup_json_ json_t *of_alice = NULL, *of_sudo = NULL, *all = NULL, *pair = NULL, *none = NULL,
                              *carol = NULL, *no_more = NULL;

        of_alice = call(f, GET_MEMB, "{\"userName\":\"alice\",\"service\":\"" SERVICE "\"}", true);
        assert_int_equal(json_array_size(of_alice), 2);
        assert_int_equal(count_pairs(of_alice, "alice", "sudo"), 1);
        assert_int_equal(count_pairs(of_alice, "alice", "adm"), 1);

        of_sudo = call(f, GET_MEMB, "{\"groupName\":\"sudo\",\"service\":\"" SERVICE "\"}", true);
        assert_int_equal(json_array_size(of_sudo), 2);
        assert_int_equal(count_pairs(of_sudo, "alice", "sudo"), 1);
        assert_int_equal(count_pairs(of_sudo, "bob", "sudo"), 1);

        all = call(f, GET_MEMB, "{\"service\":\"" SERVICE "\"}", true);
        assert_int_equal(json_array_size(all), 3);

        pair = call(f, GET_MEMB, "{\"userName\":\"bob\",\"groupName\":\"sudo\",\"service\":\"" SERVICE "\"}",
                    false);
        assert_int_equal(count_pairs(pair, "bob", "sudo"), 1);

        none = call(f, GET_MEMB, "{\"userName\":\"bob\",\"groupName\":\"adm\",\"service\":\"" SERVICE "\"}",
                    true);
        assert_error(none, USERDB_ERROR_NO_RECORD_FOUND);
        carol = call(f, GET_MEMB, "{\"userName\":\"carol\",\"service\":\"" SERVICE "\"}", true);
        assert_error(carol, USERDB_ERROR_NO_RECORD_FOUND);
        no_more = call(f, GET_MEMB, "{\"userName\":\"alice\",\"service\":\"" SERVICE "\"}", false);
        assert_error(no_more, VARLINK_ERROR_EXPECTED_MORE);
}

/* Asks for alice's record as uid from a child process; returns the reply's parameters. */
static json_t *user_record_as(Fixture *f, uid_t uid)
{
        int pipefd[2];
        pid_t pid;
        char buf[64 * 1024];
        size_t n = 0;
        ssize_t k;
        int status;
        json_t *m;

        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                const char *text = "{\"method\":\"" GET_USER "\",\"parameters\":{\"userName\":\"alice\","
                                   "\"service\":\"" SERVICE "\"}}";
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                char r[64 * 1024];
                size_t got = 0;
                int fd;

                if (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
                        _exit(3);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                strncpy(sa.sun_path, f->path, sizeof(sa.sun_path) - 1);
                if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        _exit(4);
                if (send(fd, text, strlen(text) + 1, MSG_NOSIGNAL) < 0)
                        _exit(5);
                while (got < sizeof(r)) {
                        ssize_t x = recv(fd, r + got, sizeof(r) - got, 0);
                        if (x <= 0)
                                _exit(6);
                        got += (size_t) x;
                        if (memchr(r, 0, got))
                                break;
                }
                if (write(pipefd[1], r, strlen(r)) < 0)
                        _exit(7);
                _exit(0);
        }
        close(pipefd[1]);
        /* Serve while the child asks. */
        for (;;) {
                assert_true(sd_event_run(f->e, 10000) >= 0);
                if (waitpid(pid, &status, WNOHANG) == pid)
                        break;
        }
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        while ((k = read(pipefd[0], buf + n, sizeof(buf) - 1 - n)) > 0)
                n += (size_t) k;
        close(pipefd[0]);
        buf[n] = 0;
        m = json_loads(buf, 0, NULL);
        assert_non_null(m);
        return m;
}

static void privileged_section_only_for_root_and_the_user(void **state)
{
        Fixture *f = *state;
        _cleanup_json_ json_t *other = NULL, *self = NULL;
        json_t *p;

        if (geteuid() != 0) {
                skip();
                return;
        }
        other = user_record_as(f, 65534);
        p = test_reply_parameters(other);
        assert_null(test_reply_error(other));
        assert_null(json_object_get(json_object_get(p, "record"), "privileged"));
        assert_true(json_is_true(json_object_get(p, "incomplete")));
        /* Everything else is still there. */
        assert_string_equal(json_string_value(json_object_get(json_object_get(p, "record"), "realName")),
                            "alice");

        self = user_record_as(f, f->alice_uid);
        p = test_reply_parameters(self);
        assert_non_null(json_object_get(json_object_get(p, "record"), "privileged"));
        assert_true(json_is_false(json_object_get(p, "incomplete")));
}

static void record_for_peer_strips_privileged_and_secret(void **state)
{
        _cleanup_json_ json_t *host = json_pack("{s:s, s:{s:[s]}, s:{s:[s]}, s:{s:{s:i}}}", "userName",
                                                "dave", "privileged", "hashedPassword", "$6$x$y", "secret",
                                                "password", "pw", "binding", MACHINE_ID, "uid", 60100);
        _cleanup_json_ json_t *as_other = NULL, *as_self = NULL, *no_priv = NULL, *group = NULL;
        bool incomplete = false;

        assert_int_equal(userdb_user_record_for_peer(host, MACHINE_ID, "svc", 1000, &as_other, &incomplete),
                         0);
        assert_true(incomplete);
        assert_null(json_object_get(as_other, "privileged"));
        assert_null(json_object_get(as_other, "secret"));
        assert_string_equal(
                json_string_value(json_object_get(
                        json_object_get(json_object_get(as_other, "status"), MACHINE_ID), "service")),
                "svc");
        /* The input is not modified. */
        assert_non_null(json_object_get(host, "privileged"));

        assert_int_equal(userdb_user_record_for_peer(host, MACHINE_ID, "svc", 60100, &as_self, &incomplete),
                         0);
        assert_false(incomplete);
        assert_non_null(json_object_get(as_self, "privileged"));
        assert_null(json_object_get(as_self, "secret"));

        /* Nothing stripped, nothing incomplete. */
        json_object_del(host, "privileged");
        assert_int_equal(userdb_user_record_for_peer(host, MACHINE_ID, "svc", 1000, &no_priv, &incomplete),
                         0);
        assert_false(incomplete);

        assert_int_equal(userdb_user_record_for_peer(host, "fedcba9876543210fedcba9876543210", "svc", 0,
                                                     &no_priv, &incomplete),
                         -EBADMSG);
        assert_int_equal(userdb_group_record(host, MACHINE_ID, "svc", &group), 0);
        assert_string_equal(json_string_value(json_object_get(group, "groupName")), "dave");
        assert_int_equal(json_integer_value(json_object_get(group, "gid")), 60100);
}

static void served_extension_is_the_grant_extension(void **state)
{
        /* The service serves exactly the records the grant code marks. */
        assert_string_equal(USERDB_SERVED_EXTENSION, GRANT_RECORD_EXTENSION);
}

/* An index serves what its last scan saw: a user created or removed is visible once the owner scans
 * (the daemon does after each writer job and when the root's generation moves), by name, uid and list. */
static void index_follows_its_scans(void **state)
{
        Fixture *f = *state;
        RecordError err = {};
        const UserdbRecord *const *list;
        const UserdbRecord *rec;
        size_t n;
        uid_t dave_uid;
        _cleanup_json_ json_t *before = NULL, *after = NULL, *by_uid = NULL, *gone = NULL;

        before = call(f, GET_USER, "{\"userName\":\"bob\",\"service\":\"" SERVICE "\"}", false);
        assert_error(before, USERDB_ERROR_NO_RECORD_FOUND);
        assert_int_equal(userdb_index_scan(f->index), 0);
        assert_int_equal(userdb_index_stale(f->index), 3); /* alice, bob, carol: listed, none read */
        after = call(f, GET_USER, "{\"userName\":\"bob\",\"service\":\"" SERVICE "\"}", false);
        assert_string_equal(json_string_value(json_object_get(single_record(after), "userName")), "bob");
        assert_int_equal(userdb_index_stale(f->index), 2); /* a lookup by name reads that one entry */

        dave_uid = create_user(f, "dave", NULL, true);
        assert_int_equal(userdb_index_get_name(f->index, "dave", &rec), -ENOENT);
        assert_int_equal(userdb_index_scan(f->index), 0);
        assert_int_equal(userdb_index_get_name(f->index, "dave", &rec), 0);
        assert_int_equal(rec->uid, dave_uid);
        {
                _cleanup_free_ char *q = NULL;
                assert_true(asprintf(&q, "{\"uid\":%u,\"service\":\"" SERVICE "\"}", dave_uid) > 0);
                by_uid = call(f, GET_USER, q, false);
        }
        assert_string_equal(json_string_value(json_object_get(single_record(by_uid), "userName")), "dave");
        assert_int_equal(userdb_index_list(f->index, &list, &n), 0);
        assert_int_equal(n, 3); /* alice, bob, dave: carol is not ours */
        assert_int_equal(userdb_index_stale(f->index), 0);

        assert_int_equal(home_remove(f->home, "bob", &err), 0);
        assert_int_equal(userdb_index_scan(f->index), 0);
        gone = call(f, GET_USER, "{\"userName\":\"bob\",\"service\":\"" SERVICE "\"}", false);
        assert_error(gone, USERDB_ERROR_NO_RECORD_FOUND);
        assert_int_equal(userdb_index_list(f->index, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0]->user_name, "alice");
        assert_string_equal(list[1]->user_name, "dave");
}

/* A record replaced after it was read (a new file: another inode) is read again at the next scan, and no
 * longer served when it does not verify. */
static void index_rereads_a_replaced_record(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *path = NULL, *data = NULL;
        const UserdbRecord *rec;
        char *p;
        size_t size;

        assert_int_equal(userdb_index_scan(f->index), 0);
        assert_int_equal(userdb_index_load_some(f->index, 10), 0);
        assert_int_equal(userdb_index_get_name(f->index, "alice", &rec), 0);
        assert_int_equal(path_join_root(f->root, "/var/lib/systemd/home/alice.identity", &path), 0);
        assert_int_equal(read_file_bounded(AT_FDCWD, path, 1 << 20, &data, &size), 0);
        p = strstr(data, "\"realName\" : \"alice\"");
        assert_non_null(p);
        memcpy(p + strlen("\"realName\" : \""), "ALICE", 5);
        assert_int_equal(write_file_atomic(AT_FDCWD, path, data, size, 0600, -1, -1), 0);
        assert_int_equal(userdb_index_scan(f->index), 0);
        assert_int_equal(userdb_index_stale(f->index), 1);
        assert_int_equal(userdb_index_get_name(f->index, "alice", &rec), -ENOENT);
}

/* The loader reads ahead in batches, so the index is whole without a lookup paying for all of it. */
static void index_loads_in_batches(void **state)
{
        Fixture *f = *state;

        assert_int_equal(userdb_index_scan(f->index), 0);
        assert_int_equal(userdb_index_stale(f->index), 3);
        assert_int_equal(userdb_index_load_some(f->index, 1), 2);
        assert_int_equal(userdb_index_load_some(f->index, 10), 0);
        /* A scan that finds nothing changed leaves nothing to read. */
        assert_int_equal(userdb_index_scan(f->index), 0);
        assert_int_equal(userdb_index_stale(f->index), 0);
}

/* A record as grant_to_user_record() makes it for an until-expiration grant: notAfterUSec at a day
 * boundary, the exact until in the extension (end_usec). */
static uid_t create_ending_user(Fixture *f, const char *name, usec_t not_after, usec_t until)
{
        _cleanup_json_ json_t *rec = NULL, *stored = NULL;
        RecordError err = {};

        rec = json_pack("{s:s, s:s, s:I, s:I, s:{s:s, s:i, s:I}}", "userName", name, "disposition",
                        "regular", "lastChangeUSec", (json_int_t) NOW, "notAfterUSec",
                        (json_int_t) not_after, USERDB_SERVED_EXTENSION, "brandId", "acme", "revision", 1,
                        "until", (json_int_t) until);
        assert_non_null(rec);
        if (home_create(f->home, rec, &stored, &err) < 0)
                fail_msg("home_create %s: %s: %s", name, err.field, err.message);
        return (uid_t) json_integer_value(
                json_object_get(json_object_get(json_object_get(stored, "binding"), MACHINE_ID), "uid"));
}

/* notAfterUSec is until rounded up to a day (for pam_unix, grant-convert.h): lookups end the user at the
 * exact until, not at the day's end. */
static void lookups_end_at_the_grant_until_not_at_not_after(void **state)
{
        Fixture *f = *state;
        usec_t day = 24 * 3600 * USEC_PER_SEC, now = time_now_realtime();
        usec_t boundary = (now / day + 2) * day;
        _cleanup_json_ json_t *gone = NULL, *there = NULL;

        (void) create_ending_user(f, "gone", boundary, now - USEC_PER_SEC);
        (void) create_ending_user(f, "there", boundary, now + 3600 * USEC_PER_SEC);
        if (f->index)
                assert_int_equal(userdb_index_scan(f->index), 0);
        gone = call(f, GET_USER, "{\"userName\":\"gone\",\"service\":\"" SERVICE "\"}", false);
        assert_error(gone, USERDB_ERROR_NO_RECORD_FOUND);
        there = call(f, GET_USER, "{\"userName\":\"there\",\"service\":\"" SERVICE "\"}", false);
        assert_string_equal(json_string_value(json_object_get(single_record(there), "userName")), "there");
}

/* The service reads the end with its own copy of the extension name (varlink does not depend on the grant
 * code): it must answer as the grant code does. */
static void record_end_is_the_grant_record_end(void **state)
{
        const char *const records[] = {
                "{}",
                "{\"notAfterUSec\": 200, \"io.corehomed.grant\": {\"until\": 150}}",
                "{\"notAfterUSec\": 150, \"io.corehomed.grant\": {\"until\": 150}}",
                "{\"notAfterUSec\": 100, \"io.corehomed.grant\": {\"until\": 150}}",
                "{\"notAfterUSec\": 100}",
                "{\"io.corehomed.grant\": {\"until\": 150}}",
                "{\"notAfterUSec\": -5, \"io.corehomed.grant\": {\"until\": 150}}",
                "{\"notAfterUSec\": 200, \"io.corehomed.grant\": {\"until\": \"150\"}}",
        };
        const usec_t expected[] = { USEC_INFINITY, 150, 150, 100, 100, USEC_INFINITY, USEC_INFINITY, 200 };

        for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
                _cleanup_json_ json_t *r = json_loads(records[i], 0, NULL);

                assert_non_null(r);
                assert_true(userdb_record_end(r) == expected[i]);
                assert_true(grant_record_end(r) == expected[i]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(user_by_name_carries_binding_status_and_privileged_for_root,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(user_by_uid_finds_same_record, setup, teardown),
                cmocka_unit_test_setup_teardown(name_and_uid_of_different_users_conflict, setup, teardown),
                cmocka_unit_test_setup_teardown(unknown_invalid_and_foreign_users_are_not_found, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(wrong_or_missing_service_is_bad_service, setup, teardown),
                cmocka_unit_test_setup_teardown(mistyped_parameters_are_invalid_parameter, setup, teardown),
                cmocka_unit_test_setup_teardown(unknown_parameters_are_ignored, setup, teardown),
                cmocka_unit_test_setup_teardown(enumeration_streams_our_users_only, setup, teardown),
                cmocka_unit_test_setup_teardown(enumeration_with_single_result_needs_no_more, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(removed_user_disappears_at_once, setup, teardown),
                cmocka_unit_test_setup_teardown(tampered_record_is_not_served, setup, teardown),
                cmocka_unit_test_setup_teardown(group_by_name_and_gid_is_per_user_group, setup, teardown),
                cmocka_unit_test_setup_teardown(memberships_follow_member_of, setup, teardown),
                cmocka_unit_test_setup_teardown(privileged_section_only_for_root_and_the_user, setup,
                                                teardown),
                cmocka_unit_test(record_for_peer_strips_privileged_and_secret),
                cmocka_unit_test_setup_teardown(index_follows_its_scans, setup_indexed, teardown),
                cmocka_unit_test_setup_teardown(index_rereads_a_replaced_record, setup_indexed, teardown),
                cmocka_unit_test_setup_teardown(index_loads_in_batches, setup_indexed, teardown),
                cmocka_unit_test(served_extension_is_the_grant_extension),
                cmocka_unit_test_setup_teardown(lookups_end_at_the_grant_until_not_at_not_after,
                                                setup_indexed, teardown),
                cmocka_unit_test_setup_teardown(lookups_end_at_the_grant_until_not_at_not_after, setup,
                                                teardown),
                cmocka_unit_test(record_end_is_the_grant_record_end),
        };

        if (geteuid() != 0) {
                printf("SKIP: needs root (home_create chowns homes)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
