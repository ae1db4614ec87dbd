/* SPDX-License-Identifier: MIT */
/* The Varlink server shares its time between uids, and a uid's time between its connections: one message
 * per turn, so a local user pipelining many calls on many connections (flooding the userdb socket) delays
 * another user's lookup by about one call, not by everything it has queued; and a pipelining client that
 * does not read its answers holds one answer at a time, not all of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test-varlink-server.h"

#define ECHO "{\"method\":\"org.test.Echo\"}"

/* Complete replies c has received so far (drained, not consumed). */
static size_t replies_received(TestClient *c)
{
        size_t n = 0;

        test_client_drain(c);
        for (size_t i = 0; i < c->size; i++)
                n += c->buf[i] == 0;
        return n;
}

static void send_pipelined(TestClient *c, const char *call, size_t count)
{
        size_t len = strlen(call) + 1;
        _cleanup_free_ char *block = malloc(len * count);

        assert_non_null(block);
        for (size_t i = 0; i < count; i++)
                memcpy(block + i * len, call, len);
        test_send(c->fd, block, len * count);
}

/* Pumps until every one of the n clients has at least one reply. */
static void pump_until_each_answered(TestServer *t, TestClient **c, size_t n)
{
        usec_t end = test_now_usec() + 5 * USEC_PER_SEC;

        for (;;) {
                size_t answered = 0;

                for (size_t i = 0; i < n; i++)
                        answered += replies_received(c[i]) > 0;
                if (answered == n)
                        return;
                if (test_now_usec() >= end)
                        fail_msg("only %zu of %zu clients answered within 5 s", answered, n);
                assert_true(sd_event_run(t->e, 1000) >= 0);
        }
}

/* The flooders' replies at the moment victim got its answer. */
static size_t flooder_replies_when_victim_answered(TestServer *t, TestClient **flooders, size_t n,
                                                   TestClient *victim)
{
        usec_t end = test_now_usec() + 5 * USEC_PER_SEC;
        size_t total = 0;

        while (replies_received(victim) == 0) {
                if (test_now_usec() >= end)
                        fail_msg("the victim was not answered within 5 s");
                assert_true(sd_event_run(t->e, 1000) >= 0);
        }
        for (size_t i = 0; i < n; i++)
                total += replies_received(flooders[i]);
        return total;
}

static void pipelining_client_delays_another_by_about_one_call(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *flooder = test_client_new(t->path), *victim = test_client_new(t->path);
        size_t before_victim;

        send_pipelined(flooder, ECHO, 100);
        pump_until_each_answered(t, &flooder, 1);
        test_send_message(victim->fd, ECHO);
        before_victim = flooder_replies_when_victim_answered(t, &flooder, 1, victim);
        /* One turn for the flooder before the victim arrived, one or two while it did. */
        assert_true(before_victim <= 4);
        /* The flooder still gets every answer, in order. */
        for (size_t i = 0; i < 100; i++) {
                _cleanup_json_ json_t *m = test_client_read(t->e, flooder, 2000);

                assert_non_null(m);
                assert_null(test_reply_error(m));
        }
        test_client_free(flooder);
        test_client_free(victim);
        test_server_free(t);
}

static void connections_of_one_uid_take_turns(void **state)
{
        enum { FLOODERS = 8, CALLS = 200 };
        TestServer *t = test_server_new(NULL);
        TestClient *flooders[FLOODERS], *victim = test_client_new(t->path);
        size_t before_victim;

        /* All of them root: the victim's connection waits behind each of the others once. */
        for (size_t i = 0; i < FLOODERS; i++) {
                flooders[i] = test_client_new(t->path);
                send_pipelined(flooders[i], ECHO, CALLS);
        }
        pump_until_each_answered(t, flooders, FLOODERS);
        test_send_message(victim->fd, ECHO);
        before_victim = flooder_replies_when_victim_answered(t, flooders, FLOODERS, victim);
        /* A few turns each, never their whole queues (FLOODERS * CALLS). */
        assert_true(before_victim <= FLOODERS * 4);
        for (size_t i = 0; i < FLOODERS; i++)
                test_client_free(flooders[i]);
        test_client_free(victim);
        test_server_free(t);
}

