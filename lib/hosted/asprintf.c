/* SPDX-License-Identifier: MIT */
/*
 * hosted/asprintf.c - formatted strings in a pool: mpool_asprintf and
 * mpool_vasprintf.  Hosted builds only, as they format with the C
 * library's vsnprintf: once to learn the length, then into a block of
 * exactly that size (plus the NUL) from the pool.  No buffer of the C
 * library's malloc is involved, so the string lives and dies with the
 * pool like any other block.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "top.h"

char *
mpool_vasprintf(mpool_t *pool, const char *fmt, va_list ap)
{
    va_list again;
    char *s;
    int len;

    if (pool == NULL || fmt == NULL || pool->magic != MP_POOL_MAGIC) {
        errno = EINVAL;
        return NULL;
    }
    va_copy(again, ap);
    len = vsnprintf(NULL, 0, fmt, ap);
    if (len < 0) { /* an encoding error, or more than INT_MAX bytes */
        va_end(again);
        errno = EINVAL;
        return NULL;
    }
    s = mpool_alloc(pool, (size_t)len + 1);
    if (s == NULL) {
        va_end(again);
        return NULL; /* errno ENOMEM */
    }
    if (vsnprintf(s, (size_t)len + 1, fmt, again) != len) {
        /* the arguments changed between the two passes (a %s whose string
         * another thread rewrote): nothing half-made is returned */
        va_end(again);
        mpool_free(pool, s);
        errno = EINVAL;
        return NULL;
    }
    va_end(again);
    return s;
}

char *
mpool_asprintf(mpool_t *pool, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = mpool_vasprintf(pool, fmt, ap);
    va_end(ap);
    return s;
}
