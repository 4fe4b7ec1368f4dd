/* SPDX-License-Identifier: MIT */
/*
 * page/page.h - the page level: segments from the backend, arenas, the
 * buddy system, huge spans and guard pages, and the interface the layers
 * above allocate through (mp_pages_alloc and friends).  Never installed;
 * nothing here is exported from the shared library.  It names nothing of
 * the layers above: what they keep on a page (owner words) is opaque here.
 *
 * Glossary
 *   page     MP_PAGE_SIZE bytes (4 KiB with the mmap backend).  The unit of
 *            the page level.  Not necessarily the machine's page.
 *   segment  MP_SEGMENT_SIZE bytes (4 MiB with mmap), aligned to its size,
 *            obtained from the backend.  Its first pages hold its header,
 *            so the header of any address inside is `addr & ~SEGMENT_MASK`.
 *   block    a power-of-two number of pages, aligned to its size within
 *            the segment: the unit the buddy system splits and joins.  Only
 *            free blocks exist as such; a block's order is log2(pages).
 *   run      what a caller gets: any number of contiguous pages.  A run
 *            inside a segment is carved from one block, and the tail of the
 *            block it does not need goes straight back to the free lists.
 *   span     a run too large for a segment's buddy system: one or more
 *            whole segments obtained for it alone ("huge"), given back to
 *            the backend when the run is freed.
 *   arena    an independently locked page heap: free lists per order over
 *            the segments it owns.  Threads use the arena of the CPU they
 *            run on, so they do not serialise on one lock.
 *
 * Segment layout (mmap backend):
 *
 *   | header: fields + one mp_page_t per page | blocks ...              |
 *   0        (first_page pages, 9 with mmap)  first_page          1024 pages
 *
 * Invariants (checked by mp_arena_check() in tests)
 *   - Every page of a buddy segment at or after first_page lies in exactly
 *     one free block or one run.
 *   - pages[i].state is FREE exactly when page i heads a free block (then
 *     .count is its order and it is on arena->free[order]); RUN exactly when
 *     it heads a run (then .count is the run's length); NONE otherwise.
 *   - No two free buddies of the same order are both free: they are joined.
 *   - arena->free_pages == sum over free blocks of 1 << order.
 *   - pages[i].committed is 1 when page i may hold physical memory; it is
 *     set when the page is handed out and cleared when it is purged.
 */
#ifndef MP_PAGE_PAGE_H
#define MP_PAGE_PAGE_H

#include "base/base.h"

/* Geometry derived from the backend's constants. */
#define MP_SEGMENT_ORDER (MP_SEGMENT_SHIFT - MP_PAGE_SHIFT)
#define MP_SEGMENT_PAGES ((size_t)1 << MP_SEGMENT_ORDER) /* 1024 with mmap */
#define MP_ORDERS (MP_SEGMENT_ORDER + 1)
#define MP_SEGMENT_MAGIC ((uintptr_t)0x6d706f6f6c736567ull) /* "mpoolseg" */

#if MP_SEGMENT_SHIFT <= MP_PAGE_SHIFT
#error "a segment must hold more than one page"
#endif

/* ------------------------------------------------------------------------
 * Page entries, segments, arenas
 * ------------------------------------------------------------------------ */

enum mp_page_state {
    MP_PAGE_NONE = 0, /* inside a block or run, or part of the header */
    MP_PAGE_FREE,     /* heads a free block */
    MP_PAGE_RUN,      /* heads a run handed out */
};

typedef struct mp_page {
    union {
        struct mp_page *next;     /* FREE: the arena's list for this order */
        const void *group;        /* in a run: an opaque word of the layer
                                     above (a pool, for mpool_free's fast
                                     path); NULL in every other page but a
                                     FREE head */
    };
    union {
        struct mp_page *prev;
        void *sub_owner;          /* with .group: another (a class cache) */
    };
    void *owner;       /* in a run: what the layer above keeps there (a
                          slab), set on every page of the run */
    uint16_t count;    /* FREE: the block's order; RUN: the run's length */
    uint16_t pad;
    uint8_t state;     /* enum mp_page_state */
    uint8_t committed; /* may hold physical memory */
    uint16_t flags;    /* RUN head: MP_PAGE_GUARDED, MP_PAGE_HOLES */
} mp_page_t;

