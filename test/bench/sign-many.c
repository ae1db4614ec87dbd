/* SPDX-License-Identifier: MIT */
/* Signs many assertions with one GnuPG key in one process (one gpgme context, one agent connection), for
 * benchmarks that need large signed inputs: `corehomectl sign` per assertion spends most of its time
 * starting up. Reads one JSON object of headers per line on stdin, writes DIR/NNNNN.assert per line.
 *   sign-many GNUPGHOME KEY-NAME DIR < headers.jsonl */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion-sign.h"
#include "file-util.h"
#include "json-util.h"
#include "macros.h"

int main(int argc, char **argv)
{
        _cleanup_signing_key_ SigningKey *key = NULL;
        AssertionError err = {};
        char *line = NULL;
        size_t allocated = 0;
        unsigned n = 0;

        if (argc != 4) {
                fprintf(stderr, "usage: %s GNUPGHOME KEY-NAME DIR < headers.jsonl\n", argv[0]);
                return 2;
        }
        if (signing_key_open(argv[1], argv[2], &key, &err) < 0) {
                fprintf(stderr, "sign-many: %s\n", err.message);
                return 1;
        }
        while (getline(&line, &allocated, stdin) > 0) {
                _cleanup_json_ json_t *headers = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
                _cleanup_free_ char *text = NULL, *path = NULL;
                size_t size;

                if (!json_is_object(headers)) {
                        fprintf(stderr, "sign-many: line %u is not a JSON object\n", n + 1);
                        free(line);
                        return 1;
                }
                if (assertion_sign(key, headers, NULL, 0, &text, &size, &err) < 0) {
                        fprintf(stderr, "sign-many: line %u: %s\n", n + 1, err.message);
                        free(line);
                        return 1;
                }
                if (asprintf(&path, "%s/%05u.assert", argv[3], n) < 0 ||
                    write_file_atomic(AT_FDCWD, path, text, size, 0644, (uid_t) -1, (gid_t) -1) < 0) {
                        fprintf(stderr, "sign-many: cannot write %s\n", path ? path : argv[3]);
                        free(line);
                        return 1;
                }
                n++;
        }
        free(line);
        return 0;
}
