/* SPDX-License-Identifier: MIT */
/*
 * t/tcache-t.c - the per-thread caches' size follows what the thread does
 * (lib/cache/magazine.c, "Thread tables" and "Capacity"):
 *
 *   - many short threads: each sets up only the slots it uses, starts
 *     with small stacks, and when it exits everything comes back: every
 *     count right, no object in use, and after mpool_reclaim the pages in
 *     runs are what they were before the threads;
 *   - a consumer thread, which frees what another thread allocates,
 *     keeps few objects per cache, and its producer, which only
 *     allocates, grows its stack to 64 and no further (refills of 32:
 *     a larger stack would only hold objects it takes from the depot
 *     sooner);
 *   - a thread that allocates and frees in turn grows its stack to full
 *     size too, and a consumer that starts allocating grows back;
 *   - a thread at full size that turns consumer shrinks to the floor;
 *   - the fixed slots (cache.h, MP_TSLOT_FIXED): the default pool's small
 *     classes have them, at the index of their class, larger classes and
 *     other pools' a shared one (t/fixed-slots-t has more), the empty and the
 *     stopped tables hold them empty, the size-to-slot table agrees with
 *     the size classes, and a drain by another thread empties a blocked
 *     thread's fixed slot and gives its table back to it.
 *
 * An internal test: it reads the calling thread's table (cache/cache.h).
 * No timing: only counts and sizes.
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

#define SHORT_BLOCKS 8
#define AT_ONCE 4
#define HANDOFF 64

static mpool_cache_t *cache;
static mpool_t *pool;
static _Atomic unsigned long short_bad;

/* The calling thread's slot for c: objects held and capacity; false when
 * it has none (no magazines here: valgrind, or not set up). */
static bool
my_slot(const struct mpool_cache *c, size_t *held, size_t *cap)
{
    mp_tcache_t *tc = mp_tcache_mine();
    mp_tslot_t *s;

    *held = *cap = 0;
    if (c->tslot == MP_TSLOT_NONE || c->tslot >= tc->capacity)
        return false;
    s = &tc->slots[c->tslot];
    if (s->limit == NULL)
        return false;
    *held = (size_t)(s->top - s->base);
    *cap = (size_t)(s->limit - s->base);
    return true;
}

/* The room of the calling thread's stack for c (0: no slot set up). */
static size_t
my_room(const struct mpool_cache *c)
{
    mp_tcache_t *tc = mp_tcache_mine();

    if (c->tslot == MP_TSLOT_NONE || c->tslot >= tc->capacity ||
        tc->slots[c->tslot].limit == NULL)
        return 0;
    return tc->slots[c->tslot].room;
}

/* rounds times: n objects of c allocated, each written, then freed in
 * the order they came: what makes a thread's stack grow. */
static void
churn(mpool_cache_t *c, size_t n, int rounds)
{
    void *obj[600];

    if (n > sizeof(obj) / sizeof(obj[0]))
        bail("churn of %zu", n);
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) {
            if ((obj[i] = mpool_cache_alloc(c)) == NULL)
                bail("alloc");
            memset(obj[i], (int)i, 16);
        }
        for (size_t i = 0; i < n; i++)
            mpool_cache_free(c, obj[i]);
    }
}

/* Slots on the calling thread's used list. */
static size_t
my_used_slots(void)
{
    mp_tcache_t *tc = mp_tcache_mine();
    size_t n = 0;

    for (uint32_t u = tc->used; u != 0; u = tc->slots[u - 1].next_used)
        n++;
    return n;
}

static bool
magazines(const struct mpool_cache *c)
{
    return c->tslot != MP_TSLOT_NONE && c->fast_offset != MP_TSLOT_NONE;
}

/* ------------------------------------------------------------------------
 * Many short threads
 * ------------------------------------------------------------------------ */

