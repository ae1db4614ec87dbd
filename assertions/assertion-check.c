/* SPDX-License-Identifier: MIT */
/* The rules snapd's assemble() applies to every assertion once its wire pieces are split (asserts.go), in
 * snapd's order so the first complaint is the one snapd would make. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "assertion-internal.h"

/* SHA3-384 digests are 48 bytes: 64 base64url characters without padding. */
#define SIGN_KEY_DIGEST_SIZE 48

static const char *json_kind(const json_t *v)
{
        return json_is_array(v) ? "a list" : json_is_object(v) ? "a map" : "not a string";
}

/* The line of a header is looked up only for a message: it costs a scan of the header block. */
static int check_int_header(Assertion *a, const char *name, int64_t *ret, AssertionError *err)
{
        json_t *v = json_object_get(a->headers, name);
        const char *s;
        size_t size;
        char q[160];
        int r;

        if (!v) {
                *ret = 0;
                return 0;
        }
        if (!json_is_string(v))
                return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, name),
                                             "\"%s\" header is not an integer: %s", name, json_kind(v));
        s = json_string_value(v);
        size = json_string_length(v);
        r = assertion_parse_int(s, size, ret);
        if (r == -ERANGE)
                return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, name),
                                             "\"%s\" header is out of range: %s", name,
                                             assertion_codec_quote(s, size, q, sizeof(q)));
        if (r == -EDOM)
                return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, name),
                                             "\"%s\" header has invalid prefix zeros: %s", name,
                                             assertion_codec_quote(s, size, q, sizeof(q)));
        if (r < 0 && size > 1 && s[0] == '-' && assertion_parse_int(s + 1, size - 1, &(int64_t){ 0 }) >= 0)
                return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, name),
                                             "\"%s\" header should not be negative: %s", name,
                                             assertion_codec_quote(s, size, q, sizeof(q)));
        if (r < 0)
                return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, name),
                                             "\"%s\" header is not an integer: %s", name,
                                             assertion_codec_quote(s, size, q, sizeof(q)));
        return 0;
}

static int check_not_empty_string(Assertion *a, const char *name, const char *what, const char **ret,
                                  AssertionError *err)
{
        json_t *v = json_object_get(a->headers, name);

        if (!v)
                return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, name),
                                             "\"%s\" header is mandatory%s", name, what);
        if (!json_is_string(v))
                return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, name),
                                             "\"%s\" header must be a string%s", name, what);
        if (json_string_length(v) == 0)
                return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, name),
                                             "\"%s\" header should not be empty%s", name, what);
        if (ret)
                *ret = json_string_value(v);
        return 0;
}

/* base64url without padding; like Go's decoder, CR and LF are skipped (a multi-line value). */
static int base64url_decoded_size(const char *s, size_t *ret)
{
        size_t n = 0;
        unsigned bits = 0;

        for (; *s; s++) {
                char c = *s;

                if (c == '\r' || c == '\n')
                        continue;
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_'))
                        return -EINVAL;
                n++;
        }
        if (n % 4 == 1)
                return -EINVAL;
        bits = (unsigned) (n % 4);
        *ret = n / 4 * 3 + (bits == 0 ? 0 : bits - 1);
        return 0;
}

static int check_sign_key(Assertion *a, AssertionError *err)
{
        const char *key;
        size_t size;
        int r;

        r = check_not_empty_string(a, "sign-key-sha3-384", "", &key, err);
        if (r < 0)
                return r;
        if (base64url_decoded_size(key, &size) < 0)
                return assertion_codec_error(
                        err, -EBADMSG, assertion_header_line(a, "sign-key-sha3-384"),
                        "\"sign-key-sha3-384\" header cannot be decoded: not base64url");
        if (size != SIGN_KEY_DIGEST_SIZE)
                return assertion_codec_error(
                        err, -EBADMSG, assertion_header_line(a, "sign-key-sha3-384"),
                        "\"sign-key-sha3-384\" header does not have the expected bit length: %zu", size * 8);
        return 0;
}

