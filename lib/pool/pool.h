/* SPDX-License-Identifier: MIT */
/*
 * pool/pool.h - the pool layer's cross-file interface: large blocks, the
 * pools' internal cache, and what the top layer (init.c, reclaim.c, the
 * hosted files) asks of pools.  Pools sit on the object caches
 * (cache/cache.h), which know a pool only as an opaque owner with hooks.
 */
#ifndef MP_POOL_POOL_H
#define MP_POOL_POOL_H

#include "cache/cache.h"

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

extern MP_HIDDEN struct mpool_cache mp_large_cache;
MP_HIDDEN void mp_pool_bootstrap(void);
/* Give back what every pool's classes can (reclaim). */
MP_HIDDEN size_t mp_pools_shrink(void);
/* Whether pool is a live pool (read without trusting it). */
MP_HIDDEN bool mp_pool_is_live(const struct mpool *pool);
/* The region of a pool over caller memory, or NULL (tests). */
MP_HIDDEN struct mp_region *mp_pool_region(struct mpool *pool);
/* Give back what one pool's classes can. */
MP_HIDDEN size_t mp_pool_shrink(struct mpool *pool);
/* fn on every class cache of every pool, under pools_lock (the report) */
MP_HIDDEN void mp_pools_visit_classes(void (*fn)(struct mpool_cache *, void *),
                                      void *arg);
/* fork: the pool layer's locks of class cls (POOLS, POOL, REGION), and
 * its class caches' (CACHE, DEPOT) */
MP_HIDDEN void mp_pools_fork(enum mp_lock_class cls, enum mp_fork_phase phase);

#endif /* MP_POOL_POOL_H */
