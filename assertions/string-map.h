/* SPDX-License-Identifier: MIT */
#pragma once

/* A hash map from strings to pointers: the in-memory indexes of the trust database (assertions by type and
 * primary key, account-keys by key id and by account and name, a batch's assertions by key). Keys are
 * borrowed: each must stay valid and unchanged while it is in the map (the value usually owns it). Open
 * addressing with linear probing, at most half full, so a lookup is a hash and one or two comparisons. */

#include <stdbool.h>
#include <stddef.h>

#include "macros.h"

typedef struct StringMap StringMap;

StringMap *string_map_new(void);
/* Frees the map, not the keys or values. Accepts NULL; returns NULL. */
StringMap *string_map_free(StringMap *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(StringMap *, string_map_free)
#define _cleanup_string_map_ _cleanup_(string_map_freep)

/* The value stored under key, or NULL. */
void *string_map_get(const StringMap *m, const char *key);

/* Stores value (not NULL) under key, replacing what was there (*ret_old, when not NULL, gets the value it
 * replaced, or NULL). Returns 0, or -ENOMEM (the map is unchanged). */
int string_map_put(StringMap *m, const char *key, void *value, void **ret_old);

/* Removes key; returns its value, or NULL when it was absent. */
void *string_map_remove(StringMap *m, const char *key);

size_t string_map_size(const StringMap *m);

/* Iteration in no particular order: start with *state = 0; returns false at the end. The map must not
 * change during an iteration. */
bool string_map_next(const StringMap *m, size_t *state, const char **ret_key, void **ret_value);
