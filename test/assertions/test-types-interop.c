/* SPDX-License-Identifier: MIT */
/* Every system-user, model, account, account-key and serial that snapd produced ($INTEROP_DIR/snapd/)
 * passes its typed view: our rules must never be stricter than snapd's on real assertions. */
#include <dirent.h>

#include "types-test-util.h"

static void test_interop_vectors_accepted(void **state)
{
        _cleanup_free_ char *dir = NULL;
        struct dirent **entries = NULL;
        unsigned checked = 0, system_users = 0, models = 0;
        const char *interop = getenv("INTEROP_DIR");
        int n;

        if (!interop) {
                print_message("SKIP: INTEROP_DIR not set\n");
                exit(77);
        }
        assert_true(asprintf(&dir, "%s/snapd", interop) > 0);
        n = scandir(dir, &entries, NULL, alphasort);
        if (n < 0) {
                print_message("SKIP: no interop vectors at %s\n", dir);
                exit(77);
        }
        for (int i = 0; i < n; i++) {
                _cleanup_(assertion_list_freep) AssertionList *l = NULL;
                _cleanup_free_ char *data = NULL;
                const char *name = entries[i]->d_name;
                AssertionError err = {};
                size_t size;

                if (name[0] == '.' || strstr(name, ".md"))
                        continue;
                assert_int_equal(types_read_file(dir, name, &data, &size), 0);
                if (assertion_stream_decode(data, size, &l, &err) < 0)
                        fail_msg("%s: line %u: %s", name, err.line, err.message);
                for (size_t j = 0; j < l->n; j++) {
                        TypesView view = types_view_for(l->items[j]->type);

                        if (!view)
                                continue;
                        if (view(l->items[j], &err) < 0)
                                fail_msg("%s, assertion %zu (%s): %s", name, j, l->items[j]->type,
                                         err.message);
                        checked++;
                        system_users += streq(l->items[j]->type, "system-user");
                        models += streq(l->items[j]->type, "model");
                }
        }
        for (int i = 0; i < n; i++)
                free(entries[i]);
        free(entries);
        printf("%u interop assertions accepted (%u system-user, %u model)\n", checked, system_users, models);
        assert_true(system_users > 0);
        assert_true(models > 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_interop_vectors_accepted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
