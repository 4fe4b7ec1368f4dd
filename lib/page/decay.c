/* SPDX-License-Identifier: MIT */
/*
 * page/decay.c - huge spans kept for reuse after they are freed, and given
 * back by age and by amount, with no thread of their own (jemalloc's decay,
 * driven from the page level's slow paths).
 *
 * A program that allocates and frees buffers of a few MiB over and over
 * would otherwise map a span, fault in every page of it, and unmap it each
 * time: its time goes to the kernel.  A freed span instead goes on its
 * arena's retained list, as it is, and the next huge run that fits takes
 * it, its pages already there.  What is kept passes through three states:
 *
 *   dirty     as freed: its pages still hold memory (dirty_pages of them)
 *   muzzy     purged (backend purge: MADV_DONTNEED): address space only
 *   returned  unmapped, given back to the backend
 *
 * Age is counted in huge frees (decay_clock), not in seconds: every
 * free of a huge run is a tick, and each tick ages every span kept.  A
 * span kept mp_decay_dirty_ticks ticks without reuse is purged; one kept
 * mp_decay_muzzy_ticks is unmapped.  A program that stops freeing huge
 * runs keeps what it has until mpool_reclaim (or malloc_trim), which
 * returns every span at once (mp_decay_release_arena, from arena.c).
 * Amount: past mp_decay_dirty_max bytes of dirty pages, the oldest spans
 * are purged; past mp_decay_spans_max spans, the oldest are unmapped; the
 * span just freed is never one of them (a program that frees a buffer to
 * allocate the next would otherwise fault it all in again).  A
 * pool past its retain cap frees its huge runs with purge: kept muzzy.
 *
 * Reuse takes the smallest span kept of enough segments; the dirty pages
 * of the span past the new run stay (a buffer that grows again finds them
 * there, and they are the program's recent high-water mark), up to eight
 * times the run's length: past that they are purged, so a small run in a
 * much larger span does not keep the large one's memory.  When every span
 * kept is too small, the largest is remapped to the size needed (the
 * backend's segments_remap: mremap moves its pages, which stay resident)
 * rather than a fresh span faulted in from nothing.
 *
 * A backend that cannot purge (k210) keeps nothing: its memory is a few
 * fixed MiB, and there is no state between dirty and returned.
 *
 * Locks: each arena's retained list is under its lock; no path holds two
 * arenas' locks.  The counts are process-wide atomics.
 */
#include "page/page.h"

/* Defaults (doc/design.md section 5, mpool_stats(3)); tests lower them
 * (page.h) before the spans they test exist.  DECAY_* may be set at
 * compile time to experiment (doc/benchmarks.md). */
#ifndef DECAY_DIRTY_MAX
#define DECAY_DIRTY_MAX ((size_t)64 << 20)
#endif
MP_HIDDEN size_t mp_decay_dirty_max = DECAY_DIRTY_MAX;
MP_HIDDEN size_t mp_decay_spans_max = 16;
MP_HIDDEN uint64_t mp_decay_dirty_ticks = 32;
MP_HIDDEN uint64_t mp_decay_muzzy_ticks = 256;

MP_HIDDEN _Atomic size_t mp_decay_spans;
MP_HIDDEN _Atomic size_t mp_decay_bytes;
MP_HIDDEN _Atomic size_t mp_decay_dirty; /* pages */
static _Atomic uint64_t decay_clock;
/* A run reused in a span keeps the span's dirty pages past it up to this
 * many times its own length; more are purged. */
#ifndef DECAY_TAIL_KEEP
#define DECAY_TAIL_KEEP 8
#endif

/* Off and onto an arena's retained list; the arena's lock held. */
static void
retained_unlink_locked(mp_arena_t *arena, mp_segment_t *seg)
{
    MP_ASSERT(seg->kind == MP_SEGMENT_RETAINED && seg->arena == arena);
    if (seg->prev != NULL)
        seg->prev->next = seg->next;
    else
        arena->retained = seg->next;
    if (seg->next != NULL)
        seg->next->prev = seg->prev;
    seg->next = seg->prev = NULL;
    atomic_fetch_sub_explicit(&mp_decay_spans, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&mp_decay_bytes,
                              seg->nsegments << MP_SEGMENT_SHIFT,
                              memory_order_relaxed);
    atomic_fetch_sub_explicit(&mp_decay_dirty, seg->dirty_pages,
                              memory_order_relaxed);
}

static void
retained_push_locked(mp_arena_t *arena, mp_segment_t *seg)
{
    seg->kind = MP_SEGMENT_RETAINED;
    seg->prev = NULL;
    seg->next = arena->retained;
    if (seg->next != NULL)
        seg->next->prev = seg;
    arena->retained = seg;
    atomic_fetch_add_explicit(&mp_decay_spans, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&mp_decay_bytes,
                              seg->nsegments << MP_SEGMENT_SHIFT,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&mp_decay_dirty, seg->dirty_pages,
                              memory_order_relaxed);
}

