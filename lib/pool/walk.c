/* SPDX-License-Identifier: MIT */
/*
 * walk.c - mpool_walk(): the program's callback on every live block of a
 * pool, with its usable size.
 *
 *   class pool    each class cache's live objects (cache/walk.c: a bitmap
 *                 per slab, built from the slabs' free lists and every
 *                 magazine, the depot and the quarantine), then the large
 *                 blocks on the pool's list
 *   region pool   the blocks of the region in address order, found one at
 *                 a time under the region's lock (region.c)
 *
 * The caller guarantees that no thread allocates from or frees to the pool
 * during the walk, so a live block stays live and where it is.  fn runs
 * with no library lock held: it may read and write the blocks, and use
 * other pools and caches, mpool_stats() and mpool_usable_size(); it must
 * not allocate from or free to the pool walked.  Another thread's reclaim
 * of all pools (mpool_reclaim(NULL), or one that ran out of memory) is
 * kept away while a class's live objects are recorded, by pools_lock:
 * mpool_reclaim() of this very pool is the caller's to keep away.
 */
#include "pool/pool.h"
#include "pool/large.h"
#include "pool/region.h"

static int
walk_classes(struct mpool *p, mpool_walk_fn *fn, void *arg)
{
    for (unsigned i = 0; i < MP_CLASSES; i++) {
        struct mpool_cache *c = atomic_load_explicit(&p->classes[i],
                                                     memory_order_acquire);
        mp_cache_walk_t w;
        int rc;

        if (c == NULL)
            continue;
        mp_pools_lock();
        rc = mp_cache_walk_collect(c, &w);
        mp_pools_unlock();
        if (rc != 0)
            return -1; /* ENOMEM, from the page level */
        rc = mp_cache_walk_visit(&w, fn, arg);
        mp_cache_walk_done(&w);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* One large block at a time, the pool's lock dropped for fn: the next
 * block is read before, and stays on the list, as nothing is freed. */
static int
walk_large(struct mpool *p, mpool_walk_fn *fn, void *arg)
{
    mp_large_t *l;
    int rc = 0;

    pool_lock(p);
    l = p->large;
    while (l != NULL && rc == 0) {
        void *block = mp_unhide(l->block_h);
        size_t usable = mp_large_usable(l);
        mp_large_t *next = l->next;
        pool_unlock(p);
        rc = fn(block, usable, arg);
        pool_lock(p);
        l = next;
    }
    pool_unlock(p);
    return rc;
}

static int
walk_region(struct mpool *p, mpool_walk_fn *fn, void *arg)
{
    struct mp_region *r = mp_pool_region(p);
    void *block = NULL;
    size_t usable;
    int rc = 0;

    while (rc == 0 && (block = mp_region_next_live(r, block, &usable)) != NULL)
        rc = fn(block, usable, arg);
    return rc;
}

int
mpool_walk(mpool_t *pool, mpool_walk_fn *fn, void *arg)
{
    int rc;

    if (pool == NULL || fn == NULL || !mp_initialised() ||
        !mp_pool_valid(pool)) {
        mp_set_errno(EINVAL);
        return -1;
    }
    if (pool->ops != NULL)
        return walk_region(pool, fn, arg);
    rc = walk_classes(pool, fn, arg);
    if (rc == 0)
        rc = walk_large(pool, fn, arg);
    return rc;
}
