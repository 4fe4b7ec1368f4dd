/* SPDX-License-Identifier: MIT */
/*
 * usage.c - what the page level holds, for mpool_system_stats(): the
 * segments taken from the backend (address space), the pages of them that
 * hold memory, the pages handed out by mpool_pages_alloc(), and the huge
 * spans kept for reuse (decay.c).
 *
 * Segments are counted from the arenas' lists under each arena's lock.
 * Committed pages are a global count kept where they change (page.c,
 * arena.c, huge.c: a segment added or released, fresh pages taken, pages
 * purged), all slow paths of the page level, with its highest value: no
 * run handed out or given back from a warm free list touches it.  mp_census
 * (check.c) checks the count against the page entries.
 */
#include "page/page.h"

MP_HIDDEN _Atomic size_t mp_committed_pages;
MP_HIDDEN _Atomic size_t mp_committed_peak;
MP_HIDDEN _Atomic size_t mp_pages_public;

void
mp_page_usage(mp_page_usage_t *out)
{
    size_t committed, peak;

    __builtin_memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < mp_narenas; i++) {
        mp_arena_t *arena = &mp_arenas[i];
        mp_mutex_lock(&arena->lock);
        out->segments += arena->nsegments;
        for (const mp_segment_t *seg = arena->huge; seg != NULL;
             seg = seg->next)
            out->segments += seg->nsegments;
        for (const mp_segment_t *seg = arena->retained; seg != NULL;
             seg = seg->next) {
            out->segments += seg->nsegments;
            out->spans_retained++;
            out->bytes_retained += seg->nsegments << MP_SEGMENT_SHIFT;
            out->bytes_retained_dirty += seg->dirty_pages << MP_PAGE_SHIFT;
        }
        mp_mutex_unlock(&arena->lock);
    }
    out->bytes_mapped = out->segments * MP_SEGMENT_SIZE;
    committed = atomic_load_explicit(&mp_committed_pages,
                                     memory_order_relaxed);
    peak = atomic_load_explicit(&mp_committed_peak, memory_order_relaxed);
    out->bytes_committed = committed << MP_PAGE_SHIFT;
    /* read apart: a page taken between the two loads shows in the count
     * before the peak */
    out->bytes_committed_peak = (peak > committed ? peak : committed)
                                << MP_PAGE_SHIFT;
    if (out->bytes_committed > out->bytes_mapped)
        out->bytes_committed = out->bytes_mapped; /* a segment on its way */
    out->bytes_public = atomic_load_explicit(&mp_pages_public,
                                             memory_order_relaxed)
                        << MP_PAGE_SHIFT;
}
