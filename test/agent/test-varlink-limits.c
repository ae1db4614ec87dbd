/* SPDX-License-Identifier: MIT */
/* The Varlink server's resource limits, each at N and N+1: message size, unterminated input, connection
 * counts (total, root's reserve, per uid), unread output, the message deadline, idle clients; and many
 * concurrent clients served at once. Clients of other uids need root (seteuid around connect()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test-varlink-server.h"

#define SMALL_MESSAGE_MAX 1024U
#define UID_A             65534U
#define UID_B             65533U
#define UID_C             65532U

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

/* Pumps a little, then whether the server kept c (a refused connection is accepted and closed at once). */
static bool test_client_kept(TestServer *t, TestClient *c)
{
        test_pump(t->e, 5);
        test_client_drain(c);
        return !c->eof;
}

static void connections_beyond_max_are_closed(void **state)
{
        VarlinkLimits l = { .connections_max = 4,
                            .connections_reserved_root = 1,
                            .connections_per_uid_max = 3 };
        TestServer *t;
        TestClient *c[5];
        _cleanup_json_ json_t *m = NULL;

        /* The total binds root alone: other uids stop short of it, at root's reserve. */
        test_require_root();
        t = test_server_new(&l);
        /* Root may use every slot, its reserve included... */
        for (size_t i = 0; i < 4; i++)
                assert_true(test_client_kept(t, c[i] = test_client_new(t->path)));
        assert_int_equal(varlink_server_connections(t->s), 4);
        /* ...but not one more. */
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
        VarlinkLimits l = { .connections_max = 10,
                            .connections_reserved_root = 2,
                            .connections_per_uid_max = 3 };
        TestServer *t;
        TestClient *a[4], *b;

        test_require_root();
        t = test_server_new(&l);
        for (size_t i = 0; i < 3; i++) {
                a[i] = test_client_new_as(t->path, UID_A);
                assert_true(test_client_kept(t, a[i]));
        }
        a[3] = test_client_new_as(t->path, UID_A);
        assert_true(test_client_wait_closed(t->e, a[3], 2000));
        assert_int_equal(varlink_server_connections(t->s), 3);
        /* Another uid is not counted with the first. */
        b = test_client_new_as(t->path, UID_B);
        assert_true(test_client_kept(t, b));
        assert_int_equal(varlink_server_connections(t->s), 4);
        for (size_t i = 0; i < 4; i++)
                test_client_free(a[i]);
        test_client_free(b);
        test_server_free(t);
}

static void root_reserve_is_never_taken_by_other_uids(void **state)
{
        /* Six slots, two of them root's: the other uids share four, at most two each. */
        VarlinkLimits l = { .connections_max = 6,
                            .connections_reserved_root = 2,
                            .connections_per_uid_max = 2 };
        TestServer *t;
        TestClient *c[4], *late, *root[3];
        const uid_t uids[4] = { UID_A, UID_A, UID_B, UID_B };

        test_require_root();
        t = test_server_new(&l);
        for (size_t i = 0; i < 4; i++) {
                c[i] = test_client_new_as(t->path, uids[i]);
                assert_true(test_client_kept(t, c[i]));
        }
        /* N unprivileged connections are in; one more, of a uid with nothing yet, is not. */
        late = test_client_new_as(t->path, UID_C);
        assert_true(test_client_wait_closed(t->e, late, 2000));
        assert_int_equal(varlink_server_connections(t->s), 4);
        /* Root gets the reserve, and is answered. */
        for (size_t i = 0; i < 2; i++) {
                _cleanup_json_ json_t *m = NULL;

                root[i] = test_client_new(t->path);
                test_send_message(root[i]->fd, "{\"method\":\"org.test.Echo\"}");
                m = test_client_read(t->e, root[i], 2000);
                assert_non_null(m);
                assert_null(test_reply_error(m));
        }
        /* The total still holds for root. */
        root[2] = test_client_new(t->path);
        assert_true(test_client_wait_closed(t->e, root[2], 2000));
        /* A slot one uid gives back is there for another. */
        test_client_free(c[0]);
        c[0] = NULL;
        test_pump(t->e, 20);
        test_client_free(late);
        late = test_client_new_as(t->path, UID_C);
        assert_true(test_client_kept(t, late));
        for (size_t i = 0; i < 4; i++)
                test_client_free(c[i]);
        for (size_t i = 0; i < 3; i++)
                test_client_free(root[i]);
        test_client_free(late);
        test_server_free(t);
}

