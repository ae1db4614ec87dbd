/* SPDX-License-Identifier: MIT */
/* The "email" header: snapd accepts what Go's net/mail.ParseAddress() accepts. The verdicts and reasons in
 * this table were produced by Go 1.19's ParseAddress() on the same inputs, so a mismatch here is a
 * divergence from snapd. */
#include "types-test-util.h"

typedef struct EmailCase {
        const char *email;
        const char *go_error; /* NULL: Go accepts it; else what Go's message starts with */
} EmailCase;

static const EmailCase cases[] = {
        { "test@localhost", NULL },
        { "snappy-dev@lists.launchpad.net", NULL },
        { "a@b", NULL },
        { "a.b.c@d.e", NULL },
        { "a+tag@example.com", NULL },
        { "!#$%&'*+-/=?^_`{|}~@x", NULL },
        { "user@[127.0.0.1]", "mail: no angle-addr" },
        { "Foo Bar <foo@bar.com>", NULL },
        { "<foo@bar.com>", NULL },
        { "\"Foo Bar\" <foo@bar.com>", NULL },
        { "foo@bar.com (Foo Bar)", NULL },
        { "foo@bar.com (unclosed", "mail: misformatted parenthetical comment" },
        { "foo@bar.com (a (nested) comment)", NULL },
        { "\"quoted local\"@example.com", NULL },
        { "\"\"@example.com", "mail: no angle-addr" },
        { "\"a\\\"b\"@example.com", NULL },
        { "  spaced@example.com  ", NULL },
        { "\tfoo@bar", NULL },
        { "foo @bar", "mail: no angle-addr" },
        { "foo@ bar", NULL },
        { "foo@bar ", NULL },
        { " (c) foo@bar", "mail: no angle-addr" },
        { "foo@bar (c) (d)", NULL },
        { "foo@bar x", "mail: expected single address" },
        { "foo@bar,baz@qux", "mail: expected single address" },
        { "group: a@b;", NULL },
        { "group: a@b, c@d;", "mail: group with multiple addresses" },
        { "group:;", "mail: empty group" },
        { "group: ;", "mail: empty group" },
        { "", "mail: no address" },
        { " ", "mail: no address" },
        { "@", "mail: no angle-addr" },
        { "foo", "mail: missing '@' or angle-addr" },
        { "foo@", "mail: no angle-addr" },
        { "@bar", "mail: no angle-addr" },
        { "foo@@bar", "mail: no angle-addr" },
        { "foo bar", "mail: no angle-addr" },
        { "Foo Bar", "mail: no angle-addr" },
        { "foo.bar", "mail: missing '@' or angle-addr" },
        { ".foo@bar", "mail: no angle-addr" },
        { "foo.@bar", "mail: no angle-addr" },
        { "foo..bar@baz", "mail: no angle-addr" },
        { "foo@bar..baz", "mail: no angle-addr" },
        { "foo@.bar", "mail: no angle-addr" },
        { "foo@bar.", "mail: no angle-addr" },
        { "fo(o@bar", "mail: no angle-addr" },
        { "foo@ba(r", "mail: misformatted parenthetical comment" },
        { "foo<@bar", "mail: invalid string" },
        { "a\"b@c", "mail: missing '@' or angle-addr" },
        { "\303\274@example.com", NULL },
        { "j\303\266rg@ex\303\244mple.de", NULL },
        { "J\303\266rg <j@x>", NULL },
        { "foo@bar\n", "mail: expected single address" },
        { "foo\n@bar", "mail: missing '@' or angle-addr" },
        { "=?utf-8?q?Foo?= <a@b>", NULL },
        { "=?koi8-r?q?Foo?= <a@b>", "mail: missing word in phrase" },
        { "Bar =?koi8-r?q?Foo?= <a@b>", NULL },
        { "=?koi8-r?b?Zm9v?= <a@b>", "mail: missing word in phrase" },
        { "=?koi8-r?b?Zm9?= <a@b>", NULL },
        { "=?koi8-r?x?Foo?= <a@b>", NULL },
        { "=?koi8-r?q?F=4?= <a@b>", NULL },
        { "=?koi8-r?q?F=41?= <a@b>", "mail: missing word in phrase" },
        { "a@b (=?koi8-r?q?Foo?=)", "charset not supported: \"koi8-r\"" },
        { "a@b (=?utf-8?q?Foo?=)", NULL },
        { "Foo <a@b", "mail: unclosed angle-addr" },
        { "Foo <a@b> x", "mail: expected single address" },
        { "Foo <a b@c>", "mail: missing @ in addr-spec" },
        { "Foo <>", "mail: invalid string" },
        { "(comment) <a@b>", NULL },
        { "[x] <a@b>", NULL },
        { "a.b <c@d>", NULL },
        { "a.b c@d", "mail: no angle-addr" },
        { "\"unclosed <a@b>", "mail: missing word in phrase" },
        { "\"a\\", "mail: missing word in phrase" },
        { "foo@bar\\", "mail: expected single address" },
        { "a@b;", "mail: expected single address" },
        { "a@b)", "mail: expected single address" },
        { "x: a@b", "mail: expected comma" },
        { "x: a@b; y", "mail: expected single address" },
        { "Foo: Bar <a@b>;", NULL },
        { "Foo: \"quoted\" <a@b>;", NULL },
        { "\"a\tb\"@c", NULL },
        { "\"a\001b\"@c", "mail: missing word in phrase" },
        { "a\177@b", "mail: missing '@' or angle-addr" },
        { "<a@b> (x)", NULL },
        { "< a@b >", "mail: unclosed angle-addr" },
        { "<a@b >", "mail: unclosed angle-addr" },
        { "Foo < a @ b >", "mail: missing @ in addr-spec" },
        { "a@b\r", "mail: expected single address" },
        { "a@b\t", NULL },
};

static void test_email_matches_go_net_mail(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(assertion_freep) Assertion *a = types_load_fixture("system-user-format0");
                AssertionError err = {};
                int r;

                assert_int_equal(json_object_set_new(a->headers, "email", json_string(cases[i].email)), 0);
                r = types_view_system_user(a, &err);
                /* email is a primary key: snapd refuses a '/' in it before Go's parser is asked. */
                if (strchr(cases[i].email, '/')) {
                        assert_int_equal(r, -EBADMSG);
                        assert_non_null(
                                strstr(err.message, "\"email\" primary key header cannot contain '/'"));
                        continue;
                }
                if (!cases[i].go_error) {
                        if (r < 0)
                                fail_msg("case %zu: Go accepts but we refuse: %s", i, err.message);
                        continue;
                }
                if (r >= 0)
                        fail_msg("case %zu: Go refuses (%s) but we accept", i, cases[i].go_error);
                /* An empty or all-blank email can never reach the address parser's reasons. */
                if (!strstr(err.message, "\"email\" header"))
                        fail_msg("case %zu: message does not name the header: %s", i, err.message);
                if (cases[i].email[strspn(cases[i].email, " ")] && !strstr(err.message, cases[i].go_error))
                        fail_msg("case %zu: message \"%s\" lacks Go's \"%s\"", i, err.message,
                                 cases[i].go_error);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_email_matches_go_net_mail),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
