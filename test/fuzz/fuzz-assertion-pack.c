/* SPDX-License-Identifier: MIT */
/* Fuzzes the pack reader (assertion-pack.h) on a whole pack file: the header, every line of the index, the
 * binary search for each key and for each key's type prefix, and the bounds of each entry against the file.
 * Whatever the reader accepts must be consistent: a key found is the key asked for, an entry lies inside
 * the file, and a pack rebuilt from the entries reads back with the same keys. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assertion-pack.h"
#include "macros.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENTRIES_CHECKED 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        AssertionPackItem items[ENTRIES_CHECKED];
        _cleanup_free_ char *copy = NULL, *index = NULL, *rebuilt = NULL;
        AssertionPackHeader h, h2;
        size_t n = 0, rebuilt_size;
        bool sorted = true;

        if (size > 1024 * 1024)
                return 0;
        copy = malloc(size + 1);
        if (!copy)
                abort();
        memcpy(copy, data, size);
        copy[size] = '\0';
        if (assertion_pack_header_parse(copy, size, &h) < 0)
                return 0;
        if (h.header_size > size || h.index_size > size - h.header_size)
                return 0; /* the store refuses such a file before it reads the index */

        /* The store reads the index into its own NUL-terminated buffer. */
        index = strndup(copy + h.header_size, h.index_size);
        if (!index || strlen(index) != h.index_size)
                return 0;
        uint64_t stream_size = size - h.header_size - h.index_size;
        for (size_t pos = 0; pos < h.index_size && n < ENTRIES_CHECKED;) {
                AssertionPackEntry e, found;
                _cleanup_free_ char *key = NULL;
                size_t lo;

                if (assertion_pack_index_entry(index, h.index_size, pos, &e) < 0) {
                        sorted = false; /* a malformed line: the reader refuses it, nothing to rebuild */
                        break;
                }
                if (e.next <= pos || e.next > h.index_size)
                        abort();
                key = strndup(e.key, e.key_size);
                if (!key || !assertion_pack_key_valid(key, strlen(key)))
                        abort();
                int r = assertion_pack_index_find(index, h.index_size, key, &found);
                if (r > 0 && (found.key_size != e.key_size || memcmp(found.key, key, e.key_size) != 0))
                        abort();
                if (assertion_pack_index_lower_bound(index, h.index_size, key, strcspn(key, ",") + 1, &lo) >=
                            0 &&
                    lo > h.index_size)
                        abort();
                if (n > 0 && strcmp(items[n - 1].key, key) >= 0)
                        sorted = false;
                if (e.offset > stream_size || e.size > stream_size - e.offset)
                        sorted = false; /* the store refuses to read it: leave it out of the rebuild */
                items[n++] = (AssertionPackItem){ TAKE_PTR(key),
                                                  copy + h.header_size + h.index_size + e.offset, e.size };
                pos = e.next;
        }

        if (sorted && n > 0 &&
            assertion_pack_build(h.first, h.last, h.time_floor, items, n, &rebuilt, &rebuilt_size) >= 0) {
                if (assertion_pack_header_parse(rebuilt, rebuilt_size, &h2) < 0 || h2.count != n)
                        abort();
                for (size_t i = 0; i < n; i++) {
                        AssertionPackEntry e;
                        if (assertion_pack_index_find(rebuilt + h2.header_size, h2.index_size, items[i].key,
                                                      &e) != 1 ||
                            e.size != items[i].wire_size ||
                            memcmp(rebuilt + h2.header_size + h2.index_size + e.offset, items[i].wire,
                                   e.size) != 0)
                                abort();
                }
        }
        for (size_t i = 0; i < n; i++)
                free((char *) items[i].key);
        return 0;
}
