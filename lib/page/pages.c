/* SPDX-License-Identifier: MIT */
/*
 * pages.c - runs of pages of any length: the entry to the page level for
 * the library's other layers (mp_pages_*) and for programs (mpool_pages_*).
 *
 * A run of up to MP_BUDDY_MAX_PAGES comes from the buddy system of the
 * calling thread's arena; when that arena has no block and the backend has
 * no segment, the other arenas are searched before giving up, so memory
 * held by one CPU's arena is not lost to the others.  Larger runs get a
 * span of their own (huge.c).
 *
 * Freeing checks, before changing anything, that the address is the start
 * of a live run and that the length matches: a wrong call is an EINVAL,
 * never damage.  The segment map (segment.c) makes this safe for any
 * address at all.
 */
#include "page/page.h"

#include "mpool.h" /* the public page functions */

void *
mp_pages_alloc(size_t npages, bool *is_zero)
{
    mp_arena_t *arena;
    void *run;
    int rc;

    if (MP_UNLIKELY(npages == 0)) {
        mp_set_errno(EINVAL);
        return NULL;
    }
    rc = mp_init();
    if (MP_UNLIKELY(rc != 0)) {
        mp_set_errno(rc);
        return NULL;
    }
    arena = mp_arena_current();
    /* a segment ending in a guard page (checking mode) has no block of
     * the largest order: those runs get spans of their own too */
    if (npages > MP_BUDDY_MAX_PAGES ||
        (npages > MP_BUDDY_MAX_PAGES / 2 && mp_debug_all))
        return mp_huge_alloc(arena, npages, is_zero);

    mp_mutex_lock(&arena->lock);
    run = mp_arena_alloc_locked(arena, npages, true, is_zero);
    mp_mutex_unlock(&arena->lock);
    if (MP_LIKELY(run != NULL))
        return run;

    /* The backend is out of memory: look in the other arenas. */
    for (unsigned i = 1; i < mp_narenas && run == NULL; i++) {
        mp_arena_t *other = &mp_arenas[(arena->index + i) % mp_narenas];

        mp_mutex_lock(&other->lock);
        run = mp_arena_alloc_locked(other, npages, false, is_zero);
        mp_mutex_unlock(&other->lock);
    }
    if (run == NULL)
        mp_set_errno(ENOMEM);
    return run;
}

void *
mp_pages_alloc_dirty(size_t npages, size_t *dirty)
{
    bool is_zero;
    char *run = mp_pages_alloc(npages, &is_zero);
    mp_segment_t *seg;

    if (run == NULL)
        return NULL;
    seg = mp_segment_of(run);
    if (is_zero)
        *dirty = 0;
    else if (seg->kind == MP_SEGMENT_HUGE && seg->taken_dirty < npages)
        *dirty = seg->taken_dirty; /* the run is the caller's: no lock */
    else
        *dirty = npages;
    return run;
}

void *
mp_pages_grow(void *addr, size_t npages, size_t new_npages)
{
    mp_segment_t *seg = mp_segment_lookup(addr);
    mp_arena_t *arena;
    size_t index;
    bool grown;

    if (seg == NULL || ((uintptr_t)addr & (MP_PAGE_SIZE - 1)) != 0)
        return NULL;
    if (seg->kind == MP_SEGMENT_HUGE)
        return mp_huge_grow(addr, npages, new_npages);
    if (seg->kind != MP_SEGMENT_BUDDY)
        return NULL;
    index = mp_page_index(seg, addr);
    arena = seg->arena;
    mp_mutex_lock(&arena->lock);
    grown = index >= seg->first_page &&
            seg->pages[index].state == MP_PAGE_RUN &&
            seg->pages[index].count == npages &&
            !(seg->pages[index].flags & MP_PAGE_GUARDED) &&
            mp_arena_grow_locked(arena, seg, index, npages, new_npages);
    mp_mutex_unlock(&arena->lock);
    return grown ? addr : NULL;
}

void *
mp_pages_alloc_guarded(size_t npages, bool *is_zero)
{
    char *run;
    mp_segment_t *seg;

    if (npages == 0 || npages >= (SIZE_MAX >> MP_PAGE_SHIFT)) {
        mp_set_errno(npages == 0 ? EINVAL : ENOMEM);
        return NULL;
    }
    run = mp_pages_alloc(npages + 1, is_zero);
    if (run == NULL)
        return NULL;
    mp_guard_arm(run + (npages << MP_PAGE_SHIFT));
    seg = mp_segment_of(run);
    mp_mutex_lock(&seg->arena->lock); /* mp_guard_check_all reads it */
    if (seg->kind == MP_SEGMENT_HUGE)
        seg->flags |= MP_PAGE_GUARDED;
    else
        seg->pages[mp_page_index(seg, run)].flags |= MP_PAGE_GUARDED;
    mp_mutex_unlock(&seg->arena->lock);
    return run;
}

