/* SPDX-License-Identifier: MIT */
#include "curl-library.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* dlsym() into a typed function pointer: POSIX guarantees the conversion for dlsym's result. */
#define LOOKUP(l, field, symbol)                                     \
        do {                                                         \
                *(void **) &(l)->field = dlsym((l)->handle, symbol); \
                if (!(l)->field)                                     \
                        return missing(l, ret_error, symbol);        \
        } while (0)

static int missing(CurlLibrary *l, char **ret_error, const char *what)
{
        const char *why = dlerror();

        if (ret_error && asprintf(ret_error, "cannot load %s (needed to pull over HTTPS): %s: %s",
                                  CURL_LIBRARY_SONAME, what, why ? why : "not found") < 0)
                *ret_error = NULL;
        curl_library_close(l);
        return -ENOPKG;
}

int curl_library_open(CurlLibrary *ret, char **ret_error)
{
        CurlLibrary *l = ret;

        *l = (CurlLibrary){};
        l->handle = dlopen(CURL_LIBRARY_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!l->handle)
                return missing(l, ret_error, "dlopen");
        LOOKUP(l, easy_init, "curl_easy_init");
        LOOKUP(l, easy_setopt, "curl_easy_setopt");
        LOOKUP(l, easy_perform, "curl_easy_perform");
        LOOKUP(l, easy_getinfo, "curl_easy_getinfo");
        LOOKUP(l, easy_strerror, "curl_easy_strerror");
        LOOKUP(l, easy_cleanup, "curl_easy_cleanup");
        LOOKUP(l, slist_append, "curl_slist_append");
        LOOKUP(l, slist_free_all, "curl_slist_free_all");
        return 0;
}

void curl_library_close(CurlLibrary *l)
{
        if (l->handle)
                (void) dlclose(l->handle);
        *l = (CurlLibrary){};
}
