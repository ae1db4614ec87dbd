/* SPDX-License-Identifier: MIT */
/* The Varlink server's resource limits, each at N and N+1: message size, unterminated input, connection
 * counts (total and per uid), unread output, idle clients; and many concurrent clients served at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test-varlink-server.h"

#define SMALL_MESSAGE_MAX 1024U

/* An Echo call of exactly size bytes (NUL excluded). */
static char *echo_call_of_size(size_t size)
{
        const char *head = "{\"method\":\"org.test.Echo\",\"parameters\":{\"pad\":\"";
        const char *tail = "\"}}";
        char *text = malloc(size + 1);

        assert_non_null(text);
        assert_true(size > strlen(head) + strlen(tail));
        memset(text, 'p', size);
        memcpy(text, head, strlen(head));
        memcpy(text + size - strlen(tail), tail, strlen(tail));
        text[size] = 0;
        return text;
}

static void message_of_exactly_max_size_is_accepted(void **state)
{
        VarlinkLimits l = { .message_max = SMALL_MESSAGE_MAX };
        TestServer *t = test_server_new(&l);
        TestClient *c = test_client_new(t->path);
        _cleanup_free_ char *text = echo_call_of_size(SMALL_MESSAGE_MAX);
        _cleanup_json_ json_t *m = NULL;

        test_send_message(c->fd, text);
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_null(test_reply_error(m));
        test_client_free(c);
        test_server_free(t);
}

static void message_one_byte_over_max_closes_connection(void **state)
{
        VarlinkLimits l = { .message_max = SMALL_MESSAGE_MAX };
        TestServer *t = test_server_new(&l);
        TestClient *c = test_client_new(t->path);
        _cleanup_free_ char *text = echo_call_of_size(SMALL_MESSAGE_MAX + 1);

        test_send_message(c->fd, text);
        assert_true(test_client_wait_closed(t->e, c, 2000));
        test_client_free(c);
        test_server_free(t);
}

static void default_limit_is_128k(void **state)
{
        TestServer *t = test_server_new(NULL);
        _cleanup_free_ char *ok = echo_call_of_size(VARLINK_MESSAGE_MAX_DEFAULT);
        _cleanup_free_ char *big = echo_call_of_size(VARLINK_MESSAGE_MAX_DEFAULT + 1);
        TestClient *c = test_client_new(t->path), *d = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;

        assert_int_equal(VARLINK_MESSAGE_MAX_DEFAULT, 128 * 1024);
        /* Sent in pieces while pumping: the socket buffer may be smaller than the message. */
        for (size_t off = 0; off < strlen(ok) + 1; off += 8192) {
                size_t n = strlen(ok) + 1 - off < 8192 ? strlen(ok) + 1 - off : 8192;
                test_send(c->fd, ok + off, n);
                test_pump(t->e, 1);
        }
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_null(test_reply_error(m));

        for (size_t off = 0; off < strlen(big) + 1; off += 8192) {
                size_t n = strlen(big) + 1 - off < 8192 ? strlen(big) + 1 - off : 8192;
                if (send(d->fd, big + off, n, MSG_NOSIGNAL) < 0)
                        break; /* closed by the server already */
                test_pump(t->e, 1);
        }
        assert_true(test_client_wait_closed(t->e, d, 2000));
        test_client_free(c);
        test_client_free(d);
        test_server_free(t);
}

static void input_without_nul_closes_connection_at_limit(void **state)
{
        VarlinkLimits l = { .message_max = SMALL_MESSAGE_MAX };
        TestServer *t = test_server_new(&l);
        TestClient *c = test_client_new(t->path);
        char junk[SMALL_MESSAGE_MAX + 1];

        /* message_max bytes without NUL may still become a message... */
        memset(junk, ' ', sizeof(junk));
        test_send(c->fd, junk, SMALL_MESSAGE_MAX);
        test_pump(t->e, 30);
        assert_int_equal(varlink_server_connections(t->s), 1);
        /* ...one more byte without NUL cannot. */
        test_send(c->fd, junk, 1);
        assert_true(test_client_wait_closed(t->e, c, 2000));
        test_client_free(c);
        test_server_free(t);
}

