/* SPDX-License-Identifier: MIT */
/*
 * t/fixed-slots-t.c - the shared fixed thread slots (cache/cache.h): the
 * indices past the null slot that every thread table has, which pools'
 * classes up to 16 KiB but the default pool's small ones claim first, so
 * that a named
 * pool's mpool_alloc and mpool_free need no test of the table's bound
 *
 *   - a named pool's class has one; its direct-table entry and every page
 *     of its slabs name it; a class above 16 KiB, which the direct table
 *     does not serve, has an ordinary one, and so has an object cache,
 *     whose pages name none (mpool_free of its objects must take the slow
 *     way, which reports them);
 *   - a retired one is not reused while a thread that may still hold its
 *     stack has not tidied its table since, and is once every thread has;
 *   - when all are taken, a class goes on with an ordinary slot, its
 *     entry and its pages naming none, and everything still works;
 *   - a region pool laid over a class block clears the words of the
 *     block's pages, so mpool_free gives the region its own blocks back;
 *   - outside checking mode a block freed to the wrong pool goes back to
 *     its own, as mpool_free(3) says.
 *
 * An internal test: it reads the classes' slots and the page entries.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "page/page.h"
#include "pool/pool-fast.h"
#include "pool/sizeclass.h"
#include "gate.h"
#include "tap/tap.h"

static bool
shared_fixed(const struct mpool_cache *c)
{
    return c->tslot > MP_TSLOT_NULL && c->tslot < MP_TSLOT_FIXED;
}

static struct mpool_cache *
class_of(mpool_t *p, size_t size)
{
    return atomic_load(&p->classes[mp_size_class(size)]);
}

static size_t
in_use(const mpool_t *p)
{
    mpool_stats_t st = {.size = sizeof(st)};

    if (mpool_stats(p, &st) != 0)
        bail("mpool_stats");
    return st.blocks_in_use;
}

/* Whether the class has magazines here (none under valgrind, or in
 * checking mode). */
static bool
slotted(const struct mpool_cache *c)
{
    return c != NULL && c->tslot != MP_TSLOT_NONE &&
           !(c->flags & (MP_CACHE_VG | MPOOL_CACHE_DEBUG));
}

/* ------------------------------------------------------------------------
 * A named pool's class, and an object cache
 * ------------------------------------------------------------------------ */

static void
test_named_pool(void)
{
    mpool_t *p = mpool_create(NULL);
    mpool_cache_t *oc = mpool_cache_create("fixed-slots", 48, 0, NULL, NULL,
                                           NULL, 0);
    void *b = p != NULL ? mpool_alloc(p, 100) : NULL;
    void *big = p != NULL ? mpool_alloc(p, 20000) : NULL;
    void *o = oc != NULL ? mpool_cache_alloc(oc) : NULL;
    struct mpool_cache *c, *bc;
    mp_page_t *page;

    if (b == NULL || big == NULL || o == NULL)
        bail("mpool_create, mpool_cache_create");
    c = class_of(p, 100);
    bc = class_of(p, 20000);
    if (!slotted(c) || !slotted(bc)) {
        skip(3, "no magazines here");
    } else {
        page = mp_buddy_page_fast(b);
        ok(shared_fixed(c) && mp_tslot_fast_word(c) != 0,
           "a named pool's class has a shared fixed slot (%u)", c->tslot);
        ok(page != NULL && mp_page_fast_word(page) == mp_tslot_fast_word(c) &&
               p->fast[mp_pool_fast_slot(100)] == mp_tslot_fast_word(c),
           "its direct-table entry and its slab's pages name it");
        page = mp_buddy_page_fast(o);
        ok(bc->tslot >= MP_TSLOT_FIXED && oc->tslot >= MP_TSLOT_FIXED &&
               mp_page_fast_word(mp_buddy_page_fast(big)) == 0 && page != NULL &&
               mp_page_fast_word(page) == 0,
           "a class above 16 KiB (%u) and an object cache (%u) have "
           "ordinary ones, and their pages name none", bc->tslot,
           oc->tslot);
    }
    mpool_free(p, big);
    /* the fast path and the slow one agree on what the pool holds */
    mpool_free(p, b);
    is_int((long long)in_use(p), 0, "the block is back in its pool");
    mpool_cache_free(oc, o);
    mpool_cache_destroy(oc);
    mpool_destroy(p);
}