/* Purge the dirty pages of seg from page `keep` (after the header) on;
 * the committed count follows.  The caller keeps the list's count right. */
static void
span_purge_from(mp_segment_t *seg, size_t keep)
{
    size_t from = seg->first_page + keep;
    size_t to = seg->first_page + seg->dirty_pages;

    if (keep >= seg->dirty_pages)
        return;
    if (mp_backend_purge(mp_page_address(seg, from),
                         (to - from) << MP_PAGE_SHIFT) != 0)
        return;
    mp_committed_sub(seg->dirty_pages - keep);
    seg->dirty_pages = keep;
}

/* A retained span made muzzy, on its list; the arena's lock held. */
static void
retained_purge_locked(mp_segment_t *seg)
{
    size_t before = seg->dirty_pages;

    span_purge_from(seg, 0);
    atomic_fetch_sub_explicit(&mp_decay_dirty, before - seg->dirty_pages,
                              memory_order_relaxed);
}

/* Give a span taken off every list back to the backend. */
static void
span_release(mp_segment_t *seg)
{
    size_t committed = seg->first_page + seg->dirty_pages;

    mp_committed_sub(committed);
    if (mp_segment_release(seg) == 0 &&
        atomic_load_explicit(&mp_reclaim_active, memory_order_relaxed) != 0)
        atomic_fetch_add_explicit(&mp_reclaim_huge_pages, committed,
                                  memory_order_relaxed);
}

mp_segment_t *
mp_decay_take(mp_arena_t *arena, size_t nsegments, size_t npages,
              bool *is_zero)
{
    mp_segment_t *best = NULL, *small = NULL;
    bool tail_zero = true;
    size_t dirty;

    if (atomic_load_explicit(&mp_decay_spans, memory_order_relaxed) == 0)
        return NULL;
    /* the smallest span that is large enough; failing that the largest,
     * to be remapped larger (its pages move with it, no fault again) */
    for (unsigned i = 0; i < mp_narenas && best == NULL; i++) {
        mp_arena_t *a = &mp_arenas[(arena->index + i) % mp_narenas];

        mp_mutex_lock(&a->lock);
        for (mp_segment_t *seg = a->retained; seg != NULL; seg = seg->next)
            if (seg->nsegments >= nsegments) {
                if (best == NULL || seg->nsegments < best->nsegments)
                    best = seg;
            } else if (small == NULL || seg->nsegments > small->nsegments ||
                       (seg->nsegments == small->nsegments &&
                        seg->dirty_pages > small->dirty_pages)) {
                small = seg;
            }
        if (best == NULL && small != NULL && small->arena == a) {
            retained_unlink_locked(a, small);
        } else if (best != NULL) {
            retained_unlink_locked(a, best);
            small = NULL;
        } else {
            small = NULL;
        }
        mp_mutex_unlock(&a->lock);
        if (small != NULL) {
            if (mp_segment_remap(small, nsegments, &best, &tail_zero) != 0) {
                mp_mutex_lock(&a->lock); /* back as it was */
                retained_push_locked(a, small);
                mp_mutex_unlock(&a->lock);
                return NULL;
            }
            break;
        }
    }
    if (best == NULL)
        return NULL;
    if (!tail_zero && mp_span_pages(best) > best->dirty_pages) {
        /* the segments a remap added may hold anything */
        mp_committed_add(mp_span_pages(best) - best->dirty_pages);
        best->dirty_pages = mp_span_pages(best);
    }
    dirty = best->dirty_pages;
    /* a small run in a large span: not the large one's memory */
    if (dirty > npages && (dirty - npages) / DECAY_TAIL_KEEP > npages)
        span_purge_from(best, npages);
    if (npages > best->dirty_pages) {
        mp_committed_add(npages - best->dirty_pages);
        best->dirty_pages = npages;
    }
    /* purged pages read zero only where the backend says so, and the
     * segments a remap added only where it says so */
    *is_zero = dirty == 0 && mp_config.purge_zeroes && tail_zero;
    best->taken_dirty = mp_config.purge_zeroes && tail_zero ? dirty : npages;
    best->kind = MP_SEGMENT_HUGE;
    best->arena = arena;
    best->flags = 0;
    best->owner = NULL;
    return best;
}

/* The retained span that has waited longest, in any arena, taken off its
 * list (dirty ones only when dirty); NULL if none. */
