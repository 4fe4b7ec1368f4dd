/* SPDX-License-Identifier: MIT */
/*
 * pool/string.c - copies of strings in a pool: mpool_strdup and
 * mpool_strndup, the talloc/APR helpers a program that keeps its strings
 * in pools reaches for first.  On every backend, bare metal included:
 * nothing here needs a C library (the length is counted by hand, the copy
 * is the compiler's memcpy, which backends/k210/string.c provides there).
 * The hosted-only formatted copies (mpool_asprintf) are lib/hosted/'s.
 */
#include "pool/pool.h"

/* Bytes of s before its NUL, looking at no more than max of them. */
static size_t
string_length(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n] != '\0')
        n++;
    return n;
}

/* A copy of the first len bytes of s, NUL-terminated, in the pool.  The
 * pool is checked here, where a bad one becomes EINVAL, rather than in
 * mpool_alloc, which reports it and stops the program. */
static char *
string_copy(mpool_t *pool, const char *s, size_t len)
{
    char *copy;

    if (pool->magic != MP_POOL_MAGIC) {
        mp_set_errno(EINVAL);
        return NULL;
    }
    copy = mpool_alloc(pool, len + 1); /* len < SIZE_MAX: s is in memory */
    if (copy == NULL)
        return NULL; /* errno ENOMEM from mpool_alloc */
    __builtin_memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *
mpool_strdup(mpool_t *pool, const char *s)
{
    if (pool == NULL || s == NULL) {
        mp_set_errno(EINVAL);
        return NULL;
    }
    return string_copy(pool, s, string_length(s, SIZE_MAX));
}

char *
mpool_strndup(mpool_t *pool, const char *s, size_t n)
{
    if (pool == NULL || s == NULL) {
        mp_set_errno(EINVAL);
        return NULL;
    }
    return string_copy(pool, s, string_length(s, n));
}
