/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>

#include "macros.h"

/* jansson (>= 2.11, with GCC/clang) provides json_decrefp() for cleanup attributes; use it. */
#ifndef _cleanup_json_
#define _cleanup_json_ _cleanup_(json_decrefp)
#endif

/* Drops a reference (NULL is fine) and returns NULL, for "v = json_decref_null(v);". */
static inline json_t *json_decref_null(json_t *v)
{
        json_decref(v);
        return NULL;
}