static void uid_with_many_connections_gets_one_turn_like_any_other(void **state)
{
        enum { FLOODERS = 16, CALLS = 200 };
        TestServer *t;
        TestClient *flooders[FLOODERS], *victim;
        size_t before_send = 0, before_victim;

        test_require_root();
        t = test_server_new(NULL);
        victim = test_client_new_as(t->path, 65533);
        for (size_t i = 0; i < FLOODERS; i++) {
                flooders[i] = test_client_new_as(t->path, 65534);
                send_pipelined(flooders[i], ECHO, CALLS);
        }
        pump_until_each_answered(t, flooders, FLOODERS);
        for (size_t i = 0; i < FLOODERS; i++)
                before_send += replies_received(flooders[i]);
        test_send_message(victim->fd, ECHO);
        before_victim = flooder_replies_when_victim_answered(t, flooders, FLOODERS, victim);
        /* Turns go by uid: the flooding uid's sixteen connections count as one, so the victim waits for
         * about one of their calls, not one of each. */
        assert_true(before_send <= FLOODERS * 2);
        assert_true(before_victim - before_send <= 4);
        for (size_t i = 0; i < FLOODERS; i++)
                test_client_free(flooders[i]);
        test_client_free(victim);
        test_server_free(t);
}

/* Connections that each send one call, as nss-systemd does: a call that completes while nobody waits for
 * a turn is answered at once (it would be the next turn anyway), but not when other connections have unread
 * calls too: then their uids take turns. Answering every call at once as it is read would serve a uid with
 * many connections once per connection, ahead of the victim. */
static void uid_with_many_one_call_connections_gets_one_turn_like_any_other(void **state)
{
        enum { FLOODERS = 6, ROUNDS = 20 };
        TestServer *t;
        size_t worst = 0;

        test_require_root();
        t = test_server_new(NULL);
        for (unsigned round = 0; round < ROUNDS; round++) {
                TestClient *flooders[FLOODERS], *victim = NULL;
                size_t before_victim;

                /* Connected and accepted first, so each call arrives on an open connection and is read
                 * by the loop's dispatch of that connection. The loop dispatches the readable ones in an
                 * order of its own: the victim connects and sends at another place in each round, so some
                 * round has it read last. */
                size_t victim_at = round % (FLOODERS + 1);

                for (size_t i = 0; i <= FLOODERS; i++) {
                        if (i == victim_at)
                                victim = test_client_new_as(t->path, 65533);
                        if (i < FLOODERS)
                                flooders[i] = test_client_new_as(t->path, 65534);
                }
                while (varlink_server_connections(t->s) < FLOODERS + 1)
                        assert_true(sd_event_run(t->e, 1000) >= 0);
                for (size_t i = 0; i <= FLOODERS; i++) {
                        if (i == victim_at)
                                test_send_message(victim->fd, ECHO);
                        if (i < FLOODERS)
                                test_send_message(flooders[i]->fd, ECHO);
                }
                before_victim = flooder_replies_when_victim_answered(t, flooders, FLOODERS, victim);
                if (before_victim > worst)
                        worst = before_victim;
                pump_until_each_answered(t, flooders, FLOODERS);
                for (size_t i = 0; i < FLOODERS; i++)
                        test_client_free(flooders[i]);
                test_client_free(victim);
                while (varlink_server_connections(t->s) > 0)
                        assert_true(sd_event_run(t->e, 1000) >= 0);
        }
        /* The flooding uid's first call may go at once; then turns alternate. */
        assert_true(worst <= 2);
        test_server_free(t);
}

static void pipelining_client_not_reading_holds_one_answer_at_a_time(void **state)
{
        /* Twenty calls of 64 KiB answers each are far beyond the output limit together; one at a time they
         * are not, and the client that reads late still gets them all. */
        VarlinkLimits l = { .output_max = 256 * 1024 };
        TestServer *t = test_server_new(&l);
        TestClient *c = test_client_new(t->path);
        int size = 4096;
        size_t finals = 0;

        assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)), 0);
        send_pipelined(c, "{\"method\":\"org.test.Big\",\"parameters\":{\"count\":1},\"more\":true}", 20);
        test_pump(t->e, 200);
        assert_int_equal(varlink_server_connections(t->s), 1);
        while (finals < 20) {
                _cleanup_json_ json_t *m = test_client_read(t->e, c, 2000);

                assert_non_null(m);
                assert_null(test_reply_error(m));
                finals += !test_reply_continues(m);
        }
        test_client_free(c);
        test_server_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(pipelining_client_delays_another_by_about_one_call),
                cmocka_unit_test(connections_of_one_uid_take_turns),
                cmocka_unit_test(uid_with_many_connections_gets_one_turn_like_any_other),
                cmocka_unit_test(uid_with_many_one_call_connections_gets_one_turn_like_any_other),
                cmocka_unit_test(pipelining_client_not_reading_holds_one_answer_at_a_time),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
