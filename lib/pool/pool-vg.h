/* SPDX-License-Identifier: MIT */
/*
 * pool-vg.h - what pools tell valgrind's memcheck about their blocks
 * (the requests themselves are vg.h's).  A pool's block is a heap block to
 * memcheck of the size the program asked for; the rest of its class
 * object, of its large run or of its region block is inaccessible, so a
 * read or write past the size asked for is reported.
 *
 * Each function is empty outside memcheck but for one test of
 * mp_vg_active, and none is called on the class pool's fast paths: under
 * memcheck pools fill no direct table (pool.c), so every call reaches the
 * slow paths that call these.
 */
#ifndef MP_POOL_VG_H
#define MP_POOL_VG_H

#include "cache/cache.h"
#include "pool/region.h"
#include "base/vg.h"

/* Under memcheck (and in checking mode) realloc always moves the block:
 * memcheck then sees the old block freed and a new one of the new size,
 * the checks see a new red zone. */
static inline bool
mp_pool_vg_realloc_moves(void)
{
    return mp_vg_active || mp_debug_all;
}

/* A class block of `size` bytes in an object of c->size. */
static inline void
mp_pool_vg_class_block(const struct mpool_cache *c, void *obj, size_t size)
{
    if (obj != NULL && (c->flags & MP_CACHE_VG)) {
        size_t keep = size > 0 ? size : 1; /* so destroy can see it */
        mp_vg_block_resize(obj, c->size, keep);
        mp_vg_noaccess((char *)obj + keep, c->size - keep);
    }
}

/* A large block of `size` bytes at block, in a run of `bytes`. */
static inline void
mp_pool_vg_large_block(void *run, size_t bytes, void *block, size_t size)
{
    if (mp_vg_active) {
        mp_vg_noaccess(run, bytes);
        mp_vg_block_alloc(block, size);
    }
}

/* Checking mode: the red zone after a large block, about to be read
 * (memcheck closed it with the rest of the run). */
static inline void
mp_pool_vg_large_redzone(const void *end, size_t n)
{
    mp_vg_defined(end, n);
}

/* A large block freed, and its run plain pages again. */
static inline void
mp_pool_vg_large_gone(void *run, size_t bytes, void *block)
{
    if (mp_vg_active) {
        mp_vg_block_free(block);
        mp_vg_undefined(run, bytes);
    }
}

/* A region block of `size` bytes, the rest of it inaccessible. */
static inline void *
mp_pool_vg_region_block(struct mp_region *r, void *block, size_t size)
{
    if (block != NULL && mp_vg_active) {
        mp_vg_block_alloc(block, size);
        mp_vg_noaccess((char *)block + size,
                       mp_region_usable_size(r, block) - size);
    }
    return block;
}

/* A region block freed. */
static inline void
mp_pool_vg_region_free(const void *block)
{
    mp_vg_block_free(block);
}

/* A region pool destroyed: its blocks freed, its memory the caller's
 * plain memory again. */
static inline void
mp_pool_vg_region_gone(struct mp_region *r)
{
    if (mp_vg_active) {
        mp_region_forget(r);
        mp_vg_undefined(r->base, r->size);
    }
}

#endif /* MP_POOL_VG_H */
