/* SPDX-License-Identifier: MIT */
#include "string-map.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct Slot {
        const char *key; /* NULL: empty */
        void *value;
        uint64_t hash;
} Slot;

struct StringMap {
        Slot *slots;
        size_t n_slots; /* a power of two, or 0 */
        size_t n;
};

/* FNV-1a: keys are primary keys an attacker may choose, but a batch holds at most ASSERTION_BATCH_MAX of
 * them, so even a batch of colliding keys costs a bounded number of comparisons. */
static uint64_t hash_string(const char *s)
{
        uint64_t h = 0xcbf29ce484222325ULL;

        for (; *s; s++) {
                h ^= (uint8_t) *s;
                h *= 0x100000001b3ULL;
        }
        return h;
}

StringMap *string_map_new(void)
{
        return calloc(1, sizeof(StringMap));
}

StringMap *string_map_free(StringMap *m)
{
        if (!m)
                return NULL;
        free(m->slots);
        return mfree(m);
}

static Slot *find_slot(const StringMap *m, const char *key, uint64_t hash)
{
        size_t mask = m->n_slots - 1;

        for (size_t i = hash & mask;; i = (i + 1) & mask) {
                Slot *s = &m->slots[i];
                if (!s->key || (s->hash == hash && streq(s->key, key)))
                        return s;
        }
}

void *string_map_get(const StringMap *m, const char *key)
{
        Slot *s;

        if (!m || m->n == 0)
                return NULL;
        s = find_slot(m, key, hash_string(key));
        return s->key ? s->value : NULL;
}

static int grow(StringMap *m)
{
        size_t n_slots = m->n_slots ? m->n_slots * 2 : 16;
        Slot *old = m->slots, *slots = calloc(n_slots, sizeof(Slot));
        size_t old_n_slots = m->n_slots;

        if (!slots)
                return -ENOMEM;
        m->slots = slots;
        m->n_slots = n_slots;
        for (size_t i = 0; i < old_n_slots; i++)
                if (old[i].key)
                        *find_slot(m, old[i].key, old[i].hash) = old[i];
        free(old);
        return 0;
}

int string_map_put(StringMap *m, const char *key, void *value, void **ret_old)
{
        uint64_t hash = hash_string(key);
        Slot *s;
        int r;

        if ((m->n + 1) * 2 > m->n_slots) {
                r = grow(m);
                if (r < 0)
                        return r;
        }
        s = find_slot(m, key, hash);
        if (ret_old)
                *ret_old = s->key ? s->value : NULL;
        if (!s->key)
                m->n++;
        *s = (Slot){ .key = key, .value = value, .hash = hash };
        return 0;
}

void *string_map_remove(StringMap *m, const char *key)
{
        size_t mask, i, j;
        void *value;
        Slot *s;

        if (!m || m->n == 0)
                return NULL;
        s = find_slot(m, key, hash_string(key));
        if (!s->key)
                return NULL;
        value = s->value;
        mask = m->n_slots - 1;
        i = (size_t) (s - m->slots);
        /* Backward-shift deletion: move later members of the probe run into the hole, so no tombstones
         * are needed and lookups stay short. */
        for (j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
                size_t home = m->slots[j].hash & mask;
                /* The entry at j may fill the hole at i unless its home lies cyclically in (i, j]. */
                bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
                if (stays)
                        continue;
                m->slots[i] = m->slots[j];
                i = j;
        }
        m->slots[i] = (Slot){};
        m->n--;
        return value;
}

size_t string_map_size(const StringMap *m)
{
        return m ? m->n : 0;
}

bool string_map_next(const StringMap *m, size_t *state, const char **ret_key, void **ret_value)
{
        for (; m && *state < m->n_slots; (*state)++) {
                const Slot *s = &m->slots[*state];
                if (!s->key)
                        continue;
                (*state)++;
                if (ret_key)
                        *ret_key = s->key;
                if (ret_value)
                        *ret_value = s->value;
                return true;
        }
        return false;
}