static void *
short_thread(void *arg)
{
    void *obj[SHORT_BLOCKS], *blk[SHORT_BLOCKS];
    size_t held, cap;

    (void)arg;
    for (int i = 0; i < SHORT_BLOCKS; i++) {
        obj[i] = mpool_cache_alloc(cache);
        blk[i] = mpool_alloc(pool, 100);
        if (obj[i] == NULL || blk[i] == NULL) {
            short_bad++;
            return NULL;
        }
        memset(obj[i], i, 64);
        memset(blk[i], i, 100);
    }
    for (int i = 0; i < SHORT_BLOCKS; i++) {
        mpool_cache_free(cache, obj[i]);
        mpool_free(pool, blk[i]);
    }
    if (magazines(cache)) {
        /* two slots set up (the cache and the pool's class), each with a
         * small stack */
        if (my_used_slots() != 2)
            short_bad++;
        if (!my_slot(cache, &held, &cap) || cap >= 2 * cache->mag_rounds ||
            held != SHORT_BLOCKS)
            short_bad++;
    }
    return NULL;
}

static size_t
pages_in_runs(void)
{
    mp_arena_census_t census;

    mpool_reclaim(NULL);
    memset(&census, 0, sizeof(census));
    mp_census(&census);
    return census.run_pages;
}

static void
test_short_threads(void)
{
    size_t nthreads = tap_under_valgrind() ? 200 : 2000;
    mpool_cache_stats_t st = {.size = sizeof(st)};
    size_t before, after;
    pthread_t t[AT_ONCE];
    void *warm;

    cache = mpool_cache_create("tcache-short", 64, 0, NULL, NULL, NULL, 0);
    pool = mpool_create(NULL);
    if (cache == NULL || pool == NULL)
        bail("cache or pool");
    /* the main thread's table and the classes exist before */
    warm = mpool_alloc(pool, 100);
    mpool_free(pool, warm);
    mpool_cache_free(cache, mpool_cache_alloc(cache));
    before = pages_in_runs();

    for (size_t started = 0; started < nthreads; started += AT_ONCE) {
        for (int i = 0; i < AT_ONCE; i++)
            if (pthread_create(&t[i], NULL, short_thread, NULL) != 0)
                bail("pthread_create");
        for (int i = 0; i < AT_ONCE; i++)
            pthread_join(t[i], NULL);
    }
    is_int((int)short_bad, 0,
           "%zu short threads: each set up 2 slots, with small stacks",
           nthreads);
    mpool_cache_stats(cache, &st);
    ok(st.allocs == 1 + nthreads * SHORT_BLOCKS &&
           st.frees == 1 + nthreads * SHORT_BLOCKS,
       "every allocation and free counted (%llu, %llu)",
       (unsigned long long)st.allocs, (unsigned long long)st.frees);
    is_size(st.objects_in_use, 0, "no object in use after they exited");
    after = pages_in_runs();
    is_size(after, before,
            "after mpool_reclaim, the pages in runs are what they were "
            "before the threads");
    mpool_destroy(pool);
    is_int(mpool_cache_destroy(cache), 0, "the cache can be destroyed");
}

/* ------------------------------------------------------------------------
 * Producer and consumer
 * ------------------------------------------------------------------------ */

static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ring_cond = PTHREAD_COND_INITIALIZER;
static void *batch[HANDOFF];
static int batch_full, producing, phase;
static size_t consumer_held, consumer_cap, producer_held, producer_cap;
static size_t rounds_total;

static void *
producer(void *arg)
{
    (void)arg;
    for (size_t r = 0; r < rounds_total; r++) {
        void *mine[HANDOFF];
        for (int i = 0; i < HANDOFF; i++)
            if ((mine[i] = mpool_cache_alloc(cache)) == NULL)
                bail("alloc");
        pthread_mutex_lock(&ring_lock);
        while (batch_full)
            pthread_cond_wait(&ring_cond, &ring_lock);
        memcpy(batch, mine, sizeof(batch));
        batch_full = 1;
        pthread_cond_broadcast(&ring_cond);
        pthread_mutex_unlock(&ring_lock);
    }
    my_slot(cache, &producer_held, &producer_cap);
    pthread_mutex_lock(&ring_lock);
    producing = 0;
    pthread_cond_broadcast(&ring_cond);
    while (phase != 2)
        pthread_cond_wait(&ring_cond, &ring_lock);
    pthread_mutex_unlock(&ring_lock);
    return NULL;
}

