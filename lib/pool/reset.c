/* SPDX-License-Identifier: MIT */
/*
 * reset.c - mpool_reset: every block of a pool freed at once, the pool
 * staying with its options.  APR's apr_pool_clear, talloc's
 * talloc_free_children: a program that builds a structure per request,
 * per frame or per pass empties it in one call, in time proportional to
 * the pages the pool holds, not to its blocks.
 *
 *   1. its children are destroyed, depth first (family.c);
 *   2. other threads' magazines are drained once (magazine.c), so that no
 *      thread holds one of the pool's objects cached;
 *   3. each size class is emptied in place (cache/reset.c): its slabs
 *      become empty slabs, kept for reuse up to the pool's retain bytes
 *      (all of them when retain is 0, until mpool_reclaim), the others
 *      given back, purged; the pool's limit counts only what it keeps;
 *   4. each large block is freed (large.c: in checking mode its red zone
 *      is checked and its address remembered, so a late free of it is a
 *      double free);
 *   5. a region pool lays its region out as one free block (region.c);
 *   6. the peak of the bytes held (mpool_stats) starts again from what
 *      the pool keeps.
 *
 * While 3 runs the pool is marked resetting under pools_lock: reclaim,
 * which walks the pools under that lock, passes it by, so no reclaim
 * pushes a drained object back into a slab that has just been emptied.
 * The caller guarantees that no other thread uses the pool meanwhile, as
 * for mpool_destroy.
 *
 * After a reset a stale pointer is a pointer to freed memory: in checking
 * mode every object is marked freed and poisoned (cache/debug.c), so a
 * free of it is a double free and a write through it is reported when
 * the object is next handed out; under valgrind every block is freed to
 * memcheck, which reports a use after free.
 */
#include "pool/pool.h"
#include "pool/large.h"

static void
reset_large(struct mpool *p)
{
    for (;;) {
        mp_large_t *l;

        pool_lock(p);
        l = p->large;
        pool_unlock(p);
        if (l == NULL)
            break;
        mp_large_free(l); /* off the list, the run given back */
    }
}

int
mpool_reset(mpool_t *pool)
{
    struct mpool *p = pool, *doomed;
    bool drained = true;

    if (p == NULL || p == &mp_default_pool || !mp_pool_valid(p)) {
        mp_set_errno(EINVAL);
        return -1;
    }
    mp_pools_lock();
    doomed = mp_family_doom_locked(p, false);
    p->resetting = true;
    mp_pools_unlock();
    mp_family_release(doomed); /* drains other threads when it has to */
    if (p->ops != NULL) {
        p->ops->reset(p);
    } else {
        /* a single-threaded pool's objects are in its own thread's slots
         * only, which the classes flush themselves */
        if (!(p->flags & MPOOL_SINGLE_THREADED))
            drained = mp_tcache_drain_others();
        for (unsigned i = 0; i < MP_CLASSES; i++) {
            struct mpool_cache *c =
                atomic_load_explicit(&p->classes[i], memory_order_acquire);
            if (c != NULL) {
                mp_cache_reset_unlisted(c, drained);
                mp_pool_fast_set(p, i); /* its slot may be a new one */
            }
        }
        reset_large(p);
        atomic_store_explicit(
            &p->taken_peak,
            atomic_load_explicit(&p->taken, memory_order_relaxed),
            memory_order_relaxed);
    }
    mp_pools_lock();
    p->resetting = false;
    mp_pools_unlock();
    return 0;
}