static void connections_beyond_max_are_closed(void **state)
{
        VarlinkLimits l = { .connections_max = 4 };
        TestServer *t = test_server_new(&l);
        TestClient *c[5];
        _cleanup_json_ json_t *m = NULL;

        for (size_t i = 0; i < 4; i++) {
                c[i] = test_client_new(t->path);
                test_pump(t->e, 5);
        }
        assert_int_equal(varlink_server_connections(t->s), 4);
        c[4] = test_client_new(t->path);
        assert_true(test_client_wait_closed(t->e, c[4], 2000));
        assert_int_equal(varlink_server_connections(t->s), 4);
        /* The four still work, and a slot freed is a slot available. */
        for (size_t i = 0; i < 4; i++) {
                _cleanup_json_ json_t *r = NULL;

                test_send_message(c[i]->fd, "{\"method\":\"org.test.Echo\"}");
                r = test_client_read(t->e, c[i], 2000);
                assert_non_null(r);
        }
        test_client_free(c[0]);
        test_client_free(c[4]);
        test_pump(t->e, 20);
        c[0] = test_client_new(t->path);
        test_send_message(c[0]->fd, "{\"method\":\"org.test.Echo\"}");
        m = test_client_read(t->e, c[0], 2000);
        assert_non_null(m);
        for (size_t i = 0; i < 4; i++)
                test_client_free(c[i]);
        test_server_free(t);
}

static void connections_per_uid_beyond_max_are_closed(void **state)
{
        VarlinkLimits l = { .connections_max = 10, .connections_per_uid_max = 3 };
        TestServer *t = test_server_new(&l);
        TestClient *c[4];

        for (size_t i = 0; i < 3; i++) {
                c[i] = test_client_new(t->path);
                test_pump(t->e, 5);
        }
        assert_int_equal(varlink_server_connections(t->s), 3);
        c[3] = test_client_new(t->path);
        assert_true(test_client_wait_closed(t->e, c[3], 2000));
        assert_int_equal(varlink_server_connections(t->s), 3);
        for (size_t i = 0; i < 4; i++)
                test_client_free(c[i]);
        test_server_free(t);
}

static void default_connection_limits(void **state)
{
        assert_int_equal(VARLINK_CONNECTIONS_MAX_DEFAULT, 256);
        assert_true(VARLINK_CONNECTIONS_PER_UID_MAX_DEFAULT <= VARLINK_CONNECTIONS_MAX_DEFAULT);
}

static void many_concurrent_clients_are_all_served(void **state)
{
        enum { N = 200 };
        /* All test clients share one uid: lift the per-uid share to the total. */
        VarlinkLimits l = { .connections_per_uid_max = VARLINK_CONNECTIONS_MAX_DEFAULT };
        TestServer *t = test_server_new(&l);
        TestClient *c[N];
        size_t answered = 0;
        usec_t end;

        /* Every client asks before any is answered: the server must interleave them, never block on one. */
        for (size_t i = 0; i < N; i++) {
                char text[128];

                c[i] = test_client_new(t->path);
                snprintf(text, sizeof(text), "{\"method\":\"org.test.Echo\",\"parameters\":{\"i\":%zu}}", i);
                test_send_message(c[i]->fd, text);
        }
        end = test_now_usec() + 10 * USEC_PER_SEC;
        while (answered < N && test_now_usec() < end) {
                assert_true(sd_event_run(t->e, 10000) >= 0);
                answered = 0;
                for (size_t i = 0; i < N; i++) {
                        test_client_drain(c[i]);
                        answered += memchr(c[i]->buf, 0, c[i]->size) != NULL;
                }
        }
        assert_int_equal(answered, N);
        for (size_t i = 0; i < N; i++) {
                _cleanup_json_ json_t *m = test_client_read(t->e, c[i], 1000);

                assert_non_null(m);
                assert_int_equal(json_integer_value(json_object_get(test_reply_parameters(m), "i")), i);
                test_client_free(c[i]);
        }
        test_server_free(t);
}

