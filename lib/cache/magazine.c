/* SPDX-License-Identifier: MIT */
/*
 * magazine.c - per-thread caches of free objects in front of the slabs,
 * and the depot of full magazines behind them (Bonwick & Adams 2001).
 *
 * Each thread has a table of slots, one per cache that has a slot index
 * (cache->tslot).  A slot is a stack of up to 2 * R free objects, R being
 * the cache's magazine size: Bonwick's "loaded" and "previous" magazines
 * as one array, so that alternating alloc/free at a boundary does not
 * thrash.  The fast paths (cache.c) push and pop on it with plain loads and
 * stores: no lock, no atomic read-modify-write.  The slow paths here:
 *
 *   alloc, stack empty:  take half the stack's capacity from the depot's
 *                        magazines (a full magazine at full capacity),
 *                        else from the slabs;
 *   free, stack full:    move the bottom objects (the coldest) to the
 *                        depot, keeping half the capacity; past
 *                        MP_DEPOT_OBJECTS_MAX objects in the depot, back
 *                        into the slabs.
 *
 * The depot is what makes producer/consumer work: a thread that only frees
 * fills magazines, a thread that only allocates empties them.  A small
 * spill goes onto the top magazine when it fits there, so the depot's
 * magazines stay full whatever the spills.
 *
 * Capacity (Bonwick's magazine resizing, per thread, and tcmalloc's slow
 * start).  A slot's capacity, limit - base, starts at SLOT_CAP_MIN (16):
 * a thread that takes a few objects of a class takes 8 from the slabs,
 * not a magazine.  It doubles, up to 2 * R, when the thread refills again
 * with no spill since the last refill (it allocates more than it frees),
 * or fills the stack right after a refill (its working set spans the
 * stack); it halves, down to SLOT_CAP_MIN, each time it has spilled
 * SLOT_SHRINK_OBJECTS objects with no refill between (it frees far more
 * than it allocates: a consumer, whose stack would otherwise hold up to
 * 2 * R objects it never uses; counted in objects, so that a program
 * that frees a thousand objects in a row now and then keeps its stacks).
 * A thread that only frees never grows in the first place, and one that
 * only allocates grows to SLOT_CAP_PRODUCER (64, refills of 32) and no
 * further: its stack only ever runs empty, so a larger refill would only
 * move objects from the depot to it sooner and hold them there (a
 * producer's stacks held 128 objects of each class it used); past that,
 * refills double only once the stack has also been full (filled: the
 * thread frees too).  At the floor
 * a full stack is spilled whole, so a consumer visits the depot once per
 * SLOT_CAP_MIN frees and holds fewer than SLOT_CAP_MIN objects.  A drain
 * forgets the history.  Only the slow paths decide; the fast paths read
 * limit as before.  (A side effect, not a cost of the fast paths: where a
 * program alternates long runs of allocations and of frees, the level its
 * stacks settle at after each run depends on the refill sizes seen so far,
 * so cache-bench's batch of 1024- and 4096-byte blocks visits the depot a
 * little more often than with fixed refills: doc/benchmarks.md.)
 *
 * Thread tables cost what the thread uses.  A table covers the slots up
 * to the highest index its thread has set up (capacity), cleared as they
 * are first needed within the pages it has (room); the slots it has set
 * up form a list (used, next_used), which exit, drains and tidying walk
 * instead of every slot.  A dropped slot's stack is kept for the next
 * slot set up (STACKS_KEPT) rather than given back to its cache.
 *
 * Other threads' slots.  The owner works on its slots with plain loads and
 * stores.  Another thread (mpool_reclaim, mpool_cache_destroy) flushes them
 * with an asymmetric fence (the scheme of userspace RCU's membarrier
 * flavour).  The owner reaches its table through its cell (backend.h),
 * which holds the table and the mark in_op:
 *
 *   owner, every operation          drainer, once for all threads
 *   cell.in_op = 1                  cell.tcache = &stopped (each table)
 *   (compiler barrier)              membarrier(): a full barrier on every
 *   tc = cell.tcache                   running thread
 *   ... work on tc's slots ...      wait until cell.in_op == 0 (each)
 *   (compiler barrier)              flush the slots into the depots
 *   cell.in_op = 0                  cell.tcache = the table again
 *
 * The barrier the kernel forces on the owner sits somewhere in its
 * instruction stream: either before its store of in_op = 1, and then its
 * load finds the stopped table, whose fixed slots are empty stacks with
 * no room and whose bound (slots_end) is 0, so it goes to the slow path,
 * which waits while its cell holds the stopped table; or after, and then
 * the drainer sees in_op = 1 and waits for the operation to end.  Either
 * way the two never work on a slot at once, and the owner's fast path pays
 * two plain stores for it.  Swapping the table out, rather than marking
 * it, is what lets the fixed slots' fast paths (cache.h) go without a
 * bound test.  Slow paths mark in_op only around their work on the slots,
 * never while they take a lock, so a drainer waiting on in_op never waits
 * on a lock; and a thread changes the table in its cell (a new, larger
 * one; exit) only with mp_tcache_lock held, which the drainer holds
 * throughout, so what it puts back is what it found.  Where the system has
 * no membarrier, the drainer instead asks each thread to flush at its next
 * slow path (drain_epoch).
 *
 * The fixed slots (cache.h).  Every table has the indices below
 * MP_TSLOT_FIXED from its start, cleared, and so do the empty and the
 * stopped table, so the fast paths that name one need no bound test.
 * Those below MP_TSLOT_NULL are claimed by index by a layer above (the
 * default pool's small classes) and never retired; the shared ones past
 * it are what pools' other classes claim first (MP_TSLOT_SHARED), and are
 * retired and reused like the rest.
 *
 * Retirement.  A destroyed cache's index is retired: its generation
 * changes, and each thread drops its slot for it at its next slow path
 * ("tidying").  The index is reused only when every live thread has tidied
 * since, so no slot can ever hand out another cache's object.  A thread's
 * slots are flushed when it exits (the backend's thread-exit hook) and its
 * table is freed.
 *
 * Locks (their order is base/lock.h's): mp_tcache_lock guards the table
 * registry, the slot indices, every table's used list and capacity, the
 * stacks kept and a drain in progress; it comes after the
 * caches' slab locks and before their depot locks, so with it held
 * objects go to a depot, never to a cache's slabs.
 */
#include "cache/cache.h"

