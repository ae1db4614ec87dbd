/* SPDX-License-Identifier: MIT */
/* The Varlink server's framing and protocol: NUL-terminated JSON in any slicing, pipelining, more/continues,
 * oneway, the standard errors, GetInfo, peer credentials, and that malformed input closes the connection
 * without disturbing other clients. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test-varlink-server.h"

static void call_gets_reply_with_its_parameters(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;

        test_send_message(c->fd,
                          "{\"method\":\"org.test.Echo\",\"parameters\":{\"x\":1,\"s\":\"\\u00e9\"}}");
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_null(test_reply_error(m));
        assert_false(test_reply_continues(m));
        assert_int_equal(json_integer_value(json_object_get(test_reply_parameters(m), "x")), 1);
        assert_string_equal(json_string_value(json_object_get(test_reply_parameters(m), "s")), "\xc3\xa9");
        test_client_free(c);
        test_server_free(t);
}

static void call_without_parameters_gets_empty_object(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;

        test_send_message(c->fd, "{\"method\":\"org.test.Echo\"}");
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_true(json_is_object(test_reply_parameters(m)));
        assert_int_equal(json_object_size(test_reply_parameters(m)), 0);
        test_client_free(c);
        test_server_free(t);
}

static void message_sent_byte_by_byte_is_reassembled(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);
        const char *text = "{\"method\":\"org.test.Echo\",\"parameters\":{\"split\":true}}";
        _cleanup_json_ json_t *m = NULL;

        for (size_t i = 0; i <= strlen(text); i++) {
                test_send(c->fd, text + i, 1);
                assert_true(sd_event_run(t->e, 0) >= 0);
        }
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_true(json_is_true(json_object_get(test_reply_parameters(m), "split")));
        test_client_free(c);
        test_server_free(t);
}

static void pipelined_calls_are_answered_in_order(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);
        char batch[4096];
        size_t n = 0;

        /* Ten calls in one write, the async one in the middle: answers keep the order. */
        for (int i = 0; i < 10; i++) {
                int len = snprintf(batch + n, sizeof(batch) - n,
                                   "{\"method\":\"org.test.%s\",\"parameters\":{\"i\":%d}}",
                                   i == 4 ? "Later" : "Echo", i);
                n += (size_t) len + 1; /* keep the NUL snprintf wrote */
        }
        test_send(c->fd, batch, n);
        for (int i = 0; i < 10; i++) {
                _cleanup_json_ json_t *m = test_client_read(t->e, c, 2000);

                assert_non_null(m);
                if (i == 4)
                        assert_true(json_is_true(json_object_get(test_reply_parameters(m), "later")));
                else
                        assert_int_equal(json_integer_value(json_object_get(test_reply_parameters(m), "i")),
                                         i);
        }
        assert_int_equal(t->later_result, 0);
        test_client_free(c);
        test_server_free(t);
}

static void more_call_gets_continues_then_final(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);

        test_send_message(c->fd, "{\"method\":\"org.test.Echo\",\"parameters\":{\"x\":2},\"more\":true}");
        for (int i = 0; i < 3; i++) {
                _cleanup_json_ json_t *m = test_client_read(t->e, c, 2000);

                assert_non_null(m);
                assert_null(test_reply_error(m));
                assert_int_equal(test_reply_continues(m), i < 2);
                if (i < 2)
                        assert_int_equal(json_integer_value(json_object_get(test_reply_parameters(m), "x")),
                                         2);
                else
                        assert_true(json_is_true(json_object_get(test_reply_parameters(m), "last")));
        }
        test_client_free(c);
        test_server_free(t);
}

static void oneway_call_gets_no_reply(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;

        test_send_message(c->fd, "{\"method\":\"org.test.Echo\",\"parameters\":{\"n\":1},\"oneway\":true}");
        test_send_message(c->fd, "{\"method\":\"org.test.Echo\",\"parameters\":{\"n\":2}}");
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        /* The first answer the client sees is the second call's. */
        assert_int_equal(json_integer_value(json_object_get(test_reply_parameters(m), "n")), 2);
        test_client_free(c);
        test_server_free(t);
}

