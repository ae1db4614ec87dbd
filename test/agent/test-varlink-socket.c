/* SPDX-License-Identifier: MIT */
/* The listening socket (created with its mode, stale sockets replaced, other files left alone, unlinked on
 * free, or taken from socket activation) and the synchronous client against a server in a child process. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "test-varlink-server.h"

static void socket_is_created_with_mode_and_unlinked_on_free(void **state)
{
        _cleanup_free_ char *path = NULL, *sub = NULL;
        char *dir = test_socket_dir_new(&path);
        sd_event *e = NULL;
        VarlinkServer *s = NULL;
        struct stat st;

        /* Missing parent directories are made. */
        assert_true(asprintf(&sub, "%s/a/b/socket", dir) > 0);
        assert_true(sd_event_new(&e) >= 0);
        assert_int_equal(varlink_server_new(e, sub, 0600, -1, &s), 0);
        assert_int_equal(lstat(sub, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0600);
        s = varlink_server_free(s);
        assert_int_equal(lstat(sub, &st), -1);
        assert_int_equal(errno, ENOENT);

        assert_int_equal(varlink_server_new(e, path, 0666, -1, &s), 0);
        assert_int_equal(lstat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0666);
        s = varlink_server_free(s);
        sd_event_unref(e);
        test_socket_dir_free(dir, TAKE_PTR(path));
}

static void stale_socket_is_replaced_other_files_are_not(void **state)
{
        _cleanup_free_ char *path = NULL;
        char *dir = test_socket_dir_new(&path);
        sd_event *e = NULL;
        VarlinkServer *s = NULL, *s2 = NULL;
        int fd;

        assert_true(sd_event_new(&e) >= 0);
        assert_int_equal(varlink_server_new(e, path, 0666, -1, &s), 0);
        /* Pretend the previous run crashed: its socket file is still there. */
        assert_int_equal(varlink_server_new(e, path, 0666, -1, &s2), 0);
        s2 = varlink_server_free(s2);
        s = varlink_server_free(s);

        fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(varlink_server_new(e, path, 0666, -1, &s), -EEXIST);
        assert_int_equal(access(path, F_OK), 0);
        assert_int_equal(unlink(path), 0);

        assert_int_equal(varlink_server_new(e, NULL, 0666, -1, &s), -EINVAL);
        sd_event_unref(e);
        test_socket_dir_free(dir, TAKE_PTR(path));
}

static void too_long_path_is_refused(void **state)
{
        char path[200];
        sd_event *e = NULL;
        VarlinkServer *s = NULL;

        memset(path, 'a', sizeof(path) - 1);
        path[0] = '/';
        path[sizeof(path) - 1] = 0;
        assert_true(sd_event_new(&e) >= 0);
        assert_int_equal(varlink_server_new(e, path, 0666, -1, &s), -ENAMETOOLONG);
        sd_event_unref(e);
}

static void activated_listen_fd_is_served_and_not_unlinked(void **state)
{
        _cleanup_free_ char *path = NULL;
        char *dir = test_socket_dir_new(&path);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        sd_event *e = NULL;
        VarlinkServer *s = NULL;
        TestClient *c;
        _cleanup_json_ json_t *m = NULL;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 16), 0);
        assert_true(sd_event_new(&e) >= 0);
        assert_int_equal(varlink_server_new(e, NULL, 0, fd, &s), 0);
        assert_int_equal(varlink_server_add_method(s, "org.test.Echo", test_method_echo, NULL), 0);
        assert_int_equal(varlink_server_add_method(s, "org.test.Echo", test_method_echo, NULL), -EEXIST);
        assert_int_equal(varlink_server_add_method(s, "Echo", test_method_echo, NULL), -EINVAL);

        c = test_client_new(path);
        test_send_message(c->fd, "{\"method\":\"org.test.Echo\",\"parameters\":{\"a\":1}}");
        m = test_client_read(e, c, 2000);
        assert_non_null(m);
        assert_int_equal(json_integer_value(json_object_get(test_reply_parameters(m), "a")), 1);
        test_client_free(c);
        s = varlink_server_free(s);
        /* The socket belongs to whoever activated us (systemd): it stays. */
        assert_int_equal(access(path, F_OK), 0);
        sd_event_unref(e);
        test_socket_dir_free(dir, TAKE_PTR(path));
}

/* Runs a TestServer in a child until SIGTERM. */
static pid_t server_child_start(const VarlinkLimits *limits, char **ret_dir, char **ret_path)
{
        int ready[2];
        pid_t pid;
        char byte;

        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                TestServer *t = test_server_new(limits);
                sigset_t mask;

                sigemptyset(&mask);
                sigaddset(&mask, SIGTERM);
                sigprocmask(SIG_BLOCK, &mask, NULL);
                if (sd_event_add_signal(t->e, NULL, SIGTERM, NULL, NULL) < 0)
                        _exit(3);
                if (write(ready[1], t->dir, strlen(t->dir) + 1) < 0)
                        _exit(3);
                (void) sd_event_loop(t->e);
                test_server_free(t);
                _exit(0);
        }
        close(ready[1]);
        char dir[256] = {};
        size_t n = 0;
        while (n < sizeof(dir) - 1 && read(ready[0], &byte, 1) == 1 && byte)
                dir[n++] = byte;
        close(ready[0]);
        assert_true(n > 0);
        *ret_dir = strdup(dir);
        assert_true(asprintf(ret_path, "%s/socket", dir) > 0);
        return pid;
}