static void client_not_reading_is_closed_at_output_limit(void **state)
{
        VarlinkLimits l = { .output_max = 256 * 1024 };
        TestServer *t = test_server_new(&l);
        TestClient *c = test_client_new(t->path);
        int size = 4096;

        /* Small socket buffers so the kernel cannot absorb the replies for the client. */
        assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)), 0);
        test_send_message(c->fd,
                          "{\"method\":\"org.test.Big\",\"parameters\":{\"count\":64},\"more\":true}");
        test_pump(t->e, 100);
        /* 4 MiB of replies never fit in 256 KiB: the connection is gone, the server did not block. */
        assert_int_equal(varlink_server_connections(t->s), 0);
        test_client_free(c);
        test_server_free(t);
}

static void client_reading_gets_large_output_in_full(void **state)
{
        VarlinkLimits l = { .output_max = 256 * 1024 };
        TestServer *t = test_server_new(&l);
        TestClient *c = test_client_new(t->path);
        size_t replies = 0;

        /* Three 64 KiB replies fit the limit even if the client reads late. */
        test_send_message(c->fd, "{\"method\":\"org.test.Big\",\"parameters\":{\"count\":3},\"more\":true}");
        for (;;) {
                _cleanup_json_ json_t *m = test_client_read(t->e, c, 2000);

                assert_non_null(m);
                replies++;
                if (!test_reply_continues(m))
                        break;
                assert_int_equal(json_string_length(json_object_get(test_reply_parameters(m), "data")),
                                 64 * 1024);
        }
        assert_int_equal(replies, 4);
        test_client_free(c);
        test_server_free(t);
}

static void idle_client_is_closed_after_timeout(void **state)
{
        VarlinkLimits l = { .idle_timeout = 100 * 1000 };
        TestServer *t = test_server_new(&l);
        TestClient *idle = test_client_new(t->path);
        TestClient *busy = test_client_new(t->path);
        usec_t start = test_now_usec();

        /* The busy one keeps talking: only silence counts. */
        for (int i = 0; i < 6; i++) {
                _cleanup_json_ json_t *m = NULL;

                test_send_message(busy->fd, "{\"method\":\"org.test.Echo\"}");
                m = test_client_read(t->e, busy, 2000);
                assert_non_null(m);
                test_pump(t->e, 40);
        }
        assert_true(test_client_wait_closed(t->e, idle, 2000));
        assert_true(test_now_usec() - start >= 100 * 1000);
        test_client_drain(busy);
        assert_false(busy->eof);
        test_client_free(idle);
        test_client_free(busy);
        test_server_free(t);
}

static void pending_async_call_is_not_idle(void **state)
{
        VarlinkLimits l = { .idle_timeout = 50 * 1000 };
        TestServer *t = test_server_new(&l);
        TestClient *c = test_client_new(t->path);

        test_send_message(c->fd, "{\"method\":\"org.test.Later\",\"parameters\":{\"never\":true}}");
        test_pump(t->e, 200);
        assert_int_equal(varlink_server_connections(t->s), 1);
        assert_int_equal(varlink_call_reply(t->pending, NULL), 0);
        t->pending = NULL;
        test_client_free(c);
        test_server_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(message_of_exactly_max_size_is_accepted),
                cmocka_unit_test(message_one_byte_over_max_closes_connection),
                cmocka_unit_test(default_limit_is_128k),
                cmocka_unit_test(input_without_nul_closes_connection_at_limit),
                cmocka_unit_test(connections_beyond_max_are_closed),
                cmocka_unit_test(connections_per_uid_beyond_max_are_closed),
                cmocka_unit_test(default_connection_limits),
                cmocka_unit_test(many_concurrent_clients_are_all_served),
                cmocka_unit_test(client_not_reading_is_closed_at_output_limit),
                cmocka_unit_test(client_reading_gets_large_output_in_full),
                cmocka_unit_test(idle_client_is_closed_after_timeout),
                cmocka_unit_test(pending_async_call_is_not_idle),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
