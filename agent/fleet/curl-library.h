/* SPDX-License-Identifier: MIT */
#pragma once

/* libcurl, loaded by the transfer that needs it rather than linked. Linked, it brings about thirty
 * libraries (TLS, Kerberos, LDAP, IDN, SSH, ...) into every start of corehomectl and corehomed — about 9 ms
 * per process on the reference machine, half of corehomectl's start — for the one part that pulls over
 * HTTPS. The library is loaded with RTLD_NODELETE: the first transfer pays for the load, later ones find it
 * mapped, and nothing is ever unloaded under libcurl's (and OpenSSL's) exit handlers. */

#include <curl/curl.h>

#include "macros.h"

/* The soname of Debian's libcurl4 (libcurl4-openssl-dev builds against it). */
#define CURL_LIBRARY_SONAME "libcurl.so.4"

typedef struct CurlLibrary {
        void *handle;
        CURL *(*easy_init)(void);
        CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
        CURLcode (*easy_perform)(CURL *h);
        CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
        const char *(*easy_strerror)(CURLcode code);
        void (*easy_cleanup)(CURL *h);
        struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
        void (*slist_free_all)(struct curl_slist *list);
} CurlLibrary;

/* Loads libcurl and looks up what a transfer calls. -ENOPKG when the library or a symbol is missing
 * (*ret_error says which and why: dlerror()). */
int curl_library_open(CurlLibrary *ret, char **ret_error);

/* Drops this reference (the library stays mapped: RTLD_NODELETE). */
void curl_library_close(CurlLibrary *l);