static void *
consumer(void *arg)
{
    (void)arg;
    for (;;) {
        void *got[HANDOFF];
        pthread_mutex_lock(&ring_lock);
        while (!batch_full && producing)
            pthread_cond_wait(&ring_cond, &ring_lock);
        if (!batch_full) {
            pthread_mutex_unlock(&ring_lock);
            break;
        }
        memcpy(got, batch, sizeof(got));
        batch_full = 0;
        pthread_cond_broadcast(&ring_cond);
        pthread_mutex_unlock(&ring_lock);
        for (int i = 0; i < HANDOFF; i++)
            mpool_cache_free(cache, got[i]);
    }
    my_slot(cache, &consumer_held, &consumer_cap);
    pthread_mutex_lock(&ring_lock);
    phase = 1;
    pthread_cond_broadcast(&ring_cond);
    while (phase != 2)
        pthread_cond_wait(&ring_cond, &ring_lock);
    pthread_mutex_unlock(&ring_lock);
    /* now it allocates and frees in turn, in batches: it grows back */
    churn(cache, 512, 20);
    my_slot(cache, &consumer_held, &consumer_cap);
    return NULL;
}

static void
test_consumer(void)
{
    mpool_cache_stats_t st = {.size = sizeof(st)};
    pthread_t p, c;
    size_t full;

    rounds_total = tap_under_valgrind() ? 100 : 2000;
    cache = mpool_cache_create("tcache-cons", 64, 0, NULL, NULL, NULL, 0);
    if (cache == NULL)
        bail("cache");
    full = 2 * (size_t)cache->mag_rounds;
    producing = 1;
    batch_full = phase = 0;
    if (pthread_create(&p, NULL, producer, NULL) != 0 ||
        pthread_create(&c, NULL, consumer, NULL) != 0)
        bail("pthread_create");
    pthread_mutex_lock(&ring_lock);
    while (phase != 1)
        pthread_cond_wait(&ring_cond, &ring_lock);
    pthread_mutex_unlock(&ring_lock);

    /* both alive: what they hold now */
    mpool_cache_stats(cache, &st);
    if (!magazines(cache)) {
        skip(4, "the cache has no magazines here (valgrind)");
    } else {
        ok(consumer_cap <= 16 && consumer_held <= consumer_cap,
           "a consumer that freed %zu objects holds %zu (capacity %zu, "
           "full size %zu)",
           rounds_total * HANDOFF, consumer_held, consumer_cap, full);
        is_size(producer_cap, full < 64 ? full : 64,
                "its producer, which only allocates, grew its stack to 64 "
                "and no further (full size %zu)", full);
        ok(st.objects_cached <= MP_DEPOT_OBJECTS_MAX + full + 16,
           "objects cached in all, with the depot: %zu",
           st.objects_cached);
        ok(st.magazine_hits > st.magazine_misses * 4,
           "most calls still served by the stacks (%llu hits, %llu "
           "misses)",
           (unsigned long long)st.magazine_hits,
           (unsigned long long)st.magazine_misses);
    }
    pthread_mutex_lock(&ring_lock);
    phase = 2;
    pthread_cond_broadcast(&ring_cond);
    pthread_mutex_unlock(&ring_lock);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    if (!magazines(cache))
        skip(1, "the cache has no magazines here (valgrind)");
    else
        is_size(consumer_cap, full,
                "the consumer, allocating and freeing in turn, grew back "
                "to full size");
    mpool_cache_stats(cache, &st);
    ok(st.objects_in_use == 0 &&
           st.allocs == st.frees &&
           st.allocs == rounds_total * HANDOFF + 20 * 512,
       "every object counted and none in use (%llu allocations)",
       (unsigned long long)st.allocs);
    is_int(mpool_cache_destroy(cache), 0, "the cache can be destroyed");
}

/* ------------------------------------------------------------------------
 * A thread that turns consumer
 * ------------------------------------------------------------------------ */

#define TURNED 20000
static void **turned_objs;
static size_t turned_cap_before, turned_cap_after, turned_held;