_Static_assert(MP_SEGMENT_PAGES <= UINT16_MAX,
               "a run's length fits mp_page_t.count");

/* mp_page_t.flags: the run's last page is a guard page (guard.c), not
 * counted in the length its caller knows. */
#define MP_PAGE_GUARDED 0x1u
/* A run that has had holes since it was handed out (mp_pages_purge_within):
 * its pages, filled again or not, are the only run pages that may not be
 * committed (check.c).  Cleared when the run goes back. */
#define MP_PAGE_HOLES 0x2u

enum mp_segment_kind {
    MP_SEGMENT_BUDDY = 1, /* pages managed by the arena's buddy system */
    MP_SEGMENT_HUGE,      /* one run of whole segments */
    MP_SEGMENT_RETAINED,  /* a huge span freed and kept for reuse
                             (decay.c): on its arena's retained list */
};

struct mp_arena;

typedef struct mp_segment {
    uintptr_t magic;           /* MP_SEGMENT_MAGIC ^ (uintptr_t)this */
    struct mp_arena *arena;    /* owner; never changes */
    struct mp_segment *next;   /* the arena's list of segments of this kind */
    struct mp_segment *prev;
    size_t nsegments;          /* 1 for BUDDY; the span's length for HUGE */
    uint32_t kind;             /* enum mp_segment_kind */
    uint32_t first_page;       /* first page after the header */
    uint32_t end_page;         /* BUDDY: past the last page blocks use;
                                  MP_SEGMENT_PAGES, or one less when the
                                  last page is a guard (guard.c) */
    uint32_t flags;            /* HUGE: MP_PAGE_GUARDED, as a run head's */
    size_t free_pages;         /* BUDDY: pages in free blocks */
    size_t run_pages;          /* HUGE: the run's length in pages */
    void *owner;               /* HUGE: as mp_page_t.owner */
    size_t dirty_pages;        /* HUGE, RETAINED: pages after the header
                                  that may hold memory (>= run_pages while
                                  HUGE; 0 once purged); committed pages of
                                  the span = first_page + dirty_pages */
    uint64_t decay_stamp;      /* RETAINED: mp_decay_clock when freed */
    size_t taken_dirty;        /* HUGE: dirty_pages when the run was handed
                                  out: the run's pages past it read zero
                                  then (mp_pages_alloc_dirty) */
    /* BUDDY: each page's fast word: in a run, a third opaque word of the
     * layer above (the thread slot free's fast path pushes into,
     * pool-fast.h); 0 in every other page.  Apart from the entries, two
     * bytes a page: free reads it for a block at random, and 1-2 KiB of
     * them stay in the L1 cache where the entries they would sit in (32
     * bytes a page) did not: in bench/larson, 0.8 cache misses a free
     * (cachegrind).  Written with the entries, by whoever may write them. */
    int16_t fast_words[MP_SEGMENT_PAGES];
    mp_page_t pages[];         /* BUDDY: MP_SEGMENT_PAGES entries */
} mp_segment_t;

/* The pages of a huge or retained span after its header: what it may
 * ever hand out, and what it may hold where nothing is known of it (a
 * span made of segments that were not fresh, or grown by segments that
 * may hold anything: dirty_pages covers them all). */
static inline size_t
mp_span_pages(const mp_segment_t *seg)
{
    return (seg->nsegments << MP_SEGMENT_ORDER) - seg->first_page;
}

/* Pages taken by a buddy segment's header, and by a huge span's. */
#define MP_SEGMENT_HEADER_BYTES \
    (sizeof(mp_segment_t) + MP_SEGMENT_PAGES * sizeof(mp_page_t))