/* The empty and the stopped table (cache.h): a header with no room, and
 * the fixed slots, zeroed, which the fast paths of fixed slots read
 * without a bound test (static storage for a flexible array member: a GNU
 * C extension, which gcc and clang both have). */
MP_HIDDEN mp_tcache_t mp_tcache_empty = {
    .slots = { [MP_TSLOT_FIXED - 1] = { .top = NULL } },
};
MP_HIDDEN mp_tcache_t mp_tcache_stopped = {
    .slots = { [MP_TSLOT_FIXED - 1] = { .top = NULL } },
};

static mp_mutex_t mp_tcache_lock = MP_MUTEX_INIT(TCACHE);
static mp_tcache_t *tcache_list;    /* every thread's table */
static struct mpool_cache *tslot_owner[MP_TSLOT_MAX];
static _Atomic uint32_t tslot_gen[MP_TSLOT_MAX];
static uint32_t tslot_retired_at[MP_TSLOT_MAX]; /* epoch; 0: not retired */
static uint32_t tslot_shared_high = MP_TSLOT_NULL + 1; /* shared fixed
                                                           indices used
                                                           so far */
static uint32_t tslot_high = MP_TSLOT_FIXED;     /* the others */
static _Atomic uint32_t tslot_epoch = 1;         /* bumped by retirements */
static _Atomic uint32_t drain_epoch = 1;         /* bumped by reclaim */

/* Sizes.  A thread's stack lives in an object of one of the stack caches
 * (cache.h, mp_stack_caches), by the capacity it has room for: 16 objects,
 * what every slot starts at (136 bytes), 64, 256, or the most any slot
 * reaches, 2 * MP_MAGAZINE_ROUNDS_MAX (512, for objects of
 * MP_MAGAZINE_TINY bytes or less; 4104 bytes).  A slot whose capacity
 * doubles past its stack's room moves to a larger stack (slot_grow); one
 * whose capacity halves keeps it.  So a thread that uses a class a
 * little, or only frees into it, holds 136 bytes of stack for it.
 * Magazines likewise hold 16, 64, 128 or 256 rounds, the smallest that
 * holds their cache's mag_rounds, which is fewer for large objects (a
 * magazine of 4 KiB objects has 16 rounds): 144, 528, 1040 or 2064
 * bytes. */

/* The smallest of the sizes (cache.c's tables, smallest first) that
 * holds n objects. */
static unsigned
size_tier(const uint32_t sizes[MP_SIZE_TIERS], uint32_t n)
{
    unsigned t = 0;

    while (t < MP_SIZE_TIERS - 1 && sizes[t] < n)
        t++;
    MP_ASSERT(n <= sizes[t]);
    return t;
}

/* The smallest size of stack with room for cap objects. */
static unsigned
stack_tier(uint32_t cap)
{
    return size_tier(mp_stack_tier_room, cap);
}

/* Small stacks of dropped slots (exited threads' mostly), kept for the
 * next slots set up, which start small: a program that starts many short
 * threads would otherwise take a stack from the smallest stack cache, and
 * give it back, for each cache each thread uses, under that cache's lock.
 * Larger stacks go back to their caches.  At most STACKS_KEPT (8.5 KiB),
 * linked through their first word, under mp_tcache_lock; given back at
 * every drain (mpool_reclaim, mp_tcache_drain_others). */
#define STACKS_KEPT 64
static void **stacks_kept;
static uint32_t nstacks_kept;

/* The smallest tables of exited threads (the fixed slots and no more),
 * kept for the next threads: their slots are all zero (slot_drop clears
 * each one the thread set up, and table_keep_locked the used list's
 * links), so a new thread's table needs no clearing of its fixed slots,
 * which it would otherwise pay for with an 8 KiB memset whatever it
 * uses.  At most TABLES_KEPT, linked through next, under mp_tcache_lock;
 * given back at every drain. */
#define TABLES_KEPT 16
static mp_tcache_t *tables_kept;
static uint32_t ntables_kept;

/* ------------------------------------------------------------------------
 * Slot indices
 * ------------------------------------------------------------------------ */

static uint32_t
oldest_seen_epoch_locked(void)
{
    uint32_t oldest = atomic_load(&tslot_epoch);

    for (mp_tcache_t *tc = tcache_list; tc != NULL; tc = tc->next) {
        uint32_t seen = __atomic_load_n(&tc->seen_epoch, __ATOMIC_ACQUIRE);
        if ((int32_t)(seen - oldest) < 0)
            oldest = seen;
    }
    return oldest;
}

/* The first index of [first, *high) that is free and that every live
 * thread has tidied since its retirement, or *high, moved on, while it is
 * below end; MP_TSLOT_NONE when there is none.  mp_tcache_lock held. */
static uint32_t
tslot_free_locked(uint32_t first, uint32_t *high, uint32_t end,
                  uint32_t oldest)
{
    for (uint32_t i = first; i < *high; i++)
        if (tslot_owner[i] == NULL && tslot_retired_at[i] != 0 &&
            (int32_t)(oldest - tslot_retired_at[i]) >= 0)
            return i;
    return *high < end ? (*high)++ : MP_TSLOT_NONE;
}

int
mp_tslot_claim(struct mpool_cache *c, uint32_t fixed)
{
    uint32_t index = MP_TSLOT_NONE;

    MP_ASSERT(fixed == MP_TSLOT_NONE || fixed == MP_TSLOT_SHARED ||
              fixed < MP_TSLOT_NULL);
    mp_mutex_lock(&mp_tcache_lock);
    if (fixed != MP_TSLOT_NONE && fixed != MP_TSLOT_SHARED) {
        MP_ASSERT(tslot_owner[fixed] == NULL);
        index = fixed;
    } else {
        uint32_t oldest = oldest_seen_epoch_locked();
        if (fixed == MP_TSLOT_SHARED)
            index = tslot_free_locked(MP_TSLOT_NULL + 1, &tslot_shared_high,
                                      MP_TSLOT_FIXED, oldest);
        if (index == MP_TSLOT_NONE)
            index = tslot_free_locked(MP_TSLOT_FIXED, &tslot_high,
                                      MP_TSLOT_MAX, oldest);
    }
    if (index != MP_TSLOT_NONE) {
        MP_ASSERT(index != MP_TSLOT_NULL);
        tslot_owner[index] = c;
        tslot_retired_at[index] = 0;
        c->tslot_gen = atomic_fetch_add(&tslot_gen[index], 1) + 1;
        c->fast_offset = mp_tslot_offset(index);
        if (index < MP_TSLOT_FIXED)
            c->fixed_offset = c->fast_offset;
    }
    c->tslot = index;
    mp_mutex_unlock(&mp_tcache_lock);
    return index == MP_TSLOT_NONE ? -1 : 0;
}

