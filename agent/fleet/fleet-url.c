/* SPDX-License-Identifier: MIT */
/* The URLs of the fleet protocol. Every URL we request is built here from a validated base and validated
 * components: a key id or account-id taken from an assertion (that is, from the network) must never be able
 * to point a request somewhere else ("../", "?", "#", "%2F", "@"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion-fields.h"
#include "fleet.h"
#include "macros.h"

#define HTTPS_PREFIX "https://"

static bool host_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '-';
}

/* Path bytes: RFC 3986 unreserved plus a few sub-delims; no '%', so nothing decodes into a separator. */
static bool path_char(char c)
{
        return host_char(c) || c == '_' || c == '~' || c == '/' || c == '+' || c == '=' || c == ',';
}

static bool host_is_valid(const char *s, size_t n)
{
        size_t host_n = n;
        const char *colon = memchr(s, ':', n);

        if (s[0] == '[') { /* IPv6 literal */
                const char *end = memchr(s, ']', n);
                if (!end || end == s + 1)
                        return false;
                for (const char *c = s + 1; c < end; c++)
                        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') ||
                              (*c >= 'A' && *c <= 'F') || *c == ':' || *c == '.'))
                                return false;
                host_n = (size_t) (end - s) + 1;
                colon = host_n < n ? s + host_n : NULL;
                if (colon && *colon != ':')
                        return false;
        } else {
                if (colon)
                        host_n = (size_t) (colon - s);
                if (host_n == 0)
                        return false;
                for (size_t i = 0; i < host_n; i++)
                        if (!host_char(s[i]))
                                return false;
        }
        if (colon) {
                size_t port_n = n - (size_t) (colon - s) - 1;
                if (port_n == 0 || port_n > 5 || strspn(colon + 1, "0123456789") < port_n ||
                    atoi(colon + 1) == 0 || atoi(colon + 1) > 65535)
                        return false;
        }
        return true;
}

bool fleet_url_is_valid(const char *url)
{
        size_t n;

        if (!url || !strneq(url, HTTPS_PREFIX, strlen(HTTPS_PREFIX)))
                return false;
        n = strlen(url);
        if (n > FLEET_URL_MAX)
                return false;
        const char *host = url + strlen(HTTPS_PREFIX), *path = strchr(host, '/');
        size_t host_n = path ? (size_t) (path - host) : strlen(host);
        if (host_n == 0 || !host_is_valid(host, host_n))
                return false;
        if (!path)
                return true;
        for (const char *c = path; *c; c++)
                if (!path_char(*c))
                        return false;
        /* Segments: no "." / ".." (a server or proxy would resolve them elsewhere), no empty ones but a
         * final "/". */
        for (const char *seg = path + 1; *seg;) {
                const char *end = strchrnul(seg, '/');
                size_t len = (size_t) (end - seg);
                if ((len == 0 && *end) || (len == 1 && seg[0] == '.') || (len == 2 && strneq(seg, "..", 2)))
                        return false;
                seg = *end ? end + 1 : end;
        }
        return true;
}

bool fleet_url_segment_is_valid(const char *s)
{
        if (!s || !*s || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *c = s; *c; c++)
                if (*c == '/' || !path_char(*c))
                        return false;
        return true;
}

bool fleet_key_id_is_valid(const char *s)
{
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

        return s && strlen(s) == 64 && strspn(s, alphabet) == 64;
}

/* base without one trailing '/', + suffix; checked again as a whole. */
static int url_join(const char *base, const char *suffix, char **ret)
{
        _cleanup_free_ char *url = NULL;
        size_t n;

        if (!fleet_url_is_valid(base))
                return -EINVAL;
        n = strlen(base);
        if (n > 0 && base[n - 1] == '/')
                n--;
        if (asprintf(&url, "%.*s%s", (int) n, base, suffix) < 0)
                return -ENOMEM;
        if (strlen(url) > FLEET_URL_MAX)
                return -E2BIG;
        if (!fleet_url_is_valid(url))
                return -EINVAL;
        *ret = TAKE_PTR(url);
        return 0;
}

int fleet_url_feed(const char *base, char **ret)
{
        return url_join(base, "/assertions", ret);
}

int fleet_url_prerequisite(const char *base, const char *type, const char *key, char **ret)
{
        _cleanup_free_ char *suffix = NULL;

        if (!type || !key)
                return -EINVAL;
        if (streq(type, "account-key")) {
                if (!fleet_key_id_is_valid(key))
                        return -EINVAL;
        } else if (streq(type, "account")) {
                if (!account_id_is_valid(key))
                        return -EINVAL;
        } else
                return -EINVAL;
        if (asprintf(&suffix, "/assertions/%s/%s", type, key) < 0)
                return -ENOMEM;
        return url_join(base, suffix, ret);
}

int fleet_url_base_of(const char *bundle_url, char **ret)
{
        _cleanup_free_ char *base = NULL;
        char *path, *slash;

        if (!fleet_url_is_valid(bundle_url))
                return -EINVAL;
        base = strdup(bundle_url);
        if (!base)
                return -ENOMEM;
        path = strchr(base + strlen(HTTPS_PREFIX), '/');
        if (!path) /* "https://host": the host is the base */
                goto done;
        size_t n = strlen(base);
        if (base[n - 1] == '/')
                base[--n] = '\0';
        /* The bundle itself at ".../assertions" names the feed: its base is above it. */
        if (n >= strlen("/assertions") && streq(base + n - strlen("/assertions"), "/assertions") &&
            base + n - strlen("/assertions") >= path) {
                base[n - strlen("/assertions")] = '\0';
                goto done;
        }
        slash = strrchr(path, '/');
        *slash = '\0';
        n = strlen(base);
        if (n >= strlen("/assertions") && streq(base + n - strlen("/assertions"), "/assertions") &&
            base + n - strlen("/assertions") >= path)
                base[n - strlen("/assertions")] = '\0';
done:
        *ret = TAKE_PTR(base);
        return 0;
}
