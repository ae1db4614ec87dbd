/* SPDX-License-Identifier: MIT */
#include "system-user.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"

/* The newest system-user format whose rules this file knows: 1 added "serials", 2 "user-presence". */
#define SYSTEM_USER_FORMAT_MAX 2

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

/* snapd refuses crypt(3) rounds outside this range (glibc's own bounds for sha512crypt). */
#define SYSTEM_USER_ROUNDS_MIN 5000
#define SYSTEM_USER_ROUNDS_MAX 999999999

SystemUser *system_user_free(SystemUser *u)
{
        if (!u)
                return NULL;
        free(u->brand_id);
        free(u->email);
        free(u->username);
        free(u->name);
        if (u->password)
                erase_and_free(u->password, strlen(u->password));
        strv_free(u->ssh_keys);
        strv_free(u->series);
        strv_free(u->models);
        strv_free(u->serials);
        free(u->authority_id);
        free(u->sign_key);
        free(u);
        return NULL;
}

bool system_user_is_valid_at(const SystemUser *u, usec_t t)
{
        return t >= u->since && t < u->until;
}

/* ---- e-mail: the addresses Go's net/mail.ParseAddress() accepts, which is snapd's rule ----
 *
 * snapd only asks whether ParseAddress() succeeds, so the grammar below is Go's (RFC 5322 with Go's
 * leniencies: dot-atoms in phrases, specials in display names, no domain literals, comments only where Go
 * skips them, RFC 2047 words whose charset Go cannot convert refused), not the RFC's. */

typedef struct MailParser {
        const char *s;
        const char *error; /* Go's reason, for the message */
        char buf[160];     /* room for a composed reason */
} MailParser;

/* Length of the UTF-8 sequence at s (1..4) with its code point, or 0 when it is not valid UTF-8 (overlong
 * forms and surrogates included), as Go's utf8.DecodeRuneInString() judges it. */
static size_t utf8_decode(const char *s, uint32_t *ret)
{
        const unsigned char *p = (const unsigned char *) s;
        uint32_t c;
        size_t n;

        if (p[0] < 0x80) {
                *ret = p[0];
                return 1;
        }
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                n = 2, c = p[0] & 0x1f;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                n = 3, c = p[0] & 0x0f;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                n = 4, c = p[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (p[i] & 0x3f);
        }
        if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
            (c >= 0xd800 && c <= 0xdfff))
                return 0;
        *ret = c;
        return n;
}

static bool mail_is_vchar(uint32_t r)
{
        return (r >= '!' && r <= '~') || r >= 0x80;
}

static bool mail_is_wsp(uint32_t r)
{
        return r == ' ' || r == '\t';
}

static bool mail_is_atext(uint32_t r, bool dot, bool permissive)
{
        switch (r) {
        case '.':
                return dot;
        case '(':
        case ')':
        case '[':
        case ']':
        case ';':
        case '@':
        case '\\':
        case ',':
                return permissive;
        case '<':
        case '>':
        case '"':
        case ':':
                return false;
        default:
                return mail_is_vchar(r);
        }
}

static void mail_skip_space(MailParser *p)
{
        p->s += strspn(p->s, " \t");
}

static bool mail_consume(MailParser *p, char c)
{
        if (*p->s != c)
                return false;
        p->s++;
        return true;
}

static int mail_fail(MailParser *p, const char *reason)
{
        p->error = reason;
        return -EBADMSG;
}

/* Consumes an atom (or dot-atom); ret/ret_len give its text. */
static int mail_consume_atom(MailParser *p, bool dot, bool permissive, const char **ret, size_t *ret_len)
{
        size_t i = 0, n;
        uint32_t r;

        for (; p->s[i]; i += n) {
                n = utf8_decode(p->s + i, &r);
                if (n == 0)
                        return mail_fail(p, "mail: invalid utf-8 in address");
                if (!mail_is_atext(r, dot, permissive))
                        break;
        }
        if (i == 0)
                return mail_fail(p, "mail: invalid string");
        if (!permissive) {
                if (p->s[0] == '.')
                        return mail_fail(p, "mail: leading dot in atom");
                if (memmem(p->s, i, "..", 2))
                        return mail_fail(p, "mail: double dot in atom");
                if (p->s[i - 1] == '.')
                        return mail_fail(p, "mail: trailing dot in atom");
        }
        *ret = p->s;
        *ret_len = i;
        p->s += i;
        return 0;
}