static void *
turner(void *arg)
{
    (void)arg;
    /* allocates and frees in turn: its stack grows to full size */
    churn(cache, 512, 5);
    my_slot(cache, &turned_held, &turned_cap_before);
    /* then only frees, what another thread allocated */
    for (size_t i = 0; i < TURNED; i++)
        mpool_cache_free(cache, turned_objs[i]);
    my_slot(cache, &turned_held, &turned_cap_after);
    return NULL;
}

static void
test_turned_consumer(void)
{
    mpool_cache_stats_t st = {.size = sizeof(st)};
    pthread_t t;
    size_t full;

    cache = mpool_cache_create("tcache-turn", 64, 0, NULL, NULL, NULL, 0);
    turned_objs = malloc(TURNED * sizeof(void *));
    if (cache == NULL || turned_objs == NULL)
        bail("cache");
    full = 2 * (size_t)cache->mag_rounds;
    for (size_t i = 0; i < TURNED; i++)
        if ((turned_objs[i] = mpool_cache_alloc(cache)) == NULL)
            bail("alloc");
    if (pthread_create(&t, NULL, turner, NULL) != 0)
        bail("pthread_create");
    pthread_join(t, NULL);
    if (!magazines(cache)) {
        skip(1, "the cache has no magazines here (valgrind)");
    } else {
        ok(turned_cap_before == full &&
               turned_cap_after == (full < 16 ? full : 16) &&
               turned_held < turned_cap_after,
           "a thread at full size (%zu) that then frees %d objects of "
           "another thread shrinks to %zu, holding %zu",
           turned_cap_before, TURNED, turned_cap_after, turned_held);
    }
    mpool_cache_stats(cache, &st);
    ok(st.objects_in_use == 0 && st.allocs == st.frees,
       "every object counted and none in use (%llu allocations)",
       (unsigned long long)st.allocs);
    is_int(mpool_cache_destroy(cache), 0, "the cache can be destroyed");
    free(turned_objs);
}

/* ------------------------------------------------------------------------
 * Stack sizes (magazine.c, "Sizes")
 * ------------------------------------------------------------------------ */

/* The smallest stack size with room for cap objects. */
static size_t
room_for(size_t cap)
{
    for (unsigned t = 0; t < MP_SIZE_TIERS; t++)
        if (mp_stack_tier_room[t] >= cap)
            return mp_stack_tier_room[t];
    return 0;
}

static void
test_stack_sizes(void)
{
    mpool_cache_t *c = mpool_cache_create("tcache-sizes", 64, 0, NULL, NULL,
                                          NULL, 0);
    mpool_cache_t *tiny = mpool_cache_create("tcache-tiny", 16, 0, NULL,
                                             NULL, NULL, 0);
    size_t held, cap, room, slot, rooms_ok = 1, index, gen;
    void *one;

    if (c == NULL || tiny == NULL)
        bail("cache");
    if (!magazines(c)) {
        skip(6, "the cache has no magazines here (valgrind)");
        mpool_cache_destroy(c);
        mpool_cache_destroy(tiny);
        return;
    }
    if ((one = mpool_cache_alloc(c)) == NULL)
        bail("alloc");
    mpool_cache_free(c, one);
    my_slot(c, &held, &cap);
    is_size(my_room(c), mp_stack_tier_room[0],
            "a slot starts with the smallest stack: room for %zu, "
            "capacity %zu", my_room(c), cap);
    /* allocate and free in turn, ever more: the capacity doubles and the
     * stack moves to the size that holds it, objects and all */
    for (size_t n = 8; n <= 512; n *= 2) {
        churn(c, n, 1);
        my_slot(c, &held, &cap);
        room = my_room(c);
        if (room != room_for(cap) || held > cap) {
            diag("after %zu: capacity %zu, room %zu, holding %zu", n, cap,
                 room, held);
            rooms_ok = 0;
        }
    }
    ok(rooms_ok && cap == 2 * (size_t)c->mag_rounds,
       "each doubling moves the stack to the smallest size that holds it: "
       "capacity %zu in a stack of room %zu", cap, my_room(c));
    /* objects of 32 bytes or less: magazines of 256 rounds, stacks of 512 */
    churn(tiny, 600, 4);
    my_slot(tiny, &held, &cap);
    ok(tiny->mag_rounds == (MP_MAGAZINE_ROUNDS_MAX < 256
                                ? MP_MAGAZINE_ROUNDS_MAX
                                : 256) &&
           cap == 2 * (size_t)tiny->mag_rounds &&
           my_room(tiny) == room_for(cap),
       "16-byte objects: %u rounds, a stack of %zu in room %zu (64-byte "
       "ones: %u rounds)",
       tiny->mag_rounds, cap, my_room(tiny), c->mag_rounds);
    /* a destroyed cache's slot: mpool_reclaim drops it, stack and all */
    index = c->tslot;
    gen = mp_tcache_mine()->slots[index].gen;
    slot = (size_t)(mp_tcache_mine()->slots[index].limit != NULL);
    is_int(mpool_cache_destroy(c), 0, "the cache is destroyed");
    mpool_reclaim(NULL);
    ok(slot && mp_tcache_mine()->slots[index].limit == NULL &&
           mp_tcache_mine()->slots[index].base == NULL,
       "mpool_reclaim drops the calling thread's slot of it (index %zu, "
       "generation %zu), giving back its stack", index, gen);
    is_int(mpool_cache_destroy(tiny), 0, "and the other");
}