#define MP_SEGMENT_FIRST_PAGE \
    ((MP_SEGMENT_HEADER_BYTES + MP_PAGE_SIZE - 1) >> MP_PAGE_SHIFT)
#define MP_HUGE_FIRST_PAGE \
    ((sizeof(mp_segment_t) + MP_PAGE_SIZE - 1) >> MP_PAGE_SHIFT)
#define MP_SEGMENT_USABLE_PAGES (MP_SEGMENT_PAGES - MP_SEGMENT_FIRST_PAGE)

/* The pages a buddy segment's blocks cover: all after the header, less a
 * guard page at the end in checking mode. */
static inline size_t
mp_segment_usable(const mp_segment_t *seg)
{
    return seg->end_page - seg->first_page;
}

_Static_assert(MP_SEGMENT_FIRST_PAGE * 2 <= MP_SEGMENT_PAGES,
               "the segment header would take half the segment");

typedef struct mp_arena {
    mp_mutex_t lock;                /* protects everything below, and the
                                      page entries of its segments */
    mp_page_t *free[MP_ORDERS];    /* free blocks by order, doubly linked */
    unsigned free_mask;            /* bit k set: free[k] is not empty */
    mp_segment_t *segments;        /* BUDDY segments */
    mp_segment_t *huge;            /* HUGE spans */
    mp_segment_t *retained;        /* RETAINED spans, newest first */
    size_t nsegments;              /* BUDDY segments held */
    size_t empty_segments;         /* of those, with no page in a run */
    size_t free_pages;             /* pages in free blocks */
    size_t free_committed;         /* of those, pages that may hold memory */
    size_t run_pages;              /* pages in runs, huge runs included */
    unsigned index;                /* position in mp_arenas[] */
} mp_arena_t;

/* ------------------------------------------------------------------------
 * arena.c: the page level's state, its initialisation, and reclaim
 * ------------------------------------------------------------------------ */

extern MP_HIDDEN mp_backend_config_t mp_config;
extern MP_HIDDEN mp_arena_t mp_arenas[MP_ARENAS_MAX];
extern MP_HIDDEN unsigned mp_narenas;
/* Non-zero while mpool_reclaim() runs: arenas then keep their empty
 * segments for the reclaim pass, which gives them back and counts them. */
extern MP_HIDDEN _Atomic int mp_reclaim_active;
/* Pages of huge spans given back while it runs (in checking mode a slab
 * can be one): the spans go back at once, so the reclaim pass cannot count
 * them as it does purged pages. */
extern MP_HIDDEN _Atomic size_t mp_reclaim_huge_pages;
/* Pages purged inside live runs (holes: mp_pages_purge_within), which the
 * reclaim pass, visiting free blocks, cannot count either. */
extern MP_HIDDEN _Atomic size_t mp_reclaim_hole_pages;

/* Set up the backend and the arenas (init.c, once).  0 or an error. */
MP_HIDDEN int mp_page_init(void);
/* Release the arena's empty segments and purge the committed pages of its
 * free blocks; returns the pages given back. */
MP_HIDDEN size_t mp_arena_reclaim(mp_arena_t *arena);
/* Purge the committed pages of [index, end) of a segment whose arena's
 * lock is held, in maximal stretches, one backend call each; with
 * whole_huge and huge pages asked for (thp=1), only the whole huge pages
 * of each stretch.  Clears their committed marks and takes them off the
 * committed count (mp_committed_pages); returns how many were purged. */
MP_HIDDEN size_t mp_segment_purge_locked(mp_segment_t *seg, size_t index,
                                         size_t end, bool whole_huge);
/* With huge pages asked for: purge each huge page that the free run
 * [index, index + npages) now leaves wholly free (a retention policy's
 * purge, which purged only the run's own whole huge pages).  Nothing
 * otherwise. */
MP_HIDDEN void mp_arena_purge_huge_locked(mp_arena_t *arena,
                                          mp_segment_t *seg, size_t index,
                                          size_t npages);