/* Consumes a quoted string starting at '"'; ret_empty tells whether it held no characters, ret_atext
 * whether all of them are atext. */
static int mail_consume_quoted_string(MailParser *p, bool *ret_empty, bool *ret_atext)
{
        bool escaped = false, empty = true, atext = true;
        size_t i = 1, n;
        uint32_t r;

        for (;; i += n) {
                if (!p->s[i])
                        return mail_fail(p, "mail: unclosed quoted-string");
                n = utf8_decode(p->s + i, &r);
                if (n == 0)
                        return mail_fail(p, "mail: invalid utf-8 in quoted-string");
                if (escaped) {
                        if (!mail_is_vchar(r) && !mail_is_wsp(r))
                                return mail_fail(p, "mail: bad character in quoted-string");
                        escaped = false;
                        empty = false;
                        atext = atext && mail_is_atext(r, true, false);
                } else if ((mail_is_vchar(r) && r != '\\' && r != '"') || mail_is_wsp(r)) {
                        empty = false;
                        atext = atext && mail_is_atext(r, true, false);
                } else if (r == '"')
                        break;
                else if (r == '\\')
                        escaped = true;
                else
                        return mail_fail(p, "mail: bad character in quoted-string");
        }
        p->s += i + 1;
        *ret_empty = empty;
        *ret_atext = atext;
        return 0;
}

static bool base64_std_is_valid(const char *s, size_t n)
{
        size_t pad = 0;

        if (n % 4 != 0)
                return false;
        while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
                pad++;
        /* Go takes at most two '=' at the very end; any other '=' is "illegal base64 data". */
        for (size_t i = 0; i < n - pad; i++)
                if (!s[i] ||
                    !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", s[i]))
                        return false;
        return true;
}

static bool qp_is_valid(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == '=') {
                        if (i + 2 >= n || !s[i + 1] || !strchr("0123456789ABCDEFabcdef", s[i + 1]) ||
                            !s[i + 2] || !strchr("0123456789ABCDEFabcdef", s[i + 2]))
                                return false;
                        i += 2;
                } else if (!((c >= ' ' && c <= '~') || c == '\n' || c == '\r' || c == '\t'))
                        return false;
        }
        return true;
}

/* Go's decodeRFC2047Word() fails only for a well-formed encoded word "=?charset?B|Q?text?=" whose text
 * decodes but whose charset Go cannot convert; every other word is taken literally. */
static bool mail_word_has_unsupported_charset(MailParser *p, const char *w, size_t n)
{
        const char *charset, *q1, *q2, *text;
        size_t questions = 0, charset_len;

        if (n < 8 || !strneq(w, "=?", 2) || !strneq(w + n - 2, "?=", 2))
                return false;
        for (size_t i = 0; i < n; i++)
                questions += w[i] == '?';
        if (questions != 4)
                return false;
        charset = w + 2;
        q1 = memchr(charset, '?', (size_t) (w + n - 2 - charset));
        charset_len = (size_t) (q1 - charset);
        if (charset_len == 0)
                return false;
        q2 = memchr(q1 + 1, '?', (size_t) (w + n - 2 - (q1 + 1)));
        if (!q2 || q2 - q1 != 2)
                return false;
        text = q2 + 1;
        switch (q1[1]) {
        case 'B':
        case 'b':
                if (!base64_std_is_valid(text, (size_t) (w + n - 2 - text)))
                        return false;
                break;
        case 'Q':
        case 'q':
                if (!qp_is_valid(text, (size_t) (w + n - 2 - text)))
                        return false;
                break;
        default:
                return false;
        }
        if ((charset_len == 5 && strncasecmp(charset, "utf-8", 5) == 0) ||
            (charset_len == 10 && strncasecmp(charset, "iso-8859-1", 10) == 0) ||
            (charset_len == 8 && strncasecmp(charset, "us-ascii", 8) == 0))
                return false;
        (void) snprintf(p->buf, sizeof(p->buf), "charset not supported: \"%.*s\"",
                        (int) MIN(charset_len, 32), charset);
        p->error = p->buf;
        return true;
}