/* ------------------------------------------------------------------------
 * The fixed slots
 * ------------------------------------------------------------------------ */

#define FIXED_SIZE 64
#define FIXED_BLOCKS 40
static struct gate fixed_gate = GATE_INIT;
static mp_tcache_t *fixed_table;
static size_t fixed_held_before;
static bool fixed_table_back, fixed_alloc_after;

static void *
fixed_worker(void *arg)
{
    struct mpool_cache *c = arg;
    void *blocks[FIXED_BLOCKS];
    size_t cap;

    for (int i = 0; i < FIXED_BLOCKS; i++)
        if ((blocks[i] = mpool_alloc(mpool_default(), FIXED_SIZE)) == NULL)
            bail("mpool_alloc");
    for (int i = 0; i < FIXED_BLOCKS; i++)
        mpool_free(mpool_default(), blocks[i]);
    fixed_table = mp_tcache_mine();
    my_slot(c, &fixed_held_before, &cap);
    gate_open(&fixed_gate, 1);
    gate_wait(&fixed_gate, 2); /* blocked here while the main thread drains */
    fixed_table_back = mp_tcache_mine() == fixed_table;
    blocks[0] = mpool_alloc(mpool_default(), FIXED_SIZE);
    fixed_alloc_after = blocks[0] != NULL;
    mpool_free(mpool_default(), blocks[0]);
    return NULL;
}

static void
test_fixed_slots(void)
{
    unsigned cls = mp_size_class(FIXED_SIZE);
    struct mpool_cache *c;
    bool empty_ok = true, table_ok = true;
    void *block;
    pthread_t t;

    for (unsigned i = 0; i < MP_TSLOT_FIXED; i++) {
        const mp_tslot_t *e = &mp_tcache_empty.slots[i];
        const mp_tslot_t *x = &mp_tcache_stopped.slots[i];
        if (e->top != NULL || e->base != NULL || e->limit != NULL ||
            x->top != NULL || x->base != NULL || x->limit != NULL)
            empty_ok = false;
    }
    ok(empty_ok && mp_tcache_empty.slots_end == 0 &&
           mp_tcache_stopped.slots_end == 0,
       "the empty and the stopped table hold %d empty fixed slots and no "
       "other", MP_TSLOT_FIXED);
    for (size_t size = 0; size <= POOL_FAST_SMALL_MAX; size++)
        if (mp_default_slot_offset[size] !=
            mp_tslot_offset(mp_size_class(size)))
            table_ok = false;
    ok(table_ok, "the fixed slot of every size up to %d bytes is its "
       "class's", POOL_FAST_SMALL_MAX);

    block = mpool_alloc(mpool_default(), FIXED_SIZE);
    mpool_free(mpool_default(), block);
    c = atomic_load(&mp_default_pool.classes[cls]);
    if (c == NULL || !magazines(c)) {
        skip(3, "the default pool's classes have no magazines here");
        return;
    }
    ok(c->tslot == cls && c->fixed_offset == c->fast_offset &&
           mp_tcache_mine()->capacity >= MP_TSLOT_FIXED,
       "the default pool's %d-byte class has fixed slot %u, and the "
       "table has every fixed slot", FIXED_SIZE, c->tslot);

    if (pthread_create(&t, NULL, fixed_worker, c) != 0)
        bail("pthread_create");
    gate_wait(&fixed_gate, 1);
    if (!mp_tcache_drain_others()) {
        gate_open(&fixed_gate, 2);
        pthread_join(t, NULL);
        skip(2, "no barrier on other threads here: drains are asked for");
        return;
    }
    {
        mp_tslot_t *s = &fixed_table->slots[cls];
        size_t held = (size_t)(s->top - s->base);
        ok(fixed_held_before > 0 && held == 0,
           "a drain empties a blocked thread's fixed slot (%zu objects, "
           "then %zu)", fixed_held_before, held);
    }
    gate_open(&fixed_gate, 2);
    pthread_join(t, NULL);
    ok(fixed_table_back && fixed_alloc_after,
       "the drained thread has its own table back and allocates");
}

