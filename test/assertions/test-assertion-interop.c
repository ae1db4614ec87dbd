/* SPDX-License-Identifier: MIT */
/* Every snapd vector ($INTEROP_DIR/snapd/: *.assert, *.account, *.account-key, *.model) decodes, and its
 * decoded headers + body re-encode to the identical signed content; the whole stream re-encodes to the
 * identical bytes. This is what makes our signatures and snapd's interchangeable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assertion.h"
#include "file-util.h"

static bool is_vector(const char *name)
{
        static const char *const suffixes[] = { ".assert", ".account", ".account-key", ".model" };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t a = strlen(name), b = strlen(suffixes[i]);
                if (a > b && streq(name + a - b, suffixes[i]))
                        return true;
        }
        return false;
}

static void check_vector(int dir_fd, const char *name, unsigned *ret_assertions)
{
        _cleanup_assertion_list_ AssertionList *l = NULL;
        _cleanup_free_ char *data = NULL, *stream = NULL;
        AssertionError err = {};
        char message[512];
        size_t size, stream_size;
        int r;

        assert_int_equal(read_file_bounded(dir_fd, name, ASSERTION_STREAM_BYTES_MAX, &data, &size), 0);
        r = assertion_stream_decode(data, size, &l, &err);
        if (r < 0)
                fail_msg("%s: %s", name, assertion_error_format(&err, message, sizeof(message)));
        assert_true(l->n > 0);

        for (size_t i = 0; i < l->n; i++) {
                _cleanup_assertion_ Assertion *again = NULL;
                _cleanup_free_ char *content = NULL, *wire = NULL;
                Assertion *a = l->items[i];
                size_t content_size, wire_size;

                assert_int_equal(
                        assertion_encode_content(a->headers, a->body, a->body_size, &content, &content_size),
                        0);
                if (content_size != a->content_size || memcmp(content, a->content, content_size) != 0)
                        fail_msg("%s: assertion %zu re-encodes differently:\n%s\n--- expected\n%s", name,
                                 i + 1, content, a->content);

                /* The wire form decodes back to the same assertion. */
                assert_int_equal(assertion_encode(a, &wire, &wire_size), 0);
                assert_int_equal(assertion_decode(wire, wire_size, &again, NULL), 0);
                assert_int_equal(again->content_size, a->content_size);
                assert_memory_equal(again->content, a->content, a->content_size);
                assert_string_equal(again->signature, a->signature);
        }

        /* snapd's encoder ends every assertion with a newline; a vector saved without the final one differs
         * only there. */
        assert_int_equal(assertion_stream_encode(l, &stream, &stream_size), 0);
        if (size > 0 && data[size - 1] != '\n')
                assert_int_equal(stream_size, size + 1);
        else
                assert_int_equal(stream_size, size);
        assert_memory_equal(stream, data, size);
        *ret_assertions += (unsigned) l->n;
}

static void test_snapd_vectors_reencode_byte_identically(void **state)
{
        const char *interop = getenv("INTEROP_DIR");
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dir_fd = -1;
        unsigned files = 0, assertions = 0;
        DIR *d;

        assert_true(asprintf(&dir, "%s/snapd", interop) > 0);
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dir_fd >= 0);
        d = fdopendir(dup(dir_fd));
        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));) {
                if (!is_vector(de->d_name))
                        continue;
                check_vector(dir_fd, de->d_name, &assertions);
                files++;
        }
        closedir(d);
        print_message("%u vectors, %u assertions re-encoded byte-identically\n", files, assertions);
        assert_true(files >= 10);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_snapd_vectors_reencode_byte_identically),
        };
        const char *interop = getenv("INTEROP_DIR");
        _cleanup_free_ char *dir = NULL;

        if (!interop || asprintf(&dir, "%s/snapd", interop) < 0 || access(dir, R_OK) < 0) {
                printf("SKIP: no snapd interop vectors (INTEROP_DIR)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
