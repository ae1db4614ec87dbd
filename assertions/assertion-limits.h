/* SPDX-License-Identifier: MIT */
#pragma once

/* Every bound on untrusted assertion input, in one place; each has a test at N and N+1. */
#define ASSERTION_HEADERS_MAX   (128 * 1024)      /* bytes of the header block */
#define ASSERTION_BODY_MAX      (2 * 1024 * 1024) /* body-length */
#define ASSERTION_SIGNATURE_MAX (128 * 1024)      /* bytes of the signature block */
#define ASSERTION_STREAM_MAX    64                /* assertions in one stream */
#define ASSERTION_NESTING_MAX   8                 /* depth of nested lists/maps below a header */
#define ASSERTION_LIST_MAX      1024              /* entries in one list or map */
#define ASSERTION_STREAM_BYTES_MAX \
        (ASSERTION_STREAM_MAX * (ASSERTION_HEADERS_MAX + ASSERTION_BODY_MAX + ASSERTION_SIGNATURE_MAX))
