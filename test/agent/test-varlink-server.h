/* SPDX-License-Identifier: MIT */
#pragma once

/* A test server with a few methods that exercise every way of answering (test-varlink-*.c). */

#include "test-varlink-util.h"

typedef struct TestServer {
        sd_event *e;
        VarlinkServer *s;
        char *dir, *path;
        VarlinkCall *pending;   /* org.test.Later's call until its timer answers it */
        int later_result;       /* what varlink_call_reply() returned for it */
        sd_event_source *later; /* the timer */
} TestServer;

/* org.test.Echo: replies with its parameters; with "more", two "continues" copies first, then
 * {"last": true}. */
static inline int test_method_echo(VarlinkCall *call, json_t *parameters, void *userdata)
{
        _cleanup_json_ json_t *last = NULL;

        if (!varlink_call_wants_more(call))
                return varlink_call_reply(call, parameters);
        for (int i = 0; i < 2; i++) {
                int r = varlink_call_reply_more(call, parameters);
                if (r < 0)
                        return r;
        }
        last = json_pack("{s:b}", "last", 1);
        return varlink_call_reply(call, last);
}

/* org.test.Peer: {"uid": peer uid, "pid": peer pid}. */
static inline int test_method_peer(VarlinkCall *call, json_t *parameters, void *userdata)
{
        _cleanup_json_ json_t *p = NULL;
        uid_t uid;
        pid_t pid;

        assert_int_equal(varlink_call_peer(call, &uid, &pid), 0);
        p = json_pack("{s:I, s:I}", "uid", (json_int_t) uid, "pid", (json_int_t) pid);
        return varlink_call_reply(call, p);
}

/* org.test.Fail: fails with ENOENT without answering. */
static inline int test_method_fail(VarlinkCall *call, json_t *parameters, void *userdata)
{
        return -ENOENT;
}

/* org.test.Big {"count": N}: N "continues" replies of 64 KiB each, then {}. */
static inline int test_method_big(VarlinkCall *call, json_t *parameters, void *userdata)
{
        json_int_t count = json_integer_value(json_object_get(parameters, "count"));
        _cleanup_free_ char *data = malloc(64 * 1024 + 1);
        _cleanup_json_ json_t *p = NULL;

        assert_non_null(data);
        memset(data, 'x', 64 * 1024);
        data[64 * 1024] = 0;
        p = json_pack("{s:s}", "data", data);
        for (json_int_t i = 0; i < count; i++) {
                int r = varlink_call_reply_more(call, p);
                if (r < 0) {
                        (void) varlink_call_reply(call, NULL);
                        return 0;
                }
        }
        return varlink_call_reply(call, NULL);
}

static inline int test_later_fire(sd_event_source *source, uint64_t usec, void *userdata)
{
        TestServer *t = userdata;
        _cleanup_json_ json_t *p = json_pack("{s:b}", "later", 1);

        t->later_result = varlink_call_reply(t->pending, p);
        t->pending = NULL;
        return 0;
}

/* org.test.Later: answered 20 ms later from a timer ({"later": true}); {"never": true} leaves it pending. */
static inline int test_method_later(VarlinkCall *call, json_t *parameters, void *userdata)
{
        TestServer *t = userdata;

        assert_null(t->pending);
        t->pending = call;
        if (json_is_true(json_object_get(parameters, "never")))
                return 0;
        t->later = sd_event_source_disable_unref(t->later);
        assert_true(sd_event_add_time_relative(t->e, &t->later, CLOCK_MONOTONIC, 20 * 1000, 0,
                                               test_later_fire, t) >= 0);
        return 0;
}

static inline TestServer *test_server_new(const VarlinkLimits *limits)
{
        TestServer *t = calloc(1, sizeof(TestServer));

        assert_non_null(t);
        t->later_result = 1;
        t->dir = test_socket_dir_new(&t->path);
        assert_true(sd_event_new(&t->e) >= 0);
        assert_int_equal(varlink_server_new(t->e, t->path, 0666, -1, &t->s), 0);
        if (limits)
                assert_int_equal(varlink_server_set_limits(t->s, limits), 0);
        assert_int_equal(varlink_server_add_method(t->s, "org.test.Echo", test_method_echo, t), 0);
        assert_int_equal(varlink_server_add_method(t->s, "org.test.Peer", test_method_peer, t), 0);
        assert_int_equal(varlink_server_add_method(t->s, "org.test.Fail", test_method_fail, t), 0);
        assert_int_equal(varlink_server_add_method(t->s, "org.test.Big", test_method_big, t), 0);
        assert_int_equal(varlink_server_add_method(t->s, "org.test.Later", test_method_later, t), 0);
        return t;
}

static inline void test_server_free(TestServer *t)
{
        t->later = sd_event_source_disable_unref(t->later);
        t->s = varlink_server_free(t->s);
        /* A call left pending by a test is an orphan now: answering it frees it. */
        if (t->pending)
                assert_int_equal(varlink_call_reply(t->pending, NULL), -ENOTCONN);
        sd_event_unref(t->e);
        test_socket_dir_free(t->dir, t->path);
        free(t);
}
