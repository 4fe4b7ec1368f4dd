/* SPDX-License-Identifier: MIT */
/*
 * t/lockorder-t.c - the lock-order checker of checking builds
 * (./configure --enable-checking, lib/base/lock.h).
 *
 * Negative controls: in a child each, a thread takes two locks against
 * the table (a later class, then an earlier one; two of a KEYED class in
 * decreasing key order; a second lock of a GUARDED class without its
 * guard; a second of a NEVER class; a lock taken twice; a release of a
 * lock not held).  Each child must stop with SIGABRT after one line
 * naming both locks and their ranks.  Positive controls: the same locks
 * in the table's order pass and leave nothing recorded.  The library's
 * own runs with the checker on are the rest of the suite.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "page/page.h"
#include "mpool.h"
#include "tap/tap.h"

#if MP_CHECKING

static mp_mutex_t registry_like, pools_like, cache_a, cache_b, arena_0,
    arena_1, tcache_a, tcache_b;

static void
setup(void)
{
    mp_mutex_init(&registry_like, MP_LOCK_REGISTRY, 0);
    mp_mutex_init(&pools_like, MP_LOCK_POOLS, 0);
    mp_mutex_init(&cache_a, MP_LOCK_CACHE, 0);
    mp_mutex_init(&cache_b, MP_LOCK_CACHE, 0);
    mp_mutex_init(&arena_0, MP_LOCK_ARENA, 0);
    mp_mutex_init(&arena_1, MP_LOCK_ARENA, 1);
    mp_mutex_init(&tcache_a, MP_LOCK_TCACHE, 0);
    mp_mutex_init(&tcache_b, MP_LOCK_TCACHE, 0);
}

static int
inverted(void *arg)
{
    (void)arg;
    mp_mutex_lock(&arena_0);
    mp_mutex_lock(&registry_like); /* REGISTRY after ARENA: out of order */
    return 0;
}

static int
keyed_down(void *arg)
{
    (void)arg;
    mp_mutex_lock(&arena_1);
    mp_mutex_lock(&arena_0);
    return 0;
}

static int
unguarded(void *arg)
{
    (void)arg;
    mp_mutex_lock(&cache_a);
    mp_mutex_lock(&cache_b); /* two caches without the registry */
    return 0;
}

static int
never_twice(void *arg)
{
    (void)arg;
    mp_mutex_lock(&tcache_a);
    mp_mutex_lock(&tcache_b);
    return 0;
}

static int
same_lock(void *arg)
{
    (void)arg;
    mp_mutex_lock(&cache_a);
    mp_mutex_lock(&cache_a);
    return 0;
}

static int
not_held(void *arg)
{
    (void)arg;
    mp_mutex_unlock(&pools_like);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(void *);
    const char *taking;
    const char *holding;
} cases[] = {
    {"a lock of an earlier class", inverted, "REGISTRY (rank 1)",
     "ARENA (rank 9"},
    {"a KEYED class in decreasing key order", keyed_down,
     "ARENA (rank 9, key 0)", "ARENA (rank 9, key 1)"},
    {"a second GUARDED lock without its guard", unguarded, "CACHE (rank 5)",
     "CACHE (rank 5)"},
    {"a second NEVER lock", never_twice, "TCACHE (rank 6)",
     "TCACHE (rank 6)"},
    {"the same lock twice", same_lock, "CACHE (rank 5)", "CACHE (rank 5)"},
    {"a release of a lock not held", not_held, "POOLS (rank 2)", NULL},
};

int
main(void)
{
    char err[1024];
    size_t n = sizeof(cases) / sizeof(cases[0]);

    plan((int)(2 * n + 3));
    setup();
    for (size_t i = 0; i < n; i++) {
        int status = tap_run_child(cases[i].fn, NULL, err, sizeof(err));
        char *nl = strchr(err, '\n');

        ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
           "%s: the program stops", cases[i].name);
        ok(strncmp(err, "libmpool: lock order: ", 22) == 0 &&
               strstr(err, cases[i].taking) != NULL &&
               (cases[i].holding == NULL ||
                strstr(err, cases[i].holding) != NULL) &&
               nl != NULL && nl[1] == '\0',
           "%s: one line names the locks and ranks", cases[i].name);
        if (nl != NULL)
            *nl = '\0';
        diag("%s", err);
    }

    /* positive controls: the table's order */
    mp_mutex_lock(&registry_like);
    mp_mutex_lock(&pools_like);
    mp_mutex_lock(&cache_a);
    mp_mutex_lock(&cache_b); /* guarded: the registry is held */
    mp_mutex_lock(&tcache_a);
    mp_mutex_lock(&arena_0);
    mp_mutex_lock(&arena_1);
    is_int(mp_lockcheck_held(), 7, "in order: seven locks recorded");
    mp_mutex_unlock(&cache_a); /* not last in, first out: still fine */
    mp_mutex_unlock(&arena_1);
    mp_mutex_unlock(&arena_0);
    mp_mutex_unlock(&tcache_a);
    mp_mutex_unlock(&cache_b);
    mp_mutex_unlock(&pools_like);
    mp_mutex_unlock(&registry_like);
    is_int(mp_lockcheck_held(), 0, "all released: nothing recorded");

    /* and the library's own paths leave nothing held */
    {
        mpool_cache_t *c = mpool_cache_create("lockorder", 64, 0, NULL, NULL,
                                              NULL, 0);
        void *o = mpool_cache_alloc(c);
        mpool_cache_free(c, o);
        mpool_reclaim(NULL);
        mpool_cache_destroy(c);
        is_int(mp_lockcheck_held(), 0,
               "after create, alloc, free, reclaim, destroy: no lock held");
    }
    return 0;
}

#else

int
main(void)
{
    skip_all("not a checking build (./configure --enable-checking)");
}

#endif
