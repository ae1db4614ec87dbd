/* SPDX-License-Identifier: MIT */
/* One HTTPS GET with libcurl, as strict as we can make it: peer and host verification always on, https
 * only (also after redirects, which we do not follow anyway), a connect and a total timeout, and a body
 * cap enforced on the declared Content-Length and again on the bytes actually received. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curl-library.h"
#include "fleet.h"
#include "macros.h"

/* One transfer's libcurl objects, with the library they came from. */
typedef struct CurlSession {
        CurlLibrary lib;
        CURL *h;
        struct curl_slist *headers;
} CurlSession;

static void curl_session_done(CurlSession *s)
{
        if (s->h)
                s->lib.easy_cleanup(s->h);
        if (s->headers)
                s->lib.slist_free_all(s->headers);
        curl_library_close(&s->lib);
}

void fleet_client_init(FleetClient *c, const ConfigFleet *config)
{
        *c = (FleetClient){
                .connect_timeout = FLEET_CONNECT_TIMEOUT,
                .total_timeout = FLEET_TOTAL_TIMEOUT,
                .body_max = FLEET_BODY_MAX,
        };
        if (config) {
                c->ca_file = config->ca_file;
                c->client_cert = config->client_cert;
                c->client_key = config->client_key;
        }
}

void fleet_response_done(FleetResponse *r)
{
        free(r->body);
        free(r->etag);
        *r = (FleetResponse){};
}

int fleet_body_size_check(uint64_t size, size_t max)
{
        return size > (uint64_t) max ? -E2BIG : 0;
}

int fleet_buffer_append(FleetBuffer *b, const void *data, size_t n)
{
        if (n > b->max - b->size || fleet_body_size_check((uint64_t) b->size + n, b->max) < 0) {
                b->too_big = true;
                return -E2BIG;
        }
        if (b->size + n + 1 > b->allocated) {
                size_t want = b->allocated ? b->allocated : 4096;
                while (want < b->size + n + 1)
                        want *= 2;
                if (want > b->max + 1)
                        want = b->max + 1;
                char *p = realloc(b->data, want);
                if (!p)
                        return -ENOMEM;
                b->data = p;
                b->allocated = want;
        }
        memcpy(b->data + b->size, data, n);
        b->size += n;
        b->data[b->size] = '\0';
        return 0;
}

void fleet_buffer_done(FleetBuffer *b)
{
        free(b->data);
        *b = (FleetBuffer){ .max = b->max };
}

typedef struct Transfer {
        FleetBuffer body;
        char *etag;
        int error; /* set by a callback that stopped the transfer */
} Transfer;

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
        Transfer *t = userdata;
        int r = fleet_buffer_append(&t->body, data, size * n);

        if (r < 0) {
                t->error = r;
                return 0; /* makes curl stop with CURLE_WRITE_ERROR */
        }
        return size * n;
}

/* ETags we send back verbatim: printable ASCII, bounded, so a server cannot inject header lines. */
static bool etag_is_usable(const char *s, size_t n)
{
        if (n == 0 || n > FLEET_ETAG_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x21 || s[i] > 0x7e)
                        return false;
        return true;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        Transfer *t = userdata;
        size_t len = size * n;
        const char *name = "etag:";

        /* A new response (e.g. after "100 Continue") starts with its status line. */
        if (len >= 5 && strneq(data, "HTTP/", 5)) {
                free(t->etag);
                t->etag = NULL;
                return len;
        }
        if (len > strlen(name) && strncasecmp(data, name, strlen(name)) == 0) {
                const char *v = data + strlen(name), *end = data + len;
                while (v < end && (*v == ' ' || *v == '\t'))
                        v++;
                while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                        end--;
                free(t->etag);
                t->etag = etag_is_usable(v, (size_t) (end - v)) ? strndup(v, (size_t) (end - v)) : NULL;
        }
        return len;
}

