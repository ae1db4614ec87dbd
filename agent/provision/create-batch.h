/* SPDX-License-Identifier: MIT */
#pragma once

/* The users one application of grants creates (a stick, a fleet delivery, `create-user --known`), made
 * together: the grants are decided one by one, each creation is queued here, and create_batch_run() makes
 * them all under one durable intent commit and one sync of the homes:
 *   1. an intent journal entry per user, all made durable with one syncfs();
 *   2. every home (host record, directory, skeleton, ~/.identity) written without an fsync() each, the UIDs
 *      picked from memory (home_batch_begin());
 *   3. one syncfs() per file system of the homes (home_batch_end());
 *   4. the entries removed, one fsync() of the journal directory.
 * A crash anywhere before 4 leaves entries, and the next writer's recovery removes every home of the batch
 * (the grants stay stored; the next application makes them again): never half a user. A report entry says
 * "created" only after 3. */

#include <jansson.h>
#include <stddef.h>

#include "provisioner.h"
#include "report.h"

typedef struct CreateBatch {
        char **user_names; /* NULL-terminated after create_batch_add() */
        json_t **records;
        size_t *results; /* index of each user's entry in the report */
        size_t n;
} CreateBatch;

void create_batch_done(CreateBatch *b);

/* Queues the creation of user_name from record (a reference is taken) for report entry result. */
int create_batch_add(CreateBatch *b, const char *user_name, json_t *record, size_t result);

/* Is user_name queued? (A later grant naming the same user waits until the queue is made.) */
bool create_batch_has(const CreateBatch *b, const char *user_name);

/* Makes every queued user (see above) and sets each one's report entry: created, or refused with why. The
 * queue is empty afterwards. Returns < 0 only when the report cannot be written (-ENOMEM). */
int create_batch_run(Provisioner *p, ProvisionReport *report, CreateBatch *b);