/* free's fast path reads one word of the block's page entry: the
 * distance of its class's fixed slot from the null slot on every page of
 * a pool's slab whose class has one (the default pool's classes of 4 KiB
 * and less at their own index, the others a shared one: cache.h), 0 (the
 * null slot) on every other page, and 0 again once the slab's pages are
 * back at the page level. */
static void
test_fast_word(void)
{
    static const size_t sizes[] = {16, 64, 1000, 4096, 8192};
    void *blocks[5];
    bool words_ok = true, fixed_seen = false;
    mpool_t *other = mpool_create(NULL);
    void *foreign = other != NULL ? mpool_alloc(other, 64) : NULL;
    const struct mpool_cache *fc;
    mp_page_t *page;
    mp_arena_census_t census;

    if (foreign == NULL)
        bail("mpool_create");
    for (size_t i = 0; i < 5; i++) {
        const struct mpool_cache *c;
        bool fixed;

        if ((blocks[i] = mpool_alloc(mpool_default(), sizes[i])) == NULL)
            bail("mpool_alloc(%zu)", sizes[i]);
        page = mp_buddy_page_fast(blocks[i]);
        if (page == NULL || page->group != &mp_default_pool) {
            words_ok = false;
            continue;
        }
        c = page->sub_owner;
        fixed = c->fixed_offset != mp_tslot_offset(MP_TSLOT_NULL);
        fixed_seen |= fixed;
        if (mp_page_fast_word(page) != mp_tslot_fast_word(c) ||
            (mp_page_fast_word(page) != 0) != fixed ||
            (fixed && sizes[i] <= 4096 &&
             c->tslot != mp_size_class(sizes[i])) ||
            (fixed && sizes[i] > 4096 &&
             (c->tslot <= MP_TSLOT_NULL || c->tslot >= MP_TSLOT_FIXED)))
            words_ok = false;
    }
    page = mp_buddy_page_fast(foreign);
    fc = page != NULL ? page->sub_owner : NULL;
    ok(words_ok && fc != NULL && mp_page_fast_word(page) == mp_tslot_fast_word(fc),
       "a default pool's slab page names its class's fixed slot (%s here), "
       "a class above 4 KiB and another pool's page their shared one",
       fixed_seen ? "set" : "none");
    for (size_t i = 0; i < 5; i++)
        mpool_free(mpool_default(), blocks[i]);
    mpool_destroy(other);
    mpool_reclaim(NULL);
    mp_census(&census); /* stops the test on a free page with a word */
    ok(true, "after reclaim no free page keeps a word (the census checks "
       "every free page)");
}

int
main(void)
{
    plan(28);
    test_fast_word();
    test_short_threads();
    test_consumer();
    test_turned_consumer();
    test_stack_sizes();
    test_fixed_slots();
    return 0;
}
