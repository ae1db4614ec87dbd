/* SPDX-License-Identifier: MIT */
#pragma once

/* Typed header extraction shared by the typed assertion views (account, account-key, model, serial,
 * system-user). Each getter follows one of snapd's asserts/header_checks.go rules and, on failure, fills err
 * with snapd's wording prefixed by the assertion type, e.g.
 *   assertion system-user: "email" header is mandatory
 * and returns -EBADMSG. Outputs are set only on success. */

#include <stdbool.h>
#include <stdint.h>

#include "assertion.h"
#include "time-util.h"

/* The headers every assertion carries: checks that a is of expected_type and returns authority-id (NULL only
 * for the no-authority request types), sign-key-sha3-384 (NULL when absent), revision and format (0 when
 * absent). */
int assertion_field_common(const Assertion *a, const char *expected_type, char **ret_authority_id,
                           char **ret_sign_key, uint64_t *ret_revision, unsigned *ret_format,
                           AssertionError *err);

/* Refuses a format newer than max_format: a newer format may add restrictions this code would silently
 * ignore (snapd itself refuses to store such assertions). */
int assertion_field_check_format(const Assertion *a, unsigned format, unsigned max_format,
                                 AssertionError *err);

/* Formats "assertion TYPE: " + reason into err (when err is not NULL); returns -EBADMSG. */
int assertion_field_error(const Assertion *a, AssertionError *err, const char *format, ...) _printf_(3, 4);

/* Mandatory string (may be empty): "%q header is mandatory" / "%q header must be a string". */
int assertion_field_exists_string(const Assertion *a, const char *name, char **ret, AssertionError *err);
/* A primary-key header: non-empty string without '/' (it becomes a path component in stores). */
int assertion_field_primary_key(const Assertion *a, const char *name, char **ret, AssertionError *err);
/* Mandatory, non-empty string: also "%q header should not be empty". */
int assertion_field_string(const Assertion *a, const char *name, char **ret, AssertionError *err);
/* Optional string: *ret = NULL when absent. */
int assertion_field_optional_string(const Assertion *a, const char *name, char **ret, AssertionError *err);
/* Optional list of strings: *ret = NULL when absent or empty (as snapd); a NULL-terminated strv otherwise.
 */
int assertion_field_string_list(const Assertion *a, const char *name, char ***ret, AssertionError *err);
/* Optional "true"/"false": false when absent. */
int assertion_field_optional_bool(const Assertion *a, const char *name, bool *ret, AssertionError *err);
/* Mandatory RFC 3339 date; ret_offset (optional) gets the UTC offset in seconds it was written with. */
int assertion_field_date(const Assertion *a, const char *name, usec_t *ret, int *ret_offset,
                         AssertionError *err);
/* Optional RFC 3339 date: defl when absent. */
int assertion_field_date_default(const Assertion *a, const char *name, usec_t defl, usec_t *ret,
                                 AssertionError *err);
/* Optional decimal integer without leading zeros, 0..max: defl when absent. */
int assertion_field_uint_default(const Assertion *a, const char *name, uint64_t defl, uint64_t max,
                                 uint64_t *ret, AssertionError *err);
/* Mandatory base64url-nopad SHA3-384 digest (64 characters, 48 bytes) as text. */
int assertion_field_sha3_384(const Assertion *a, const char *name, char **ret, AssertionError *err);

/* Go's %q for a header value in a message, bounded: printable text as is, control bytes escaped, and "..."
 * after ASSERTION_QUOTE_MAX - 8 bytes so a hostile header cannot flood the message. Returns buf. */
#define ASSERTION_QUOTE_MAX 96
const char *assertion_quote(const char *s, char buf[static ASSERTION_QUOTE_MAX]);

/* A year after t as Go's t.AddDate(1, 0, 0) computes it in the zone t was written in (offset_sec east of
 * UTC): the civil date's year + 1, with 29 February normalised to 1 March. */
usec_t time_add_one_year(usec_t t, int offset_sec);

/* snapd's account-id rule: ^(?:[a-z0-9A-Z]{32}|[-a-z0-9]{2,28})$ */
bool account_id_is_valid(const char *s);
