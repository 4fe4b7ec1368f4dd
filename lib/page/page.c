/* SPDX-License-Identifier: MIT */
/*
 * page.c - the buddy system of an arena: runs of pages carved from the free
 * blocks of the arena's segments, and joined back on free.
 *
 * A free block of order k is 2^k pages aligned to 2^k within its segment,
 * and its buddy is the block at index ^ 2^k.  Allocating n pages takes the
 * smallest free block of order >= ceil(log2 n), splits it down to that
 * order, and gives the unused tail (2^order - n pages) straight back as
 * smaller blocks, so a run wastes no page.  Freeing a run cuts it into
 * maximal aligned blocks and frees each, joining it with its buddy for as
 * long as the buddy is free and whole.  All of it is O(log segment pages),
 * plus one pass over the run's pages to keep their committed bits.
 *
 * The bookkeeping lives out of the pages themselves, in the segment
 * header's page entries: free memory is never written, so a purged page
 * stays purged and a free page is never paged in just to be listed.
 *
 * Callers hold arena->lock (its place in the order: base/lock.h).
 */
#include "base/vg.h"
#include "page/page.h"

/* How many fully free segments an arena keeps before it gives them back
 * without waiting for mpool_reclaim(): enough that a program allocating and
 * freeing around a segment boundary does not map and unmap in a loop. */
#define ARENA_EMPTY_SEGMENTS_KEPT 2

static unsigned
order_for_pages(size_t npages)
{
    return npages <= 1 ? 0u
                       : (unsigned)(sizeof(long long) * 8) -
                             (unsigned)__builtin_clzll(
                                 (unsigned long long)(npages - 1));
}

static void
freelist_push(mp_arena_t *arena, mp_page_t *p, unsigned order)
{
    /* a block head that heads nothing else; the list it joins is ordered */
    MP_ASSERT(p->state == MP_PAGE_NONE && order <= MP_BUDDY_MAX_ORDER);
    MP_ASSERT((arena->free[order] == NULL) ==
              !(arena->free_mask & (1u << order)));
    p->state = MP_PAGE_FREE;
    p->count = order;
    p->prev = NULL;
    p->next = arena->free[order];
    if (p->next != NULL)
        p->next->prev = p;
    arena->free[order] = p;
    arena->free_mask |= 1u << order;
}

static void
freelist_remove(mp_arena_t *arena, mp_page_t *p)
{
    MP_ASSERT(p->state == MP_PAGE_FREE && p->count <= MP_BUDDY_MAX_ORDER);
    MP_ASSERT(p->prev != NULL || arena->free[p->count] == p);
    MP_ASSERT(p->next == NULL || p->next->prev == p);
    if (p->prev != NULL)
        p->prev->next = p->next;
    else if ((arena->free[p->count] = p->next) == NULL)
        arena->free_mask &= ~(1u << p->count);
    if (p->next != NULL)
        p->next->prev = p->prev;
    p->next = p->prev = NULL;
    p->state = MP_PAGE_NONE;
    p->count = 0;
}

/* Free the block [index, index + 2^order), joining it with its buddies. */
static void
block_free(mp_arena_t *arena, mp_segment_t *seg, size_t index,
           unsigned order)
{
    while (order < MP_BUDDY_MAX_ORDER) {
        size_t buddy = index ^ ((size_t)1 << order);
        mp_page_t *b = &seg->pages[buddy];

        if (buddy < seg->first_page || b->state != MP_PAGE_FREE ||
            b->count != order)
            break;
        /* a free buddy of the same order lies wholly inside the segment */
        MP_ASSERT(buddy + ((size_t)1 << order) <= seg->end_page);
        freelist_remove(arena, b);
        index &= ~((size_t)1 << order);
        order++;
    }
    freelist_push(arena, &seg->pages[index], order);
}

/* Free the pages [start, end) of a segment as maximal aligned blocks. */
static void
range_free(mp_arena_t *arena, mp_segment_t *seg, size_t start, size_t end)
{
    while (start < end) {
        unsigned order = (unsigned)__builtin_ctzll(start);

        if (order > MP_BUDDY_MAX_ORDER)
            order = MP_BUDDY_MAX_ORDER;
        while (start + ((size_t)1 << order) > end)
            order--;
        block_free(arena, seg, start, order);
        start += (size_t)1 << order;
    }
}

static bool
segment_is_empty(const mp_segment_t *seg)
{
    return seg->free_pages == mp_segment_usable(seg);
}