/* From here no thread can flush into this cache: a slot whose generation
 * is stale is dropped, never flushed.  mp_tcache_lock held. */
static void
tslot_retire_locked(struct mpool_cache *c)
{
    uint32_t i = c->tslot;

    /* a slot fixed by index is never retired: the fast paths that use one
     * test no generation, and no pool that claims them is destroyed */
    MP_ASSERT(i == MP_TSLOT_NONE || i > MP_TSLOT_NULL);
    if (i != MP_TSLOT_NONE) {
        tslot_owner[i] = NULL;
        atomic_fetch_add(&tslot_gen[i], 1);
        tslot_retired_at[i] = atomic_fetch_add(&tslot_epoch, 1) + 1;
    }
    c->tslot = MP_TSLOT_NONE;
    c->fast_offset = MP_TSLOT_NONE;
    c->fixed_offset = mp_tslot_offset(MP_TSLOT_NULL);
}

void
mp_tslot_retire(struct mpool_cache *c)
{
    mp_mutex_lock(&mp_tcache_lock);
    tslot_retire_locked(c);
    mp_mutex_unlock(&mp_tcache_lock);
}

static size_t
remote_cached_locked(struct mpool_cache *c)
{
    size_t n = 0;

    for (mp_tcache_t *tc = tcache_list; tc != NULL; tc = tc->next) {
        mp_tslot_t *s;
        if (c->tslot >= tc->capacity)
            continue;
        s = &tc->slots[c->tslot];
        /* Another thread's slot, read without its owner's help: a
         * snapshot, exact when that thread is not using the cache.  The
         * owner stores gen last when it sets the slot up (slot_get), and
         * moves top with atomic stores (slot_set_top). */
        if (__atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) == c->tslot_gen)
            n += (size_t)(__atomic_load_n(&s->top, __ATOMIC_RELAXED) -
                          __atomic_load_n(&s->base, __ATOMIC_RELAXED));
    }
    return n;
}

static size_t
depot_count(struct mpool_cache *c)
{
    size_t n = 0;

    mp_cache_lock(&c->depot_lock, c);
    for (mp_magazine_t *m = c->depot_full; m != NULL; m = m->next)
        n += m->rounds;
    mp_cache_unlock(&c->depot_lock, c);
    return n;
}

int
mp_tslot_retire_if_idle(struct mpool_cache *c)
{
    uint32_t i = c->tslot;
    size_t out, cached;

    mp_mutex_lock(&mp_tcache_lock);
    out = __atomic_load_n(&c->objs_out, __ATOMIC_RELAXED);
    cached = depot_count(c);
    if (i != MP_TSLOT_NONE)
        cached += remote_cached_locked(c);
    if (out > cached) {
        mp_mutex_unlock(&mp_tcache_lock);
        return EBUSY;
    }
    tslot_retire_locked(c);
    mp_mutex_unlock(&mp_tcache_lock);
    return 0;
}

bool
mp_tslot_held_elsewhere(struct mpool_cache *c)
{
    bool held;

    if (c->tslot == MP_TSLOT_NONE)
        return false;
    mp_mutex_lock(&mp_tcache_lock);
    held = remote_cached_locked(c) != 0;
    mp_mutex_unlock(&mp_tcache_lock);
    return held;
}

/* ------------------------------------------------------------------------
 * Thread tables
 * ------------------------------------------------------------------------ */

static size_t
table_pages(uint32_t room)
{
    size_t bytes = sizeof(mp_tcache_t) + (size_t)room * sizeof(mp_tslot_t);
    return (bytes + MP_PAGE_SIZE - 1) >> MP_PAGE_SHIFT;
}

/* The first slot on the table's used list, and the one after s: the
 * slots this thread has set up (the list only grows while the table
 * lives).  Changed and walked by other threads with mp_tcache_lock held,
 * and by the owner. */
static mp_tslot_t *
used_first(mp_tcache_t *tc, uint32_t *index)
{
    *index = tc->used - 1;
    return tc->used != 0 ? &tc->slots[tc->used - 1] : NULL;
}

static mp_tslot_t *
used_next(mp_tcache_t *tc, const mp_tslot_t *s, uint32_t *index)
{
    *index = s->next_used - 1;
    return s->next_used != 0 ? &tc->slots[s->next_used - 1] : NULL;
}

static void
slot_publish(struct mpool_cache *c, mp_tslot_t *s)
{
    if (s->allocs != 0) {
        atomic_fetch_add_explicit(&c->allocs_hit, s->allocs,
                                  memory_order_relaxed);
        s->allocs = 0;
    }
    if (s->frees != 0) {
        atomic_fetch_add_explicit(&c->frees_hit, s->frees,
                                  memory_order_relaxed);
        s->frees = 0;
    }
}

/* The owner moves the top of its stack with an atomic store, the same
 * instruction as a plain one: remote_cached_locked reads it meanwhile
 * without the owner's help (a snapshot), and a plain store would make
 * that a data race.  Stores with mp_tcache_lock held need none: the
 * reader holds it too. */
static inline void
slot_set_top(mp_tslot_t *s, void **top)
{
    __atomic_store_n(&s->top, top, __ATOMIC_RELAXED);
}

/* The calling thread's table, once no drain stops it: a drainer puts the
 * stopped table in the cell while it works (see the top of the file) and
 * gives the table back before it lets go of mp_tcache_lock. */
static mp_tcache_t *
tc_current(void)
{
    mp_tcache_t *tc;

    while ((tc = mp_tcache_mine()) == &mp_tcache_stopped)
        mp_backend_yield();
    return tc;
}

/* Mark the start of the owner's work on its slots; false (and nothing
 * marked) while another thread drains the table. */
static bool
tc_enter(mp_tcache_t *tc)
{
    mp_tcell_t *cell = mp_backend_tcell();

    if (MP_UNLIKELY(mp_tcell_enter(cell) != tc)) {
        mp_tcell_leave(cell);
        return false;
    }
    return true;
}

static void
tc_enter_wait(mp_tcache_t *tc)
{
    while (!tc_enter(tc))
        mp_backend_yield();
}