/* Consumes a parenthesised comment after its '('; ret/ret_len give the raw text (escapes still in). */
static bool mail_consume_comment(MailParser *p, const char **ret, size_t *ret_len)
{
        const char *start = p->s;
        unsigned depth = 1;

        while (*p->s && depth > 0) {
                if (p->s[0] == '\\' && p->s[1])
                        p->s++;
                else if (*p->s == '(')
                        depth++;
                else if (*p->s == ')')
                        depth--;
                p->s++;
        }
        if (ret) {
                *ret = start;
                *ret_len = (size_t) (p->s - start) - (depth == 0);
        }
        return depth == 0;
}

static bool mail_skip_cfws(MailParser *p)
{
        mail_skip_space(p);
        while (mail_consume(p, '(')) {
                if (!mail_consume_comment(p, NULL, NULL))
                        return false;
                mail_skip_space(p);
        }
        return true;
}

/* A comment after an addr-spec is Go's display name: each word of it goes through RFC 2047 decoding. An
 * escaped character inside a word is taken as written, like Go, which only drops the backslash. */
static int mail_consume_display_name_comment(MailParser *p)
{
        const char *c;
        size_t n;

        if (!mail_consume(p, '('))
                return mail_fail(p, "mail: comment does not start with (");
        if (!mail_consume_comment(p, &c, &n))
                return mail_fail(p, "mail: misformatted parenthetical comment");

        _cleanup_free_ char *text = malloc(n + 1);
        size_t m = 0;
        if (!text)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (c[i] == '\\' && i + 1 < n)
                        i++;
                text[m++] = c[i];
        }
        text[m] = 0;
        for (const char *w = text; *w;) {
                w += strspn(w, " \t");
                size_t l = strcspn(w, " \t");
                if (l > 0 && mail_word_has_unsupported_charset(p, w, l))
                        return -EBADMSG;
                w += l;
        }
        return 0;
}

static int mail_consume_addr_spec(MailParser *p)
{
        const char *orig = p->s, *atom;
        size_t len;
        bool empty;
        int r;

        mail_skip_space(p);
        if (!*p->s)
                r = mail_fail(p, "mail: no addr-spec");
        else if (*p->s == '"') {
                bool atext;
                r = mail_consume_quoted_string(p, &empty, &atext);
                if (r >= 0 && empty)
                        r = mail_fail(p, "mail: empty quoted string in addr-spec");
        } else
                r = mail_consume_atom(p, true, false, &atom, &len);
        if (r >= 0 && !mail_consume(p, '@'))
                r = mail_fail(p, "mail: missing @ in addr-spec");
        if (r >= 0) {
                mail_skip_space(p);
                if (!*p->s)
                        r = mail_fail(p, "mail: no domain in addr-spec");
                else
                        r = mail_consume_atom(p, true, false, &atom, &len);
        }
        if (r < 0)
                p->s = orig;
        return r;
}

/* phrase = 1*word; Go stops at the first word it cannot read and keeps what it has. ret_atext tells
 * whether the display name (the words joined by spaces) is all atext, which only picks Go's message. */
static int mail_consume_phrase(MailParser *p, bool *ret_atext)
{
        unsigned words = 0;
        bool atext = true;
        int r = 0;

        for (;;) {
                const char *atom;
                bool empty, word_atext = true;
                size_t len;

                mail_skip_space(p);
                if (!*p->s)
                        break;
                if (*p->s == '"')
                        r = mail_consume_quoted_string(p, &empty, &word_atext);
                else {
                        r = mail_consume_atom(p, true, true, &atom, &len);
                        if (r >= 0 && mail_word_has_unsupported_charset(p, atom, len))
                                r = -EBADMSG;
                        for (size_t i = 0; r >= 0 && i < len; i++)
                                word_atext = word_atext && !strchr("()[];@\\,", atom[i]);
                }
                if (r < 0)
                        break;
                atext = atext && word_atext;
                words++;
        }
        if (r < 0 && words == 0) {
                char inner[100];
                (void) snprintf(inner, sizeof(inner), "%s", p->error);
                (void) snprintf(p->buf, sizeof(p->buf), "mail: missing word in phrase: %.99s", inner);
                return mail_fail(p, p->buf);
        }
        /* Two words are joined by a space, which is not atext. */
        *ret_atext = atext && words == 1;
        return 0;
}

static int mail_parse_address(MailParser *p, bool handle_group, unsigned *count);

