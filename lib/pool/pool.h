/* SPDX-License-Identifier: MIT */
/*
 * pool/pool.h - the pool layer: the struct every pool starts with, the
 * table of operations of a pool that is not a class pool, what the pieces
 * of lib/pool/ call in each other, and what the top layer (init.c,
 * reclaim.c, the hosted files) asks of pools.  Pools sit on the object
 * caches (cache/cache.h), which know a pool only as an opaque owner with
 * hooks.
 *
 * A pool is one of two kinds, fixed at mpool_create:
 *
 *   class pool   size-class caches and large runs (pool.c, large.c); its
 *                ops are NULL and pool.c serves it directly, so its fast
 *                paths carry no indirect call
 *   region pool  TLSF over memory the caller gave (region-pool.c,
 *                region.c); every entry point reaches it through its ops
 *
 * Both begin with struct mpool, whose direct table of sizes (fast[]) comes
 * first: mpool_alloc's fast path reads it for any pool, and a region
 * pool's stays zero (the null slot, whose pop fails), so its calls always
 * reach the slow path and the ops.
 */
#ifndef MP_POOL_POOL_H
#define MP_POOL_POOL_H

#include "cache/cache.h"
#include "pool/sizeclass.h"

#define MP_POOL_MAGIC ((uintptr_t)0x6d70706f6f6c2121ull)
/* Any power of two.  A block aligned past half a segment (2 MiB with
 * mmap, 128 KiB on k210) starts past its span's first segment, where the
 * span map leads its address to the span's header (page/segment.c); an
 * alignment no run can hold fails with ENOMEM in large.c. */
#define MP_POOL_ALIGN_MAX ((SIZE_MAX >> 1) + 1)

/* mpool_alloc's direct table: sizes up to 1 KiB by the size itself, then
 * up to 16 KiB by 128-byte steps, each entry naming the fixed thread slot
 * of the class that serves its sizes once the class exists, so
 * mpool_alloc pops from the calling thread's stack with no look at the
 * class cache, and with one load for the entry (an index by 8-byte steps
 * costs two instructions more: (size + 7) >> 3).  Class boundaries fall
 * on those steps (sizeclass.h), so one entry never straddles two
 * classes. */
#define POOL_FAST_SMALL_MAX 1024
#define POOL_FAST_MAX 16384
#define POOL_FAST_SLOTS (POOL_FAST_SMALL_MAX + 1 + \
                         (POOL_FAST_MAX - POOL_FAST_SMALL_MAX) / 128)

/* The entry of the direct table for a size up to POOL_FAST_MAX. */
static inline size_t
mp_pool_fast_slot(size_t size)
{
    if (size <= POOL_FAST_SMALL_MAX)
        return size;
    return POOL_FAST_SMALL_MAX + ((size - POOL_FAST_SMALL_MAX + 127) >> 7);
}

/* A block too large for the classes, or too aligned: a page run of its own,
 * whose pages record (header | 1) as their owner. */
typedef struct mp_large {
    struct mpool *pool;
    uintptr_t run_h;       /* first page, mp_hide()n */
    size_t npages;         /* of the run */
    uintptr_t block_h;     /* what the program got: run, or aligned in it;
                              mp_hide()n */
    size_t size;           /* checking mode: the size asked for, the rest
                              of the run to its guard page filled; else 0 */
    struct mp_large *next; /* the pool's list */
    struct mp_large *prev;
} mp_large_t;

struct mp_pool_ops;

struct mpool {
    _Atomic int16_t fast[POOL_FAST_SLOTS]; /* first: no offset on the
                                             fast path.  The fixed slot's
                                             word (cache.h,
                                             mp_tslot_fast_word) of the
                                             class that serves the sizes;
                                             0, the null slot, while there
                                             is none, or it has no fixed
                                             slot (pool.c,
                                             mp_pool_fast_set) */
    uintptr_t magic;
    const struct mp_pool_ops *ops; /* NULL: a class pool */
    struct mpool_cache *_Atomic classes[MP_CLASSES];
    mp_mutex_t lock;          /* classes[] creation, large list */
    mp_large_t *large;
    size_t limit;            /* bytes; 0: none */
    _Atomic size_t taken;    /* bytes of pages held */
    _Atomic size_t taken_peak; /* the most taken has been (stats.c) */
    size_t retain;           /* bytes of empty slabs kept; 0: no cap */
    unsigned flags;          /* MPOOL_SINGLE_THREADED */
    _Atomic size_t empty;    /* bytes in empty slabs now */
    _Atomic size_t empty_single; /* empty slabs of one block (pool.c,
                                    pool_empty_slab) */
    bool is_default;
    bool dying;              /* under pools_lock: being destroyed, so no
                                child may be linked to it (family.c) */
    bool resetting;          /* under pools_lock: mpool_reset is emptying
                                it, and reclaim passes it by (reset.c) */
    struct mpool *next;      /* every pool, for reclaim */
    struct mpool *prev;
    /* The family (family.c), under pools_lock: */
    struct mpool *parent;    /* NULL: none */
    struct mpool *child;     /* the newest child; its siblings follow */
    struct mpool *sibling_next;
    struct mpool *sibling_prev;
    struct mpool *doomed;    /* the next pool of a tree being destroyed */
    _Atomic size_t nchildren; /* live children (mpool_stats) */
    char name[MPOOL_CACHE_NAME_MAX + 1];
};

