/* SPDX-License-Identifier: MIT */
#pragma once

/* Ownership helpers in systemd's style: a variable declared with a cleanup attribute owns its object;
 * TAKE_PTR()/TAKE_FD() hand the ownership over explicitly. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f)         __attribute__((cleanup(f)))
#define _unused_             __attribute__((unused))
#define _printf_(a, b)       __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define TAKE_PTR(p)                         \
        ({                                  \
                __typeof__(p) _taken = (p); \
                (p) = NULL;                 \
                _taken;                     \
        })

#define TAKE_FD(fd)                   \
        ({                            \
                int _taken_fd = (fd); \
                (fd) = -1;            \
                _taken_fd;            \
        })

/* Defines func##p(type *p) that calls func(*p) when *p is not NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p)     \
        {                                       \
                if (*p)                         \
                        func(*p);               \
        }

static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

static inline void freep(void *p)
{
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Closes fd unless it is negative, keeping errno intact so error paths can still report it. */
static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved_errno = errno;
                (void) close(fd);
                errno = saved_errno;
        }
        return -1;
}

static inline void closep(int *fd)
{
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
        if (*f)
                (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Frees a NULL-terminated array of strings. */
static inline char **strv_free(char **l)
{
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Overwrites secrets before freeing them; the compiler may not elide explicit_bzero(). */
static inline void erase_and_free(void *p, size_t size)
{
        if (!p)
                return;
        explicit_bzero(p, size);
        free(p);
}

#define streq(a, b)     (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)

static inline const char *strempty(const char *s)
{
        return s ? s : "";
}

/* Returns the part of s after prefix, or NULL if s does not start with prefix. */
static inline const char *startswith(const char *s, const char *prefix)
{
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

/* A deliberate fall through to the next case (-Wimplicit-fallthrough). */
#define _fallthrough_ __attribute__((fallthrough))
