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
 *   free     25: the segment-map bit (6: the slot, its bound, one bt on
 *            the map, page.h), the page's fast word (5: the slot's
 *            distance from the null slot, set on every page of a pool's
 *            slab whose class has a fixed slot, 0 elsewhere, so no test
 *            of the pool or the class), the cell (1), the mark (1), the
 *            table and the slot (2), the limit and double-free tests
 *            (5), the push (3), the mark cleared, return.
 *   usable   23: the same map bit and page entry, a test that the page is
 *            a pool's slab (group set, not a free block's head), that no
 *            region pool lives (2), the checking-mode flag, the size.
 *
 * A pair is then 41 of the library's instructions (bench/cache-bench
 * malloc: 51 with its loop of 10), against 50 with a map test of two
 * loads and the class found through the page's pool and class cache, 62
 * before the fixed slots; 42 through mpool_alloc and mpool_free on a
 * named pool, whose classes take shared fixed slots (cache.h; mpool_alloc
 * 17, pool.c, mpool_free this free).  The batch pair (cache-bench mbatch,
 * 1000 live blocks) is 73 with the loop at 16, 64 and 256 bytes, 74
 * through a named pool (cache-bench batch), mimalloc's 74.5, 74.9 and
 * 84.8.  Of a pair, the map test that makes free safe for any
 * pointer (6), the drain's mark (4) and the double-free test (2) are what
 * mimalloc's does not pay.  Change these numbers with the code.
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
/* free's fast path past a push that found no room, for an address in a
 * page of the library's (pool.c). */
MP_HIDDEN void mp_pool_default_free_cold(void *ptr);
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

/* Where free's fast path leaves a block it could not push. */
enum mp_pool_free_way {
    MP_POOL_FREED,      /* on the calling thread's slot: done */
    MP_POOL_FREE_COLD,  /* a page of the library's: the way of any cache,
                           or the slow path (the caller's cold half) */
    MP_POOL_FREE_SLOW,  /* no page of the library's: the slow path */
};

/* free's and mpool_free's fast path: the slot the block's page word
 * names.  Only a slab of a pool's class with a fixed slot names one
 * (cache.h); every other page (an object cache's slab, a large block, a
 * free page, a class with an ordinary slot, checking mode's and
 * valgrind's classes, a region pool's memory) names the null slot, and so
 * does a first use, a full stack or a block freed twice in a row find no
 * room: then the caller's cold half sorts it out.  Inlined into each
 * caller, where the returned way folds into its branches. */
static inline enum mp_pool_free_way
mp_pool_free_fast(void *ptr)
{
    int16_t word;

    if (MP_LIKELY(mp_buddy_word_fast(ptr, &word))) {
        if (MP_LIKELY(mp_tslot_push_fixed(word, ptr)))
            return MP_POOL_FREED;
        /* the cold half finds the entry again: keeping its address for
         * it would cost this path an instruction */
        return MP_POOL_FREE_COLD;
    }
    return MP_POOL_FREE_SLOW;
}

static inline void
mp_pool_default_free(void *ptr)
{
    enum mp_pool_free_way way = mp_pool_free_fast(ptr);

    if (MP_LIKELY(way == MP_POOL_FREED))
        return;
    if (way == MP_POOL_FREE_COLD)
        mp_pool_default_free_cold(ptr);
    else
        mp_pool_default_free_slow(ptr);
}

/* The class cache of a page of a class pool's slab, from its entry, which
 * names the pool (group) and the class cache in every page of the slab;
 * NULL for any other page (large blocks, free pages), for a class in
 * checking mode (its blocks have their own sizes), and for every page
 * while a region pool lives (its blocks may lie in a class block).  page
 * is in a register already (the callers' asm): gcc would otherwise work
 * its address out again for the second field it reads. */
static inline struct mpool_cache *
mp_pool_page_class(const mp_page_t *page)
{
    struct mpool_cache *c;

    /* group shares its word with a free block's list link: the state
     * tells them apart (a freed block's page is then no slab's) */
    if (MP_LIKELY(page->group != NULL &&
                  atomic_load_explicit(&mp_region_pools,
                                       memory_order_relaxed) == 0 &&
                  page->state != MP_PAGE_FREE &&
                  ((c = page->sub_owner)->flags & MPOOL_CACHE_DEBUG) == 0))
        return c;
    return NULL;
}

/* The usable size of a class pool's slab block: its class's size, read
 * through the page entry.  A checking-mode class answers with the size
 * asked for, and anything else (large blocks, region pools, strangers)
 * goes to the slow path. */
static inline size_t
mp_pool_usable_inline(const void *ptr)
{
    mp_page_t *page = mp_buddy_page_fast(ptr);
    const struct mpool_cache *c;

    if (MP_LIKELY(page != NULL)) {
        /* the entry's address once, in a register; after the test, which
         * gcc would otherwise make again */
        __asm__("" : "+r"(page));
        if (MP_LIKELY((c = mp_pool_page_class(page)) != NULL))
            return c->size;
    }
    return mp_pool_usable_slow(ptr);
}

#endif /* MP_POOL_POOL_FAST_H */