/* The bound on an arena's free pages that still hold memory, which a run
 * freed for reuse applies (mp_pages_free_reuse): past
 * mp_arena_dirty_max(), the free blocks are purged, largest first, down
 * to half of it.  Process-wide MP_DIRTY_FREE_BYTES, shared out among the
 * arenas (arena.c). */
MP_HIDDEN size_t mp_arena_dirty_max(void);
MP_HIDDEN void mp_arena_trim_dirty_locked(mp_arena_t *arena, size_t target);
/* Ask the backend for transparent huge pages (thp=1) or not, and purge
 * accordingly.  0, or ENOTSUP from the backend. */
MP_HIDDEN int mp_page_huge_pages(bool on);
/* Pages in runs in all arenas, huge spans included. */
MP_HIDDEN size_t mp_pages_in_runs(void);

/* Pages that hold memory (not purged): segment headers, runs, and free
 * pages not purged yet, in every arena; and the most there have been.
 * Counted where that changes, on the page level's slow paths (a segment
 * added or released, fresh pages taken, pages purged), never per run. */
extern MP_HIDDEN _Atomic size_t mp_committed_pages;
extern MP_HIDDEN _Atomic size_t mp_committed_peak;
/* Pages handed out by mpool_pages_alloc() and not given back. */
extern MP_HIDDEN _Atomic size_t mp_pages_public;
/* Installed by a layer above: what mpool_pages_alloc() calls, with no lock
 * held, when it finds no memory, before it tries once more (the caches'
 * and pools' reclaim, which may give back the pages it needs). */
extern MP_HIDDEN void (*mp_pages_oom)(void);

