/* SPDX-License-Identifier: MIT */
/*
 * page/arena.c - the page level's state (the backend's configuration, the
 * arenas), its initialisation, and the reclaim pass over an arena: a
 * segment with no page in a run goes back to the backend whole; in the
 * others, the committed pages of each free block are purged in maximal
 * contiguous stretches, one backend call a stretch.  The count is exact:
 * pages whose memory the backend got back, header pages of released
 * segments included, nothing already purged or never touched.
 */
#include "page/page.h"

MP_HIDDEN mp_backend_config_t mp_config;
MP_HIDDEN mp_arena_t mp_arenas[MP_ARENAS_MAX];
MP_HIDDEN unsigned mp_narenas = 1;
MP_HIDDEN _Atomic int mp_reclaim_active;
MP_HIDDEN _Atomic size_t mp_reclaim_huge_pages;

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
    mp_committed_sub(purged);
    return purged;
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
    size_t pages = 0;
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

