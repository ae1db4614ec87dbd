/* SPDX-License-Identifier: MIT */
#include "assertion-fields.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macros.h"

int assertion_field_error(const Assertion *a, AssertionError *err, const char *format, ...)
{
        va_list ap;
        int n;

        if (!err)
                return -EBADMSG;

        err->line = a ? a->first_line : 0;
        n = snprintf(err->message, sizeof(err->message), "assertion %s: ", a && a->type ? a->type : "?");
        if (n < 0 || (size_t) n >= sizeof(err->message))
                return -EBADMSG;
        va_start(ap, format);
        (void) vsnprintf(err->message + n, sizeof(err->message) - (size_t) n, format, ap);
        va_end(ap);
        return -EBADMSG;
}

const char *assertion_quote(const char *s, char buf[static ASSERTION_QUOTE_MAX])
{
        size_t j = 0;

        buf[j++] = '"';
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                /* Room for the longest escape (4), the ellipsis with its closing quote (4) and the NUL. */
                if (j + 9 > ASSERTION_QUOTE_MAX) {
                        memcpy(buf + j, "\"...", 4);
                        buf[j + 4] = 0;
                        return buf;
                }
                if (*p == '"' || *p == '\\') {
                        buf[j++] = '\\';
                        buf[j++] = (char) *p;
                } else if (*p == '\n') {
                        buf[j++] = '\\';
                        buf[j++] = 'n';
                } else if (*p == '\t') {
                        buf[j++] = '\\';
                        buf[j++] = 't';
                } else if (*p < 0x20 || *p == 0x7f)
                        j += (size_t) snprintf(buf + j, 5, "\\x%02x", *p);
                else
                        buf[j++] = (char) *p;
        }
        buf[j++] = '"';
        buf[j] = 0;
        return buf;
}