static void
tc_leave(void)
{
    mp_tcell_leave(mp_backend_tcell());
}

/* Put a table in the calling thread's cell.  mp_tcache_lock held, so that
 * no drain is under way: a drainer gives back what it found there. */
static void
tc_install_locked(mp_tcache_t *tc)
{
    atomic_store_explicit(&mp_backend_tcell()->tcache, tc,
                          memory_order_release);
}

/* Capacity (see the top of the file): a slot starts small, doubles at
 * each refill, and at a full stack after a refill; after
 * SLOT_SHRINK_OBJECTS objects spilled with no refill between it halves. */
#define SLOT_CAP_MIN 16
#define SLOT_CAP_PRODUCER 64
#define SLOT_SHRINK_OBJECTS 2048

static uint32_t
slot_cap_max(const struct mpool_cache *c)
{
    return 2 * c->mag_rounds;
}

static uint32_t
slot_cap_min(const struct mpool_cache *c)
{
    return slot_cap_max(c) < SLOT_CAP_MIN ? slot_cap_max(c) : SLOT_CAP_MIN;
}

static uint32_t
slot_cap(const mp_tslot_t *s)
{
    return (uint32_t)(s->limit - s->base);
}

/* The capacity after cap doubles. */
static uint32_t
slot_cap_doubled(const struct mpool_cache *c, uint32_t cap)
{
    return 2 * cap < slot_cap_max(c) ? 2 * cap : slot_cap_max(c);
}

/* A stack no slot uses any more (stack points at its sentinel word):
 * kept for the next slot if it is small and there is room, else given
 * back to its cache.  mp_tcache_lock held. */
static void
stack_drop_locked(void **stack, uint32_t room)
{
    unsigned t = stack_tier(room);

    MP_ASSERT(stack[0] == NULL); /* the free path's double-free test */
    MP_ASSERT(mp_stack_tier_room[t] == room);
    if (t == 0 && nstacks_kept < STACKS_KEPT) {
        stack[0] = stacks_kept;
        stacks_kept = stack;
        nstacks_kept++;
    } else {
        mp_internal_free(&mp_stack_caches[t], stack, "mp_tcache");
    }
}

/* Give the calling thread's slot s, whose capacity doubles to cap past
 * its stack's room, a stack with room for cap, its objects moved over;
 * false, and nothing changed, when there is no memory for one.  Called
 * outside the owner's bracket; the move is made with mp_tcache_lock held,
 * as everyone who reads another thread's stack holds it
 * (remote_cached_locked, mp_magazine_collect, drains), so none of them
 * sees a stack change under it. */
static bool
slot_grow(mp_tcache_t *tc, mp_tslot_t *s, uint32_t cap)
{
    unsigned t = stack_tier(cap);
    uint32_t room = mp_stack_tier_room[t], old_room;
    void **stack = mp_internal_alloc(&mp_stack_caches[t]), **old;
    size_t n;

    if (stack == NULL)
        return false;
    stack[0] = NULL; /* the sentinel below the stack (cache.h) */
    mp_mutex_lock(&mp_tcache_lock);
    tc_enter_wait(tc); /* no drain can be under way: it holds the lock */
    MP_ASSERT(s->limit != NULL && room > s->room);
    n = (size_t)(s->top - s->base); /* a drain may have emptied it */
    __builtin_memcpy(stack + 1, s->base, n * sizeof(void *));
    old = s->base - 1;
    old_room = s->room;
    __atomic_store_n(&s->base, stack + 1, __ATOMIC_RELAXED);
    slot_set_top(s, stack + 1 + n);
    s->limit = s->base + cap;
    s->room = room;
    tc_leave();
    stack_drop_locked(old, old_room);
    mp_mutex_unlock(&mp_tcache_lock);
    return true;
}

/* Drop a slot whose cache is gone (its objects went with the slabs), or
 * whose thread exits (they went to the depot).  mp_tcache_lock held. */
static void
slot_drop(mp_tslot_t *s)
{
    uint32_t next_used = s->next_used;
    uint8_t listed = s->listed;

    if (s->base != NULL)
        stack_drop_locked(s->base - 1, s->room);
    __builtin_memset(s, 0, sizeof(*s));
    s->next_used = next_used; /* it stays on the used list */
    s->listed = listed;
}

/* Move every object of the slot into the depot (or the slabs). */
static void slot_flush(struct mpool_cache *c, mp_tslot_t *s);

/* Bring the calling thread's table up to date with retirements and drain
 * requests. */
static void
tcache_tidy(mp_tcache_t *tc)
{
    uint32_t epoch = atomic_load_explicit(&tslot_epoch, memory_order_acquire);
    uint32_t drain = atomic_load_explicit(&drain_epoch, memory_order_acquire);
    bool flush = tc->drain_seen != drain;
    mp_tslot_t *s;
    uint32_t i;

    if (tc->seen_epoch == epoch && !flush)
        return;
    mp_mutex_lock(&mp_tcache_lock);
    for (s = used_first(tc, &i); s != NULL; s = used_next(tc, s, &i)) {
        if (s->limit == NULL)
            continue;
        if (s->gen != atomic_load_explicit(&tslot_gen[i],
                                           memory_order_relaxed))
            slot_drop(s);
        else if (flush)
            slot_flush(tslot_owner[i], s);
    }
    __atomic_store_n(&tc->seen_epoch, epoch, __ATOMIC_RELEASE);
    tc->drain_seen = drain;
    mp_mutex_unlock(&mp_tcache_lock);
}

/* Clear slots [tc->capacity, capacity) of the calling thread's table,
 * which its pages hold already, and let the fast paths see them. */
static void
tcache_extend(mp_tcache_t *tc, uint32_t capacity)
{
    MP_ASSERT(capacity <= tc->room);
    mp_mutex_lock(&mp_tcache_lock); /* drainers read capacity under it */
    __builtin_memset(&tc->slots[tc->capacity], 0,
                     (capacity - tc->capacity) * sizeof(mp_tslot_t));
    tc->capacity = capacity;
    atomic_store_explicit(&tc->slots_end, mp_tslot_offset(capacity),
                          memory_order_release);
    mp_mutex_unlock(&mp_tcache_lock);
}

/* The calling thread's table, with room for slot `index`; NULL if it
 * cannot be had (no memory), and then the caller goes to the slabs.  A
 * table covers the slots up to the highest index its thread has used,
 * cleared as they are first needed: a thread that uses few caches clears
 * little, whatever the number of caches in the process.  Its pages are
 * those the slots need, and when it must move, at least twice as many. */
