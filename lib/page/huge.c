/* SPDX-License-Identifier: MIT */
/*
 * huge.c - runs too large for a segment's buddy system, each in a span of
 * whole segments of its own.
 *
 *   | header (1 page) | the run ............................ | unused |
 *   ^ segment-aligned                       span of n segments ^
 *
 * The span is obtained from the backend when the run is allocated and given
 * back when it is freed: a run this large is rare, and keeping one would
 * hold megabytes for a program that may never ask again.  The unused tail
 * of the last segment is never touched, so it costs address space only.
 * Spans are listed in their arena so that statistics and the checker can
 * see them.
 */
#include "page/page.h"

/* Give the backend every fully free buddy segment the arenas keep (page.c
 * keeps two an arena, so that a program allocating around a segment
 * boundary does not take and give back segments in a loop).  Not while
 * mpool_reclaim() runs: it gives them back itself, and counts them. */
static size_t
release_empty_segments(void)
{
    size_t released = 0;

    if (atomic_load_explicit(&mp_reclaim_active, memory_order_relaxed) != 0)
        return 0;
    for (unsigned i = 0; i < mp_narenas; i++) {
        mp_arena_t *a = &mp_arenas[i];
        mp_segment_t *seg, *next;

        mp_mutex_lock(&a->lock);
        for (seg = a->segments; seg != NULL && a->empty_segments > 0;
             seg = next) {
            next = seg->next;
            if (seg->free_pages != mp_segment_usable(seg))
                continue;
            mp_arena_remove_segment_locked(a, seg);
            if (mp_segment_release(seg) == 0)
                released++;
        }
        mp_mutex_unlock(&a->lock);
    }
    return released;
}

void *
mp_huge_alloc(mp_arena_t *arena, size_t npages, bool *is_zero)
{
    size_t total = npages + MP_HUGE_FIRST_PAGE;
    size_t nsegments;
    mp_segment_t *seg;
    int rc;

    if (total < npages || total > (SIZE_MAX >> MP_PAGE_SHIFT)) {
        mp_set_errno(ENOMEM);
        return NULL;
    }
    nsegments = (total + MP_SEGMENT_PAGES - 1) >> MP_SEGMENT_ORDER;
    rc = mp_segment_acquire(nsegments, &seg, is_zero);
    /* Out of segments: the arenas' spare empty ones may make the span.
     * Where memory is a fixed few MiB (k210) they can be a good part of
     * it. */
    if (rc == ENOMEM && release_empty_segments() > 0)
        rc = mp_segment_acquire(nsegments, &seg, is_zero);
    if (rc != 0) {
        mp_set_errno(rc);
        return NULL;
    }
    seg->kind = MP_SEGMENT_HUGE;
    seg->first_page = MP_HUGE_FIRST_PAGE;
    seg->run_pages = npages;
    seg->arena = arena;
    mp_mutex_lock(&arena->lock);
    seg->prev = NULL;
    seg->next = arena->huge;
    if (seg->next != NULL)
        seg->next->prev = seg;
    arena->huge = seg;
    arena->run_pages += npages;
    mp_mutex_unlock(&arena->lock);
    mp_committed_add(seg->first_page + npages);
    return mp_page_address(seg, seg->first_page);
}

int
mp_huge_free(mp_segment_t *seg, void *addr, size_t npages)
{
    mp_arena_t *arena = seg->arena;
    bool guarded;

    mp_mutex_lock(&arena->lock);
    guarded = (seg->flags & MP_PAGE_GUARDED) != 0;
    if (seg->kind != MP_SEGMENT_HUGE ||
        addr != mp_page_address(seg, seg->first_page) ||
        npages + guarded != seg->run_pages) {
        mp_mutex_unlock(&arena->lock);
        return EINVAL;
    }
    npages = seg->run_pages;
    if (guarded &&
        !mp_guard_disarm((char *)addr + ((npages - 1) << MP_PAGE_SHIFT))) {
        mp_mutex_unlock(&arena->lock); /* the span stays, unfreed */
        mp_guard_report("mpool_pages_free", addr);
    }
    seg->kind = 0; /* a racing second free now fails the test above */
    if (seg->prev != NULL)
        seg->prev->next = seg->next;
    else
        arena->huge = seg->next;
    if (seg->next != NULL)
        seg->next->prev = seg->prev;
    arena->run_pages -= npages;
    mp_mutex_unlock(&arena->lock);
    npages += seg->first_page; /* the header: read before the span goes */
    mp_committed_sub(npages);
    if (mp_segment_release(seg) == 0 &&
        atomic_load_explicit(&mp_reclaim_active, memory_order_relaxed) != 0)
        atomic_fetch_add_explicit(&mp_reclaim_huge_pages, npages,
                                  memory_order_relaxed);
    return 0;
}