/* The size of mpool_options_t in 0.1, the smallest mpool_create takes, and
 * whether the caller's options reach a field added since. */
#define MP_OPTIONS_SIZE_0_1 offsetof(mpool_options_t, parent)
#define MP_OPTIONS_HAVE(opt, field)                                        \
    ((opt)->size >= offsetof(mpool_options_t, field) + sizeof((opt)->field))

/* The operations of a pool that is not a class pool.  Each is called with
 * a live pool of the kind (its magic checked) and no library lock held. */
struct mp_pool_ops {
    size_t size; /* bytes of the kind's struct, struct mpool first */
    /* Set up what follows struct mpool from the caller's options; 0, or
     * an error number (mpool_create fails with it). */
    int (*init)(struct mpool *p, const mpool_options_t *opt);
    /* Forget every block: the pool is going away (mpool_destroy, which
     * then gives back the struct itself). */
    void (*destroy)(struct mpool *p);
    /* A block of size bytes aligned to align (16 or more); NULL with
     * errno ENOMEM. */
    void *(*alloc)(struct mpool *p, size_t size, size_t align);
    /* Free a block, reporting a pointer that is not one. */
    void (*free)(struct mpool *p, void *ptr);
    /* mpool_realloc of a block of the pool (ptr not NULL). */
    void *(*realloc)(struct mpool *p, void *ptr, size_t size);
    /* The bytes the program may use; 0 when ptr is not a live block. */
    size_t (*usable_size)(struct mpool *p, const void *ptr);
    /* Whether ptr lies in the pool's memory (mpool_usable_size and free()
     * of a pointer without its pool look for the pool this way). */
    bool (*contains)(const struct mpool *p, const void *ptr);
    /* fork (fork.c): the kind's own locks, at the REGION class's turn. */
    void (*fork)(struct mpool *p, enum mp_fork_phase phase);
    /* Forget every block, and stay usable (mpool_reset). */
    void (*reset)(struct mpool *p);
};

/* region-pool.c: pools over the caller's memory. */
extern MP_HIDDEN const struct mp_pool_ops mp_region_pool_ops;

/* The pool's own lock, skipped for a single-threaded pool. */
#define pool_lock(p)                                                       \
    do {                                                                   \
        if (!((p)->flags & MPOOL_SINGLE_THREADED))                         \
            mp_mutex_lock(&(p)->lock);                                     \
    } while (0)
#define pool_unlock(p)                                                     \
    do {                                                                   \
        if (!((p)->flags & MPOOL_SINGLE_THREADED))                         \
            mp_mutex_unlock(&(p)->lock);                                   \
    } while (0)

/* pool.c: count `bytes` more (or fewer, when negative) against the pool's
 * limit; false when it would pass the limit. */
MP_HIDDEN bool mp_pool_charge(struct mpool *pool, ptrdiff_t bytes);