static void server_child_stop(pid_t pid, char *dir, char *path)
{
        int status;

        assert_int_equal(kill(pid, SIGTERM), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        free(dir);
        free(path);
}

static void client_call_gets_reply_and_errors(void **state)
{
        char *dir, *path;
        pid_t pid = server_child_start(NULL, &dir, &path);
        _cleanup_json_ json_t *params = json_pack("{s:i}", "x", 7), *reply = NULL, *err_params = NULL;
        _cleanup_free_ char *error = NULL, *error2 = NULL;

        assert_int_equal(varlink_client_call(path, "org.test.Echo", params, 0, &reply, &error), 0);
        assert_null(error);
        assert_true(json_equal(reply, params));

        assert_int_equal(varlink_client_call(path, "org.test.Nope", NULL, 0, &err_params, &error2), 0);
        assert_string_equal(error2, VARLINK_ERROR_METHOD_NOT_FOUND);
        assert_string_equal(json_string_value(json_object_get(err_params, "method")), "org.test.Nope");

        /* Without a place for the error name, an error reply is a failure. */
        assert_int_equal(varlink_client_call(path, "org.test.Fail", NULL, 0, NULL, NULL), -EBADR);
        server_child_stop(pid, dir, path);
}

static void client_call_more_collects_every_reply(void **state)
{
        char *dir, *path;
        pid_t pid = server_child_start(NULL, &dir, &path);
        _cleanup_json_ json_t *params = json_pack("{s:i}", "x", 3), *replies = NULL, *big = NULL;
        _cleanup_json_ json_t *big_params = json_pack("{s:i}", "count", 40);
        _cleanup_free_ char *error = NULL;

        assert_int_equal(varlink_client_call_more(path, "org.test.Echo", params, 0, &replies, &error), 0);
        assert_null(error);
        assert_int_equal(json_array_size(replies), 3);
        assert_true(json_equal(json_array_get(replies, 0), params));
        assert_true(json_equal(json_array_get(replies, 1), params));
        assert_true(json_is_true(json_object_get(json_array_get(replies, 2), "last")));

        /* 2.5 MiB in 41 messages: more than any socket buffer, read as it comes. */
        assert_int_equal(varlink_client_call_more(path, "org.test.Big", big_params, 0, &big, NULL), 0);
        assert_int_equal(json_array_size(big), 41);
        server_child_stop(pid, dir, path);
}

static void client_times_out_and_reports_missing_server(void **state)
{
        char *dir, *path;
        pid_t pid = server_child_start(NULL, &dir, &path);
        _cleanup_json_ json_t *never = json_pack("{s:b}", "never", 1);
        usec_t start = test_now_usec();

        assert_int_equal(varlink_client_call(path, "org.test.Later", never, 200 * 1000, NULL, NULL),
                         -ETIMEDOUT);
        assert_true(test_now_usec() - start >= 200 * 1000);
        assert_true(test_now_usec() - start < 5 * USEC_PER_SEC);
        server_child_stop(pid, dir, path);

        assert_int_equal(
                varlink_client_call("/nonexistent/dir/socket", "org.test.Echo", NULL, 0, NULL, NULL),
                -ENOENT);
}

static void client_refuses_oversized_reply(void **state)
{
        _cleanup_free_ char *path = NULL;
        char *dir = test_socket_dir_new(&path);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        pid_t pid;
        int status;

        /* A fake server that answers with an endless message without NUL. */
        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 1), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                static char junk[65536];
                int c = accept(fd, NULL, NULL);

                memset(junk, 'a', sizeof(junk));
                while (c >= 0 && send(c, junk, sizeof(junk), MSG_NOSIGNAL) > 0)
                        ;
                _exit(0);
        }
        close(fd);
        assert_int_equal(varlink_client_call(path, "org.test.Echo", NULL, 10 * USEC_PER_SEC, NULL, NULL),
                         -E2BIG);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        test_socket_dir_free(dir, TAKE_PTR(path));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(socket_is_created_with_mode_and_unlinked_on_free),
                cmocka_unit_test(stale_socket_is_replaced_other_files_are_not),
                cmocka_unit_test(too_long_path_is_refused),
                cmocka_unit_test(activated_listen_fd_is_served_and_not_unlinked),
                cmocka_unit_test(client_call_gets_reply_and_errors),
                cmocka_unit_test(client_call_more_collects_every_reply),
                cmocka_unit_test(client_times_out_and_reports_missing_server),
                cmocka_unit_test(client_refuses_oversized_reply),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