/* bounded: the run is freed for reuse (mp_pages_free_reuse), and the
 * arena's free pages that hold memory are then bounded */
static int
pages_free(void *addr, size_t npages, bool purge, bool bounded)
{
    mp_segment_t *seg;
    mp_arena_t *arena;
    size_t index;
    unsigned guarded;

    if (((uintptr_t)addr & (MP_PAGE_SIZE - 1)) != 0)
        return EINVAL;
    seg = mp_segment_lookup(addr);
    if (seg == NULL)
        return EINVAL;
    if (seg->kind == MP_SEGMENT_HUGE)
        return mp_huge_free(seg, addr, npages, purge);
    index = mp_page_index(seg, addr);
    arena = seg->arena;
    mp_mutex_lock(&arena->lock);
    /* (a guard page is never a run's head: its entry stays NONE) */
    guarded = seg->pages[index].flags & MP_PAGE_GUARDED;
    if (seg->kind != MP_SEGMENT_BUDDY || index < seg->first_page ||
        seg->pages[index].state != MP_PAGE_RUN ||
        seg->pages[index].count != npages + guarded) {
        mp_mutex_unlock(&arena->lock);
        return EINVAL;
    }
    if (MP_UNLIKELY(guarded)) {
        if (!mp_guard_disarm((char *)addr + (npages << MP_PAGE_SHIFT))) {
            mp_mutex_unlock(&arena->lock);
            mp_guard_report("mpool_pages_free", addr);
        }
        npages++;
    }
    mp_arena_free_locked(arena, seg, index, npages, purge);
    if (bounded && mp_config.can_purge &&
        arena->free_committed > mp_arena_dirty_max())
        mp_arena_trim_dirty_locked(arena, mp_arena_dirty_max() / 2);
    mp_mutex_unlock(&arena->lock);
    return 0;
}

int
mp_pages_free(void *addr, size_t npages)
{
    return pages_free(addr, npages, false, false);
}

int
mp_pages_free_purge(void *addr, size_t npages)
{
    return pages_free(addr, npages, true, false);
}

int
mp_pages_free_reuse(void *addr, size_t npages)
{
    return pages_free(addr, npages, false, true);
}

/* The buddy segment and first page index of the live run at run of
 * npages (at most MP_RUN_HOLES_MAX), with its arena locked; NULL when it
 * is no such run (a huge span, a guarded run: never cut into holes). */
static mp_segment_t *
run_lock(const void *run, size_t npages, size_t *index)
{
    mp_segment_t *seg = mp_segment_lookup(run);

    if (seg == NULL || seg->kind != MP_SEGMENT_BUDDY ||
        npages > MP_RUN_HOLES_MAX)
        return NULL;
    *index = mp_page_index(seg, run);
    mp_mutex_lock(&seg->arena->lock);
    if (seg->pages[*index].state != MP_PAGE_RUN ||
        seg->pages[*index].count != npages) {
        mp_mutex_unlock(&seg->arena->lock);
        return NULL;
    }
    return seg;
}

/* The pages of the run at index (npages of them) that hold memory, as a
 * mask. */
static uint64_t
committed_mask(const mp_segment_t *seg, size_t index, size_t npages)
{
    uint64_t m = 0;

    for (size_t i = 0; i < npages; i++)
        m |= (uint64_t)seg->pages[index + i].committed << i;
    return m;
}

uint64_t
mp_pages_purge_within(void *run, size_t npages, uint64_t mask)
{
    size_t index, purged = 0;
    uint64_t want, done;
    mp_segment_t *seg;

    if (mask == 0 || !mp_config.can_purge ||
        (seg = run_lock(run, npages, &index)) == NULL)
        return 0;
    want = mask & committed_mask(seg, index, npages);
    for (size_t i = 0; i < npages;) { /* each stretch of them, at once */
        size_t start;

        while (i < npages && !((want >> i) & 1))
            i++;
        start = i;
        while (i < npages && ((want >> i) & 1))
            i++;
        if (i > start)
            purged += mp_segment_purge_locked(seg, index + start, index + i,
                                              false);
    }
    done = want & ~committed_mask(seg, index, npages); /* the backend's yes */
    if (purged != 0)
        seg->pages[index].flags |= MP_PAGE_HOLES; /* until it goes back */
    mp_mutex_unlock(&seg->arena->lock);
    atomic_fetch_add_explicit(&mp_reclaim_hole_pages, purged,
                              memory_order_relaxed);
    return done;
}