static mp_tcache_t *
tcache_get(uint32_t index)
{
    mp_tcache_t *tc = tc_current();
    mp_tcache_t *grown;
    uint32_t capacity = index + 1, room;
    bool is_zero;

    if (capacity < MP_TSLOT_FIXED) /* every table has the fixed slots */
        capacity = MP_TSLOT_FIXED;

    if (tc != &mp_tcache_empty) {
        tcache_tidy(tc);
        if (index < tc->capacity)
            return tc;
        if (index < tc->room) {
            tcache_extend(tc, capacity);
            return tc;
        }
    }
    if (tc == &mp_tcache_empty) {
        /* a thread's first table: an exited thread's, if one is kept */
        mp_mutex_lock(&mp_tcache_lock);
        if ((grown = tables_kept) != NULL && capacity <= grown->room) {
            tables_kept = grown->next;
            ntables_kept--;
            room = grown->room;
            grown->next = NULL;
            mp_mutex_unlock(&mp_tcache_lock);
            /* zero up to MP_TSLOT_FIXED already; past it, old slots */
            if (capacity > MP_TSLOT_FIXED)
                __builtin_memset(&grown->slots[MP_TSLOT_FIXED], 0,
                                 (capacity - MP_TSLOT_FIXED) *
                                     sizeof(mp_tslot_t));
            goto install;
        }
        mp_mutex_unlock(&mp_tcache_lock);
    }
    room = tc->room * 2 > capacity ? tc->room * 2 : capacity;
    /* Use the pages the table will take anyway. */
    room = (uint32_t)((table_pages(room) * MP_PAGE_SIZE -
                       sizeof(mp_tcache_t)) / sizeof(mp_tslot_t));
    if (room > MP_TSLOT_MAX)
        room = MP_TSLOT_MAX;
    grown = mp_pages_alloc(table_pages(room), &is_zero);
    if (grown == NULL)
        return NULL;
    if (!is_zero) /* the header and the slots in use; the rest later */
        __builtin_memset(grown, 0, mp_tslot_offset(capacity));
install:
    mp_mutex_lock(&mp_tcache_lock);
    if (tc != &mp_tcache_empty) {
        __builtin_memcpy(grown->slots, tc->slots,
                         tc->capacity * sizeof(mp_tslot_t));
        grown->seen_epoch = tc->seen_epoch;
        grown->drain_seen = tc->drain_seen;
        grown->used = tc->used;
        grown->next = tc->next;
        grown->prev = tc->prev;
        if (grown->next != NULL)
            grown->next->prev = grown;
        if (grown->prev != NULL)
            grown->prev->next = grown;
        else
            tcache_list = grown;
    } else {
        grown->seen_epoch = atomic_load(&tslot_epoch);
        grown->drain_seen = atomic_load(&drain_epoch);
        grown->next = tcache_list;
        if (grown->next != NULL)
            grown->next->prev = grown;
        tcache_list = grown;
    }
    grown->capacity = capacity;
    grown->room = room;
    grown->cell = mp_backend_tcell();
    atomic_store_explicit(&grown->slots_end, mp_tslot_offset(capacity),
                          memory_order_release);
    tc_install_locked(grown);
    mp_mutex_unlock(&mp_tcache_lock);
    if (tc != &mp_tcache_empty)
        mp_pages_free(tc, table_pages(tc->room));
    if (mp_backend_thread_attach(grown) != 0) {
        /* No exit hook: do not cache for this thread at all. */
        mp_tcache_thread_exit(grown);
        return NULL;
    }
    return grown;
}

/* The slot of `c` in the calling thread's table, with its stack; NULL
 * when there is none to be had. */
static mp_tslot_t *
slot_get(struct mpool_cache *c)
{
    mp_tcache_t *tc = tcache_get(c->tslot);
    mp_tslot_t *s;

    if (tc == NULL)
        return NULL;
    s = &tc->slots[c->tslot];
    if (s->limit != NULL && s->gen == c->tslot_gen)
        return s;
    {
        void **stack;

        mp_mutex_lock(&mp_tcache_lock); /* no drain meanwhile */
        if (s->limit != NULL)
            slot_drop(s);
        if (!s->listed) { /* first use: onto the used list */
            s->next_used = tc->used;
            s->listed = 1;
            tc->used = c->tslot + 1;
        }
        if ((stack = stacks_kept) != NULL) {
            stacks_kept = stack[0];
            nstacks_kept--;
        }
        mp_mutex_unlock(&mp_tcache_lock);
        if (stack == NULL &&
            (stack = mp_internal_alloc(&mp_stack_caches[0])) == NULL)
            return NULL;
        stack[0] = NULL; /* the sentinel below the stack (cache.h) */
        tc_enter_wait(tc);
        __atomic_store_n(&s->base, stack + 1, __ATOMIC_RELAXED);
        slot_set_top(s, stack + 1);
        s->room = mp_stack_tier_room[0]; /* slot_cap_min(c) at most */
        s->limit = s->base + slot_cap_min(c);
        s->spilled = 0;
        s->refilled = 0;
        s->filled = 0;
        /* last: whoever sees it sees the stack (remote_cached_locked) */
        __atomic_store_n(&s->gen, c->tslot_gen, __ATOMIC_RELEASE);
        tc_leave();
    }
    return s;
}

/* Empty a thread's table into the depots and take it off the list. */
static void
tcache_retire_locked(mp_tcache_t *tc)
{
    mp_tslot_t *s;
    uint32_t i;

    for (s = used_first(tc, &i); s != NULL; s = used_next(tc, s, &i)) {
        if (s->limit == NULL)
            continue;
        if (s->gen == atomic_load_explicit(&tslot_gen[i],
                                           memory_order_relaxed))
            slot_flush(tslot_owner[i], s);
        slot_drop(s);
    }
    if (tc->prev != NULL)
        tc->prev->next = tc->next;
    else
        tcache_list = tc->next;
    if (tc->next != NULL)
        tc->next->prev = tc->prev;
}

/* Keep a retired table for the next thread: its slots were dropped
 * (zeroed but for their used-list links, cleared here) and its header is
 * cleared but for its room.  mp_tcache_lock held. */