static bool is_decimal(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

int assertion_field_exists_string(const Assertion *a, const char *name, char **ret, AssertionError *err)
{
        json_t *v = json_object_get(a->headers, name);
        char *s;

        if (!v)
                return assertion_field_error(a, err, "\"%s\" header is mandatory", name);
        if (!json_is_string(v))
                return assertion_field_error(a, err, "\"%s\" header must be a string", name);
        s = strdup(json_string_value(v));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int assertion_field_primary_key(const Assertion *a, const char *name, char **ret, AssertionError *err)
{
        _cleanup_free_ char *s = NULL;
        int r;

        r = assertion_field_string(a, name, &s, err);
        if (r < 0)
                return r;
        if (strchr(s, '/'))
                return assertion_field_error(a, err, "\"%s\" primary key header cannot contain '/'", name);
        *ret = TAKE_PTR(s);
        return 0;
}

int assertion_field_string(const Assertion *a, const char *name, char **ret, AssertionError *err)
{
        json_t *v = json_object_get(a->headers, name);

        if (v && json_is_string(v) && json_string_length(v) == 0)
                return assertion_field_error(a, err, "\"%s\" header should not be empty", name);
        return assertion_field_exists_string(a, name, ret, err);
}

int assertion_field_optional_string(const Assertion *a, const char *name, char **ret, AssertionError *err)
{
        if (!json_object_get(a->headers, name)) {
                *ret = NULL;
                return 0;
        }
        return assertion_field_exists_string(a, name, ret, err);
}

int assertion_field_string_list(const Assertion *a, const char *name, char ***ret, AssertionError *err)
{
        json_t *v = json_object_get(a->headers, name), *item;
        _cleanup_strv_free_ char **l = NULL;
        size_t i;

        if (v && !json_is_array(v))
                return assertion_field_error(a, err, "\"%s\" header must be a list of strings", name);
        if (!v || json_array_size(v) == 0) {
                *ret = NULL;
                return 0;
        }

        l = calloc(json_array_size(v) + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        json_array_foreach (v, i, item) {
                if (!json_is_string(item))
                        return assertion_field_error(a, err, "\"%s\" header must be a list of strings",
                                                     name);
                l[i] = strdup(json_string_value(item));
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int assertion_field_optional_bool(const Assertion *a, const char *name, bool *ret, AssertionError *err)
{
        json_t *v = json_object_get(a->headers, name);
        const char *s;

        if (!v) {
                *ret = false;
                return 0;
        }
        s = json_string_value(v);
        if (!s || (!streq(s, "true") && !streq(s, "false")))
                return assertion_field_error(a, err, "\"%s\" header must be 'true' or 'false'", name);
        *ret = streq(s, "true");
        return 0;
}

static int parse_date(const Assertion *a, const char *name, const char *s, usec_t *ret, AssertionError *err)
{
        char q[ASSERTION_QUOTE_MAX];

        if (time_parse_rfc3339(s, ret) < 0)
                return assertion_field_error(a, err, "\"%s\" header is not a RFC3339 date: %s", name,
                                             assertion_quote(s, q));
        return 0;
}

/* The UTC offset in seconds of an RFC 3339 text that time_parse_rfc3339() accepted ("Z" or "+HH:MM"). */
static int rfc3339_offset(const char *s)
{
        size_t n = strlen(s);
        const char *o;
        int sec;

        if (n < 6 || s[n - 1] == 'Z')
                return 0;
        o = s + n - 6;
        if ((o[0] != '+' && o[0] != '-') || o[3] != ':')
                return 0;
        sec = ((o[1] - '0') * 10 + (o[2] - '0')) * 3600 + ((o[4] - '0') * 10 + (o[5] - '0')) * 60;
        return o[0] == '-' ? -sec : sec;
}

int assertion_field_date(const Assertion *a, const char *name, usec_t *ret, int *ret_offset,
                         AssertionError *err)
{
        _cleanup_free_ char *s = NULL;
        int r;

        r = assertion_field_string(a, name, &s, err);
        if (r < 0)
                return r;
        r = parse_date(a, name, s, ret, err);
        if (r < 0)
                return r;
        if (ret_offset)
                *ret_offset = rfc3339_offset(s);
        return 0;
}

int assertion_field_date_default(const Assertion *a, const char *name, usec_t defl, usec_t *ret,
                                 AssertionError *err)
{
        _cleanup_free_ char *s = NULL;
        int r;

        if (!json_object_get(a->headers, name)) {
                *ret = defl;
                return 0;
        }
        /* Present but empty is not "absent": snapd hands "" to time.Parse, which refuses it. */
        r = assertion_field_exists_string(a, name, &s, err);
        if (r < 0)
                return r;
        return parse_date(a, name, s, ret, err);
}

int assertion_field_uint_default(const Assertion *a, const char *name, uint64_t defl, uint64_t max,
                                 uint64_t *ret, AssertionError *err)
{
        json_t *v = json_object_get(a->headers, name);
        char q[ASSERTION_QUOTE_MAX];
        const char *s;
        uint64_t n = 0;

        if (!v) {
                *ret = defl;
                return 0;
        }
        s = json_string_value(v);
        if (!s || !is_decimal(s))
                return assertion_field_error(a, err, "\"%s\" header is not an integer: %s", name,
                                             assertion_quote(s ? s : "(not a string)", q));
        if (s[0] == '0' && s[1])
                return assertion_field_error(a, err, "\"%s\" header has invalid prefix zeros: %s", name,
                                             assertion_quote(s, q));
        for (const char *p = s; *p; p++) {
                unsigned d = (unsigned) (*p - '0');
                if (n > (max - d) / 10)
                        return assertion_field_error(a, err, "\"%s\" header is out of range: %s", name,
                                                     assertion_quote(s, q));
                n = n * 10 + d;
        }
        *ret = n;
        return 0;
}

int assertion_field_sha3_384(const Assertion *a, const char *name, char **ret, AssertionError *err)
{
        _cleanup_free_ char *s = NULL;
        int r;

        r = assertion_field_string(a, name, &s, err);
        if (r < 0)
                return r;
        /* 48 bytes in base64url without padding are exactly 64 characters of that alphabet. */
        if (strlen(s) != 64 ||
            strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != 64)
                return assertion_field_error(a, err, "\"%s\" header is not a base64url SHA3-384 digest",
                                             name);
        *ret = TAKE_PTR(s);
        return 0;
}

/* Whether type has no authority-id, as snapd's request types (flag noAuthority). */
static bool type_has_no_authority(const char *type)
{
        return streq(type, "account-key-request") || streq(type, "serial-request") ||
               streq(type, "device-session-request");
}

int assertion_field_common(const Assertion *a, const char *expected_type, char **ret_authority_id,
                           char **ret_sign_key, uint64_t *ret_revision, unsigned *ret_format,
                           AssertionError *err)
{
        _cleanup_free_ char *type = NULL, *authority_id = NULL, *sign_key = NULL;
        uint64_t revision, format;
        int r;

        if (!a || !a->headers || !json_is_object(a->headers)) {
                if (err) {
                        err->line = 0;
                        snprintf(err->message, sizeof(err->message), "assertion %s: no headers",
                                 expected_type);
                }
                return -EBADMSG;
        }
        r = assertion_field_string(a, "type", &type, err);
        if (r < 0)
                return r;
        /* A view of the wrong type would read fields with another meaning (e.g. a model's brand-id as a
         * system-user's): refuse it rather than trust the caller's dispatch. */
        if (!streq(type, expected_type)) {
                char q[ASSERTION_QUOTE_MAX];
                if (err) {
                        err->line = a->first_line;
                        snprintf(err->message, sizeof(err->message), "assertion %s: wrong type %s",
                                 expected_type, assertion_quote(type, q));
                }
                return -EBADMSG;
        }
        if (!type_has_no_authority(type)) {
                r = assertion_field_string(a, "authority-id", &authority_id, err);
                if (r < 0)
                        return r;
        }
        if (json_object_get(a->headers, "sign-key-sha3-384")) {
                r = assertion_field_sha3_384(a, "sign-key-sha3-384", &sign_key, err);
                if (r < 0)
                        return r;
        }
        r = assertion_field_uint_default(a, "revision", 0, INT64_MAX, &revision, err);
        if (r < 0)
                return r;
        r = assertion_field_uint_default(a, "format", 0, INT32_MAX, &format, err);
        if (r < 0)
                return r;

        *ret_authority_id = TAKE_PTR(authority_id);
        *ret_sign_key = TAKE_PTR(sign_key);
        *ret_revision = revision;
        *ret_format = (unsigned) format;
        return 0;
}

int assertion_field_check_format(const Assertion *a, unsigned format, unsigned max_format,
                                 AssertionError *err)
{
        if (format > max_format)
                return assertion_field_error(a, err, "format %u is not supported (at most %u)", format,
                                             max_format);
        return 0;
}

bool account_id_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 32 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == 32)
                return true;
        return n >= 2 && n <= 28 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

usec_t time_add_one_year(usec_t t, int offset_sec)
{
        int64_t local = (int64_t) (t / USEC_PER_SEC) + offset_sec;
        usec_t fraction = t % USEC_PER_SEC;
        time_t tt = (time_t) local;
        struct tm tm;

        if (!gmtime_r(&tt, &tm))
                return USEC_INFINITY;
        tm.tm_year += 1;
        /* timegm() normalises 29 February of a common year to 1 March, exactly as Go's AddDate does. */
        tt = timegm(&tm);
        if (tt == (time_t) -1)
                return USEC_INFINITY;
        return (usec_t) ((int64_t) tt - offset_sec) * USEC_PER_SEC + fraction;
}