static void expect_error(TestServer *t, const char *call, const char *error, const char *key,
                         const char *value)
{
        TestClient *c = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;

        test_send_message(c->fd, call);
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_string_equal(strempty(test_reply_error(m)), error);
        assert_true(json_is_object(test_reply_parameters(m)));
        if (key)
                assert_string_equal(
                        strempty(json_string_value(json_object_get(test_reply_parameters(m), key))), value);
        test_client_free(c);
}

static void unknown_method_and_interface_get_standard_errors(void **state)
{
        TestServer *t = test_server_new(NULL);

        expect_error(t, "{\"method\":\"org.test.Nope\"}", VARLINK_ERROR_METHOD_NOT_FOUND, "method",
                     "org.test.Nope");
        expect_error(t, "{\"method\":\"org.other.Echo\"}", VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface",
                     "org.other");
        expect_error(t, "{\"method\":\"Echo\"}", VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", "Echo");
        expect_error(t,
                     "{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{"
                     "\"interface\":\"org.test\"}}",
                     VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", "org.test");
        expect_error(t, "{\"method\":\"org.varlink.service.GetInterfaceDescription\"}",
                     VARLINK_ERROR_INVALID_PARAMETER, "parameter", "interface");
        test_server_free(t);
}

static void failing_method_gets_system_errno_error(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;

        test_send_message(c->fd, "{\"method\":\"org.test.Fail\"}");
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_string_equal(strempty(test_reply_error(m)), VARLINK_ERROR_SYSTEM);
        assert_int_equal(json_integer_value(json_object_get(test_reply_parameters(m), "errno")), ENOENT);
        test_client_free(c);
        test_server_free(t);
}

static void get_info_lists_registered_interfaces(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;
        json_t *ifaces;

        test_send_message(c->fd, "{\"method\":\"org.varlink.service.GetInfo\",\"parameters\":{}}");
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_null(test_reply_error(m));
        ifaces = json_object_get(test_reply_parameters(m), "interfaces");
        assert_int_equal(json_array_size(ifaces), 2);
        assert_string_equal(json_string_value(json_array_get(ifaces, 0)), "org.varlink.service");
        assert_string_equal(json_string_value(json_array_get(ifaces, 1)), "org.test");
        assert_string_equal(json_string_value(json_object_get(test_reply_parameters(m), "product")),
                            "corehomed");
        test_client_free(c);
        test_server_free(t);
}

static void method_sees_peer_credentials(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;

        test_send_message(c->fd, "{\"method\":\"org.test.Peer\"}");
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_int_equal(json_integer_value(json_object_get(test_reply_parameters(m), "uid")), getuid());
        assert_int_equal(json_integer_value(json_object_get(test_reply_parameters(m), "pid")), getpid());
        test_client_free(c);
        test_server_free(t);
}

/* Each of these closes the connection: the stream cannot be trusted to be in step any more. */
static const char *const malformed[] = {
        "garbage",
        "{\"method\":\"org.test.Echo\"",         /* truncated JSON */
        "[\"org.test.Echo\"]",                   /* not an object */
        "\"org.test.Echo\"",                     /* not an object */
        "{}",                                    /* no method */
        "{\"method\":42}",                       /* method not a string */
        "{\"method\":\"\"}",                     /* empty method */
        "{\"method\":\"org.test.\\u0000Echo\"}", /* NUL inside the name */
        "{\"method\":\"org.test.Echo\",\"parameters\":[1]}",
        "{\"method\":\"org.test.Echo\",\"more\":\"yes\"}",
        "{\"method\":\"org.test.Echo\",\"oneway\":1}",
        "{\"method\":\"org.test.Echo\",\"more\":true,\"oneway\":true}",
        "{\"method\":\"org.test.Echo\",\"method\":\"org.test.Peer\"}", /* duplicate key */
        "\xff\xfe{}",                                                  /* not UTF-8 */
};

static void malformed_message_closes_only_that_connection(void **state)
{
        TestServer *t = test_server_new(NULL);

        for (size_t i = 0; i < ELEMENTSOF(malformed); i++) {
                TestClient *bad = test_client_new(t->path);
                TestClient *good = test_client_new(t->path);
                _cleanup_json_ json_t *m = NULL;

                test_send_message(bad->fd, malformed[i]);
                if (!test_client_wait_closed(t->e, bad, 2000))
                        fail_msg("%s: connection stayed open", malformed[i]);
                test_send_message(good->fd, "{\"method\":\"org.test.Echo\"}");
                m = test_client_read(t->e, good, 2000);
                assert_non_null(m);
                assert_null(test_reply_error(m));
                test_client_free(bad);
                test_client_free(good);
        }
        test_pump(t->e, 10);
        assert_int_equal(varlink_server_connections(t->s), 0);
        test_server_free(t);
}

static void unknown_top_level_keys_are_ignored(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;

        test_send_message(c->fd,
                          "{\"method\":\"org.test.Echo\",\"parameters\":null,\"more\":null,\"future\":1}");
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_null(test_reply_error(m));
        test_client_free(c);
        test_server_free(t);
}

static void client_closing_mid_message_frees_connection(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);

        test_send(c->fd, "{\"method\":\"org.te", 17);
        test_pump(t->e, 20);
        assert_int_equal(varlink_server_connections(t->s), 1);
        test_client_free(c);
        test_pump(t->e, 50);
        assert_int_equal(varlink_server_connections(t->s), 0);
        test_server_free(t);
}

static void client_half_closing_after_call_still_gets_reply(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;

        test_send_message(c->fd, "{\"method\":\"org.test.Echo\",\"parameters\":{\"y\":1}}");
        assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_int_equal(json_integer_value(json_object_get(test_reply_parameters(m), "y")), 1);
        /* ...and then the server closes its side. */
        assert_true(test_client_wait_closed(t->e, c, 2000));
        test_client_free(c);
        test_server_free(t);
}

static void client_leaving_while_async_call_pending_orphans_call(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);

        test_send_message(c->fd, "{\"method\":\"org.test.Later\",\"parameters\":{\"never\":true}}");
        test_pump(t->e, 20);
        assert_non_null(t->pending);
        test_client_free(c);
        test_pump(t->e, 50);
        assert_int_equal(varlink_server_connections(t->s), 0);
        /* The method's late answer finds nobody, and frees the call (ASan checks the rest). */
        assert_int_equal(varlink_call_reply(t->pending, NULL), -ENOTCONN);
        t->pending = NULL;
        test_server_free(t);
}

