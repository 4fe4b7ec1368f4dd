/* SPDX-License-Identifier: MIT */
/*
 * pool/pool-fast.h - the default pool's fast paths, inlined into
 * libmpool-malloc's malloc, free and malloc_usable_size (hosted/malloc.c)
 * and into mpool_usable_size (pool.c).
 *
 * mpool_alloc(pool, size) must first test the pool it is given and find
 * its table; malloc knows its pool, and the default pool's classes of 4
 * KiB and less have fixed thread slots (cache.h, MP_TSLOT_FIXED): slot i
 * for class i, in every thread table, the empty and the stopped one too.
 * So malloc goes from a size up to 1 KiB to the slot's offset by one load
 * from a constant table, and neither malloc nor free tests the table's
 * bound.
 * Everything else (a first use, a large block, a stranger, an empty or
 * full stack, checking mode and valgrind, whose classes have no slot)
 * goes through the ordinary entry points, which check everything.
 *
 * Instruction budget (x86-64, gcc 12 -O2, counted on the disassembly and
 * by callgrind; the PLT jump of the program's call is one more):
 *
 *   malloc   16 with the return: the size bound (2), the cell's TLS offset
 *            (1), the table's address and the slot offset (2), the mark
 *            (1), the table (1), the slot (1), the pop (top, base,
 *            compare, decrement, store, load: 6), the mark cleared,
 *            return.
 *   free     34: the segment-map bit (10: bound, word, bit), the page
 *            entry (5) and its pool (3), the class cache and its fixed
 *            offset (2), the cell (1), the mark (1), the table (1), the
 *            slot (1), the limit and double-free tests (5), the push (3),
 *            the mark cleared, return.
 *   usable   30: the same map bit and page entry, a test that the page is
 *            a pool's slab (group set, not a free block's head), that no
 *            region pool lives (2), the checking-mode flag, the size.
 *
 * A pair is then 50 of the library's instructions (bench/cache-bench
 * malloc: 60 with its loop of 10), against 62 before the fixed slots and 72
 * through mpool_alloc and mpool_free: issue 16's target of 50.  Of them,
 * the map test that makes free safe for any pointer (10), the drain's
 * mark (4 a pair) and the double-free test (2) are what mimalloc's pair
 * does not pay.  Change these numbers with the code.
 */
#ifndef MP_POOL_POOL_FAST_H
#define MP_POOL_POOL_FAST_H

#include "pool/pool.h"

extern MP_HIDDEN struct mpool mp_default_pool;
/* Live region pools (pool.c): while there is one, a block may lie in a
 * region laid over another pool's block, so usable_size asks them first. */
extern MP_HIDDEN _Atomic unsigned mp_region_pools;

/* The slow halves: mpool_alloc and mpool_free without their fast tests
 * (pool.c). */
MP_HIDDEN void *mp_pool_alloc_slow(struct mpool *pool, size_t size);
MP_HIDDEN void mp_pool_free_slow(struct mpool *pool, void *ptr);
/* The same for the default pool, with nothing but the size or the
 * address to pass: the fast paths then keep no pool in a register. */
MP_HIDDEN void *mp_pool_default_alloc_slow(size_t size);
MP_HIDDEN void mp_pool_default_free_slow(void *ptr);
/* mpool_usable_size past its fast test (pool.c). */
MP_HIDDEN size_t mp_pool_usable_slow(const void *ptr);

/* The default pool's classes of 4 KiB and less use the fixed thread slots
 * of their index (cache.h, MP_TSLOT_FIXED): class i, slot i.  malloc's
 * fast path serves those up to POOL_FAST_SMALL_MAX (1 KiB); free's serves
 * them all. */
#define MP_DEFAULT_FIXED_CLASSES 49
_Static_assert(MP_DEFAULT_FIXED_CLASSES <= MP_TSLOT_NULL,
               "the default pool's small classes fit the fixed slots");

/* The fixed slot's byte offset for each of malloc's sizes up to 1 KiB: 2
 * KiB of constants, indexed by the size itself, where a table by 8-byte
 * steps would cost malloc two more instructions ((size + 7) >> 3).
 * Constant, so it is right before anything is set up; pool.c checks it
 * against mp_size_class in checking builds, and t/tcache-t in every one. */
extern MP_HIDDEN const uint16_t mp_default_slot_offset[POOL_FAST_SMALL_MAX + 1];

static inline void *
mp_pool_default_alloc(size_t size)
{
    void *obj;

    if (MP_LIKELY(size <= POOL_FAST_SMALL_MAX &&
                  mp_tslot_pop_fixed(mp_default_slot_offset[size],
                                     &obj)))
        return obj;
    return mp_pool_default_alloc_slow(size);
}

static inline void
mp_pool_default_free(void *ptr)
{
    mp_page_t *page = mp_buddy_page_fast(ptr);

    /* a slab block of the default pool: its class's fixed slot, or, for
     * classes above 4 KiB (whose fixed_offset names the null slot), a
     * first use, a full stack or a block freed twice in a
     * row, the way of any cache; checking mode and valgrind's classes
     * have no slot at all and free the slow way from there */
    if (MP_LIKELY(page != NULL && page->group == &mp_default_pool)) {
        struct mpool_cache *c = page->sub_owner;
        if (MP_LIKELY(mp_tslot_push_fixed(c->fixed_offset, ptr)))
            return;
        mp_cache_free_inline_ex(c, ptr, false, true);
    } else {
        mp_pool_default_free_slow(ptr);
    }
}

/* The usable size of a class pool's slab block: its class's size, read
 * through the page entry, which names the class cache in every page of a
 * pool's slab (group is the pool).  A checking-mode class answers with the
 * size asked for, and anything else (large blocks, region pools, strangers)
 * goes to the slow path, and so does everything while a region pool lives
 * (its blocks may lie in a class block). */
static inline size_t
mp_pool_usable_inline(const void *ptr)
{
    mp_page_t *page = mp_buddy_page_fast(ptr);
    const struct mpool_cache *c;

    /* the entry's address once, in a register: gcc otherwise works it out
     * again for the second field it reads (2 instructions) */
    __asm__("" : "+r"(page));

    /* group shares its word with a free block's list link: the state
     * tells them apart (a freed block's page is then no slab's) */
    if (MP_LIKELY(page != NULL && page->group != NULL &&
                  atomic_load_explicit(&mp_region_pools,
                                       memory_order_relaxed) == 0 &&
                  page->state != MP_PAGE_FREE &&
                  ((c = page->sub_owner)->flags & MPOOL_CACHE_DEBUG) == 0))
        return c->size;
    return mp_pool_usable_slow(ptr);
}

#endif /* MP_POOL_POOL_FAST_H */
