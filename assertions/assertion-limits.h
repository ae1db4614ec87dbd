/* SPDX-License-Identifier: MIT */
#pragma once

/* Every bound on untrusted assertion input, in one place; each has a test at N and N+1. */
#define ASSERTION_HEADERS_MAX   (128 * 1024)      /* bytes of the header block */
#define ASSERTION_BODY_MAX      (2 * 1024 * 1024) /* body-length */
#define ASSERTION_SIGNATURE_MAX (128 * 1024)      /* bytes of the signature block */
#define ASSERTION_NESTING_MAX   8                 /* depth of nested lists/maps below a header */
#define ASSERTION_LIST_MAX      1024              /* entries in one list or map */

/* Assertions in one import: one batch of the trust database, checked and committed whole. Every way in
 * (a file or several on the command line, a stick, a fleet feed, one Manager call) is bounded by it, since
 * each assertion of a batch may cost an RSA verification and stays in memory until the batch is decided. */
#define ASSERTION_BATCH_MAX 1024

/* Assertions in one stream. A stream is at most one batch, so it may hold as many as one import: a stick
 * carrying grants for a few hundred technicians is one stream. */
#define ASSERTION_STREAM_MAX ASSERTION_BATCH_MAX

/* Bytes of one stream read from a file (the CLI, the store's trusted roots): 144 MiB, what 64 assertions of
 * the largest size take. Media and fleet responses have smaller bounds of their own. */
#define ASSERTION_STREAM_BYTES_MAX (144 * 1024 * 1024)