void
mp_arena_add_segment_locked(mp_arena_t *arena, mp_segment_t *seg,
                            bool is_zero)
{
    seg->arena = arena;
    seg->kind = MP_SEGMENT_BUDDY;
    seg->first_page = MP_SEGMENT_FIRST_PAGE;
    seg->end_page = MP_SEGMENT_PAGES;
    /* Every entry starts zero.  Fresh memory from the backend already
     * reads zero, and writing it would make all the header's pages
     * resident (36 KiB a segment) where a small program touches the
     * entries of a few pages only; the header is counted as committed
     * either way, an upper bound. */
    if (!is_zero) {
        __builtin_memset(seg->fast_words, 0, sizeof(seg->fast_words));
        __builtin_memset(seg->pages, 0,
                         MP_SEGMENT_PAGES * sizeof(mp_page_t));
    } else { /* memcheck takes fresh brk memory for undefined */
        mp_vg_defined(seg->fast_words, sizeof(seg->fast_words));
        mp_vg_defined(seg->pages, MP_SEGMENT_PAGES * sizeof(mp_page_t));
    }
    for (size_t i = 0; i < MP_SEGMENT_FIRST_PAGE; i++)
        seg->pages[i].committed = 1;
    if (mp_debug_all) {
        /* checking mode: running off the segment's last run faults */
        seg->end_page--;
        mp_guard_arm(mp_page_address(seg, seg->end_page));
    }
    if (!is_zero) {
        for (size_t i = seg->first_page; i < seg->end_page; i++)
            seg->pages[i].committed = 1;
        arena->free_committed += mp_segment_usable(seg);
    }
    mp_committed_add(MP_SEGMENT_FIRST_PAGE +
                     (is_zero ? 0 : mp_segment_usable(seg)));
    seg->prev = NULL;
    seg->next = arena->segments;
    if (seg->next != NULL)
        seg->next->prev = seg;
    arena->segments = seg;
    arena->nsegments++;
    arena->empty_segments++;
    range_free(arena, seg, seg->first_page, seg->end_page);
    seg->free_pages = mp_segment_usable(seg);
    arena->free_pages += mp_segment_usable(seg);
    mp_segment_map_buddy(seg);
}

void
mp_arena_remove_segment_locked(mp_arena_t *arena, mp_segment_t *seg)
{
    size_t i = seg->first_page;

    while (i < seg->end_page) {
        mp_page_t *p = &seg->pages[i];
        size_t order = p->count;

        if (p->state != MP_PAGE_FREE)
            mp_panic("mp_arena_remove_segment", "segment not empty", seg);
        freelist_remove(arena, p);
        i += (size_t)1 << order;
    }
    {
        size_t committed = MP_SEGMENT_FIRST_PAGE;
        for (i = seg->first_page; i < seg->end_page; i++)
            if (seg->pages[i].committed) {
                arena->free_committed--;
                committed++;
            }
        mp_committed_sub(committed);
    }
    arena->free_pages -= mp_segment_usable(seg);
    /* (held locks are the caller's: a broken guard here stops anyway) */
    if (seg->end_page < MP_SEGMENT_PAGES &&
        !mp_guard_disarm(mp_page_address(seg, seg->end_page)))
        mp_guard_report("mp_segment_release",
                        mp_page_address(seg, seg->end_page));
    if (seg->prev != NULL)
        seg->prev->next = seg->next;
    else
        arena->segments = seg->next;
    if (seg->next != NULL)
        seg->next->prev = seg->prev;
    arena->nsegments--;
    arena->empty_segments--;
}

/* Pages [start, end) of seg, free until now, taken into a run: those
 * still committed leave the arena's free committed count, the others are
 * committed by the run.  Whether none of them was committed (fresh pages
 * read zero). */
static bool
commit_pages_locked(mp_arena_t *arena, mp_segment_t *seg, size_t start,
                    size_t end)
{
    size_t fresh = 0;

    for (size_t i = start; i < end; i++) {
        if (seg->pages[i].committed) {
            arena->free_committed--;
        } else {
            seg->pages[i].committed = 1;
            fresh++;
        }
    }
    if (fresh != 0)
        mp_committed_add(fresh);
    return fresh == end - start;
}

/* Take a run from the free blocks the arena has; NULL if none is large
 * enough. */
static void *
arena_take_locked(mp_arena_t *arena, size_t npages, bool *is_zero)
{
    unsigned order = order_for_pages(npages);
    unsigned candidates = arena->free_mask >> order << order;
    unsigned k;
    mp_page_t *p;
    mp_segment_t *seg;
    size_t index;
    bool zero;

    if (candidates == 0)
        return NULL;
    k = (unsigned)__builtin_ctz(candidates);
    p = arena->free[k];
    seg = mp_segment_of(p);
    index = (size_t)(p - seg->pages);
    if (segment_is_empty(seg))
        arena->empty_segments--;
    freelist_remove(arena, p);
    while (k > order) {
        k--;
        freelist_push(arena, &seg->pages[index + ((size_t)1 << k)], k);
    }
    if (npages < ((size_t)1 << order))
        range_free(arena, seg, index + npages, index + ((size_t)1 << order));
    zero = commit_pages_locked(arena, seg, index, index + npages);
    p->state = MP_PAGE_RUN;
    p->count = (uint16_t)npages;
    seg->free_pages -= npages;
    arena->free_pages -= npages;
    arena->run_pages += npages;
    *is_zero = zero;
    return mp_page_address(seg, index);
}