/* ------------------------------------------------------------------------
 * Retirement: not reused while a thread may hold the slot's stack
 * ------------------------------------------------------------------------ */

static struct gate gate = GATE_INIT;
static mpool_t *first_pool, *second_pool;
static bool late_block_ok;

/* Fills its slot of the first pool's class, then waits, calling nothing
 * of the library's, while the main thread destroys the pool and makes
 * another; then allocates from that one. */
static void *
holder(void *arg)
{
    void *blocks[40];
    mp_page_t *page;

    (void)arg;
    for (size_t i = 0; i < 40; i++)
        if ((blocks[i] = mpool_alloc(first_pool, 64)) == NULL)
            bail("mpool_alloc");
    for (size_t i = 0; i < 40; i++)
        mpool_free(first_pool, blocks[i]);
    gate_open(&gate, 1);
    gate_wait(&gate, 2);
    blocks[0] = mpool_alloc(second_pool, 64);
    page = blocks[0] != NULL ? mp_buddy_page_fast(blocks[0]) : NULL;
    late_block_ok = page != NULL && page->group == second_pool;
    mpool_free(second_pool, blocks[0]);
    return NULL;
}

static void
test_retired(void)
{
    struct mpool_cache *c;
    uint32_t index;
    pthread_t t;
    mpool_t *third;
    void *b;

    first_pool = mpool_create(NULL);
    if (first_pool == NULL)
        bail("mpool_create");
    if (pthread_create(&t, NULL, holder, NULL) != 0)
        bail("pthread_create");
    gate_wait(&gate, 1);
    c = class_of(first_pool, 64);
    if (!slotted(c) || !shared_fixed(c)) {
        gate_open(&gate, 2);
        second_pool = mpool_create(NULL);
        pthread_join(t, NULL);
        mpool_destroy(second_pool);
        mpool_destroy(first_pool);
        skip(4, "no shared fixed slot here");
        return;
    }
    index = c->tslot;
    mpool_destroy(first_pool);
    second_pool = mpool_create(NULL);
    if (second_pool == NULL || (b = mpool_alloc(second_pool, 64)) == NULL)
        bail("mpool_create");
    c = class_of(second_pool, 64);
    ok(c->tslot != index,
       "a retired slot (%u) is not reused while a thread that held it has "
       "not tidied (the new class took %u)", index, c->tslot);
    gate_open(&gate, 2);
    pthread_join(t, NULL);
    ok(late_block_ok, "that thread then allocates the new pool's blocks");
    mpool_free(second_pool, b);
    is_int((long long)in_use(second_pool), 0,
           "and every block of the new pool is back");
    /* every thread has tidied now (the holder exited; this one tidied at
     * its slow path above): the index is free again, the lowest retired */
    third = mpool_create(NULL);
    if (third == NULL || (b = mpool_alloc(third, 64)) == NULL)
        bail("mpool_create");
    c = class_of(third, 64);
    ok(c->tslot == index, "once every thread has tidied it is reused (%u)",
       c->tslot);
    mpool_free(third, b);
    mpool_destroy(third);
    mpool_destroy(second_pool);
}

/* ------------------------------------------------------------------------
 * Every shared fixed slot taken
 * ------------------------------------------------------------------------ */

#define MAX_POOLS 16
#define SIZES_PER_POOL 32