static inline void
mp_committed_add(size_t pages)
{
    size_t now = atomic_fetch_add_explicit(&mp_committed_pages, pages,
                                           memory_order_relaxed) +
                 pages;
    size_t peak = atomic_load_explicit(&mp_committed_peak,
                                       memory_order_relaxed);

    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&mp_committed_peak, &peak,
                                                  now, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static inline void
mp_committed_sub(size_t pages)
{
    atomic_fetch_sub_explicit(&mp_committed_pages, pages,
                              memory_order_relaxed);
}

/* What the page level holds, for mpool_system_stats (usage.c). */
typedef struct mp_page_usage {
    size_t segments;        /* buddy segments, and segments of huge spans */
    size_t bytes_mapped;    /* of those segments */
    size_t bytes_committed;
    size_t bytes_committed_peak;
    size_t bytes_public;    /* in runs of mpool_pages_alloc() */
    size_t bytes_retained;  /* huge spans kept for reuse (decay.c) */
    size_t bytes_retained_dirty;
    size_t spans_retained;
} mp_page_usage_t;
MP_HIDDEN void mp_page_usage(mp_page_usage_t *out);

/* The arena for the calling thread: the one of the CPU it runs on. */
static inline mp_arena_t *
mp_arena_current(void)
{
    return &mp_arenas[mp_backend_cpu_id() % mp_narenas];
}

/* ------------------------------------------------------------------------
 * fault.c
 * ------------------------------------------------------------------------ */

/* Tests only: > 0 makes the request for segments that counts it down to 0
 * fail with ENOMEM (fault.c).  0, the default, disarms it. */
extern MP_HIDDEN _Atomic long mp_fault_countdown;
/* Tests only: the failure, once due, persists until disarmed. */
extern MP_HIDDEN _Atomic bool mp_fault_persist;
extern MP_HIDDEN _Atomic long mp_fault_injected; /* requests failed */
MP_HIDDEN MP_NOINLINE int mp_fault_hit(void);

/* ENOMEM when an injected fault is due; otherwise 0.  One relaxed load
 * while disarmed. */
static inline int
mp_fault_check(void)
{
    if (MP_LIKELY(atomic_load_explicit(&mp_fault_countdown,
                                       memory_order_relaxed) <= 0))
        return 0;
    return mp_fault_hit();
}

/* ------------------------------------------------------------------------
 * segment.c
 * ------------------------------------------------------------------------ */

MP_HIDDEN mp_segment_t *mp_segment_lookup(const void *addr);
/* One bit per segment-sized slot of the address space (segment.c): set
 * in mp_segment_map while the library holds a segment there, and in
 * mp_buddy_map while that segment is a buddy segment. */
#define MP_MAP_SLOTS ((uintptr_t)1 << (MP_ADDRESS_BITS - MP_SEGMENT_SHIFT))
#define MP_MAP_WORD_BITS (sizeof(uintptr_t) * 8)
extern MP_HIDDEN _Atomic uintptr_t mp_segment_map[MP_MAP_SLOTS / MP_MAP_WORD_BITS];
extern MP_HIDDEN _Atomic uintptr_t mp_buddy_map[MP_MAP_SLOTS / MP_MAP_WORD_BITS];
/* Mark a segment the arena now runs as a buddy segment. */
MP_HIDDEN void mp_segment_map_buddy(const mp_segment_t *seg);
MP_HIDDEN int mp_segment_acquire(size_t nsegments, mp_segment_t **out,
                                 bool *is_zero);
MP_HIDDEN int mp_segment_release(mp_segment_t *seg);
/* Resize the span seg to nsegments through the backend's segments_remap,
 * its maps updated; *out is where it now lies, *tail_zero whether the
 * segments added read zero.  0, or an error number with the span as it
 * was. */
MP_HIDDEN int mp_segment_remap(mp_segment_t *seg, size_t nsegments,
                               mp_segment_t **out, bool *tail_zero);

static inline uintptr_t
mp_segment_magic(const mp_segment_t *seg)
{
    return MP_SEGMENT_MAGIC ^ (uintptr_t)seg;
}

static inline mp_segment_t *
mp_segment_of(const void *addr)
{
    return (mp_segment_t *)((uintptr_t)addr & ~(uintptr_t)MP_SEGMENT_MASK);
}

static inline void *
mp_page_address(mp_segment_t *seg, size_t index)
{
    return (char *)seg + (index << MP_PAGE_SHIFT);
}

static inline size_t
mp_page_index(const mp_segment_t *seg, const void *addr)
{
    return ((uintptr_t)addr - (uintptr_t)seg) >> MP_PAGE_SHIFT;
}

/* Whether the bit of slot (< MP_MAP_SLOTS) is set in a segment map.  On
 * x86-64 one bt whose operand is the map itself: a bit string, the word
 * found from the bit's number by the instruction (gcc would load the
 * word by its own index and test that, 4 instructions).  A relaxed read,
 * as the loads of the word elsewhere. */
static inline bool
mp_map_test(const _Atomic uintptr_t *map, uintptr_t slot)
{
#if defined(__x86_64__)
    typedef const uintptr_t mp_map_words[MP_MAP_SLOTS / MP_MAP_WORD_BITS];
    bool set;

    __asm__("btq %2, %1"
            : "=@ccc"(set)
            : "m"(*(const mp_map_words *)(const void *)map), "r"(slot));
    return set;
#else
    return (atomic_load_explicit(&map[slot / MP_MAP_WORD_BITS],
                                 memory_order_relaxed) >>
            (slot % MP_MAP_WORD_BITS)) & 1;
#endif
}

/* Whether addr lies in a buddy segment the library holds (its bit in the
 * map), and then the segment's address shifted down by
 * MP_SEGMENT_SHIFT: two tests and no read of the segment itself.  For
 * the fast paths below. */
static inline bool
mp_buddy_slot(uintptr_t a, uintptr_t *slot)
{
    uintptr_t s = a >> MP_SEGMENT_SHIFT;

    if (MP_UNLIKELY(s >= MP_MAP_SLOTS))
        return false;
    if (MP_UNLIKELY(!mp_map_test(mp_buddy_map, s)))
        return false;
    /* the segment from the slot already shifted: one instruction, where
     * gcc would mask the address again with a copy (two) */
    __asm__("" : "+r"(s));
    *slot = s;
    return true;
}

/* The page entry of addr when addr lies in a buddy segment the library
 * holds; NULL for any other address, huge spans included: mpool_free's
 * and usable_size's fast paths. */
static inline mp_page_t *
mp_buddy_page_fast(const void *addr)
{
    uintptr_t a = (uintptr_t)addr, slot;

    if (!mp_buddy_slot(a, &slot))
        return NULL;
    return &((mp_segment_t *)(slot << MP_SEGMENT_SHIFT))
                ->pages[(a & MP_SEGMENT_MASK) >> MP_PAGE_SHIFT];
}

/* The fast word of addr's page (mp_segment_t.fast_words) into *word,
 * and true, when addr lies in a buddy segment the library holds; false
 * for any other address, huge spans included: free's fast path, which
 * reads nothing else of the segment. */
static inline bool
mp_buddy_word_fast(const void *addr, int16_t *word)
{
    uintptr_t a = (uintptr_t)addr, slot;

    if (!mp_buddy_slot(a, &slot))
        return false;
    /* the word's byte offset, and the array's in the load's address: gcc
     * would otherwise add the array's offset to the index */
    *word = __atomic_load_n(
        (const int16_t *)((char *)(slot << MP_SEGMENT_SHIFT) +
                          offsetof(mp_segment_t, fast_words) +
                          (((a & MP_SEGMENT_MASK) >> MP_PAGE_SHIFT) << 1)),
        __ATOMIC_RELAXED);
    return true;
}

/* The fast word of a page entry of a buddy segment. */
static inline int16_t
mp_page_fast_word(const mp_page_t *page)
{
    const mp_segment_t *seg =
        (const mp_segment_t *)((uintptr_t)page & ~(uintptr_t)MP_SEGMENT_MASK);

    return __atomic_load_n(&seg->fast_words[page - seg->pages],
                           __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------
 * page.c: the buddy system of an arena.  Callers hold arena->lock.
 * ------------------------------------------------------------------------ */

/* The largest run an arena's buddy segments can hold, in pages. */
#define MP_BUDDY_MAX_ORDER (MP_SEGMENT_ORDER - 1)
#define MP_BUDDY_MAX_PAGES ((size_t)1 << MP_BUDDY_MAX_ORDER)

/* grow: may take a new segment from the backend when no block is free.
 * NULL with errno ENOMEM when there is none. */
MP_HIDDEN void *mp_arena_alloc_locked(mp_arena_t *arena, size_t npages,
                                      bool grow, bool *is_zero);
/* purge: drop the run's physical memory first (a retention policy that
 * wants memory back at once); its pages then count as not committed. */
MP_HIDDEN void mp_arena_free_locked(mp_arena_t *arena, mp_segment_t *seg,
                                    size_t index, size_t npages, bool purge);
/* Grow the run of npages at index to new_npages in place, into the free
 * pages after it; false with nothing changed when they are not all free. */
MP_HIDDEN bool mp_arena_grow_locked(mp_arena_t *arena, mp_segment_t *seg,
                                    size_t index, size_t npages,
                                    size_t new_npages);
MP_HIDDEN void mp_arena_add_segment_locked(mp_arena_t *arena,
                                           mp_segment_t *seg, bool is_zero);
MP_HIDDEN void mp_arena_remove_segment_locked(mp_arena_t *arena,
                                              mp_segment_t *seg);

/* ------------------------------------------------------------------------
 * huge.c: runs larger than a buddy block.
 * ------------------------------------------------------------------------ */

MP_HIDDEN void *mp_huge_alloc(mp_arena_t *arena, size_t npages,
                              bool *is_zero);
/* purge: the program wants the memory back now (a pool past its retain):
 * the span is kept purged, or released, never kept dirty. */
MP_HIDDEN int mp_huge_free(mp_segment_t *seg, void *addr, size_t npages,
                           bool purge);
/* Grow the huge run at addr from npages to new_npages in place, inside its
 * span's last segment, or by remapping the span (the backend's
 * segments_remap: the address may change, nothing is copied).  The new
 * run's address, or NULL with nothing changed (ENOTSUP, ENOMEM). */
MP_HIDDEN void *mp_huge_grow(void *addr, size_t npages, size_t new_npages);

/* ------------------------------------------------------------------------
 * decay.c: huge spans kept for reuse after they are freed, and given back
 * by age and by amount (dirty -> purged -> unmapped), with no thread.
 * ------------------------------------------------------------------------ */

/* Tunables, here so that tests can lower them (defaults in decay.c). */
extern MP_HIDDEN size_t mp_decay_dirty_max;  /* bytes kept dirty, process */
extern MP_HIDDEN size_t mp_decay_spans_max;  /* spans kept, process */
extern MP_HIDDEN uint64_t mp_decay_dirty_ticks; /* age when purged */
extern MP_HIDDEN uint64_t mp_decay_muzzy_ticks; /* age when unmapped */
/* What is kept: spans, their address space, their dirty pages. */
extern MP_HIDDEN _Atomic size_t mp_decay_spans;
extern MP_HIDDEN _Atomic size_t mp_decay_bytes;
extern MP_HIDDEN _Atomic size_t mp_decay_dirty;
/* A retained span of at least nsegments, set up as a huge run of npages
 * in arena (its is_zero: nothing dirty in it); NULL if none fits. */
MP_HIDDEN mp_segment_t *mp_decay_take(mp_arena_t *arena, size_t nsegments,
                                      size_t npages, bool *is_zero);
/* Keep seg, a huge span just taken off its arena's list, for reuse
 * (purged at once when purge), then age what is kept; false when it is
 * not to be kept (reclaim running, a backend that cannot purge), and the
 * caller releases it. */
MP_HIDDEN bool mp_decay_keep(mp_segment_t *seg, bool purge);
/* Release every span arena keeps (mpool_reclaim); the pages they held. */
MP_HIDDEN size_t mp_decay_release_arena(mp_arena_t *arena);
/* Release every span kept anywhere (out of memory); how many. */
MP_HIDDEN size_t mp_decay_release_all(void);

/* ------------------------------------------------------------------------
 * pages.c: runs of any size; the layer every other one allocates from.
 * ------------------------------------------------------------------------ */

MP_HIDDEN void *mp_pages_alloc(size_t npages, bool *is_zero);
/* The same, saying how many of the run's first pages may not read zero
 * (*dirty: 0 when all do; a huge span kept for reuse, or remapped larger,
 * is zero past the pages its last run wrote).  Not guarded. */
MP_HIDDEN void *mp_pages_alloc_dirty(size_t npages, size_t *dirty);
/* Grow the live run at addr from npages to new_npages: a buddy run into
 * the free pages after it (same address), a huge run as mp_huge_grow.
 * The run's address, or NULL with nothing changed.  Not guarded runs. */
MP_HIDDEN void *mp_pages_grow(void *addr, size_t npages, size_t new_npages);
MP_HIDDEN int mp_pages_free(void *addr, size_t npages);
/* The same, giving the run's physical memory back to the backend now. */
MP_HIDDEN int mp_pages_free_purge(void *addr, size_t npages);
/* The same, unpurged, for the next runs to reuse while the pages still
 * hold memory: past the arena's bound on such free pages
 * (mp_arena_dirty_max), its free blocks are purged, largest first, down to
 * half the bound.  A huge span goes to the decay (decay.c) as with
 * mp_pages_free. */
MP_HIDDEN int mp_pages_free_reuse(void *addr, size_t npages);
/* Holes in a live run: pages inside it given back to the backend while
 * the run stays its caller's (the slab layer purges the pages of a slab
 * whose every object is free, slab.c).  A run of at most
 * MP_RUN_HOLES_MAX pages, in a buddy segment; a mask names its pages,
 * bit i for page i. */
#define MP_RUN_HOLES_MAX 64
/* Purge the pages of mask that hold memory; those purged, as a mask (0
 * where the backend cannot purge, or run is not such a run). */
MP_HIDDEN uint64_t mp_pages_purge_within(void *run, size_t npages,
                                         uint64_t mask);
/* The run's holes, as a mask; with fill, counted as holding memory again
 * from now on: the caller is about to write them. */
MP_HIDDEN uint64_t mp_pages_holes_within(void *run, size_t npages,
                                         bool fill);
/* Record `owner` on every page of a live run (the run's caller only). */
MP_HIDDEN void mp_pages_set_owner(void *run, size_t npages, void *owner);
/* The same with three more opaque words on every page (a pool's slab
 * names its pool, its class cache and the thread slot of that class, for
 * the fast paths of mpool_free and free through mp_buddy_page_fast);
 * mp_arena_free_locked clears them when the run goes back. */
MP_HIDDEN void mp_pages_set_owners(void *run, size_t npages, void *owner,
                                   const void *group, void *sub_owner,
                                   int16_t fast_word);
/* Clear the fast word of every page of [addr, addr + len) that a run of
 * the library's holds (a region pool's memory, which may lie in a slab:
 * the fast paths then never take one of its blocks for a class's).  The
 * word stays clear until the run goes back; the fast paths read it with
 * no lock, and a clear word sends them the slow way. */
MP_HIDDEN void mp_pages_forget_fast_words(const void *addr, size_t len);
/* The owner recorded for the run holding addr; NULL for an address the
 * library does not hold or a page in no run. */
MP_HIDDEN void *mp_pages_owner(const void *addr);

/* A run with a guard page after its npages (checking mode): the page
 * level records the guard, so mp_pages_free(run, npages) takes it back. */
MP_HIDDEN void *mp_pages_alloc_guarded(size_t npages, bool *is_zero);

/* ------------------------------------------------------------------------
 * guard.c: guard pages, in checking mode.
 * ------------------------------------------------------------------------ */

/* Checking mode for everything created from now on: MPOOL_DEBUG=1 or
 * mpool_set_debug(1).  Caches then get MPOOL_CACHE_DEBUG, pools' large
 * blocks and program page runs a guard page, segments a guard last page. */
extern MP_HIDDEN int mp_debug_all;
/* Live guard pages that only a check can watch (no protection). */
extern MP_HIDDEN _Atomic size_t mp_guards_poisoned;

/* Make the page at addr a guard: inaccessible where the backend can
 * protect memory, otherwise filled with a pattern that mp_guard_disarm
 * verifies. */
MP_HIDDEN void mp_guard_arm(void *page);
/* Make it ordinary memory again; false if its pattern was written, which
 * the caller reports with mp_guard_report once it holds no lock. */
MP_HIDDEN bool mp_guard_disarm(void *page);
/* Report a write into the guard after block, and stop. */
MP_HIDDEN MP_NORETURN void mp_guard_report(const char *caller,
                                           const void *block);
/* Check every guard page that has a pattern (mpool_reclaim). */
MP_HIDDEN void mp_guard_check_all(void);


/* ------------------------------------------------------------------------
 * check.c: invariants, for tests and debugging builds.
 * ------------------------------------------------------------------------ */

typedef struct mp_arena_census {
    size_t segments;        /* BUDDY segments */
    size_t huge_spans;
    size_t retained_spans;  /* huge spans kept for reuse (decay.c) */
    size_t free_blocks[MP_ORDERS];
    size_t free_pages;
    size_t free_committed;
    size_t run_pages;
} mp_arena_census_t;

/* Walk every arena, check the invariants above (panicking on a breach) and
 * add up what is there. */
MP_HIDDEN void mp_census(mp_arena_census_t *out);

#endif /* MP_PAGE_PAGE_H */
