/* SPDX-License-Identifier: MIT */
/*
 * region.h - pools over a caller's memory (region.c): the state of one
 * region and its operations.  The layout is the comment in region.c.
 */
#ifndef MP_REGION_H
#define MP_REGION_H

#include "page/page.h"

#define MP_REGION_SL 16 /* second-level lists per first level */
#define MP_REGION_FL (sizeof(size_t) * 8 - 8 + 1)

struct mp_rblock;

struct mp_region {
    mp_mutex_t lock;
    char *base;        /* as the caller gave it */
    size_t size;
    size_t used;       /* bytes of allocated blocks, headers left out */
    uint64_t fl_bitmap;
    unsigned sl_bitmap[MP_REGION_FL];
    struct mp_rblock *lists[MP_REGION_FL][MP_REGION_SL];
};

/* 0, or EINVAL when the region cannot hold one block. */
MP_HIDDEN int mp_region_init(struct mp_region *r, void *base, size_t size);
MP_HIDDEN bool mp_region_contains(const struct mp_region *r, const void *p);
/* NULL with errno ENOMEM when no free block is large enough. */
MP_HIDDEN void *mp_region_alloc(struct mp_region *r, size_t size,
                                size_t align);
/* EINVAL when p is not a live block of the region. */
MP_HIDDEN int mp_region_free(struct mp_region *r, void *p);
MP_HIDDEN void *mp_region_realloc(struct mp_region *r, void *p, size_t size);
/* 0 when p is not a live block. */
MP_HIDDEN size_t mp_region_usable_size(struct mp_region *r, const void *p);
/* Under valgrind: tell memcheck every live block is freed (destroy). */
MP_HIDDEN void mp_region_forget(struct mp_region *r);
/* For tests: free blocks, the largest, bytes in use. */
MP_HIDDEN void mp_region_census(struct mp_region *r, size_t *free_blocks,
                                size_t *largest_free, size_t *used);

/* Live blocks, their bytes (headers left out, as usable_size counts
 * them) and the bytes of free blocks; one pass over the blocks. */
MP_HIDDEN void mp_region_stats(struct mp_region *r, size_t *blocks,
                               size_t *used, size_t *free_bytes);
/* The first live block after `after` (NULL: from the start) and its
 * usable size; NULL past the last.  after must be a live block, which
 * stays so (the walk's caller allocates and frees nothing meanwhile). */
MP_HIDDEN void *mp_region_next_live(struct mp_region *r, void *after,
                                    size_t *usable);

#endif /* MP_REGION_H */