static void
table_keep_locked(mp_tcache_t *tc)
{
    uint32_t room = tc->room;
    mp_tslot_t *s;
    uint32_t i;

    for (s = used_first(tc, &i); s != NULL;) {
        mp_tslot_t *next = used_next(tc, s, &i);
        MP_ASSERT(s->limit == NULL && s->top == NULL && s->base == NULL);
        s->next_used = 0;
        s->listed = 0;
        s = next;
    }
    __builtin_memset(tc, 0, sizeof(*tc));
    tc->room = room;
    tc->next = tables_kept;
    tables_kept = tc;
    ntables_kept++;
}

void
mp_tcache_thread_exit(void *arg)
{
    mp_tcache_t *tc = arg;

    if (tc == NULL || tc == &mp_tcache_empty)
        return;
    mp_mutex_lock(&mp_tcache_lock);
    /* the cell may name a newer table, when this one was let go because
     * the thread could not be attached (tcache_get) */
    if (atomic_load_explicit(&mp_backend_tcell()->tcache,
                             memory_order_relaxed) == tc)
        tc_install_locked(&mp_tcache_empty);
    tcache_retire_locked(tc);
    if (table_pages(tc->room) == table_pages(MP_TSLOT_FIXED) &&
        ntables_kept < TABLES_KEPT) {
        table_keep_locked(tc);
        tc = NULL;
    }
    mp_mutex_unlock(&mp_tcache_lock);
    if (tc != NULL)
        mp_pages_free(tc, table_pages(tc->room));
}

void
mp_tcache_fork(enum mp_fork_phase phase)
{
    mp_mutex_fork(&mp_tcache_lock, phase);
}

void
mp_tcache_fork_child(void)
{
    mp_tcache_t *mine = mp_tcache_mine();
    mp_tcache_t *tc, *next;

    mp_mutex_lock(&mp_tcache_lock);
    for (tc = tcache_list; tc != NULL; tc = next) {
        next = tc->next;
        if (tc == mine)
            continue;
        /* its thread stopped wherever it was: an operation cut short
         * left the slot consistent (the top moves last), at worst one
         * object short */
        tcache_retire_locked(tc); /* no drain was under way: fork.c
                                     held mp_tcache_lock */
        mp_mutex_unlock(&mp_tcache_lock);
        mp_pages_free(tc, table_pages(tc->room));
        mp_mutex_lock(&mp_tcache_lock);
    }
    mp_mutex_unlock(&mp_tcache_lock);
}

/* ------------------------------------------------------------------------
 * The depot
 * ------------------------------------------------------------------------ */

/* The cache of c's magazines: the smallest that holds its rounds
 * ("Sizes"). */
static struct mpool_cache *
magazine_cache(const struct mpool_cache *c)
{
    return &mp_magazine_caches[size_tier(mp_magazine_tier_rounds,
                                         c->mag_rounds)];
}

static mp_magazine_t *
magazine_new(const struct mpool_cache *c)
{
    return mp_internal_alloc(magazine_cache(c));
}

static void
magazine_delete(const struct mpool_cache *c, mp_magazine_t *m)
{
    mp_internal_free(magazine_cache(c), m, "mp_magazine");
}

static void
objects_to_slabs(struct mpool_cache *c, void **objs, size_t n)
{
    if (n == 0)
        return;
    mp_cache_lock(&c->lock, c);
    mp_slab_free_locked(c, objs, n, "mpool_cache_free");
    mp_cache_unlock(&c->lock, c);
}

/* Put n objects (at most mag_rounds) into the depot: onto the top full
 * magazine when they fit there (a thread with a small stack spills a few
 * at a time, and the depot's magazines stay full all the same), else as
 * a magazine of their own.  With to_slabs, a full depot (or no memory for
 * a magazine) sends them to the slabs; without it (the caller holds
 * mp_tcache_lock, which must not be held while taking a cache's lock) the
 * depot takes them regardless, and false means there was no magazine: the
 * objects stay with the caller. */
static bool
depot_put(struct mpool_cache *c, void **objs, size_t n, bool to_slabs)
{
    mp_magazine_t *m = NULL;
    bool want;

    MP_ASSERT(n <= c->mag_rounds);
    mp_cache_lock(&c->depot_lock, c);
    want = !to_slabs || c->depot_nfull < 2 ||
           (c->depot_rounds < MP_DEPOT_OBJECTS_MAX &&
            c->depot_rounds * c->stride < MP_DEPOT_BYTES_MAX);
    if (want && (m = c->depot_full) != NULL &&
        m->rounds + n <= c->mag_rounds) {
        __builtin_memcpy(m->round + m->rounds, objs, n * sizeof(void *));
        m->rounds += n;
        c->depot_rounds += n;
        mp_cache_unlock(&c->depot_lock, c);
        return true;
    }
    m = NULL;
    if (want && (m = c->depot_empty) != NULL) {
        c->depot_empty = m->next;
        c->depot_nempty--;
    }
    mp_cache_unlock(&c->depot_lock, c);
    if (m == NULL && want)
        m = magazine_new(c);
    if (m == NULL) {
        if (!to_slabs)
            return false;
        objects_to_slabs(c, objs, n);
        return true;
    }
    __builtin_memcpy(m->round, objs, n * sizeof(void *));
    m->rounds = n;
    mp_cache_lock(&c->depot_lock, c);
    m->next = c->depot_full;
    c->depot_full = m;
    c->depot_nfull++;
    c->depot_rounds += n;
    mp_cache_unlock(&c->depot_lock, c);
    return true;
}

/* Take up to `want` objects from the depot's full magazines into `out`,
 * from the top one first; a magazine left partly full stays on top.  How
 * many (0: the depot is empty). */
static size_t
depot_take(struct mpool_cache *c, void **out, size_t want)
{
    mp_magazine_t *m;
    size_t n = 0;

    mp_cache_lock(&c->depot_lock, c);
    while (n < want && (m = c->depot_full) != NULL) {
        size_t k = m->rounds < want - n ? m->rounds : want - n;
        m->rounds -= k;
        c->depot_rounds -= k;
        __builtin_memcpy(out + n, m->round + m->rounds, k * sizeof(void *));
        n += k;
        if (m->rounds == 0) {
            c->depot_full = m->next;
            c->depot_nfull--;
            m->next = c->depot_empty;
            c->depot_empty = m;
            c->depot_nempty++;
        }
    }
    mp_cache_unlock(&c->depot_lock, c);
    return n;
}