static int check_authority(Assertion *a, const AssertionType *t, AssertionError *err)
{
        int r;

        if (t->no_authority) {
                /* A request is signed by its own key; an authority-id would claim a signer it cannot have.
                 */
                if (json_object_get(a->headers, "authority-id"))
                        return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, "authority-id"),
                                                     "\"%s\" assertion cannot have authority-id set",
                                                     t->name);
                if (json_object_get(a->headers, "signatory-id"))
                        return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, "signatory-id"),
                                                     "\"%s\" assertion cannot have signatory-id set",
                                                     t->name);
                return 0;
        }
        r = check_not_empty_string(a, "authority-id", "", NULL, err);
        if (r < 0)
                return r;
        if (json_object_get(a->headers, "signatory-id"))
                return check_not_empty_string(a, "signatory-id", "", NULL, err);
        return 0;
}

static int check_primary_keys(Assertion *a, const AssertionType *t, AssertionError *err)
{
        for (const char *const *k = t->primary_keys; *k; k++) {
                const char *v;
                char what[64];
                int r;

                if (!k[1] && t->optional_key_default && !json_object_get(a->headers, *k)) {
                        /* snapd fills in the default so both spellings name the same assertion. */
                        if (json_object_set_new(a->headers, *k, json_string(t->optional_key_default)) < 0)
                                return -ENOMEM;
                        continue;
                }
                (void) snprintf(what, sizeof(what), " (primary key of %s)", t->name);
                r = check_not_empty_string(a, *k, what, &v, err);
                if (r < 0)
                        return r;
                /* Primary keys become path components of the assertion store. */
                if (strchr(v, '/'))
                        return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, *k),
                                                     "\"%s\" primary key header cannot contain '/'", *k);
        }
        return 0;
}

static unsigned count_newlines(const char *s, size_t size)
{
        unsigned n = 0;

        for (const char *c = s; (c = memchr(c, '\n', size - (size_t) (c - s))); c++)
                n++;
        return n;
}

static int check_signature(Assertion *a, AssertionError *err)
{
        /* The signature starts after the content and its blank line. */
        unsigned line = a->first_line + count_newlines(a->content, a->content_size) + 2;

        if (a->signature_size == 0)
                return assertion_codec_error(err, -EBADMSG, line, "empty assertion signature");
        /* snapd leaves the signature opaque until verification. We refuse control and non-ASCII bytes now: a
         * signature is base64 text, and such bytes could only confuse the terminals and C strings they
         * reach. */
        for (size_t i = 0; i < a->signature_size; i++) {
                unsigned char c = (unsigned char) a->signature[i];

                if (c == '\n')
                        line++;
                else if (c != '\r' && (c < 0x20 || c > 0x7e))
                        return assertion_codec_error(
                                err, -EBADMSG, line,
                                "signature contains a byte that is not printable ASCII (0x%02x)", c);
        }
        return 0;
}

int assertion_codec_check(Assertion *a, AssertionError *err)
{
        const AssertionType *t;
        const char *type;
        int64_t length = 0;
        size_t bad;
        int r;

        r = check_int_header(a, "body-length", &length, err);
        if (r < 0)
                return r;
        if ((uint64_t) length != a->body_size)
                return assertion_codec_error(
                        err, -EBADMSG, assertion_header_line(a, "body-length"),
                        "assertion body length and declared body-length don't match: %zu != %" PRIi64,
                        a->body_size, length);
        if (!assertion_utf8_valid(a->body, a->body_size, &bad)) {
                /* Point at the offending line: the body starts after the headers and a blank line. */
                size_t head_size = a->content_size - a->body_size - 2;
                unsigned line = a->first_line + count_newlines(a->content, head_size) + 2 +
                                count_newlines((const char *) a->body, bad);
                return assertion_codec_error(err, -EBADMSG, line, "assertion body is not utf8");
        }

        r = check_sign_key(a, err);
        if (r < 0)
                return r;

        r = check_not_empty_string(a, "type", "", &type, err);
        if (r < 0)
                return r;
        t = assertion_type_lookup(type);
        if (!t) {
                char q[160];
                return assertion_codec_error(err, -EBADMSG, assertion_header_line(a, "type"),
                                             "unknown assertion type: %s",
                                             assertion_codec_quote(type, strlen(type), q, sizeof(q)));
        }
        a->type = type;

        r = check_authority(a, t, err);
        if (r < 0)
                return r;
        r = check_int_header(a, "format", &a->format, err);
        if (r < 0)
                return r;
        r = check_primary_keys(a, t, err);
        if (r < 0)
                return r;
        r = check_int_header(a, "revision", &a->revision, err);
        if (r < 0)
                return r;
        return check_signature(a, err);
}