static void inconsistent_connection_limits_are_refused(void **state)
{
        TestServer *t = test_server_new(NULL);
        VarlinkLimits reserve_all = { .connections_max = 8,
                                      .connections_reserved_root = 8,
                                      .connections_per_uid_max = 1 };
        VarlinkLimits share_too_large = { .connections_max = 8,
                                          .connections_reserved_root = 2,
                                          .connections_per_uid_max = 7 };
        VarlinkLimits share_all = { .connections_max = 8,
                                    .connections_reserved_root = 2,
                                    .connections_per_uid_max = 6 };

        assert_int_equal(varlink_server_set_limits(t->s, &reserve_all), -EINVAL);
        assert_int_equal(varlink_server_set_limits(t->s, &share_too_large), -EINVAL);
        assert_int_equal(varlink_server_set_limits(t->s, &share_all), 0);
        test_server_free(t);
}

static void default_connection_limits(void **state)
{
        assert_int_equal(VARLINK_CONNECTIONS_MAX_DEFAULT, 1024);
        assert_int_equal(VARLINK_CONNECTIONS_RESERVED_ROOT_DEFAULT, 64);
        assert_int_equal(VARLINK_CONNECTIONS_PER_UID_MAX_DEFAULT, 64);
        /* It takes 15 uids to fill what root's reserve leaves. */
        assert_int_equal((VARLINK_CONNECTIONS_MAX_DEFAULT - VARLINK_CONNECTIONS_RESERVED_ROOT_DEFAULT +
                          VARLINK_CONNECTIONS_PER_UID_MAX_DEFAULT - 1) /
                                 VARLINK_CONNECTIONS_PER_UID_MAX_DEFAULT,
                         15);
        assert_int_equal(VARLINK_MESSAGE_TIMEOUT_DEFAULT, 10 * USEC_PER_SEC);
        assert_true(VARLINK_MESSAGE_TIMEOUT_DEFAULT < VARLINK_IDLE_TIMEOUT_DEFAULT);
}