static mp_segment_t *
oldest_take(bool dirty, bool purge_only, uint64_t now)
{
    mp_segment_t *best = NULL;
    unsigned where = 0;

    for (unsigned i = 0; i < mp_narenas; i++) {
        mp_arena_t *a = &mp_arenas[i];

        mp_mutex_lock(&a->lock);
        for (mp_segment_t *seg = a->retained; seg != NULL; seg = seg->next)
            if ((!dirty || seg->dirty_pages > 0) && seg->decay_stamp != now &&
                (best == NULL || seg->decay_stamp < best->decay_stamp)) {
                best = seg;
                where = i;
            }
        mp_mutex_unlock(&a->lock);
    }
    if (best == NULL)
        return NULL;
    /* taken again under its lock, if still there */
    {
        mp_arena_t *a = &mp_arenas[where];
        mp_segment_t *seg;

        mp_mutex_lock(&a->lock);
        for (seg = a->retained; seg != NULL && seg != best; seg = seg->next)
            ;
        if (seg != NULL) {
            if (purge_only) {
                retained_purge_locked(seg);
                seg = NULL; /* stays listed */
            } else {
                retained_unlink_locked(a, seg);
            }
        } else {
            best = NULL;
        }
        mp_mutex_unlock(&a->lock);
        return purge_only ? best : seg;
    }
}

/* Age everything kept, then hold it to the caps. */
static void
decay_step(uint64_t now)
{
    for (unsigned i = 0; i < mp_narenas; i++) {
        mp_arena_t *a = &mp_arenas[i];
        mp_segment_t *doomed = NULL, *seg, *next;

        mp_mutex_lock(&a->lock);
        for (seg = a->retained; seg != NULL; seg = next) {
            uint64_t age = now - seg->decay_stamp;

            next = seg->next;
            if (age >= mp_decay_muzzy_ticks) {
                retained_unlink_locked(a, seg);
                seg->next = doomed;
                doomed = seg;
            } else if (age >= mp_decay_dirty_ticks && seg->dirty_pages > 0) {
                retained_purge_locked(seg);
            }
        }
        mp_mutex_unlock(&a->lock);
        for (seg = doomed; seg != NULL; seg = next) {
            next = seg->next;
            span_release(seg);
        }
    }
    while (atomic_load_explicit(&mp_decay_spans, memory_order_relaxed) >
           mp_decay_spans_max) {
        mp_segment_t *seg = oldest_take(false, false, now);
        if (seg == NULL)
            break;
        span_release(seg);
    }
    /* bounded: a purge the backend refuses leaves the count as it was */
    for (size_t n = 0;
         n <= mp_decay_spans_max &&
         (atomic_load_explicit(&mp_decay_dirty, memory_order_relaxed)
          << MP_PAGE_SHIFT) > mp_decay_dirty_max;
         n++)
        if (oldest_take(true, true, now) == NULL)
            break;
}

bool
mp_decay_keep(mp_segment_t *seg, bool purge)
{
    mp_arena_t *arena = seg->arena;
    uint64_t now;

    if (!mp_config.can_purge || mp_decay_spans_max == 0 ||
        atomic_load_explicit(&mp_reclaim_active, memory_order_relaxed) != 0)
        return false;
    if (purge)
        span_purge_from(seg, 0);
    now = atomic_fetch_add_explicit(&decay_clock, 1, memory_order_relaxed) +
          1;
    seg->decay_stamp = now;
    seg->owner = NULL;
    seg->run_pages = 0;
    mp_mutex_lock(&arena->lock);
    retained_push_locked(arena, seg);
    mp_mutex_unlock(&arena->lock);
    decay_step(now);
    return true;
}

size_t
mp_decay_release_arena(mp_arena_t *arena)
{
    mp_segment_t *doomed = NULL, *seg, *next;
    size_t pages = 0;

    mp_mutex_lock(&arena->lock);
    while ((seg = arena->retained) != NULL) {
        retained_unlink_locked(arena, seg);
        seg->next = doomed;
        doomed = seg;
    }
    mp_mutex_unlock(&arena->lock);
    for (seg = doomed; seg != NULL; seg = next) {
        size_t committed = seg->first_page + seg->dirty_pages;

        next = seg->next;
        mp_committed_sub(committed);
        if (mp_segment_release(seg) == 0)
            pages += committed;
    }
    return pages;
}

size_t
mp_decay_release_all(void)
{
    size_t n = 0;

    if (atomic_load_explicit(&mp_decay_spans, memory_order_relaxed) == 0)
        return 0;
    for (unsigned i = 0; i < mp_narenas; i++) {
        size_t before = atomic_load(&mp_decay_spans);
        mp_decay_release_arena(&mp_arenas[i]);
        n += before - atomic_load(&mp_decay_spans);
    }
    return n;
}
