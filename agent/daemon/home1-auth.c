/* SPDX-License-Identifier: MIT */
/* Authentication for org.freedesktop.home1 (home1-auth.h). */
#include "home1-auth.h"

#include <errno.h>
#include <string.h>

#include "grant-convert.h"
#include "json-util.h"
#include "user-record-password.h"

char **home1_passwords_free(char **passwords)
{
        if (!passwords)
                return NULL;
        for (char **p = passwords; *p; p++)
                erase_and_free(*p, strlen(*p));
        free(passwords);
        return NULL;
}

/* The jansson copy of the secret holds the passwords too: overwrite its strings before it goes. */
static void secret_erase(json_t *v)
{
        json_t *e;
        size_t i;

        json_array_foreach (v, i, e)
                if (json_is_string(e))
                        (void) json_string_set(e, "");
}

int home1_secret_parse(const char *text, char ***ret)
{
        _cleanup_json_ json_t *v = NULL;
        _cleanup_passwords_ char **passwords = NULL;
        json_t *list, *e;
        size_t i, n = 0;

        if (!text || strlen(text) > HOME1_SECRET_TEXT_MAX)
                return text ? -E2BIG : -EINVAL;
        /* An empty string is what a client sends that has no secret yet (homectl's first try). */
        if (text[0] != '\0') {
                v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
                if (!json_is_object(v))
                        return -EINVAL;
        }
        list = json_object_get(v, "password");
        if (list && !json_is_array(list)) {
                secret_erase(list);
                return -EINVAL;
        }
        if (json_array_size(list) > HOME1_SECRET_PASSWORDS_MAX) {
                secret_erase(list);
                return -E2BIG;
        }
        passwords = calloc(json_array_size(list) + 1, sizeof(char *));
        if (!passwords)
                return -ENOMEM;
        json_array_foreach (list, i, e) {
                const char *s = json_string_value(e);

                if (!s) {
                        secret_erase(list);
                        return -EINVAL;
                }
                passwords[n] = strdup(s);
                if (!passwords[n]) {
                        secret_erase(list);
                        return -ENOMEM;
                }
                n++;
        }
        secret_erase(list);
        *ret = TAKE_PTR(passwords);
        return 0;
}

static uint64_t record_u64(json_t *record, const char *field, uint64_t fallback)
{
        json_t *v = json_object_get(record, field);

        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return fallback;
        return (uint64_t) json_integer_value(v);
}

static usec_t ratelimit_interval(json_t *record)
{
        return record_u64(record, "rateLimitIntervalUSec", HOME1_RATELIMIT_INTERVAL_DEFAULT);
}

static uint64_t ratelimit_burst(json_t *record)
{
        return record_u64(record, "rateLimitBurst", HOME1_RATELIMIT_BURST_DEFAULT);
}

static usec_t usec_add(usec_t a, usec_t b)
{
        return a > USEC_INFINITY - b ? USEC_INFINITY : a + b;
}

int home1_ratelimit_try(Home1RateLimit *rl, json_t *record, usec_t now)
{
        if (rl->begin != USEC_INFINITY && rl->begin > now) {
                /* The window begins in the future: the clock went back (an RTC-less device learning the
                 * time). homed starts over rather than lock the user out until then. */
                *rl = (Home1RateLimit){ .begin = now, .count = 1 };
                return 1;
        }
        if (rl->begin == USEC_INFINITY || usec_add(rl->begin, ratelimit_interval(record)) <= now) {
                *rl = (Home1RateLimit){ .begin = now, .count = 1 };
                return 1;
        }
        if (rl->count < ratelimit_burst(record)) {
                rl->count++;
                return 1;
        }
        return 0;
}

usec_t home1_ratelimit_next_try(const Home1RateLimit *rl, json_t *record, usec_t now)
{
        if (rl->begin == USEC_INFINITY)
                return USEC_INFINITY;
        if (rl->begin > now)
                return USEC_INFINITY;
        if (rl->count < ratelimit_burst(record))
                return 0;
        return usec_add(rl->begin, ratelimit_interval(record));
}

int home1_record_login_allowed(json_t *record, usec_t now)
{
        json_t *v;

        if (json_is_true(json_object_get(record, "locked")))
                return -ENOLCK;
        v = json_object_get(record, "notBeforeUSec");
        if (json_is_integer(v) && now < (usec_t) json_integer_value(v))
                return -EL2HLT;
        /* homed refuses strictly after notAfterUSec; a grant ends at its until (notAfterUSec is that rounded
         * up to a day, grant_record_end()), so the instant itself is already outside it (the expiry timer
         * fires then). */
        if (now >= grant_record_end(record))
                return -EL3HLT;
        return 0;
}

int home1_authenticate(json_t *record, char *const *passwords)
{
        int r = user_record_find_password(record, passwords);

        if (r == -ENOKEY)
                return -EKEYREVOKED; /* the record has no hash: nothing could ever authenticate */
        if (r == -EKEYREJECTED && (!passwords || !passwords[0]))
                return -ENOKEY;
        return r;
}