static int mail_consume_group_list(MailParser *p, unsigned *count)
{
        int r;

        mail_skip_space(p);
        if (mail_consume(p, ';')) {
                (void) mail_skip_cfws(p);
                return 0;
        }
        for (;;) {
                mail_skip_space(p);
                r = mail_parse_address(p, false, count);
                if (r < 0)
                        return r;
                if (!mail_skip_cfws(p))
                        return mail_fail(p, "mail: misformatted parenthetical comment");
                if (mail_consume(p, ';')) {
                        (void) mail_skip_cfws(p);
                        return 0;
                }
                if (!mail_consume(p, ','))
                        return mail_fail(p, "mail: expected comma");
        }
}

static int mail_parse_address(MailParser *p, bool handle_group, unsigned *count)
{
        bool atext = true;
        int r;

        mail_skip_space(p);
        if (!*p->s)
                return mail_fail(p, "mail: no address");

        /* addr-spec is the narrower grammar: Go tries it first and falls back to name-addr. */
        if (mail_consume_addr_spec(p) >= 0) {
                mail_skip_space(p);
                if (*p->s == '(') {
                        r = mail_consume_display_name_comment(p);
                        if (r < 0)
                                return r;
                }
                (*count)++;
                return 0;
        }

        if (*p->s != '<') {
                r = mail_consume_phrase(p, &atext);
                if (r < 0)
                        return r;
        }
        mail_skip_space(p);
        if (handle_group && mail_consume(p, ':'))
                return mail_consume_group_list(p, count);
        if (!mail_consume(p, '<'))
                return mail_fail(p, atext ? "mail: missing '@' or angle-addr" : "mail: no angle-addr");
        r = mail_consume_addr_spec(p);
        if (r < 0)
                return r;
        if (!mail_consume(p, '>'))
                return mail_fail(p, "mail: unclosed angle-addr");
        (*count)++;
        return 0;
}

/* Whether Go's mail.ParseAddress() succeeds; on failure reason gets Go's message. */
static bool email_address_is_valid(const char *s, char *reason, size_t reason_size)
{
        MailParser p = { .s = s };
        unsigned count = 0;

        if (mail_parse_address(&p, true, &count) < 0)
                goto fail;
        if (!mail_skip_cfws(&p)) {
                p.error = "mail: misformatted parenthetical comment";
                goto fail;
        }
        if (*p.s) {
                char q[ASSERTION_QUOTE_MAX];
                (void) snprintf(p.buf, sizeof(p.buf), "mail: expected single address, got %s",
                                assertion_quote(p.s, q));
                p.error = p.buf;
                goto fail;
        }
        if (count == 0) {
                p.error = "mail: empty group";
                goto fail;
        }
        if (count > 1) {
                p.error = "mail: group with multiple addresses";
                goto fail;
        }
        return true;
fail:
        (void) snprintf(reason, reason_size, "%s", p.error ? p.error : "mail: invalid address");
        return false;
}

/* ---- password: a crypt(3) hash "$id$salt$hash" or "$id$rounds=N$salt$hash" ---- */

/* Go's strconv.Atoi(): optional sign, decimal digits, 64-bit range; -EINVAL or -ERANGE otherwise. */
static int go_atoi(const char *s, size_t n, int64_t *ret)
{
        bool negative = false;
        uint64_t v = 0;
        size_t i = 0;

        if (n > 0 && (s[0] == '+' || s[0] == '-')) {
                negative = s[0] == '-';
                i = 1;
        }
        if (i == n)
                return -EINVAL;
        for (; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - 9) / 10)
                        v = UINT64_MAX; /* saturate: still a syntax check for the remaining digits */
                else
                        v = v * 10 + (uint64_t) (s[i] - '0');
        }
        if (v > (uint64_t) INT64_MAX + negative)
                return -ERANGE;
        *ret = negative ? (int64_t) (0 - v) : (int64_t) v;
        return 0;
}

static bool crypt_text_is_valid(const char *s, size_t n)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./", s[i]) ||
                    !s[i])
                        return false;
        return true;
}