static void
test_exhausted(void)
{
    mpool_t *pools[MAX_POOLS];
    size_t npools = 0;
    struct mpool_cache *ordinary = NULL;
    mpool_t *owner = NULL;
    size_t size = 0;
    void *blocks[64];
    mp_page_t *page;

    for (; npools < MAX_POOLS && ordinary == NULL; npools++) {
        mpool_t *p = pools[npools] = mpool_create(NULL);
        if (p == NULL)
            bail("mpool_create");
        for (size_t k = 1; k <= SIZES_PER_POOL && ordinary == NULL; k++) {
            struct mpool_cache *c;
            void *b = mpool_alloc(p, k * 16);
            if (b == NULL)
                bail("mpool_alloc");
            mpool_free(p, b);
            c = class_of(p, k * 16);
            if (!slotted(c))
                continue;
            if (!shared_fixed(c)) {
                ordinary = c;
                owner = p;
                size = k * 16;
            }
        }
    }
    if (ordinary == NULL) {
        for (size_t i = 0; i < npools; i++)
            mpool_destroy(pools[i]);
        skip(3, "no magazines here, or the shared slots were not used up");
        return;
    }
    ok(ordinary->tslot >= MP_TSLOT_FIXED,
       "when the shared fixed slots are taken a class gets an ordinary one "
       "(%u)", ordinary->tslot);
    for (size_t i = 0; i < 64; i++)
        if ((blocks[i] = mpool_alloc(owner, size)) == NULL)
            bail("mpool_alloc");
    page = mp_buddy_page_fast(blocks[0]);
    ok(page != NULL && mp_page_fast_word(page) == 0 &&
           owner->fast[mp_pool_fast_slot(size)] == 0 &&
           page->sub_owner == ordinary,
       "its entry and its pages name no fixed slot");
    for (size_t i = 0; i < 64; i++)
        mpool_free(owner, blocks[i]);
    is_int((long long)in_use(owner), 0,
           "its blocks go and come back the way of any cache");
    for (size_t i = 0; i < npools; i++)
        mpool_destroy(pools[i]);
}

/* ------------------------------------------------------------------------
 * A region pool over a class block
 * ------------------------------------------------------------------------ */

static void
test_region_over_class(void)
{
    mpool_t *outer = mpool_create(NULL);
    void *mem = outer != NULL ? mpool_alloc(outer, 1000) : NULL;
    void *sibling = outer != NULL ? mpool_alloc(outer, 1000) : NULL;
    struct mpool_cache *c = outer != NULL ? class_of(outer, 1000) : NULL;
    mpool_t *in;
    mp_page_t *page;
    void *b[8];
    bool words_before;

    if (mem == NULL || sibling == NULL)
        bail("mpool_alloc");
    page = mp_buddy_page_fast(mem);
    words_before = page != NULL && mp_page_fast_word(page) == mp_tslot_fast_word(c);
    in = mpool_create(&(mpool_options_t){.size = sizeof(mpool_options_t),
                                         .region = mem,
                                         .region_size = 1000});
    if (in == NULL)
        bail("mpool_create(region)");
    ok(words_before && mp_page_fast_word(page) == 0 &&
           mp_page_fast_word(mp_buddy_page_fast((char *)mem + 999)) == 0,
       "a region over a class block clears its pages' words");
    for (size_t i = 0; i < 8; i++)
        if ((b[i] = mpool_alloc(in, 40)) == NULL)
            bail("mpool_alloc(region)");
    for (size_t i = 0; i < 8; i++)
        mpool_free(in, b[i]);
    is_int((long long)in_use(in), 0,
           "mpool_free gives the region its own blocks back");
    mpool_free(outer, sibling);
    is_int((long long)in_use(outer), 1,
           "and the class block beside it goes back to its pool");
    mpool_destroy(in);
    mpool_free(outer, mem);
    mpool_destroy(outer);
}

/* ------------------------------------------------------------------------
 * The wrong pool, outside checking mode
 * ------------------------------------------------------------------------ */

static void
test_wrong_pool(void)
{
    mpool_t *a = mpool_create(NULL), *b = mpool_create(NULL);
    void *blk, *again;

    if (a == NULL || b == NULL)
        bail("mpool_create");
    if (getenv("MPOOL_DEBUG") != NULL) {
        skip(2, "checking mode reports a block freed to the wrong pool");
        mpool_destroy(a);
        mpool_destroy(b);
        return;
    }
    blk = mpool_alloc(b, 100);
    mpool_free(a, blk); /* the wrong pool */
    is_int((long long)(in_use(a) * 10 + in_use(b)), 0,
           "a block freed to the wrong pool goes back to its own");
    again = mpool_alloc(b, 100);
    ok(again != NULL && mp_buddy_page_fast(again) != NULL &&
           mp_buddy_page_fast(again)->group == b,
       "and its pool hands it out again");
    mpool_free(b, again);
    mpool_destroy(a);
    mpool_destroy(b);
}

int
main(void)
{
    plan(16);
    test_retired(); /* first: the index it retires is the lowest */
    test_named_pool();
    test_region_over_class();
    test_wrong_pool();
    test_exhausted();
    return 0;
}