/* The peak of p->taken, raised as pages are charged (slow paths only). */
static inline void
mp_pool_peak_raise(struct mpool *p, size_t now)
{
    size_t peak = atomic_load_explicit(&p->taken_peak, memory_order_relaxed);

    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&p->taken_peak, &peak, now,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

/* pool.c: realloc by moving: a block of size bytes from alloc_from, the
 * first min(copy, size) bytes of ptr copied into it, ptr freed to
 * free_to.  NULL, ptr untouched, when there is no memory. */
MP_HIDDEN void *mp_pool_move(mpool_t *alloc_from, mpool_t *free_to,
                             void *ptr, size_t copy, size_t size);

/* pool.c: the list of pools and its lock (family.c, reset.c, walk.c). */
MP_HIDDEN void mp_pools_lock(void);
MP_HIDDEN void mp_pools_unlock(void);
/* Take p off the list of pools; pools_lock held. */
MP_HIDDEN void mp_pool_unlist_locked(struct mpool *p);
/* Put p on it, after the struct is set up; pools_lock held. */
MP_HIDDEN void mp_pool_list_locked(struct mpool *p);
/* Give back every block of an unlisted pool and the pool itself: the end
 * of mpool_destroy.  The caller has flushed other threads' magazines
 * (mp_tcache_drain_others) since p was unlisted. */
MP_HIDDEN void mp_pool_release(struct mpool *p);
/* Set the direct table's entries of class `index` from its cache, as it
 * is now (pool.c): when the class is made, and after mpool_reset, which
 * may give it another thread slot. */
MP_HIDDEN void mp_pool_fast_set(struct mpool *p, unsigned index);
/* Whether ptr is a live pool, in O(1) and without reading memory that
 * may not be there: the default pool, or the first page of a run of the
 * page level that no slab or large block owns, holding the pool's magic. */
MP_HIDDEN bool mp_pool_valid(const void *ptr);
extern MP_HIDDEN struct mpool mp_default_pool;

/* family.c: child pools.  Link p under parent (NULL: none) and list it,
 * under pools_lock: 0, or EINVAL when parent is not a live pool or is
 * being destroyed. */
MP_HIDDEN int mp_family_link(struct mpool *p, struct mpool *parent);
/* Unlist p's descendants (and p itself, with self), newest child first,
 * each after its own children, and chain them through ->doomed in that
 * order, pools_lock held; returns the chain.  Each is marked dying. */
MP_HIDDEN struct mpool *mp_family_doom_locked(struct mpool *p, bool self);
/* Release a chain from mp_family_doom_locked, in its order, after one
 * drain of other threads' magazines for them all; no lock held. */
MP_HIDDEN void mp_family_release(struct mpool *chain);
/* Live children of p, for mpool_stats_t.children: a relaxed read, never
 * torn (no lock taken, so a caller may hold pools_lock). */
MP_HIDDEN size_t mp_pool_children(const struct mpool *p);

/* ------------------------------------------------------------------------
 * What the layers above ask of pools
 * ------------------------------------------------------------------------ */

extern MP_HIDDEN struct mpool_cache mp_large_cache;
MP_HIDDEN void mp_pool_bootstrap(void);
/* The default pool's retain (bytes of empty slabs kept; 0: no cap), now
 * or, before initialisation, from its start (MPOOL_OPTIONS's "retain"). */
MP_HIDDEN void mp_pool_set_default_retain(size_t bytes);
/* Whether p's retain cap bounds the large runs it frees as well as its
 * empty slabs: a cap of the pool's options, or the default pool's when a
 * program set it.  The default pool's own cap (MP_DEFAULT_RETAIN) leaves
 * its freed runs to the page level's decay and its process-wide caps. */
MP_HIDDEN bool mp_pool_retain_bounds_large(const struct mpool *p);
/* The default pool's retain when nothing sets one: one segment's worth of
 * empty slabs (4 MiB with mmap and sbrk, 256 KiB on k210).  Without a cap,
 * a program whose block sizes move from class to class over its run keeps
 * every class's high-water mark: `git repack -adf` peaked 30 % above
 * glibc's resident memory, 42 MiB of it in empty slabs (one 1.25-7 MiB
 * slab left at each step of an array grown by realloc, 10-17 in each
 * class of 72-208 KiB its delta search had moved through); with this cap,
 * 8 %, and 6 % with at most two empty slabs of one block kept (pool.c,
 * POOL_SINGLE_KEPT; doc/bench-suite.md, bench/git-repack.sh). */
#define MP_DEFAULT_RETAIN MP_SEGMENT_SIZE
/* Give back what every pool's classes can (reclaim). */
MP_HIDDEN size_t mp_pools_shrink(void);
/* The region of a pool over caller memory, or NULL (tests). */
MP_HIDDEN struct mp_region *mp_pool_region(struct mpool *pool);
/* Give back what one pool's classes can. */
MP_HIDDEN size_t mp_pool_shrink(struct mpool *pool);
/* stats.c: the statistics of a live pool (every field of this version);
 * pools_lock held, so that the pools' reclaim keeps away. */
MP_HIDDEN void mp_pool_stats_fill(struct mpool *pool, mpool_stats_t *stats);
/* fn on every pool, under pools_lock (stats.c, the report); a walk that
 * must keep the pools' reclaim away meanwhile takes the lock itself
 * (mp_pools_lock) */
MP_HIDDEN void mp_pools_visit(void (*fn)(struct mpool *, void *), void *arg);
/* fn on every class cache of every pool, under pools_lock (the report) */
MP_HIDDEN void mp_pools_visit_classes(void (*fn)(struct mpool_cache *, void *),
                                      void *arg);
/* fork: the pool layer's locks of class cls (POOLS, POOL, REGION), and
 * its class caches' (CACHE, DEPOT) */
MP_HIDDEN void mp_pools_fork(enum mp_lock_class cls, enum mp_fork_phase phase);

#endif /* MP_POOL_POOL_H */
