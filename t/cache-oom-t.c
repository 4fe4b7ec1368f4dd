/* SPDX-License-Identifier: MIT */
/*
 * t/cache-oom-t.c - a cache running out of memory.  In a child with a low
 * address-space limit: allocation from a cache ends in NULL with ENOMEM;
 * with a reclaim callback that can free objects the program keeps as its
 * own cache, the allocation runs the callback and succeeds instead; and
 * the cache works again once the limit is lifted.  Each check is one bit
 * of the child's exit status.  Skipped under valgrind and ASan.
 *
 * The k210 backend asks no kernel for memory: the child runs out of its
 * RAM (8 MiB in the host build) instead, with no limit to set, and frees
 * its objects where the others lift the limit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mpool.h"
#include "tap/tap.h"

#define OBJ 4096
#define MAX_OBJS 200000

static const char *const checks[] = {
    "allocation ends in NULL under a 96 MiB address-space limit",
    "... with errno ENOMEM",
    "with a reclaim callback, the next allocation runs it and succeeds",
    "the callback ran before the allocation failed (once or more)",
    "objects allocated before the failure are intact",
    "after lifting the limit, the cache allocates again",
};
enum { NCHECKS = sizeof(checks) / sizeof(checks[0]) };

static const char *const checks_k210[] = {
    "allocation ends in NULL once the 8 MiB of RAM are used",
    "... with errno ENOMEM",
    "with a reclaim callback, the next allocation runs it and succeeds",
    "the callback ran before the allocation failed (once or more)",
    "objects allocated before the failure are intact",
    "after freeing its objects, the cache allocates again",
};
_Static_assert(sizeof(checks_k210) == sizeof(checks), "one bit per check");
static bool k210;

static void *objs[MAX_OBJS];
static void *hoard[16]; /* what the program keeps as its own cache */
static mpool_cache_t *cache;
static int callback_runs;

static size_t
give_back(void *arg)
{
    size_t n = 0;

    (void)arg;
    callback_runs++;
    for (int i = 0; i < 16; i++)
        if (hoard[i] != NULL) {
            mpool_cache_free(cache, hoard[i]);
            hoard[i] = NULL;
            n++;
        }
    return n;
}

static int
child(void)
{
    struct rlimit old, low;
    int failed = 0, n = 0, err = 0;
    void *p;

    cache = mpool_cache_create("oom", OBJ, 0, NULL, NULL, NULL,
                               MPOOL_CACHE_NOMAGAZINE);
    for (int i = 0; i < 16; i++)
        hoard[i] = mpool_cache_alloc(cache);
    if (cache == NULL || getrlimit(RLIMIT_AS, &old) != 0)
        return 0x7f;
    low = old;
    low.rlim_cur = tap_mapped_bytes() + (96u << 20);
    if (!k210 && setrlimit(RLIMIT_AS, &low) != 0)
        return 0x7f;
    while (n < MAX_OBJS) {
        errno = 0;
        if ((objs[n] = mpool_cache_alloc(cache)) == NULL) {
            err = errno;
            break;
        }
        memset(objs[n], n & 0xff, OBJ);
        n++;
    }
    if (n == MAX_OBJS)
        failed |= 1 << 0;
    if (err != ENOMEM)
        failed |= 1 << 1;
    callback_runs = 0;
    mpool_cache_set_reclaim(cache, give_back);
    p = mpool_cache_alloc(cache);
    if (p == NULL)
        failed |= 1 << 2;
    if (callback_runs < 1)
        failed |= 1 << 3;
    for (int i = 0; i < n; i++)
        if (((unsigned char *)objs[i])[OBJ - 1] != (i & 0xff))
            failed |= 1 << 4;
    if (!k210 && setrlimit(RLIMIT_AS, &old) != 0)
        return 0x7f;
    if (k210) {
        /* no limit to lift: free the objects instead; and leave nothing
         * allocated, as this child runs under valgrind too */
        for (int i = 0; i < n; i++)
            mpool_cache_free(cache, objs[i]);
        mpool_cache_free(cache, p);
        for (int i = 0; i < 1000; i++)
            if ((objs[i] = mpool_cache_alloc(cache)) == NULL)
                failed |= 1 << 5;
        for (int i = 0; i < 1000; i++)
            mpool_cache_free(cache, objs[i]);
        if (mpool_cache_destroy(cache) != 0)
            failed |= 1 << 5;
        return failed;
    }
    for (int i = 0; i < 1000 && !(failed & (1 << 5)); i++)
        if (mpool_cache_alloc(cache) == NULL)
            failed |= 1 << 5;
    return failed;
}

int
main(void)
{
    k210 = tap_backend_is("k210");
    if (!k210)
        tap_skip_if_rlimit_as_unusable();
    plan(NCHECKS + 1);
    tap_child_checks(child, k210 ? checks_k210 : checks, NCHECKS);
    return tap_done();
}