/* Like snapd: split on '$' into at most 5 fields; the text before the first '$' is not looked at. */
static int check_password(const Assertion *a, const char *pw, AssertionError *err)
{
        const char *field[5];
        size_t len[5], n = 0;
        const char *id, *rounds = NULL, *salt, *hash, *p = pw;
        size_t id_len, rounds_len = 0, salt_len, hash_len;
        char q[ASSERTION_QUOTE_MAX];
        int64_t v;
        int r;

        for (;;) {
                const char *d = n < 4 ? strchr(p, '$') : NULL;
                field[n] = p;
                len[n] = d ? (size_t) (d - p) : strlen(p);
                n++;
                if (!d)
                        break;
                p = d + 1;
        }
        if (n != 4 && n != 5)
                return assertion_field_error(
                        a, err,
                        "\"password\" header invalid: hashed password must be of the form "
                        "\"$integer-id$salt$hash\", see crypt(3)");
        if (n == 4 && strneq(field[2], "rounds=", 7))
                return assertion_field_error(a, err, "\"password\" header invalid: missing hash field");

        id = field[1], id_len = len[1];
        if (n == 4)
                salt = field[2], salt_len = len[2], hash = field[3], hash_len = len[3];
        else
                rounds = field[2], rounds_len = len[2], salt = field[3], salt_len = len[3], hash = field[4],
                hash_len = len[4];

        /* Only modern hashes: $1$ (md5crypt) and older are cheap to brute-force from a leaked assertion. */
        if (go_atoi(id, id_len, &v) < 0) {
                _cleanup_free_ char *s = strndup(id, id_len);
                return assertion_field_error(a, err,
                                             "\"password\" header must start with \"$integer-id$\", got %s",
                                             s ? assertion_quote(s, q) : "?");
        }
        if (v < 6)
                return assertion_field_error(
                        a, err,
                        "\"password\" header only supports $id$ values of 6 (sha512crypt) or higher");

        if (rounds && rounds_len >= 7 && strneq(rounds, "rounds=", 7)) {
                _cleanup_free_ char *s = strndup(rounds + 7, rounds_len - 7);
                if (!s)
                        return -ENOMEM;
                r = go_atoi(s, strlen(s), &v);
                if (r < 0)
                        return assertion_field_error(a, err,
                                                     "\"password\" header has invalid number of rounds: "
                                                     "strconv.Atoi: parsing %s: %s",
                                                     assertion_quote(s, q),
                                                     r == -ERANGE ? "value out of range" : "invalid syntax");
                /* Too few rounds make the hash cheap to attack; too many make every login a DoS. */
                if (v < SYSTEM_USER_ROUNDS_MIN || v > SYSTEM_USER_ROUNDS_MAX)
                        return assertion_field_error(
                                a, err, "\"password\" header rounds parameter out of bounds: %lld",
                                (long long) v);
        }

        if (!crypt_text_is_valid(salt, salt_len)) {
                _cleanup_free_ char *s = strndup(salt, salt_len);
                return assertion_field_error(a, err, "\"password\" header has invalid chars in salt %s",
                                             s ? assertion_quote(s, q) : "?");
        }
        if (!crypt_text_is_valid(hash, hash_len)) {
                _cleanup_free_ char *s = strndup(hash, hash_len);
                return assertion_field_error(a, err, "\"password\" header has invalid chars in hash %s",
                                             s ? assertion_quote(s, q) : "?");
        }
        return 0;
}

/* osutil.IsValidUsername's rule, which snapd applies to the "username" header: ^[a-z0-9][-a-z0-9._]*$ */
static bool username_is_valid(const char *s)
{
        static const char first[] = "abcdefghijklmnopqrstuvwxyz0123456789";

        if (!*s || !strchr(first, *s))
                return false;
        return strspn(s + 1, "abcdefghijklmnopqrstuvwxyz0123456789-._") == strlen(s + 1);
}

static size_t strv_length(char *const *l)
{
        size_t n = 0;

        for (; l && l[n]; n++)
                ;
        return n;
}

static int check_user_presence(const Assertion *a, SystemUser *u, AssertionError *err)
{
        _cleanup_free_ char *s = NULL;
        char q[ASSERTION_QUOTE_MAX];
        int r;

        r = assertion_field_optional_string(a, "user-presence", &s, err);
        if (r < 0)
                return r;
        if (!s || !*s) {
                u->user_presence = SYSTEM_USER_PRESENCE_NONE;
                return 0;
        }
        if (u->format < 2)
                return assertion_field_error(
                        a, err, "the \"user-presence\" header is only supported for format 2 or greater");
        if (!streq(s, "until-expiration"))
                return assertion_field_error(a, err,
                                             "invalid \"user-presence\" header, only explicit valid value "
                                             "is \"until-expiration\": %s",
                                             assertion_quote(s, q));
        u->user_presence = SYSTEM_USER_PRESENCE_UNTIL_EXPIRATION;
        return 0;
}

