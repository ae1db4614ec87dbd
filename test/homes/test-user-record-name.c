/* SPDX-License-Identifier: MIT */
/* User names follow systemd's strict rule, and names the system owns are refused for homes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "user-name.h"

static const struct {
        const char *name;
        bool syntax;
        bool valid;
} cases[] = {
        { "alice", true, true },
        { "Alice_B-2", true, true },
        { "_alice", true, false }, /* leading '_' is the system-account convention */
        { "a", true, true },
        { "A", true, true },
        { "", false, false },
        { "1alice", false, false },
        { "-alice", false, false },
        { "al ice", false, false },
        { "al.ice", false, false },
        { "al@ice", false, false },
        { "alice$", false, false },
        { "al:ice", false, false },
        { "al/ice", false, false },
        { "\xc3\xa9lise", false, false },
        { "root", true, false },
        { "nobody", true, false },
        { "daemon", true, false },
        { "systemd-network", true, false },
        { "systemd-", true, false },
        { "systemdx", true, true },
        { "Root", true, true },                               /* case matters: "Root" is not root */
        { "abcdefghijklmnopqrstuvwxyz01234", true, true },    /* 31 bytes: the limit */
        { "abcdefghijklmnopqrstuvwxyz012345", false, false }, /* 32 bytes: one over */
};

static void test_user_name_table(void **state)
{
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (user_name_is_valid_syntax(cases[i].name) != cases[i].syntax ||
                    user_name_is_valid(cases[i].name) != cases[i].valid)
                        fail_msg("case %zu \"%s\": expected syntax=%d valid=%d", i, cases[i].name,
                                 cases[i].syntax, cases[i].valid);
        }
}

static void test_user_name_length_limit_is_31_bytes(void **state)
{
        char name[64];

        memset(name, 'a', sizeof(name));
        name[USER_NAME_LENGTH_MAX] = '\0';
        assert_true(user_name_is_valid(name));
        name[USER_NAME_LENGTH_MAX] = 'a';
        name[USER_NAME_LENGTH_MAX + 1] = '\0';
        assert_false(user_name_is_valid(name));
}

static void test_user_name_null_is_invalid(void **state)
{
        assert_false(user_name_is_valid(NULL));
        assert_false(user_name_is_valid_syntax(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_user_name_table),
                cmocka_unit_test(test_user_name_length_limit_is_31_bytes),
                cmocka_unit_test(test_user_name_null_is_invalid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
