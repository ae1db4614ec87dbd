/* SPDX-License-Identifier: MIT */
#pragma once

/* The intent journal: before an operation changes a user, it records what it is about to do in
 * $ROOT/var/lib/corehomed/journal/USER.intent (written atomically, fsync'ed); when the operation is complete
 * the entry is removed. An entry found at start-up means the process died in the middle, and recovery
 * finishes or undoes it (see provision_recover()), so a crash never leaves a half user. */

#include <jansson.h>

#include "macros.h"

#define INTENT_JOURNAL_DIR "/var/lib/corehomed/journal"

typedef enum IntentOperation {
        INTENT_CREATE, /* undone on recovery: nothing existed before */
        INTENT_UPDATE, /* finished on recovery: the new record is in the entry */
        INTENT_REMOVE, /* finished on recovery */
} IntentOperation;

typedef struct Intent {
        IntentOperation operation;
        char *user_name;
        json_t *record; /* INTENT_UPDATE: the record being written */
} Intent;

void intent_done(Intent *i);

int intent_begin(const char *root, IntentOperation operation, const char *user_name, json_t *record);
int intent_end(const char *root, const char *user_name);

/* The same operation (no record) for many users at once, e.g. the creations of one batch: every entry is
 * written, then all are made durable with one syncfs() — before any of them may start. On failure no entry
 * is left. */
int intent_begin_many(const char *root, IntentOperation operation, char *const *user_names, size_t n);
/* Ends many entries: removed, then one fsync() of the journal's directory. Returns the first error. */
int intent_end_many(const char *root, char *const *user_names, size_t n);

/* Every pending entry, in name order. */
int intent_list(const char *root, Intent **ret, size_t *ret_n);
void intent_list_free(Intent *l, size_t n);
