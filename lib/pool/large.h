/* SPDX-License-Identifier: MIT */
/*
 * large.h - a class pool's large blocks (large.c): blocks too large for
 * the size classes, or aligned past 64 bytes, each a page run of its own
 * whose pages name its header (mp_large_t, cache.h) tagged with bit 0.
 */
#ifndef MP_LARGE_H
#define MP_LARGE_H

#include "pool/pool.h"

/* Blocks larger are large (a page run, with mmap a huge span, of their
 * own), though the classes go on to 8 MiB (sizeclass.h). */
#define MP_LARGE_ABOVE ((size_t)2 << 20)

/* A block of size bytes aligned to align (a page or more) in a run of its
 * own, charged to p; NULL with errno ENOMEM.  *dirty (when not NULL): how
 * many of the block's first bytes may not read zero (the rest are fresh
 * from the backend, or purged); 0 when all read zero. */
MP_HIDDEN void *mp_large_alloc(struct mpool *p, size_t size, size_t align,
                               size_t *dirty);
/* Free it: off its pool's list, the run given back, the charge credited;
 * in checking mode its red zone checked and its address remembered. */
MP_HIDDEN void mp_large_free(mp_large_t *l);
/* The bytes the program may use. */
MP_HIDDEN size_t mp_large_usable(const mp_large_t *l);
/* mpool_realloc of a large block: in place down to half its size, or
 * grown in place (a huge run: into its span's tail, or by the
 * backend's remap); otherwise moved to a new block of pool (of the block's
 * own pool when pool is NULL), with headroom when it grows, the block
 * freed to pool. */
MP_HIDDEN void *mp_large_realloc(mp_large_t *l, mpool_t *pool, size_t size);
/* What mpool_realloc asks for when it moves a block of old usable bytes
 * to grow it to size: twice the old from 64 KiB on (a buffer grown step by
 * step then moves a logarithmic number of times), else size. */
static inline size_t
mp_large_headroom(size_t old, size_t size)
{
    if (size > old && old >= ((size_t)64 << 10) && old <= (SIZE_MAX >> 3) &&
        2 * old > size)
        return 2 * old;
    return size;
}
/* mp_pool_move with that headroom, or without it when that fails. */
MP_HIDDEN void *mp_pool_move_grow(mpool_t *alloc_from, mpool_t *free_to,
                                  void *ptr, size_t old, size_t size);
/* Every large block of p, given back without a check (mpool_destroy). */
MP_HIDDEN void mp_large_release_all(struct mpool *p);
/* What holds ptr, found from its address: a large block (returned) or a
 * slab (*slab set, NULL returned).  A pointer that is neither, or not the
 * start of a large block, is reported as caller's error (naming pool if
 * not NULL) and the program stopped. */
MP_HIDDEN mp_large_t *mp_large_lookup(const void *ptr, mp_slab_t **slab,
                                      const char *caller,
                                      const struct mpool *pool);

#endif /* MP_LARGE_H */
