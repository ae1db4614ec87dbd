/* SPDX-License-Identifier: MIT */
#pragma once

/* The device owner's local revoke: user names for which no grant applies on this device, whatever brought
 * the grant (a stick, a fleet feed, create-user --known, a Manager call) and whoever signed it. A brand's
 * assertions are never touched: the owner decides what happens here, the brand what it grants.
 *
 *   $ROOT/var/lib/corehomed/denied.json   {"denied": [{"user": "alice", "since": "RFC 3339"}, ...]}
 *
 * Keyed by user name, not by grant: a later grant of another brand or email that asks for the same name is
 * denied too, since the owner said "no alice here", not "not this assertion" (docs/lifecycle.md). The
 * file is state below the root like the others: written atomically, only with the root's lock held
 * (root-lock.h), and loaded with the rest of a provisioner (provisioner.h). */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "time-util.h"

#define DENY_LIST_DIR  "/var/lib/corehomed"
#define DENY_LIST_PATH DENY_LIST_DIR "/denied.json"

/* Most names one device may deny: far more than the technicians of any fleet, and small enough that the
 * check each grant costs stays a short scan. A full list refuses the next deny (-E2BIG). */
#define DENY_LIST_MAX 1024
/* The file holds at most DENY_LIST_MAX entries of a name (USER_NAME_LENGTH_MAX) and a time: a larger file
 * was not written by us, and is refused before it is parsed. */
#define DENY_LIST_SIZE_MAX (128 * 1024)

typedef struct DenyEntry {
        char *user_name;
        usec_t since; /* when the administrator denied it */
} DenyEntry;

typedef struct DenyList {
        DenyEntry *entries; /* in name order */
        size_t n;
} DenyList;

void deny_list_done(DenyList *l);

/* Loads root's list (empty when the file does not exist). A file that is not ours to read (too large,
 * malformed, an invalid name, more than DENY_LIST_MAX entries) is an error (-EBADMSG, -E2BIG): silently
 * taking it for empty would let denied users come back. *ret_error says why. */
int deny_list_load(const char *root, DenyList *ret, char **ret_error);

/* Writes l to root atomically (0600). Only with the root's lock held. */
int deny_list_save(const char *root, const DenyList *l);

/* The entry of user_name, or NULL when it is not denied. */
const DenyEntry *deny_list_find(const DenyList *l, const char *user_name);

/* Adds user_name (a valid user name: -EINVAL otherwise) denied since since; -EEXIST when it is already
 * there, -E2BIG when the list holds DENY_LIST_MAX names. */
int deny_list_add(DenyList *l, const char *user_name, usec_t since);

/* Takes user_name off the list; -ENOENT when it was not there. */
int deny_list_remove(DenyList *l, const char *user_name);

/* [{"user": NAME, "since": RFC 3339}, ...]: what list and status show. New reference, NULL on OOM. */
json_t *deny_list_to_json(const DenyList *l);
