/* SPDX-License-Identifier: MIT */
/*
 * reclaim.c - giving free memory back to the backend, and saying how much.
 *
 * mpool_reclaim() first has the caches give back what they can (cache.c:
 * reclaim callbacks, the calling thread's magazines, every depot, every
 * empty slab, the pages of partly used slabs that hold free objects only,
 * see slab.c, "Holes"; other threads' magazines are drained too, see
 * magazine.c), then visits every arena.  A segment with no page in a run
 * is released whole; in the others, each free block's committed pages are
 * purged, in maximal contiguous stretches, one backend call a stretch.  The
 * count returned is exact: pages whose memory the backend got back,
 * including the header pages of released segments, and excluding anything
 * already purged or never touched.
 *
 * When the backend cannot purge (k210: bare metal, nothing underneath to
 * take memory back), a page is given back when it leaves a run for the
 * buddy lists, where any allocation can have it again: the count is the
 * pages that leave runs while the caches and pools give back their slabs
 * (net of the pages they take meanwhile, for magazines to flush into), and
 * the header pages of the segments returned to the backend.  Pages that
 * were free already count nothing, wherever they go.  Other threads
 * allocating and freeing during the call blur the first part.
 */
#include "top.h"

#include "mpool.h"

size_t
mp_reclaim_all(void)
{
    return mp_caches_reclaim(mp_pools_shrink);
}

size_t
mpool_reclaim(mpool_t *pool)
{
    size_t pages = 0, in_runs = 0, left, huge, holes;

    if (!mp_initialised()) {
        if (pool != NULL)
            mp_set_errno(EINVAL);
        return 0; /* nothing was ever allocated */
    }
    if (pool != NULL && !mp_pool_valid(pool)) {
        mp_set_errno(EINVAL);
        return 0;
    }
    atomic_fetch_add(&mp_reclaim_active, 1);
    huge = atomic_load(&mp_reclaim_huge_pages);
    holes = atomic_load(&mp_reclaim_hole_pages);
    if (!mp_config.can_purge)
        in_runs = mp_pages_in_runs();
    if (pool == NULL) {
        mp_reclaim_all(); /* callbacks, magazines, empty slabs: to pages */
    } else {
        mp_tcache_flush_current(NULL);
        mp_tcache_drain_others();
        mp_pool_shrink(pool);
    }
    /* With purge, freed pages are counted when they are purged, below, the
     * huge spans (slabs in checking mode) when they went back, and the
     * slabs' holes when they were purged. */
    if (!mp_config.can_purge && (left = mp_pages_in_runs()) < in_runs)
        pages += in_runs - left;
    if (mp_config.can_purge)
        pages += atomic_load(&mp_reclaim_huge_pages) - huge +
                 atomic_load(&mp_reclaim_hole_pages) - holes;
    for (unsigned i = 0; i < mp_narenas; i++)
        pages += mp_arena_reclaim(&mp_arenas[i]);
    atomic_fetch_sub(&mp_reclaim_active, 1);
    mp_backend_release_cached();
    mp_guard_check_all(); /* checking mode without memory protection */
    return pages;
}
