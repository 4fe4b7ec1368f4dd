/* SPDX-License-Identifier: MIT */
/*
 * huge.c - runs too large for a segment's buddy system, each in a span of
 * whole segments of its own.
 *
 *   | header (1 page) | the run ............................ | unused |
 *   ^ segment-aligned                       span of n segments ^
 *
 * A span freed is kept for reuse and given back later, by age and by
 * amount (decay.c); a run takes a kept span that fits before it asks the
 * backend for one.  The unused tail of the last segment is never touched,
 * so it costs address space only.  Spans are listed in their arena so that
 * statistics and the checker can see them.
 *
 * A huge run grows in place into the tail of its last segment, and past it
 * by the backend's segments_remap (mremap: in place, or moved by the
 * kernel without a copy); a span remapped gets twice the segments it had
 * when that is more than it needs, so that a buffer grown step by step is
 * remapped O(log n) times.  The headroom is address space only.
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

/* List seg on arena's huge list (again, after a grow: its address may
 * have changed); the arena's lock held. */
static void
huge_link(mp_arena_t *arena, mp_segment_t *seg)
{
    seg->prev = NULL;
    seg->next = arena->huge;
    if (seg->next != NULL)
        seg->next->prev = seg;
    arena->huge = seg;
}

static void
huge_unlink(mp_arena_t *arena, mp_segment_t *seg)
{
    if (seg->prev != NULL)
        seg->prev->next = seg->next;
    else
        arena->huge = seg->next;
    if (seg->next != NULL)
        seg->next->prev = seg->prev;
}

/* A span taken for a run of npages, listed and counted in its arena. */
static void
huge_take(mp_arena_t *arena, mp_segment_t *seg, size_t npages)
{
    mp_mutex_lock(&arena->lock);
    huge_link(arena, seg);
    arena->run_pages += npages;
    mp_mutex_unlock(&arena->lock);
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
    seg = mp_decay_take(arena, nsegments, npages, is_zero);
    if (seg != NULL) {
        seg->run_pages = npages;
        huge_take(arena, seg, npages);
        return mp_page_address(seg, seg->first_page);
    }
    rc = mp_segment_acquire(nsegments, &seg, is_zero);
    /* Out of segments: the spans kept for reuse and the arenas' spare
     * empty segments may make the span.  Where memory is a fixed few MiB
     * (k210) they can be a good part of it. */
    if (rc == ENOMEM &&
        mp_decay_release_all() + release_empty_segments() > 0)
        rc = mp_segment_acquire(nsegments, &seg, is_zero);
    if (rc != 0) {
        mp_set_errno(rc);
        return NULL;
    }
    seg->kind = MP_SEGMENT_HUGE;
    seg->first_page = MP_HUGE_FIRST_PAGE;
    seg->run_pages = npages;
    /* segments that were not fresh may hold anything past the run too
     * (the sbrk backend's free ranges): all of it counts as dirty, so a
     * later run in the span past this one is cleared, or purged first */
    seg->dirty_pages = *is_zero ? npages : mp_span_pages(seg);
    seg->taken_dirty = *is_zero ? 0 : npages;
    seg->arena = arena;
    huge_take(arena, seg, npages);
    mp_committed_add(seg->first_page + seg->dirty_pages);
    return mp_page_address(seg, seg->first_page);
}

int
mp_huge_free(mp_segment_t *seg, void *addr, size_t npages, bool purge)
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
    huge_unlink(arena, seg);
    arena->run_pages -= npages;
    seg->flags = 0;
    mp_mutex_unlock(&arena->lock);
    if (mp_decay_keep(seg, purge))
        return 0;
    npages = seg->first_page + seg->dirty_pages; /* read before it goes */
    mp_committed_sub(npages);
    if (mp_segment_release(seg) == 0 &&
        atomic_load_explicit(&mp_reclaim_active, memory_order_relaxed) != 0)
        atomic_fetch_add_explicit(&mp_reclaim_huge_pages, npages,
                                  memory_order_relaxed);
    return 0;
}

void *
mp_huge_grow(void *addr, size_t npages, size_t new_npages)
{
    mp_segment_t *seg = mp_segment_lookup(addr);
    mp_arena_t *arena;
    size_t need, want, grown;
    bool tail_zero = true; /* realloc promises nothing of the added
                              bytes; a later run in the span relies on
                              it (dirty_pages) */
    int rc;

    if (seg == NULL || seg->kind != MP_SEGMENT_HUGE ||
        addr != mp_page_address(seg, seg->first_page) ||
        seg->run_pages != npages || (seg->flags & MP_PAGE_GUARDED) ||
        new_npages <= npages ||
        new_npages > (SIZE_MAX >> (MP_PAGE_SHIFT + 1)))
        return NULL;
    arena = seg->arena;
    need = (seg->first_page + new_npages + MP_SEGMENT_PAGES - 1) >>
           MP_SEGMENT_ORDER;
    if (need > seg->nsegments) {
        /* twice the span, when that is more: growth step by step remaps
         * a logarithmic number of times */
        want = seg->nsegments * 2 > need ? seg->nsegments * 2 : need;
        mp_mutex_lock(&arena->lock);
        huge_unlink(arena, seg);
        mp_mutex_unlock(&arena->lock);
        rc = mp_segment_remap(seg, want, &seg, &tail_zero);
        if (rc != 0 && want > need)
            rc = mp_segment_remap(seg, need, &seg, &tail_zero);
        mp_mutex_lock(&arena->lock);
        huge_link(arena, seg);
        mp_mutex_unlock(&arena->lock);
        if (rc != 0)
            return NULL;
    }
    mp_mutex_lock(&arena->lock);
    grown = new_npages - npages;
    seg->run_pages = new_npages;
    arena->run_pages += grown;
    if (!tail_zero && mp_span_pages(seg) > seg->dirty_pages) {
        /* segments added that may hold anything, past the run too */
        mp_committed_add(mp_span_pages(seg) - seg->dirty_pages);
        seg->dirty_pages = mp_span_pages(seg);
    }
    if (new_npages > seg->dirty_pages) {
        mp_committed_add(new_npages - seg->dirty_pages);
        seg->dirty_pages = new_npages;
    }
    mp_mutex_unlock(&arena->lock);
    return mp_page_address(seg, seg->first_page);
}
