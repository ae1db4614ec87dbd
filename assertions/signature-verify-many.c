/* SPDX-License-Identifier: MIT */
#include "signature-verify-many.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "signature-verify.h"

typedef struct SharedWork {
        SignatureCheck *checks;
        size_t n;
        atomic_size_t next; /* the next check nobody has taken yet */
} SharedWork;

/* A helper thread's copies of the keys it has met (batches are signed by one or a few keys). */
typedef struct KeyCopies {
        const PublicKey **originals;
        PublicKey **copies;
        size_t n;
} KeyCopies;

static void key_copies_done(KeyCopies *k)
{
        for (size_t i = 0; i < k->n; i++)
                public_key_free(k->copies[i]);
        free(k->originals);
        free(k->copies);
        *k = (KeyCopies){};
}

static const PublicKey *key_copy_for(KeyCopies *k, const PublicKey *key)
{
        const PublicKey **originals;
        PublicKey **copies, *copy = NULL;

        for (size_t i = 0; i < k->n; i++)
                if (k->originals[i] == key)
                        return k->copies[i];
        if (public_key_from_packet(key->packet, key->packet_size, &copy, NULL) < 0)
                return NULL;
        originals = reallocarray(k->originals, k->n + 1, sizeof(*originals));
        if (originals)
                k->originals = originals;
        copies = originals ? reallocarray(k->copies, k->n + 1, sizeof(*copies)) : NULL;
        if (!copies) {
                public_key_free(copy);
                return NULL;
        }
        k->copies = copies;
        k->originals[k->n] = key;
        k->copies[k->n++] = copy;
        return copy;
}

static void check_one(SignatureCheck *c, const PublicKey *key)
{
        c->error = (AssertionError){};
        c->result = assertion_verify_signature(c->assertion, key, &c->error);
        c->checked = true;
}

/* Takes checks until none is left. copies: NULL on the caller's thread (it owns the keys). */
static void work(SharedWork *w, KeyCopies *copies)
{
        for (;;) {
                size_t i = atomic_fetch_add(&w->next, 1);
                if (i >= w->n)
                        return;
                SignatureCheck *c = &w->checks[i];
                const PublicKey *key = copies ? key_copy_for(copies, c->key) : c->key;
                if (!key)
                        continue; /* no copy to be had: the caller checks it afterwards */
                check_one(c, key);
        }
}

static void *helper_thread(void *userdata)
{
        KeyCopies copies = {};

        work(userdata, &copies);
        key_copies_done(&copies);
        return NULL;
}

static unsigned threads_wanted(size_t n)
{
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        if (n < SIGNATURE_VERIFY_PARALLEL_MIN || cpus <= 1)
                return 1;
        return cpus > SIGNATURE_VERIFY_THREADS_MAX ? SIGNATURE_VERIFY_THREADS_MAX : (unsigned) cpus;
}

unsigned signature_verify_many(SignatureCheck *checks, size_t n)
{
        SharedWork w = { .checks = checks, .n = n };
        pthread_t helpers[SIGNATURE_VERIFY_THREADS_MAX];
        unsigned wanted = threads_wanted(n), started = 0;

        for (size_t i = 0; i < n; i++)
                checks[i].checked = false;
        atomic_init(&w.next, 0);
        for (; started + 1 < wanted; started++)
                if (pthread_create(&helpers[started], NULL, helper_thread, &w) != 0)
                        break;
        work(&w, NULL);
        for (unsigned i = 0; i < started; i++)
                (void) pthread_join(helpers[i], NULL);
        /* What a helper could not check (no key copy) is checked here, with the keys themselves. */
        for (size_t i = 0; i < n; i++)
                if (!checks[i].checked)
                        check_one(&checks[i], checks[i].key);
        return started + 1;
}