void
mp_depot_drain(struct mpool_cache *c)
{
    mp_magazine_t *full, *empty;

    mp_cache_lock(&c->depot_lock, c);
    full = c->depot_full;
    empty = c->depot_empty;
    c->depot_full = c->depot_empty = NULL;
    c->depot_nfull = c->depot_nempty = c->depot_rounds = 0;
    mp_cache_unlock(&c->depot_lock, c);
    while (full != NULL) {
        mp_magazine_t *next = full->next;
        MP_ASSERT(full->rounds <= c->mag_rounds);
        objects_to_slabs(c, full->round, full->rounds);
        magazine_delete(c, full);
        full = next;
    }
    while (empty != NULL) {
        mp_magazine_t *next = empty->next;
        magazine_delete(c, empty);
        empty = next;
    }
}

/* Called with mp_tcache_lock held: to the depot only.  A drainer flushes
 * another thread's slot with publish == false: the counts are the owner's
 * to publish. */
static void
slot_flush_ex(struct mpool_cache *c, mp_tslot_t *s, bool publish)
{
    if (publish)
        slot_publish(c, s);
    /* emptied from outside: what the thread did since tells nothing */
    s->refilled = 0;
    s->spilled = 0;
    s->filled = 0;
    while (s->top > s->base) {
        size_t n = (size_t)(s->top - s->base);
        if (n > c->mag_rounds)
            n = c->mag_rounds;
        if (!depot_put(c, s->top - n, n, false))
            break; /* no memory for a magazine: they stay here */
        s->top -= n;
    }
}

static void
slot_flush(struct mpool_cache *c, mp_tslot_t *s)
{
    slot_flush_ex(c, s, true);
}

void
mp_tcache_flush_current(struct mpool_cache *c)
{
    mp_tcache_t *tc;
    mp_tslot_t *s;
    uint32_t i;

    mp_mutex_lock(&mp_tcache_lock); /* no drain: the cell holds the table */
    tc = mp_tcache_mine();
    if (tc == &mp_tcache_empty) {
        mp_mutex_unlock(&mp_tcache_lock);
        return;
    }
    for (s = used_first(tc, &i); s != NULL; s = used_next(tc, s, &i)) {
        if (s->limit == NULL)
            continue;
        if (s->gen != atomic_load_explicit(&tslot_gen[i],
                                           memory_order_relaxed)) {
            /* a destroyed cache's: its stack goes back now, before
             * reclaim gives back the stacks' empty slabs, rather than at
             * the thread's next slow path */
            if (c == NULL)
                slot_drop(s);
            continue;
        }
        if (c == NULL || tslot_owner[i] == c)
            slot_flush(tslot_owner[i], s);
    }
    mp_mutex_unlock(&mp_tcache_lock);
}

bool
mp_tcache_drain_others(void)
{
    mp_tcache_t *mine;
    mp_tcache_t *tc, *tables;
    void **stacks;

    /* the stacks and tables kept go back first, so reclaim can give their
     * pages */
    mp_mutex_lock(&mp_tcache_lock);
    stacks = stacks_kept;
    stacks_kept = NULL;
    nstacks_kept = 0;
    tables = tables_kept;
    tables_kept = NULL;
    ntables_kept = 0;
    mp_mutex_unlock(&mp_tcache_lock);
    while (tables != NULL) {
        mp_tcache_t *next = tables->next;
        mp_pages_free(tables, table_pages(tables->room));
        tables = next;
    }
    while (stacks != NULL) {
        void **next = stacks[0];
        mp_internal_free(&mp_stack_caches[0], stacks, "mp_tcache");
        stacks = next;
    }
    mp_mutex_lock(&mp_tcache_lock);
    mine = mp_tcache_mine(); /* no drain now: never the stopped table */
    for (tc = tcache_list; tc != NULL; tc = tc->next)
        if (tc != mine)
            atomic_store_explicit(&tc->cell->tcache, &mp_tcache_stopped,
                                  memory_order_relaxed);
    if (mp_backend_barrier_all_threads() != 0) {
        /* No membarrier: undo, and ask instead. */
        for (tc = tcache_list; tc != NULL; tc = tc->next)
            if (tc != mine)
                atomic_store_explicit(&tc->cell->tcache, tc,
                                      memory_order_release);
        mp_mutex_unlock(&mp_tcache_lock);
        atomic_fetch_add_explicit(&drain_epoch, 1, memory_order_release);
        return false;
    }
    for (tc = tcache_list; tc != NULL; tc = tc->next) {
        if (tc == mine)
            continue;
        mp_tslot_t *s;
        uint32_t i;

        while (atomic_load_explicit(&tc->cell->in_op, memory_order_acquire))
            mp_backend_yield();
        for (s = used_first(tc, &i); s != NULL; s = used_next(tc, s, &i)) {
            if (s->limit != NULL &&
                s->gen == atomic_load_explicit(&tslot_gen[i],
                                               memory_order_relaxed) &&
                !(tslot_owner[i]->flags & MP_CACHE_NOLOCK))
                slot_flush_ex(tslot_owner[i], s, false);
        }
        atomic_store_explicit(&tc->cell->tcache, tc, memory_order_release);
    }
    mp_mutex_unlock(&mp_tcache_lock);
    return true;
}

size_t
mp_magazine_cached(struct mpool_cache *c)
{
    size_t n = depot_count(c) + __atomic_load_n(&c->q_count, __ATOMIC_RELAXED);

    if (c->tslot == MP_TSLOT_NONE)
        return n;
    mp_mutex_lock(&mp_tcache_lock);
    n += remote_cached_locked(c);
    mp_mutex_unlock(&mp_tcache_lock);
    return n;
}

/* ------------------------------------------------------------------------
 * Slow paths
 * ------------------------------------------------------------------------ */

static void *
direct_alloc(struct mpool_cache *c)
{
    void *obj;

    if (mp_slab_alloc(c, &obj, 1) != 1)
        obj = NULL;
    if (obj != NULL) {
        atomic_fetch_add_explicit(&c->allocs_miss, 1, memory_order_relaxed);
        if (c->flags & MPOOL_CACHE_ZERO)
            __builtin_memset(obj, 0, c->size);
    }
    return obj;
}

