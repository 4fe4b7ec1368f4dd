/* SPDX-License-Identifier: MIT */
/*
 * page/arena.c - the page level's state (the backend's configuration, the
 * arenas), its initialisation, and the reclaim pass over an arena: a
 * segment with no page in a run goes back to the backend whole; in the
 * others, the committed pages of each free block are purged in maximal
 * contiguous stretches, one backend call a stretch; the huge spans kept for
 * reuse (decay.c) are all given back.  The count is exact:
 * pages whose memory the backend got back, header pages of released
 * segments included, nothing already purged or never touched.
 */
#include "page/page.h"

MP_HIDDEN mp_backend_config_t mp_config;
MP_HIDDEN mp_arena_t mp_arenas[MP_ARENAS_MAX];
MP_HIDDEN unsigned mp_narenas = 1;
MP_HIDDEN _Atomic int mp_reclaim_active;
MP_HIDDEN _Atomic size_t mp_reclaim_huge_pages;
MP_HIDDEN _Atomic size_t mp_reclaim_hole_pages;

int
mp_page_init(void)
{
    int rc = mp_backend_init(&mp_config);

    if (rc != 0)
        return rc;
    mp_narenas = mp_config.ncpu < MP_ARENAS_MAX ? mp_config.ncpu
                                                : MP_ARENAS_MAX;
    if (mp_narenas == 0)
        mp_narenas = 1;
    for (unsigned i = 0; i < MP_ARENAS_MAX; i++) {
        mp_mutex_init(&mp_arenas[i].lock, MP_LOCK_ARENA, i);
        mp_arenas[i].index = i;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Purging, and transparent huge pages
 *
 * With thp=1 (MPOOL_OPTIONS, mpool_set_option) the backend asks for huge
 * pages on its segments, and the purges the library makes on its own (a
 * pool past its retention cap giving a slab back) keep to whole huge
 * pages: a freed run is purged only in its aligned huge pages, since
 * dropping part of one would make the kernel split it into small pages;
 * the rest stays committed, counted as such, until its whole huge page is
 * free, and then the huge page is purged at once.
 *
 * mpool_reclaim is the program asking for its memory back: it purges every
 * free committed page, huge pages or not, and its count is what it is
 * without thp.  (Keeping to huge pages there too left half of every
 * segment resident after a program freed everything: the first huge page
 * holds the segment's header, so it is never wholly free.)
 * ------------------------------------------------------------------------ */

/* Pages in a huge page while huge pages are asked for; 0 otherwise. */
static size_t huge_purge_pages;

int
mp_page_huge_pages(bool on)
{
    size_t huge = 0;
    int rc = mp_backend_huge_pages(on, &huge);

    if (rc != 0)
        return rc;
    MP_ASSERT(!on || (huge % MP_PAGE_SIZE == 0 &&
                      MP_SEGMENT_SIZE % huge == 0));
    huge_purge_pages = on && huge > MP_PAGE_SIZE ? huge >> MP_PAGE_SHIFT : 0;
    return 0;
}

size_t
mp_segment_purge_locked(mp_segment_t *seg, size_t index, size_t end,
                        bool whole_huge)
{
    size_t g = whole_huge ? huge_purge_pages : 0;
    size_t purged = 0;
    size_t i = index;

    while (i < end) {
        size_t start, stop;

        while (i < end && !seg->pages[i].committed)
            i++;
        start = i;
        while (i < end && seg->pages[i].committed)
            i++;
        stop = i;
        if (g != 0) { /* segments are aligned to a multiple of g pages */
            start = (start + g - 1) / g * g;
            stop = stop / g * g;
        }
        if (stop > start &&
            mp_backend_purge(mp_page_address(seg, start),
                             (stop - start) << MP_PAGE_SHIFT) == 0) {
            for (size_t j = start; j < stop; j++)
                seg->pages[j].committed = 0;
            purged += stop - start;
        }
    }
    mp_committed_sub(purged);
    return purged;
}

/* Whether the huge page at page h (g pages, aligned) is wholly free: it
 * lies in one free buddy block, which starts at h or at a larger aligned
 * boundary below it (free buddies are always joined). */
static bool
huge_page_free(const mp_segment_t *seg, size_t h, size_t g)
{
    for (unsigned o = (unsigned)__builtin_ctzl(g); o <= MP_SEGMENT_ORDER;
         o++) {
        size_t b = h & ~(((size_t)1 << o) - 1);
        if (b >= seg->first_page && seg->pages[b].state == MP_PAGE_FREE)
            return seg->pages[b].count >= o;
    }
    return false;
}

void
mp_arena_purge_huge_locked(mp_arena_t *arena, mp_segment_t *seg,
                           size_t index, size_t npages)
{
    size_t g = huge_purge_pages;

    if (g == 0)
        return;
    for (size_t h = index / g * g; h < index + npages; h += g)
        if (huge_page_free(seg, h, g))
            arena->free_committed -=
                mp_segment_purge_locked(seg, h, h + g, true);
}

/* Purge the committed pages of the free block [index, index + 2^order),
 * for mpool_reclaim: all of them, huge pages or not (above). */
static size_t
block_purge_locked(mp_arena_t *arena, mp_segment_t *seg, size_t index,
                   unsigned order)
{
    size_t purged = mp_segment_purge_locked(
        seg, index, index + ((size_t)1 << order), false);

    arena->free_committed -= purged;
    return purged;
}

/* Free pages holding memory that the arenas keep in all, for the next
 * runs to reuse without faulting them in again: 16 MiB (1 MiB where a
 * backend keeps its memory small), shared out among the arenas, at least
 * 1 MiB each. */
#ifndef MP_DIRTY_FREE_BYTES
#define MP_DIRTY_FREE_BYTES ((size_t)16 << 20)
#endif

size_t
mp_arena_dirty_max(void)
{
    size_t pages = (MP_DIRTY_FREE_BYTES >> MP_PAGE_SHIFT) / mp_narenas;
    size_t floor = ((size_t)1 << 20) >> MP_PAGE_SHIFT;

    return pages > floor ? pages : floor;
}

void
mp_arena_trim_dirty_locked(mp_arena_t *arena, size_t target)
{
    for (int o = MP_ORDERS - 1; o >= 0 && arena->free_committed > target;
         o--)
        for (mp_page_t *p = arena->free[o];
             p != NULL && arena->free_committed > target; p = p->next) {
            mp_segment_t *seg = mp_segment_of(p);
            block_purge_locked(arena, seg, (size_t)(p - seg->pages),
                               (unsigned)o);
        }
}

size_t
mp_pages_in_runs(void)
{
    size_t n = 0;

    for (unsigned i = 0; i < mp_narenas; i++) {
        mp_mutex_lock(&mp_arenas[i].lock);
        n += mp_arenas[i].run_pages;
        mp_mutex_unlock(&mp_arenas[i].lock);
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
    size_t pages = mp_decay_release_arena(arena);
    mp_segment_t *seg, *next;

    mp_mutex_lock(&arena->lock);
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
    mp_mutex_unlock(&arena->lock);
    return pages;
}