static int set_error(char **ret_error, int r, const char *format, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *format, ...)
{
        va_list ap;

        if (ret_error) {
                free(*ret_error);
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

static int map_curl_error(CURLcode code, const Transfer *t, const FleetClient *c, const char *url,
                          const char *detail, char **ret_error)
{
        if (t->error == -E2BIG || code == CURLE_FILESIZE_EXCEEDED)
                return set_error(ret_error, -E2BIG, "%s: response larger than %zu bytes: refused", url,
                                 c->body_max);
        switch (code) {
        case CURLE_OPERATION_TIMEDOUT:
                return set_error(ret_error, -ETIMEDOUT, "%s: timed out (%s)", url, detail);
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
                return set_error(ret_error, -ECONNREFUSED, "%s: cannot connect (%s)", url, detail);
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
                return set_error(ret_error, -EKEYREJECTED, "%s: TLS verification failed: %s", url, detail);
        case CURLE_UNSUPPORTED_PROTOCOL:
                return set_error(ret_error, -EPROTONOSUPPORT, "%s: only https is allowed (%s)", url, detail);
        default:
                return set_error(ret_error, t->error < 0 ? t->error : -EIO, "%s: transfer failed: %s", url,
                                 detail);
        }
}

#define SETOPT(h, opt, val)                                            \
        do {                                                           \
                if (s->lib.easy_setopt((h), (opt), (val)) != CURLE_OK) \
                        return -EIO;                                   \
        } while (0)

/* The request's time: the client's limits, cut to what is left before its deadline (a poll's prerequisites
 * share one budget with the feed). -ETIMEDOUT when nothing is left. */
static int request_timeouts(const FleetClient *c, usec_t *ret_connect, usec_t *ret_total)
{
        usec_t connect = c->connect_timeout, total = c->total_timeout;

        if (c->deadline > 0) {
                usec_t now = time_now_monotonic();
                /* Below a millisecond curl would read 0 as "no timeout at all". */
                if (now + 1000 > c->deadline)
                        return -ETIMEDOUT;
                usec_t left = c->deadline - now;
                if (connect > left)
                        connect = left;
                if (total > left)
                        total = left;
        }
        *ret_connect = connect;
        *ret_total = total;
        return 0;
}

static int configure(const CurlSession *s, const FleetClient *c, const char *url, Transfer *t, char *errbuf)
{
        CURL *h = s->h;
        usec_t connect_timeout, total_timeout;

        if (request_timeouts(c, &connect_timeout, &total_timeout) < 0)
                return -ETIMEDOUT;
        SETOPT(h, CURLOPT_URL, url);
        SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
        /* Only https, also for any redirect: no downgrade to http, file://, gopher:// ... */
        SETOPT(h, CURLOPT_PROTOCOLS_STR, "https");
        SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
        /* A man in the middle must not be able to feed us: verification is never optional. */
        SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (c->ca_file)
                SETOPT(h, CURLOPT_CAINFO, c->ca_file);
        if (c->client_cert) {
                SETOPT(h, CURLOPT_SSLCERT, c->client_cert);
                SETOPT(h, CURLOPT_SSLKEY, c->client_key);
        }
        /* A slow or stalled server must not hold the daemon's poll forever. */
        SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, (long) (connect_timeout / 1000));
        SETOPT(h, CURLOPT_TIMEOUT_MS, (long) (total_timeout / 1000));
        SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) c->body_max);
        SETOPT(h, CURLOPT_NOSIGNAL, 1L);
        SETOPT(h, CURLOPT_HTTPHEADER, s->headers);
        SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
        SETOPT(h, CURLOPT_WRITEDATA, t);
        SETOPT(h, CURLOPT_HEADERFUNCTION, on_header);
        SETOPT(h, CURLOPT_HEADERDATA, t);
        SETOPT(h, CURLOPT_USERAGENT, "corehomed");
        /* The bytes must be exactly what was signed: no transparent decompression surprises. */
        SETOPT(h, CURLOPT_ACCEPT_ENCODING, NULL);
        return 0;
}

int fleet_fetch(FleetClient *c, const char *url, const char *if_none_match, FleetResponse *ret,
                char **ret_error)
{
        _cleanup_(curl_session_done) CurlSession s = {};
        _cleanup_free_ char *condition = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        Transfer t = { .body = { .max = c->body_max } };
        long status = 0;
        int r;

        if (!fleet_url_is_valid(url))
                return set_error(ret_error, -EINVAL, "%s: not a valid https URL", url);
        r = curl_library_open(&s.lib, ret_error);
        if (r < 0)
                return r;
        s.h = s.lib.easy_init();
        if (!s.h)
                return -ENOMEM;
        s.headers = s.lib.slist_append(NULL, "Accept: application/x.ubuntu.assertion");
        if (!s.headers)
                return -ENOMEM;
        if (if_none_match && etag_is_usable(if_none_match, strlen(if_none_match))) {
                if (asprintf(&condition, "If-None-Match: %s", if_none_match) < 0)
                        return -ENOMEM;
                struct curl_slist *l = s.lib.slist_append(s.headers, condition);
                if (!l)
                        return -ENOMEM;
                s.headers = l;
        }
        r = configure(&s, c, url, &t, errbuf);
        if (r == -ETIMEDOUT)
                return set_error(ret_error, r, "%s: not fetched: the poll's time (fleet.timeout) is up",
                                 url);
        if (r < 0)
                return set_error(ret_error, r, "%s: cannot set up the transfer", url);

        c->n_requests++;
        CURLcode code = s.lib.easy_perform(s.h);
        if (code != CURLE_OK) {
                r = map_curl_error(code, &t, c, url, errbuf[0] ? errbuf : s.lib.easy_strerror(code),
                                   ret_error);
                goto fail;
        }
        s.lib.easy_getinfo(s.h, CURLINFO_RESPONSE_CODE, &status);
        if (status == 404) {
                r = set_error(ret_error, -ENOENT, "%s: not found on the server (HTTP 404)", url);
                goto fail;
        }
        if (status != 200 && status != 304) {
                r = set_error(ret_error, -EPROTO, "%s: unexpected HTTP status %ld", url, status);
                goto fail;
        }
        *ret = (FleetResponse){ .status = status, .etag = t.etag };
        if (status == 200) {
                ret->body = t.body.data ? t.body.data : strdup("");
                ret->size = t.body.size;
                if (!ret->body) {
                        free(t.etag);
                        *ret = (FleetResponse){};
                        return -ENOMEM;
                }
        } else
                free(t.body.data);
        return 0;
fail:
        free(t.etag);
        free(t.body.data);
        return r;
}
