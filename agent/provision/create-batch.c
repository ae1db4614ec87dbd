/* SPDX-License-Identifier: MIT */
#include "create-batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crash-point.h"
#include "home-batch.h"
#include "intent-journal.h"
#include "string-util.h"

void create_batch_done(CreateBatch *b)
{
        for (size_t i = 0; i < b->n; i++) {
                free(b->user_names[i]);
                json_decref(b->records[i]);
        }
        free(b->user_names);
        free(b->records);
        free(b->results);
        *b = (CreateBatch){};
}

int create_batch_add(CreateBatch *b, const char *user_name, json_t *record, size_t result)
{
        char **names = reallocarray(b->user_names, b->n + 2, sizeof(char *));
        json_t **records;
        size_t *results;

        if (!names)
                return -ENOMEM;
        b->user_names = names;
        records = reallocarray(b->records, b->n + 1, sizeof(json_t *));
        if (!records)
                return -ENOMEM;
        b->records = records;
        results = reallocarray(b->results, b->n + 1, sizeof(size_t));
        if (!results)
                return -ENOMEM;
        b->results = results;
        if (!(b->user_names[b->n] = strdup(user_name)))
                return -ENOMEM;
        b->records[b->n] = json_incref(record);
        b->results[b->n] = result;
        b->user_names[++b->n] = NULL;
        return 0;
}

bool create_batch_has(const CreateBatch *b, const char *user_name)
{
        for (size_t i = 0; i < b->n; i++)
                if (streq(b->user_names[i], user_name))
                        return true;
        return false;
}

/* Every queued user refused for the same reason (nothing of theirs was made, or recovery removes it). */
static int refuse_all(ProvisionReport *report, CreateBatch *b, int error, const char *what)
{
        int r = 0;

        for (size_t i = 0; i < b->n && r >= 0; i++)
                r = user_result_set(report, &report->users[b->results[i]], PROVISION_REFUSED, error,
                                    "cannot create the home: %s: %s", what, strerror(-error));
        return r;
}

int create_batch_run(Provisioner *p, ProvisionReport *report, CreateBatch *b)
{
        _cleanup_free_ int *outcomes = NULL;
        _cleanup_free_ RecordError *errors = NULL;
        int r;

        if (b->n == 0)
                return 0;
        outcomes = calloc(b->n, sizeof(int));
        errors = calloc(b->n, sizeof(RecordError));
        if (!outcomes || !errors)
                return -ENOMEM;

        r = intent_begin_many(p->root, INTENT_CREATE, b->user_names, b->n);
        if (r < 0) {
                r = refuse_all(report, b, r, "cannot write the intent journal");
                create_batch_done(b);
                return r;
        }
        crash_point("provision-create:journaled");

        r = home_batch_begin(p->home);
        if (r < 0) {
                (void) intent_end_many(p->root, b->user_names, b->n);
                r = refuse_all(report, b, r, "cannot start the batch");
                create_batch_done(b);
                return r;
        }
        for (size_t i = 0; i < b->n; i++)
                outcomes[i] = home_create(p->home, b->records[i], NULL, &errors[i]);
        r = home_batch_end(p->home);
        if (r < 0) {
                /* The homes may not be on disk: the entries stay, and the next writer's recovery removes
                 * them (the grants are stored; a later application makes them again). */
                r = refuse_all(report, b, r, "cannot write the new homes to disk");
                create_batch_done(b);
                return r;
        }
        crash_point("provision-create:created");

        r = intent_end_many(p->root, b->user_names, b->n);
        for (size_t i = 0; i < b->n; i++) {
                UserResult *e = &report->users[b->results[i]];
                int k;

                if (outcomes[i] < 0)
                        k = user_result_set(
                                report, e, PROVISION_REFUSED, outcomes[i], "cannot create the home: %s",
                                errors[i].message[0] ? errors[i].message : strerror(-outcomes[i]));
                else if (r < 0) /* made and durable; the entry may come back and undo it at recovery */
                        k = user_result_set(report, e, PROVISION_REFUSED, r,
                                            "cannot close the entry in the intent journal: %s",
                                            strerror(-r));
                else
                        k = user_result_set(report, e, PROVISION_CREATED, 0, NULL);
                if (k < 0) {
                        create_batch_done(b);
                        return k;
                }
        }
        create_batch_done(b);
        return 0;
}
