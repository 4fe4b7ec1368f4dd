/* SPDX-License-Identifier: MIT */
/*
 * region-pool.c - the region pool: a pool over memory the caller supplies
 * (mpool_options_t.region), its blocks a TLSF allocator's (region.c).
 * This file is the pool's side: the struct, which is struct mpool followed
 * by the region's state, and the operations (pool.h) that mpool_alloc,
 * mpool_free and the other entry points reach it through.
 *
 * A region block is found only by the region that holds it, never through
 * the page map: mpool_free and mpool_realloc ask the pool named, and
 * mpool_usable_size asks each region pool whether it holds the address
 * (pool.c).  Nothing is charged to the pool's limit: the memory is the
 * caller's, and destroy gives nothing back.
 *
 * Locks: the region's own (region.c), a leaf; the pool's lock is not
 * taken.
 */
#include "pool/pool.h"
#include "pool/pool-vg.h"
#include "pool/region.h"

struct mp_region_pool {
    struct mpool pool; /* first: the pool is the address of this */
    struct mp_region region;
};

static struct mp_region *
region_of(const struct mpool *p)
{
    return &((struct mp_region_pool *)(uintptr_t)p)->region;
}

static int
region_pool_init(struct mpool *p, const mpool_options_t *opt)
{
    int err = mp_region_init(region_of(p), opt->region, opt->region_size);

    if (err != 0)
        return err;
    /* the memory may be another pool's class block: its pages' words
     * would send the region's blocks to that class (pool.c, mpool_free) */
    mp_pages_forget_fast_words(opt->region, opt->region_size);
    return 0;
}

static void
region_pool_destroy(struct mpool *p)
{
    /* the memory is the caller's: nothing to give back */
    mp_pool_vg_region_gone(region_of(p));
}

static void
region_pool_reset(struct mpool *p)
{
    /* checking mode and memcheck look at every old block; plain mode
     * lays the region out again in O(1) */
    mp_region_reset(region_of(p), mp_debug_all || mp_vg_active);
}

static void *
region_pool_alloc(struct mpool *p, size_t size, size_t align)
{
    struct mp_region *r = region_of(p);

    return mp_pool_vg_region_block(r, mp_region_alloc(r, size, align), size);
}

static void
region_pool_free(struct mpool *p, void *ptr)
{
    struct mp_region *r = region_of(p);

    mp_pool_vg_region_free(ptr);
    if (mp_region_free(r, ptr) != 0)
        mp_cache_panic("mpool_free",
                       mp_region_contains(r, ptr)
                           ? "pointer is not a live block of the region"
                           : "pointer not from this pool",
                       ptr, p->name, NULL);
}

static void *
region_pool_realloc(struct mpool *p, void *ptr, size_t size)
{
    struct mp_region *r = region_of(p);
    size_t old;
    void *moved;

    if (mp_pool_vg_realloc_moves()) {
        old = mp_region_usable_size(r, ptr);
        if (old == 0)
            mp_cache_panic("mpool_realloc", "pointer not from this pool", ptr,
                           p->name, NULL);
        /* the bytes the program asked for, of what is addressable */
        return mp_pool_move(p, p, ptr, mp_vg_addressable(ptr, old), size);
    }
    moved = mp_region_realloc(r, ptr, size);
    if (moved == NULL && mp_region_usable_size(r, ptr) == 0)
        mp_cache_panic("mpool_realloc", "pointer not from this pool", ptr,
                       p->name, NULL);
    return moved;
}

static size_t
region_pool_usable_size(struct mpool *p, const void *ptr)
{
    return mp_region_usable_size(region_of(p), ptr);
}

static bool
region_pool_contains(const struct mpool *p, const void *ptr)
{
    return mp_region_contains(region_of(p), ptr);
}

/* The region's lock, a leaf: its holder waits for nothing, so taking it
 * early cannot deadlock. */
static void
region_pool_fork(struct mpool *p, enum mp_fork_phase phase)
{
    mp_mutex_fork(&region_of(p)->lock, phase);
}

const struct mp_pool_ops mp_region_pool_ops = {
    .size = sizeof(struct mp_region_pool),
    .init = region_pool_init,
    .destroy = region_pool_destroy,
    .alloc = region_pool_alloc,
    .free = region_pool_free,
    .realloc = region_pool_realloc,
    .usable_size = region_pool_usable_size,
    .contains = region_pool_contains,
    .fork = region_pool_fork,
    .reset = region_pool_reset,
};

struct mp_region *
mp_pool_region(struct mpool *p)
{
    return p->ops == &mp_region_pool_ops ? region_of(p) : NULL;
}