static void many_concurrent_clients_are_all_served(void **state)
{
        enum { N = 200 };
        /* All test clients share one uid (root, or whoever runs the test): room for all of them. */
        VarlinkLimits l = { .connections_max = 256,
                            .connections_reserved_root = 1,
                            .connections_per_uid_max = 255 };
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

/* Sends one byte of text every step_ms while pumping, until the server closes the connection or ms
 * passed; returns how long the client lasted, in ms. */
static unsigned trickle_until_closed(TestServer *t, TestClient *c, const char *text, unsigned step_ms,
                                     unsigned ms)
{
        usec_t start = test_now_usec(), end = start + (usec_t) ms * 1000U;

        for (size_t i = 0; test_now_usec() < end; i++) {
                /* Never the NUL: the message stays incomplete. */
                if (send(c->fd, text + i % strlen(text), 1, MSG_NOSIGNAL) < 0)
                        break;
                test_pump(t->e, step_ms);
                test_client_drain(c);
                if (c->eof)
                        break;
        }
        return (unsigned) ((test_now_usec() - start) / 1000U);
}

static void trickling_client_is_closed_at_message_deadline(void **state)
{
        /* Each byte renews the idle timeout; the message deadline is not moved by any of them. */
        VarlinkLimits l = { .message_timeout = 200 * 1000, .idle_timeout = 10 * USEC_PER_SEC };
        TestServer *t = test_server_new(&l);
        TestClient *c = test_client_new(t->path);
        unsigned lasted = trickle_until_closed(t, c, "{\"method\":\"org.test.Echo\"}", 20, 3000);

        assert_true(c->eof);
        assert_true(lasted >= 200);
        assert_true(lasted < 1500);
        test_client_free(c);
        test_server_free(t);
}

static void message_completed_before_deadline_is_answered(void **state)
{
        VarlinkLimits l = { .message_timeout = 400 * 1000 };
        TestServer *t = test_server_new(&l);
        TestClient *c = test_client_new(t->path);
        const char *text = "{\"method\":\"org.test.Echo\",\"parameters\":{\"n\":1}}";
        size_t half = strlen(text) / 2;

        /* Two messages, each begun, paused (less than the deadline) and completed: the second one's clock
         * starts at its own first byte, not at the first message's. */
        for (int i = 0; i < 2; i++) {
                _cleanup_json_ json_t *m = NULL;

                test_send(c->fd, text, half);
                test_pump(t->e, 250);
                test_send(c->fd, text + half, strlen(text) + 1 - half);
                m = test_client_read(t->e, c, 2000);
                assert_non_null(m);
                assert_null(test_reply_error(m));
                test_pump(t->e, 250);
        }
        test_client_free(c);
        test_server_free(t);
}

static void message_sent_in_time_counts_even_when_loop_was_busy(void **state)
{
        VarlinkLimits l = { .message_timeout = 100 * 1000 };
        TestServer *t = test_server_new(&l);
        TestClient *c = test_client_new(t->path);
        const char *text = "{\"method\":\"org.test.Echo\"}";
        _cleanup_json_ json_t *m = NULL;

        test_send(c->fd, text, 5);
        test_pump(t->e, 20);
        usleep(150 * 1000);
        /* The loop sees the deadline pass (and nothing else)... */
        assert_int_equal(sd_event_prepare(t->e), 0);
        assert_int_equal(sd_event_wait(t->e, 0), 1);
        /* ...the rest arrives before it handles that, as when the loop is busy with others... */
        test_send(c->fd, text + 5, strlen(text) + 1 - 5);
        assert_true(sd_event_dispatch(t->e) >= 0);
        /* ...and the message is complete: answered, not cut. */
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_null(test_reply_error(m));
        test_client_free(c);
        test_server_free(t);
}

static void message_deadline_waits_while_call_is_ours(void **state)
{
        VarlinkLimits l = { .message_timeout = 100 * 1000 };
        TestServer *t = test_server_new(&l);
        TestClient *c = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;

        /* A call we leave pending, and the start of the next message behind it. */
        test_send_message(c->fd, "{\"method\":\"org.test.Later\",\"parameters\":{\"never\":true}}");
        test_send(c->fd, "{\"meth", 6);
        test_pump(t->e, 300);
        assert_int_equal(varlink_server_connections(t->s), 1);
        assert_int_equal(varlink_call_reply(t->pending, NULL), 0);
        t->pending = NULL;
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        /* Now the client is the one we wait for. */
        assert_true(test_client_wait_closed(t->e, c, 2000));
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
                cmocka_unit_test(root_reserve_is_never_taken_by_other_uids),
                cmocka_unit_test(inconsistent_connection_limits_are_refused),
                cmocka_unit_test(default_connection_limits),
                cmocka_unit_test(many_concurrent_clients_are_all_served),
                cmocka_unit_test(client_not_reading_is_closed_at_output_limit),
                cmocka_unit_test(client_reading_gets_large_output_in_full),
                cmocka_unit_test(idle_client_is_closed_after_timeout),
                cmocka_unit_test(pending_async_call_is_not_idle),
                cmocka_unit_test(trickling_client_is_closed_at_message_deadline),
                cmocka_unit_test(message_completed_before_deadline_is_answered),
                cmocka_unit_test(message_sent_in_time_counts_even_when_loop_was_busy),
                cmocka_unit_test(message_deadline_waits_while_call_is_ours),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