/* The checks in snapd's order, so the first complaint is the one snapd would make. */
static int system_user_check(const Assertion *a, SystemUser *u, AssertionError *err)
{
        char q[ASSERTION_QUOTE_MAX], reason[160];
        int since_offset, r;

        r = assertion_field_check_format(a, u->format, SYSTEM_USER_FORMAT_MAX, err);
        if (r < 0)
                return r;
        r = assertion_field_primary_key(a, "brand-id", &u->brand_id, err);
        if (r < 0)
                return r;
        r = assertion_field_primary_key(a, "email", &u->email, err);
        if (r < 0)
                return r;
        if (!email_address_is_valid(u->email, reason, sizeof(reason)))
                return assertion_field_error(
                        a, err, "\"email\" header must be a RFC 5322 compliant email address: %s", reason);

        r = assertion_field_string_list(a, "series", &u->series, err);
        if (r < 0)
                return r;
        r = assertion_field_string_list(a, "models", &u->models, err);
        if (r < 0)
                return r;
        r = assertion_field_string_list(a, "serials", &u->serials, err);
        if (r < 0)
                return r;
        if (u->serials && u->format < 1)
                return assertion_field_error(
                        a, err, "the \"serials\" header is only supported for format 1 or greater");
        /* A serial is only unique within one model: with several models a serial list would grant the user
         * on every device of every listed model that happens to carry that serial. */
        if (u->serials && strv_length(u->models) != 1)
                return assertion_field_error(a, err,
                                             "in the presence of the \"serials\" header \"models\" must "
                                             "specify exactly one model");

        r = assertion_field_optional_string(a, "name", &u->name, err);
        if (r < 0)
                return r;
        r = assertion_field_string(a, "username", &u->username, err);
        if (r < 0)
                return r;
        /* The name becomes a login and a path under /home: no '/', no leading '-' or '.', no upper case. */
        if (!username_is_valid(u->username))
                return assertion_field_error(a, err, "\"username\" header contains invalid characters: %s",
                                             assertion_quote(u->username, q));

        r = assertion_field_optional_string(a, "password", &u->password, err);
        if (r < 0)
                return r;
        if (u->password && !*u->password)
                u->password = mfree(u->password);
        if (u->password) {
                r = check_password(a, u->password, err);
                if (r < 0)
                        return r;
        }
        r = assertion_field_optional_bool(a, "force-password-change", &u->force_password_change, err);
        if (r < 0)
                return r;
        if (u->force_password_change && !u->password)
                return assertion_field_error(
                        a, err, "cannot use \"force-password-change\" with an empty \"password\"");

        r = assertion_field_string_list(a, "ssh-keys", &u->ssh_keys, err);
        if (r < 0)
                return r;
        r = assertion_field_date(a, "since", &u->since, &since_offset, err);
        if (r < 0)
                return r;
        r = assertion_field_date(a, "until", &u->until, NULL, err);
        if (r < 0)
                return r;
        if (u->until < u->since)
                return assertion_field_error(a, err, "'until' time cannot be before 'since' time");
        r = check_user_presence(a, u, err);
        if (r < 0)
                return r;

        /* An assertion for every model of a brand is a fleet-wide master key: snapd caps its life at a year
         * (a calendar year in the zone "since" was written in, as Go's AddDate counts it). */
        if (!u->models && u->until > time_add_one_year(u->since, since_offset))
                return assertion_field_error(a, err,
                                             "'until' time cannot be more than 365 days in the future when "
                                             "no models are specified");
        return 0;
}

int system_user_from_assertion(const Assertion *a, SystemUser **ret, AssertionError *err)
{
        _cleanup_(system_user_freep) SystemUser *u = NULL;
        int r;

        u = calloc(1, sizeof(SystemUser));
        if (!u)
                return -ENOMEM;
        r = assertion_field_common(a, "system-user", &u->authority_id, &u->sign_key, &u->revision,
                                   &u->format, err);
        if (r < 0)
                return r;
        r = system_user_check(a, u, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(u);
        return 0;
}