uint64_t
mp_pages_holes_within(void *run, size_t npages, bool fill)
{
    size_t index;
    uint64_t holes;
    mp_segment_t *seg = run_lock(run, npages, &index);

    if (seg == NULL)
        return 0;
    holes = ~committed_mask(seg, index, npages) &
            (npages == 64 ? ~(uint64_t)0 : ((uint64_t)1 << npages) - 1);
    if (fill && holes != 0) {
        for (size_t i = 0; i < npages; i++)
            seg->pages[index + i].committed = 1;
        mp_committed_add((size_t)__builtin_popcountll(holes));
    }
    mp_mutex_unlock(&seg->arena->lock);
    return holes;
}

void
mp_pages_set_owner(void *run, size_t npages, void *owner)
{
    mp_segment_t *seg = mp_segment_of(run);

    if (seg->kind == MP_SEGMENT_HUGE) {
        seg->owner = owner;
        return;
    }
    /* The run is the caller's: no other thread touches these entries. */
    for (size_t i = mp_page_index(seg, run), n = 0; n < npages; i++, n++)
        seg->pages[i].owner = owner;
}

void
mp_pages_set_owners(void *run, size_t npages, void *owner, const void *group,
                    void *sub_owner, int16_t fast_word)
{
    mp_segment_t *seg = mp_segment_of(run);

    if (seg->kind == MP_SEGMENT_HUGE) {
        seg->owner = owner; /* huge spans take mpool_free's slow path */
        return;
    }
    for (size_t i = mp_page_index(seg, run), n = 0; n < npages; i++, n++) {
        seg->pages[i].owner = owner;
        seg->pages[i].sub_owner = sub_owner;
        seg->pages[i].group = group;
        __atomic_store_n(&seg->fast_words[i], fast_word, __ATOMIC_RELAXED);
    }
}

void
mp_pages_forget_fast_words(const void *addr, size_t len)
{
    uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(MP_PAGE_SIZE - 1);
    uintptr_t end = (uintptr_t)addr + len;

    for (; len != 0 && a < end; a += MP_PAGE_SIZE) {
        mp_page_t *page = mp_buddy_page_fast((const void *)a);
        if (page != NULL) {
            mp_segment_t *seg = mp_segment_of(page);
            __atomic_store_n(&seg->fast_words[page - seg->pages], 0,
                             __ATOMIC_RELAXED);
        }
    }
}

void *
mp_pages_owner(const void *addr)
{
    mp_segment_t *seg = mp_segment_lookup(addr);
    size_t index;

    if (seg == NULL || seg->kind == MP_SEGMENT_RETAINED)
        return NULL;
    if (seg->kind == MP_SEGMENT_HUGE)
        return addr >= mp_page_address(seg, seg->first_page) ? seg->owner
                                                            : NULL;
    index = mp_page_index(seg, addr);
    return index >= seg->first_page ? seg->pages[index].owner : NULL;
}

size_t
mpool_page_size(void)
{
    return MP_PAGE_SIZE;
}

MP_HIDDEN void (*mp_pages_oom)(void);

static void *
public_run(size_t npages)
{
    bool is_zero;

    if (mp_debug_all) /* checking mode: a guard page after the run */
        return mp_pages_alloc_guarded(npages, &is_zero);
    return mp_pages_alloc(npages, &is_zero);
}

void *
mpool_pages_alloc(size_t npages)
{
    void *run = public_run(npages);

    if (run == NULL && npages != 0 && mp_pages_oom != NULL) {
        /* no memory (npages 0 is EINVAL): what the layers above hold free
         * may be it; the second failure sets errno as the first did */
        mp_pages_oom();
        run = public_run(npages);
    }
    if (run != NULL)
        atomic_fetch_add_explicit(&mp_pages_public, npages,
                                  memory_order_relaxed);
    return run;
}

int
mpool_pages_free(void *addr, size_t npages)
{
    int rc;

    if (addr == NULL)
        return 0;
    rc = mp_pages_free(addr, npages);
    if (rc != 0) {
        mp_set_errno(rc);
        return -1;
    }
    atomic_fetch_sub_explicit(&mp_pages_public, npages, memory_order_relaxed);
    return 0;
}
