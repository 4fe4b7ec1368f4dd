/* SPDX-License-Identifier: MIT */
/*
 * set-option.c - the library's run-time options, set by name:
 * mpool_set_option(key, value), which MPOOL_OPTIONS="key=value,..." calls
 * at start-up in hosted builds (hosted/options.c reads the environment and
 * reports a bad entry) and a kernel calls itself.  Freestanding: no C
 * library, so the same code runs on bare metal.
 *
 *   debug     0|1     checking mode for what is created afterwards, as
 *                     mpool_set_debug (cache layer)
 *   stats     0|1     the cache report on standard error at exit (hosted
 *                     builds only: hosted/options.c's hook)
 *   retain    size    the default pool's retention cap in bytes, with an
 *                     optional K, M or G (binary) suffix; 0: no cap
 *   magazine  0..max  the most rounds in a magazine of a cache or size
 *                     class made afterwards (0: no magazines); max is
 *                     MP_MAGAZINE_ROUNDS_MAX, 256 (32 on k210), which
 *                     only caches of objects of 32 bytes or less reach
 *                     (others: 128, fewer for large objects)
 *   thp       0|1     transparent huge pages on the segments handed out
 *                     afterwards, and retention purges in whole huge
 *                     pages (page layer and backend, page/arena.c;
 *                     ENOTSUP where there are none)
 *
 * A value is checked whole before anything changes: a bad one changes
 * nothing (EINVAL, even for a key the backend does not have; a good value
 * for such a key is ENOTSUP).
 */
#include "top.h"

/* "0" or "1". */
static bool
parse_flag(const char *v, bool *out)
{
    if ((v[0] != '0' && v[0] != '1') || v[1] != '\0')
        return false;
    *out = v[0] == '1';
    return true;
}

/* Decimal digits, then at most one of K, M, G (either case: times 2^10,
 * 2^20, 2^30) when suffix is allowed; false on anything else or an
 * overflow of size_t. */
static bool
parse_number(const char *v, bool suffix, size_t *out)
{
    size_t n = 0;
    unsigned shift = 0;
    const char *p = v;

    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++)
        if (__builtin_mul_overflow(n, 10, &n) ||
            __builtin_add_overflow(n, (size_t)(*p - '0'), &n))
            return false;
    if (suffix && *p != '\0') {
        switch (*p++) {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        default: return false;
        }
    }
    if (*p != '\0' || (shift != 0 && n > (SIZE_MAX >> shift)))
        return false;
    *out = n << shift;
    return true;
}

static bool
key_is(const char *key, const char *name)
{
    while (*key != '\0' && *key == *name) {
        key++;
        name++;
    }
    return *key == *name;
}

static const char *const option_keys[] = {"debug", "stats", "retain",
                                          "magazine", "thp"};

bool
mp_option_known(const char *key)
{
    for (size_t i = 0; i < sizeof(option_keys) / sizeof(option_keys[0]); i++)
        if (key_is(key, option_keys[i]))
            return true;
    return false;
}

/* 0, or the error number mpool_set_option fails with. */
static int
option_set(const char *key, const char *value)
{
    bool on;
    size_t n;

    if (key_is(key, "debug")) {
        if (!parse_flag(value, &on))
            return EINVAL;
        mpool_set_debug(on);
        return 0;
    }
    if (key_is(key, "stats")) {
        if (!parse_flag(value, &on))
            return EINVAL;
        if (mp_option_stats == NULL)
            return ENOTSUP; /* no report without a C library */
        return mp_option_stats(on);
    }
    if (key_is(key, "retain")) {
        if (!parse_number(value, true, &n))
            return EINVAL;
        mp_pool_set_default_retain(n);
        return 0;
    }
    if (key_is(key, "magazine")) {
        if (!parse_number(value, false, &n) || n > MP_MAGAZINE_ROUNDS_MAX)
            return EINVAL;
        mp_magazine_rounds_max = (uint32_t)n;
        return 0;
    }
    if (key_is(key, "thp")) {
        if (!parse_flag(value, &on))
            return EINVAL;
        return mp_page_huge_pages(on);
    }
    return EINVAL;
}

int
mpool_set_option(const char *key, const char *value)
{
    int rc;

    if (key == NULL || value == NULL) {
        mp_set_errno(EINVAL);
        return -1;
    }
    rc = option_set(key, value);
    if (rc != 0) {
        mp_set_errno(rc);
        return -1;
    }
    return 0;
}