void *
mp_magazine_alloc_slow(struct mpool_cache *c)
{
    void *buf[MP_MAGAZINE_ROUNDS_MAX];
    mp_tcache_t *tc;
    mp_tslot_t *s;
    uint32_t cap, grow;
    void *obj;
    size_t n;

    if (c->tslot == MP_TSLOT_NONE || (s = slot_get(c)) == NULL)
        return direct_alloc(c);
    tc = tc_current();
    tc_enter_wait(tc);
    if (s->top != s->base) {
        /* a hit that had to come here (a zero-filling cache) */
        obj = s->top[-1];
        slot_set_top(s, s->top - 1);
        s->allocs++;
        tc_leave();
        goto got;
    }
    slot_publish(c, s);
    cap = slot_cap(s);
    grow = 0;
    if (s->refilled && cap < slot_cap_max(c) &&
        (cap < SLOT_CAP_PRODUCER || s->filled)) {
        /* Empty again after a refill with no spill between: the thread
         * takes more than it gives back; twice the batch (past
         * SLOT_CAP_PRODUCER only if it frees too). */
        uint32_t want = slot_cap_doubled(c, cap);
        if (want <= s->room) {
            cap = want;
            s->limit = s->base + cap;
        } else {
            grow = want; /* a larger stack first */
        }
    }
    tc_leave();
    if (grow != 0 && slot_grow(tc, s, grow))
        cap = grow;

    /* The slot is empty: half its capacity from the depot, or the slabs
     * (a full magazine at full capacity).  No mark is held meanwhile:
     * these take locks. */
    atomic_fetch_add_explicit(&c->allocs_miss, 1, memory_order_relaxed);
    n = depot_take(c, buf, cap / 2);
    if (n == 0) {
        n = mp_slab_alloc(c, buf, cap / 2);
        if (n == 0) {
            atomic_fetch_sub_explicit(&c->allocs_miss, 1,
                                      memory_order_relaxed);
            return NULL;
        }
    }
    obj = buf[--n];
    /* Only a drainer touched the slot since: it can only be emptier. */
    tc_enter_wait(tc);
    __builtin_memcpy(s->top, buf, n * sizeof(void *));
    slot_set_top(s, s->top + n);
    s->refilled = 1;
    s->spilled = 0;
    tc_leave();
got:
    if (c->flags & MPOOL_CACHE_ZERO)
        __builtin_memset(obj, 0, c->size);
    return obj;
}

void
mp_magazine_free_slow(struct mpool_cache *c, void *obj)
{
    void *buf[2 * MP_MAGAZINE_ROUNDS_MAX];
    mp_tcache_t *tc;
    mp_tslot_t *s;
    uint32_t cap, newcap, keep, n;

    if (c->tslot == MP_TSLOT_NONE || (s = slot_get(c)) == NULL) {
        objects_to_slabs(c, &obj, 1);
        atomic_fetch_add_explicit(&c->frees_miss, 1, memory_order_relaxed);
        return;
    }
    tc = tc_current();
    tc_enter_wait(tc);
    if (MP_UNLIKELY(s->top[-1] == obj)) { /* the fast path's check */
        tc_leave();
        mp_cache_double_free(c, obj);
    }
    cap = slot_cap(s);
    if (s->top == s->limit)
        s->filled = 1;
    if (s->top == s->limit && s->refilled && cap < slot_cap_max(c)) {
        /* Full after a refill: the thread's working set spans the whole
         * stack; twice the room instead of a spill. */
        uint32_t want = slot_cap_doubled(c, cap);
        if (want <= s->room) {
            s->limit = s->base + want;
        } else {
            /* a larger stack (none: a spill, as at full capacity) */
            tc_leave();
            (void)slot_grow(tc, s, want);
            tc_enter_wait(tc);
        }
        s->refilled = 0;
        cap = slot_cap(s);
    }
    if (s->top != s->limit) {
        *s->top = obj;
        slot_set_top(s, s->top + 1);
        s->frees++;
        tc_leave();
        return;
    }
    /* Full: the bottom of the stack is the coldest; it goes to the
     * depot, and half the capacity stays (none at the floor).  A thread
     * that keeps spilling with no refill between frees more than it
     * allocates (a consumer): its capacity halves, down to
     * slot_cap_min. */
    slot_publish(c, s);
    s->refilled = 0;
    newcap = cap;
    if (cap > slot_cap_min(c) &&
        (s->spilled += cap - cap / 2) >= SLOT_SHRINK_OBJECTS) {
        newcap = cap / 2 > slot_cap_min(c) ? cap / 2 : slot_cap_min(c);
        s->spilled = 0;
    }
    /* at the floor, a consumer: everything goes, in one visit */
    keep = newcap == slot_cap_min(c) ? 0 : newcap / 2;
    n = cap - keep;
    __builtin_memcpy(buf, s->base, n * sizeof(void *));
    __builtin_memmove(s->base, s->base + n, keep * sizeof(void *));
    s->base[keep] = obj;
    slot_set_top(s, s->base + keep + 1);
    s->limit = s->base + newcap;
    tc_leave();
    atomic_fetch_add_explicit(&c->frees_miss, 1, memory_order_relaxed);
    for (uint32_t i = 0; i < n; i += c->mag_rounds)
        depot_put(c, buf + i, n - i < c->mag_rounds ? n - i : c->mag_rounds,
                  true);
}

/* ------------------------------------------------------------------------
 * Walking (walk.c)
 * ------------------------------------------------------------------------ */

size_t
mp_magazine_collect(struct mpool_cache *c, void **out, size_t cap)
{
    size_t n = 0, want = 0;

    mp_mutex_lock(&mp_tcache_lock); /* no drain or thread exit meanwhile */
    if (c->tslot != MP_TSLOT_NONE)
        for (mp_tcache_t *tc = tcache_list; tc != NULL; tc = tc->next) {
            mp_tslot_t *s;
            if (c->tslot >= tc->capacity)
                continue;
            s = &tc->slots[c->tslot];
            if (__atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) != c->tslot_gen)
                continue;
            for (void **p = __atomic_load_n(&s->base, __ATOMIC_RELAXED);
                 p < __atomic_load_n(&s->top, __ATOMIC_RELAXED); p++, want++)
                if (n < cap)
                    out[n++] = *p;
        }
    mp_cache_lock(&c->depot_lock, c);
    for (mp_magazine_t *m = c->depot_full; m != NULL; m = m->next)
        for (size_t i = 0; i < m->rounds; i++, want++)
            if (n < cap)
                out[n++] = m->round[i];
    mp_cache_unlock(&c->depot_lock, c);
    mp_mutex_unlock(&mp_tcache_lock);
    return want;
}
