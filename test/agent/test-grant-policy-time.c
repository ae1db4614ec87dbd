/* SPDX-License-Identifier: MIT */
/* since <= now < until, at each boundary and one microsecond either side; and grant_is_expired() for
 * until-expiration grants (now >= until) versus grants whose users outlive the assertion. */
#include "test-grant-util.h"

#include "grant-policy.h"

#define SINCE ((usec_t) 1704067200ULL * USEC_PER_SEC)             /* 2024-01-01T00:00:00Z */
#define UNTIL ((usec_t) 1893456000ULL * USEC_PER_SEC + 250000ULL) /* 2030-01-01T00:00:00.25Z */

#define HEADERS                                                                                        \
        "type: system-user\nformat: 2\nauthority-id: acme\nbrand-id: acme\nemail: alice@example.com\n" \
        "models:\n  - appliance-1\nsince: 2024-01-01T00:00:00Z\nuntil: 2030-01-01T00:00:00.25Z\n"      \
        "username: alice"

typedef struct TimeCase {
        const char *name;
        usec_t now;
        GrantVerdict verdict;
        GrantRule rule;
        const char *reason;
        bool expired; /* grant_is_expired() for the until-expiration variant */
} TimeCase;

#define NOT_YET "assertion not valid yet: since 2024-01-01T00:00:00Z"
#define ANYMORE "assertion not valid anymore: until 2030-01-01T00:00:00.250000Z"

static const TimeCase cases[] = {
        { "epoch", 0, GRANT_NOT_YET_VALID, GRANT_RULE_SINCE, NOT_YET, false },
        { "since - 1us", SINCE - 1, GRANT_NOT_YET_VALID, GRANT_RULE_SINCE, NOT_YET, false },
        { "exactly since", SINCE, GRANT_APPLIES, GRANT_RULE_NONE, "", false },
        { "since + 1us", SINCE + 1, GRANT_APPLIES, GRANT_RULE_NONE, "", false },
        { "until - 1us", UNTIL - 1, GRANT_APPLIES, GRANT_RULE_NONE, "", false },
        { "exactly until", UNTIL, GRANT_EXPIRED, GRANT_RULE_UNTIL, ANYMORE, true },
        { "until + 1us", UNTIL + 1, GRANT_EXPIRED, GRANT_RULE_UNTIL, ANYMORE, true },
        { "far future", USEC_INFINITY, GRANT_EXPIRED, GRANT_RULE_UNTIL, ANYMORE, true },
};

static void run_cases(const char *presence)
{
        _cleanup_free_ char *headers = NULL;

        assert_true(asprintf(&headers, HEADERS "%s", presence) > 0);
        _cleanup_assertion_ Assertion *a = grant_test_assertion(headers);
        _cleanup_system_user_ SystemUser *u = grant_test_system_user(a);
        _cleanup_device_identity_ DeviceIdentity *d =
                grant_test_device("acme", "appliance-1", "16", NULL, NULL);
        bool until_expiration = *presence != '\0';

        assert_int_equal(u->since, SINCE);
        assert_int_equal(u->until, UNTIL);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const TimeCase *c = &cases[i];
                GrantDecision decision;
                GrantVerdict v = grant_policy_check(d, u, c->now, &decision);

                if (v != c->verdict || decision.rule != c->rule || !streq(decision.reason, c->reason))
                        fail_msg("case \"%s\": got %s/%s \"%s\"", c->name, grant_verdict_to_string(v),
                                 grant_rule_to_string(decision.rule), decision.reason);
                /* The policy agrees with the codec's ValidAt at every boundary. */
                assert_int_equal(v == GRANT_APPLIES, system_user_is_valid_at(u, c->now));
                if (grant_is_expired(u, c->now) != (until_expiration && c->expired))
                        fail_msg("case \"%s\": grant_is_expired() wrong (until-expiration: %d)", c->name,
                                 until_expiration);
        }
}

static void test_time_boundaries_until_expiration(void **state)
{
        (void) state;
        run_cases("\nuser-presence: until-expiration");
}

/* Without user-presence the user outlives the assertion: never "expired" for removal, though no new user
 * may be created from it after until. */
static void test_time_boundaries_no_presence(void **state)
{
        (void) state;
        run_cases("");
}

/* since == until: a window that contains no instant at all. */
static void test_time_empty_window(void **state)
{
        _cleanup_assertion_ Assertion *a = grant_test_assertion(
                "type: system-user\nauthority-id: acme\nbrand-id: acme\nemail: alice@example.com\n"
                "models:\n  - appliance-1\nsince: 2024-01-01T00:00:00Z\nuntil: 2024-01-01T00:00:00Z\n"
                "username: alice");
        _cleanup_system_user_ SystemUser *u = grant_test_system_user(a);
        _cleanup_device_identity_ DeviceIdentity *d =
                grant_test_device("acme", "appliance-1", "16", NULL, NULL);

        (void) state;
        assert_int_equal(grant_policy_check(d, u, SINCE - 1, NULL), GRANT_NOT_YET_VALID);
        assert_int_equal(grant_policy_check(d, u, SINCE, NULL), GRANT_EXPIRED);
        assert_int_equal(grant_policy_check(d, u, SINCE + 1, NULL), GRANT_EXPIRED);
}

/* The time is checked last: a grant for another device is refused for that, whatever the time. */
static void test_time_after_device_rules(void **state)
{
        _cleanup_assertion_ Assertion *a = grant_test_assertion(HEADERS);
        _cleanup_system_user_ SystemUser *u = grant_test_system_user(a);
        _cleanup_device_identity_ DeviceIdentity *d =
                grant_test_device("acme", "other-model", "16", NULL, NULL);
        GrantDecision decision;

        (void) state;
        assert_int_equal(grant_policy_check(d, u, SINCE - 1, &decision), GRANT_NOT_FOR_DEVICE);
        assert_int_equal(decision.rule, GRANT_RULE_MODELS);
        assert_int_equal(grant_policy_check(d, u, UNTIL, &decision), GRANT_NOT_FOR_DEVICE);
        assert_int_equal(decision.rule, GRANT_RULE_MODELS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_time_boundaries_until_expiration),
                cmocka_unit_test(test_time_boundaries_no_presence),
                cmocka_unit_test(test_time_empty_window),
                cmocka_unit_test(test_time_after_device_rules),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
