/* SPDX-License-Identifier: MIT */
/*
 * reclaim.c - giving free memory back to the backend, and saying how much.
 *
 * mpool_reclaim() first has the caches give back what they can (cache.c:
 * reclaim callbacks, the calling thread's magazines, every depot, every
 * empty slab; other threads' magazines are drained too, see magazine.c),
 * then visits every arena.  A segment with no page in a run is released
 * whole; in the others, each free block's committed pages are
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
#include "cache/cache.h"

#include "mpool.h"

/* Purge the committed pages of the free block [index, index + 2^order). */
static size_t
block_purge_locked(mp_arena_t *arena, mp_segment_t *seg, size_t index,
                   unsigned order)
{
    size_t end = index + ((size_t)1 << order);
    size_t purged = 0;
    size_t i = index;

    while (i < end) {
        size_t start;

        while (i < end && !seg->pages[i].committed)
            i++;
        start = i;
        while (i < end && seg->pages[i].committed)
            i++;
        if (i > start &&
            mp_backend_purge(mp_page_address(seg, start),
                             (i - start) << MP_PAGE_SHIFT) == 0) {
            for (size_t j = start; j < i; j++)
                seg->pages[j].committed = 0;
            purged += i - start;
        }
    }
    arena->free_committed -= purged;
    return purged;
}

/* Pages in runs in all arenas, huge spans included. */
static size_t
run_pages_now(void)
{
    size_t n = 0;

    for (unsigned i = 0; i < mp_narenas; i++) {
        mp_lock_acquire(&mp_arenas[i].lock);
        n += mp_arenas[i].run_pages;
        mp_lock_release(&mp_arenas[i].lock);
    }
    return n;
}

static size_t
segment_committed_pages(const mp_segment_t *seg)
{
    size_t n = 0;

    for (size_t i = 0; i < MP_SEGMENT_PAGES; i++)
        n += seg->pages[i].committed;
    return n;
}

size_t
mp_arena_reclaim(mp_arena_t *arena)
{
    size_t pages = 0;
    mp_segment_t *seg, *next;

    mp_lock_acquire(&arena->lock);
    for (seg = arena->segments; seg != NULL; seg = next) {
        next = seg->next;
        if (seg->free_pages == mp_segment_usable(seg)) {
            size_t counted = mp_config.can_purge
                                 ? segment_committed_pages(seg)
                                 : seg->first_page; /* its header */

            mp_arena_remove_segment_locked(arena, seg);
            if (mp_segment_release(seg) == 0)
                pages += counted;
            continue;
        }
        if (!mp_config.can_purge)
            continue;
        for (size_t i = seg->first_page; i < seg->end_page;) {
            mp_page_t *p = &seg->pages[i];

            if (p->state == MP_PAGE_FREE) {
                pages += block_purge_locked(arena, seg, i, p->count);
                i += (size_t)1 << p->count;
            } else if (p->state == MP_PAGE_RUN) {
                i += p->count;
            } else {
                mp_panic("mpool_reclaim", "page entry corrupted",
                         mp_page_address(seg, i));
            }
        }
    }
    mp_lock_release(&arena->lock);
    return pages;
}

size_t
mpool_reclaim(mpool_t *pool)
{
    size_t pages = 0, in_runs = 0, left, huge;

    if (atomic_load_explicit(&mp_init_state, memory_order_acquire) != 2) {
        if (pool != NULL)
            mp_set_errno(EINVAL);
        return 0; /* nothing was ever allocated */
    }
    if (pool != NULL && !mp_pool_is_live(pool)) {
        mp_set_errno(EINVAL);
        return 0;
    }
    atomic_fetch_add(&mp_reclaim_active, 1);
    huge = atomic_load(&mp_reclaim_huge_pages);
    if (!mp_config.can_purge)
        in_runs = run_pages_now();
    if (pool == NULL) {
        mp_caches_reclaim(); /* callbacks, magazines, empty slabs: to pages */
    } else {
        mp_tcache_flush_current(NULL);
        mp_tcache_drain_others();
        mp_pool_shrink(pool);
    }
    /* With purge, freed pages are counted when they are purged, below, and
     * the huge spans (slabs in checking mode) when they went back. */
    if (!mp_config.can_purge && (left = run_pages_now()) < in_runs)
        pages += in_runs - left;
    if (mp_config.can_purge)
        pages += atomic_load(&mp_reclaim_huge_pages) - huge;
    for (unsigned i = 0; i < mp_narenas; i++)
        pages += mp_arena_reclaim(&mp_arenas[i]);
    atomic_fetch_sub(&mp_reclaim_active, 1);
    mp_backend_release_cached();
    mp_guard_check_all(); /* checking mode without memory protection */
    return pages;
}