static void reply_more_without_more_is_refused(void **state)
{
        TestServer *t = test_server_new(NULL);
        TestClient *c = test_client_new(t->path);
        _cleanup_json_ json_t *m = NULL;

        test_send_message(c->fd, "{\"method\":\"org.test.Later\",\"parameters\":{\"never\":true}}");
        test_pump(t->e, 20);
        assert_non_null(t->pending);
        assert_int_equal(varlink_call_reply_more(t->pending, NULL), -EPROTO);
        assert_int_equal(varlink_call_error(t->pending, "org.test.Oops", NULL), 0);
        t->pending = NULL;
        m = test_client_read(t->e, c, 2000);
        assert_non_null(m);
        assert_string_equal(strempty(test_reply_error(m)), "org.test.Oops");
        test_client_free(c);
        test_server_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(call_gets_reply_with_its_parameters),
                cmocka_unit_test(call_without_parameters_gets_empty_object),
                cmocka_unit_test(message_sent_byte_by_byte_is_reassembled),
                cmocka_unit_test(pipelined_calls_are_answered_in_order),
                cmocka_unit_test(more_call_gets_continues_then_final),
                cmocka_unit_test(oneway_call_gets_no_reply),
                cmocka_unit_test(unknown_method_and_interface_get_standard_errors),
                cmocka_unit_test(failing_method_gets_system_errno_error),
                cmocka_unit_test(get_info_lists_registered_interfaces),
                cmocka_unit_test(method_sees_peer_credentials),
                cmocka_unit_test(malformed_message_closes_only_that_connection),
                cmocka_unit_test(unknown_top_level_keys_are_ignored),
                cmocka_unit_test(client_closing_mid_message_frees_connection),
                cmocka_unit_test(client_half_closing_after_call_still_gets_reply),
                cmocka_unit_test(client_leaving_while_async_call_pending_orphans_call),
                cmocka_unit_test(reply_more_without_more_is_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