void *
mp_arena_alloc_locked(mp_arena_t *arena, size_t npages, bool grow,
                      bool *is_zero)
{
    void *run = arena_take_locked(arena, npages, is_zero);
    mp_segment_t *seg;
    bool seg_zero;
    int rc;

    if (run != NULL || !grow)
        return run;
    rc = mp_segment_acquire(1, &seg, &seg_zero);
    if (rc != 0) {
        mp_set_errno(rc);
        return NULL;
    }
    mp_arena_add_segment_locked(arena, seg, seg_zero);
    return arena_take_locked(arena, npages, is_zero);
}

void
mp_arena_free_locked(mp_arena_t *arena, mp_segment_t *seg, size_t index,
                     size_t npages, bool purge)
{
    size_t committed = 0;

    /* the run's head: a run of exactly npages */
    MP_ASSERT(seg->pages[index].state == MP_PAGE_RUN &&
              seg->pages[index].count == npages);
    MP_ASSERT(index >= seg->first_page && index + npages <= seg->end_page);
    if (purge && mp_config.can_purge)
        (void)mp_segment_purge_locked(seg, index, index + npages, true);
    seg->pages[index].state = MP_PAGE_NONE;
    seg->pages[index].count = 0;
    seg->pages[index].flags = 0;
    for (size_t i = index; i < index + npages; i++) {
        committed += seg->pages[i].committed; /* not a slab's holes */
        seg->pages[i].owner = NULL;
        seg->pages[i].group = NULL; /* before range_free sets .next */
        __atomic_store_n(&seg->fast_words[i], 0, __ATOMIC_RELAXED);
    }
    range_free(arena, seg, index, index + npages);
    seg->free_pages += npages;
    arena->free_pages += npages;
    MP_ASSERT(seg->free_pages <= mp_segment_usable(seg));
    arena->free_committed += committed;
    arena->run_pages -= npages;
    if (purge && mp_config.can_purge) /* thp=1: what the run completed */
        mp_arena_purge_huge_locked(arena, seg, index, npages);
    if (segment_is_empty(seg)) {
        arena->empty_segments++;
        if (arena->empty_segments > ARENA_EMPTY_SEGMENTS_KEPT &&
            atomic_load_explicit(&mp_reclaim_active,
                                 memory_order_relaxed) == 0) {
            mp_arena_remove_segment_locked(arena, seg);
            mp_segment_release(seg);
        }
    }
}

/* The free block holding page i, if i is free: free blocks are aligned to
 * their size, so its head is i with low bits cleared for some order. */
static mp_page_t *
free_block_of(mp_segment_t *seg, size_t i)
{
    for (unsigned o = 0; o <= MP_BUDDY_MAX_ORDER; o++) {
        size_t h = i & ~(((size_t)1 << o) - 1);

        if (h < seg->first_page)
            return NULL;
        if (seg->pages[h].state == MP_PAGE_FREE)
            return seg->pages[h].count >= o ? &seg->pages[h] : NULL;
        if (seg->pages[h].state == MP_PAGE_RUN)
            return NULL; /* a run starts at or covers it */
    }
    return NULL;
}

bool
mp_arena_grow_locked(mp_arena_t *arena, mp_segment_t *seg, size_t index,
                     size_t npages, size_t new_npages)
{
    size_t start = index + npages, end = index + new_npages;

    MP_ASSERT(seg->pages[index].state == MP_PAGE_RUN &&
              seg->pages[index].count == npages);
    if (new_npages <= npages || end > seg->end_page ||
        new_npages > MP_BUDDY_MAX_PAGES)
        return false;
    for (size_t i = start; i < end;) { /* all free? change nothing yet */
        mp_page_t *b = free_block_of(seg, i);

        if (b == NULL)
            return false;
        i = (size_t)(b - seg->pages) + ((size_t)1 << b->count);
    }
    for (size_t i = start; i < end;) { /* take the blocks, give back the
                                          parts outside [start, end) */
        mp_page_t *b = free_block_of(seg, i);
        size_t h = (size_t)(b - seg->pages);
        size_t stop = h + ((size_t)1 << b->count);

        freelist_remove(arena, b);
        if (h < start)
            range_free(arena, seg, h, start);
        if (stop > end)
            range_free(arena, seg, end, stop);
        i = stop;
    }
    (void)commit_pages_locked(arena, seg, start, end);
    seg->pages[index].count = (uint16_t)new_npages;
    seg->free_pages -= new_npages - npages;
    arena->free_pages -= new_npages - npages;
    arena->run_pages += new_npages - npages;
    return true;
}
