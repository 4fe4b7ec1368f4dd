/* SPDX-License-Identifier: MIT */
/*
 * pool.c - pools: independent heaps of blocks of any size.  The public
 * entry points, the list of pools, and the class pool, served here:
 *
 *   size <= 2 MiB    the pool's cache for the size's class (sizeclass.h),
 *                    created on first use; the same magazines and slabs as
 *                    any object cache, so the fast path takes no lock
 *   larger, or       a page run of its own (large.c), whose pages name
 *   aligned > 64     the block's header as their owner; past 2 MiB a huge
 *                    span, kept for reuse when freed (page/decay.c)
 *
 * A pool of another kind (a region pool, region-pool.c) has operations of
 * its own (pool.h): each entry point calls them where it would otherwise
 * go on to the classes, off the fast paths.
 *
 * A block is found from its address alone, through the segment map and
 * the page entries: a slab (its cache says the pool and the class), or a
 * large block's header (tagged with bit 0, as slab descriptors never are).
 * So mpool_free and mpool_usable_size need no header in front of a block,
 * and a pointer the library never gave out is recognised as such.  The
 * page entries of a pool's slab also name the pool and the cache, so
 * mpool_free's fast path reads one bit of the buddy map and one entry;
 * mpool_alloc's reads the pool's direct table of sizes (pool->fast).
 *
 * mpool_destroy() destroys the pool's children first (family.c), drains
 * every thread's magazines, then gives back each class cache's slabs whole
 * and each large run: time proportional to the pages the pool holds, not
 * to its blocks.  mpool_reset() empties a pool in the same time and keeps
 * it (reset.c).
 *
 * The limit is counted in bytes of pages: slabs are charged when made and
 * credited when given back (slab.c), large runs likewise; the charge is an
 * atomic add, taken only on those slow paths.
 *
 * Locks: pool->lock (class creation, the large list), taken with no other
 * library lock held; it comes before the caches' locks in cache.c's order.
 */
#include "pool/pool.h"
#include "pool/large.h"
#include "pool/pool-vg.h"
#include "pool/pool-fast.h"

#define POOL_ALIGN_FROM_CLASSES 64 /* alignments a class can honour */

/* The default pool; libmpool-malloc (malloc.c) allocates from it. */
MP_HIDDEN struct mpool mp_default_pool;
#define default_pool mp_default_pool
/* Defined (true) in libmpool-malloc only: free() of a pointer the library
 * never gave out is ignored there, as memory from before the library was
 * loaded may reach it; MPOOL_DEBUG=1 reports it instead. */
extern const bool mp_malloc_override __attribute__((weak));
MP_HIDDEN uint8_t mp_class_table[MP_CLASS_TABLE_MAX / 16 + 1];
static uint8_t pool_fast_class[POOL_FAST_SLOTS]; /* slot -> class */

/* mp_default_slot_offset (pool-fast.h): sizeclass.h's classes up to 1 KiB
 * as a constant expression, by size. */
#define SMALL_CLASS(s)                                                     \
    ((s) <= 8     ? 0                                                      \
     : (s) <= 128 ? ((s) + 15) >> 4                                        \
     : (s) <= 256 ? 9 + (((s) - 128 + 15) >> 4) - 1                        \
     : (s) <= 512 ? 17 + (((s) - 256 + 31) >> 5) - 1                       \
                  : 25 + (((s) - 512 + 63) >> 6) - 1)
#define SLOT_OF(s) ((uint16_t)(64 + 64 * SMALL_CLASS(s)))
#define SLOTS_4(s) SLOT_OF(s), SLOT_OF(s + 1), SLOT_OF(s + 2), SLOT_OF(s + 3)
#define SLOTS_16(s) SLOTS_4(s), SLOTS_4(s + 4), SLOTS_4(s + 8), SLOTS_4(s + 12)
#define SLOTS_64(s)                                                        \
    SLOTS_16(s), SLOTS_16(s + 16), SLOTS_16(s + 32), SLOTS_16(s + 48)
#define SLOTS_256(s)                                                       \
    SLOTS_64(s), SLOTS_64(s + 64), SLOTS_64(s + 128), SLOTS_64(s + 192)
MP_HIDDEN const uint16_t mp_default_slot_offset[POOL_FAST_SMALL_MAX + 1] = {
    SLOTS_256(0), SLOTS_256(256), SLOTS_256(512), SLOTS_256(768),
    SLOT_OF(1024),
};
_Static_assert(POOL_FAST_SMALL_MAX == 1024, "the table above covers 1 KiB");
_Static_assert(SMALL_CLASS(1024) < MP_DEFAULT_FIXED_CLASSES,
               "the default pool's sizes up to 1 KiB have fixed classes");
static mp_mutex_t pools_lock = MP_MUTEX_INIT(POOLS);
static struct mpool *pools; /* under pools_lock */
MP_HIDDEN _Atomic unsigned mp_region_pools; /* live pools with ops: over
                                              caller memory */

/* The pages of a pool's struct: a class pool's, or its kind's. */
static size_t
pool_pages(const struct mp_pool_ops *ops)
{
    size_t size = ops != NULL ? ops->size : sizeof(struct mpool);

    return (size + MP_PAGE_SIZE - 1) >> MP_PAGE_SHIFT;
}

void
mp_pools_lock(void)
{
    mp_mutex_lock(&pools_lock);
}

void
mp_pools_unlock(void)
{
    mp_mutex_unlock(&pools_lock);
}

void
mp_pool_list_locked(struct mpool *p)
{
    p->prev = NULL;
    p->next = pools;
    if (pools != NULL)
        pools->prev = p;
    pools = p;
}

void
mp_pool_unlist_locked(struct mpool *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        pools = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    p->next = p->prev = NULL;
}

static void
pool_init(struct mpool *p, const struct mp_pool_ops *ops, const char *name,
          size_t limit)
{
    size_t n = 0;

    __builtin_memset(p, 0, sizeof(*p));
    mp_mutex_init(&p->lock, MP_LOCK_POOL, 0);
    p->ops = ops;
    p->limit = limit;
    if (name != NULL)
        while (n < MPOOL_CACHE_NAME_MAX && name[n] != '\0') {
            p->name[n] = name[n];
            n++;
        }
    p->magic = MP_POOL_MAGIC;
}

/* The default pool's retention cap, as set before the library is
 * initialised (MPOOL_OPTIONS's "retain" is read before). */
static size_t default_retain = MP_DEFAULT_RETAIN;
/* Whether a program set the default pool's retain (MPOOL_OPTIONS, mallopt,
 * mpool_set_option): only then does it bound the large runs kept too. */
static bool default_retain_set;

void
mp_pool_set_default_retain(size_t bytes)
{
    default_retain = bytes;
    default_retain_set = true;
    if (mp_initialised())
        default_pool.retain = bytes;
}

bool
mp_pool_retain_bounds_large(const struct mpool *p)
{
    return p->retain != 0 && (!p->is_default || default_retain_set);
}

void
mp_pool_bootstrap(void)
{
    mp_cache_init_internal(&mp_large_cache, "mpool_large", sizeof(mp_large_t),
                           MP_INTERNAL_CLIENT);
    /* sizes 16k-15 .. 16k share a class: the class of 16k */
    for (size_t i = 0; i <= MP_CLASS_TABLE_MAX / 16; i++)
        mp_class_table[i] = (uint8_t)mp_size_class_compute(i * 16);
    for (size_t size = 0; size <= POOL_FAST_MAX; size++)
        pool_fast_class[mp_pool_fast_slot(size)] =
            (uint8_t)mp_size_class_compute(size);
    for (size_t size = 0; size <= POOL_FAST_SMALL_MAX; size++)
        MP_ASSERT(mp_default_slot_offset[size] ==
                  mp_tslot_offset(mp_size_class_compute(size)));
    MP_ASSERT(mp_class_size(MP_DEFAULT_FIXED_CLASSES - 1) == 4096);
    pool_init(&default_pool, NULL, "default", 0);
    default_pool.retain = default_retain;
    default_pool.is_default = true;
    mp_family_link(&default_pool, NULL);
}

/* The hooks a pool installs in its class caches (cache/cache.h). */

/* Of a pool's empty slabs, those of one block each (the classes above 64
 * KiB) may be at most POOL_SINGLE_KEPT, within the retain cap: past that
 * one that empties goes back at once, purged (unpurged in the default
 * pool, under its implicit cap: see pool_empty_slab).  Such a slab serves its
 * class only, and a program whose large sizes move from class to class
 * filled the whole cap with them (git repack: doc/bench-suite.md, issue
 * 16).  Giving each back at once instead cost a buffer freed and
 * allocated again in a loop a purge and its pages faulted in again each
 * time (100 KiB: 75 ns -> 21 us).  Counted in slabs, not bytes: a bound
 * of 1 MiB kept only one buffer of 1-2 MiB (bench/large-buffers 3000 8 1
 * 2: 20 % more page faults than the cap alone; 7 % with two slabs). */
/* The default pool gives such a slab back unpurged, for any run to reuse,
 * from this size up (pool_empty_slab): buffers of 1-2 MiB replaced at
 * random faulted every page in again (bench/large-buffers 3000 8 1 2: 969
 * us a replacement, glibc 146).  Below it, purged as before: git repack's
 * sizes of 72-208 KiB peaked 1-2 % higher released unpurged from 256 KiB
 * up, 7 % from the smallest. */
#ifndef POOL_REUSE_MIN
#define POOL_REUSE_MIN ((size_t)1 << 20)
#endif
#ifndef POOL_SINGLE_KEPT
#define POOL_SINGLE_KEPT 2
#endif

static enum mp_empty_verdict
pool_empty_slab(void *owner, ptrdiff_t bytes, bool single)
{
    struct mpool *p = owner;
    size_t now = atomic_fetch_add_explicit(&p->empty, (size_t)bytes,
                                           memory_order_relaxed) +
                 (size_t)bytes;
    size_t single_now = 0;

    if (single)
        single_now = atomic_fetch_add_explicit(&p->empty_single,
                                               bytes > 0 ? 1 : (size_t)-1,
                                               memory_order_relaxed) +
                     (bytes > 0 ? 1 : (size_t)-1);
    MP_ASSERT((ptrdiff_t)single_now >= 0); /* counted out as counted in */
    if (bytes <= 0 || p->retain == 0 ||
        (now <= p->retain && !(single && single_now > POOL_SINGLE_KEPT)))
        return MP_EMPTY_KEEP;
    /* the default pool's own cap leaves a slab of one block of 1 MiB or
     * more to the page level unpurged, as it does a freed large run: any
     * class or run may reuse its pages, under the page level's bound; a
     * cap the program set gives memory back as it says */
    return single && (size_t)bytes >= POOL_REUSE_MIN &&
                   !mp_pool_retain_bounds_large(p)
               ? MP_EMPTY_RELEASE
               : MP_EMPTY_RELEASE_PURGED;
}

bool
mp_pool_charge(struct mpool *p, ptrdiff_t bytes)
{
    size_t now = atomic_fetch_add_explicit(&p->taken, (size_t)bytes,
                                           memory_order_relaxed) +
                 (size_t)bytes;

    if (bytes > 0 && p->limit != 0 && now > p->limit) {
        atomic_fetch_sub_explicit(&p->taken, (size_t)bytes,
                                  memory_order_relaxed);
        return false;
    }
    if (bytes > 0)
        mp_pool_peak_raise(p, now);
    return true;
}

static bool
pool_charge_hook(void *owner, ptrdiff_t bytes)
{
    return mp_pool_charge(owner, bytes);
}

static const mp_cache_owner_ops_t pool_class_ops = {
    .charge = pool_charge_hook,
    .empty_slab = pool_empty_slab,
};

/* The pool a caller named: NULL is the default pool. */
static struct mpool *
pool_resolve(mpool_t *pool, const char *caller)
{
    if (pool == NULL || pool == &default_pool) {
        if (mp_init() != 0)
            return NULL;
        return &default_pool;
    }
    if (pool->magic != MP_POOL_MAGIC)
        mp_cache_panic(caller, "not a live pool", pool, NULL, NULL);
    return pool;
}

/* ------------------------------------------------------------------------
 * Create and destroy
 * ------------------------------------------------------------------------ */

mpool_t *
mpool_create(const mpool_options_t *opt)
{
    const struct mp_pool_ops *ops = NULL; /* a class pool */
    struct mpool *p, *parent = NULL;
    bool is_zero;
    int rc;

    /* A program built against 0.1 passes the size of 0.1's options, which
     * end before .parent (MP_OPTIONS_SIZE_0_1). */
    if (opt != NULL && (opt->size < MP_OPTIONS_SIZE_0_1 ||
                        (opt->flags & ~MPOOL_SINGLE_THREADED) != 0)) {
        mp_set_errno(EINVAL);
        return NULL;
    }
    if ((rc = mp_init()) != 0) {
        mp_set_errno(rc);
        return NULL;
    }
    /* checked again as it is linked (family.c); here, before any work */
    if (opt != NULL && MP_OPTIONS_HAVE(opt, parent) &&
        (parent = opt->parent) != NULL && !mp_pool_valid(parent)) {
        mp_set_errno(EINVAL);
        return NULL;
    }
    if (opt != NULL && opt->region != NULL)
        ops = &mp_region_pool_ops;
    p = mp_pages_alloc(pool_pages(ops), &is_zero);
    if (p == NULL)
        return NULL;
    pool_init(p, ops, opt != NULL ? opt->name : NULL,
              opt != NULL ? opt->limit : 0);
    if (opt != NULL) {
        p->retain = opt->retain;
        p->flags = opt->flags;
    }
    if (ops != NULL) {
        rc = ops->init(p, opt);
        if (rc != 0) {
            mp_pages_free(p, pool_pages(ops));
            mp_set_errno(rc);
            return NULL;
        }
    }
    rc = mp_family_link(p, parent);
    if (rc != 0) { /* the parent went away meanwhile */
        if (ops != NULL)
            ops->destroy(p);
        p->magic = 0;
        mp_pages_free(p, pool_pages(ops));
        mp_set_errno(rc);
        return NULL;
    }
    if (ops != NULL)
        atomic_fetch_add(&mp_region_pools, 1);
    return p;
}

mpool_t *
mpool_default(void)
{
    return mp_init() == 0 ? &default_pool : NULL;
}

/* Its children first, depth first (family.c), then the pool. */
void
mpool_destroy(mpool_t *pool)
{
    struct mpool *doomed;

    if (pool == NULL || pool == &default_pool)
        return;
    pool_resolve(pool, "mpool_destroy");
    mp_mutex_lock(&pools_lock);
    if (pool->dying) { /* its parent's destroy, in another thread, has it:
                          the program's race, made harmless where it can */
        mp_mutex_unlock(&pools_lock);
        return;
    }
    doomed = mp_family_doom_locked(pool, true);
    mp_mutex_unlock(&pools_lock);
    mp_family_release(doomed);
}

void
mp_pool_release(struct mpool *pool)
{
    if (pool->ops != NULL) {
        pool->ops->destroy(pool);
        atomic_fetch_sub(&mp_region_pools, 1);
    } else {
        for (unsigned i = 0; i < MP_CLASSES; i++) {
            struct mpool_cache *c = atomic_load(&pool->classes[i]);
            if (c != NULL)
                mp_cache_delete_unlisted(c);
        }
        mp_large_release_all(pool);
        /* a call on the dead pool then finds no slot, and its magic */
        for (size_t i = 0; i < POOL_FAST_SLOTS; i++)
            atomic_store_explicit(&pool->fast[i], 0, memory_order_relaxed);
    }
    pool->magic = 0;
    mp_pages_free(pool, pool_pages(pool->ops));
}

bool
mp_pool_valid(const void *ptr)
{
    const struct mpool *p = ptr;
    mp_page_t *page;

    if (p == &default_pool)
        return true;
    if (p == NULL || ((uintptr_t)p & (MP_PAGE_SIZE - 1)) != 0 ||
        (page = mp_buddy_page_fast(p)) == NULL)
        return false;
    /* the head of a run handed out, owned by no slab or large block: a
     * pool's struct, a thread table, a run of mpool_pages_alloc; readable
     * then, and only a pool's holds the magic there */
    return __atomic_load_n(&page->state, __ATOMIC_RELAXED) == MP_PAGE_RUN &&
           __atomic_load_n(&page->owner, __ATOMIC_RELAXED) == NULL &&
           __atomic_load_n(&p->magic, __ATOMIC_RELAXED) == MP_POOL_MAGIC;
}

void
mp_pools_visit(void (*fn)(struct mpool *, void *), void *arg)
{
    mp_mutex_lock(&pools_lock);
    for (struct mpool *p = pools; p != NULL; p = p->next)
        fn(p, arg);
    mp_mutex_unlock(&pools_lock);
}

size_t
mp_pool_shrink(struct mpool *p)
{
    size_t pages = 0;

    for (unsigned i = 0; i < MP_CLASSES; i++) {
        struct mpool_cache *c = atomic_load(&p->classes[i]);
        if (c != NULL)
            pages += mp_cache_shrink(c);
    }
    return pages;
}

size_t
mp_pools_shrink(void)
{
    size_t pages = 0;

    mp_mutex_lock(&pools_lock);
    for (struct mpool *p = pools; p != NULL; p = p->next)
        if (!(p->flags & MPOOL_SINGLE_THREADED) && /* its thread's to do */
            !p->resetting) /* reset.c empties it */
            pages += mp_pool_shrink(p);
    mp_mutex_unlock(&pools_lock);
    return pages;
}

/* ------------------------------------------------------------------------
 * Classes
 * ------------------------------------------------------------------------ */

/* The thread slot a class claims (cache.h): the default pool's classes of
 * 4 KiB and less their own fixed one; the others that mpool_alloc's
 * direct table serves (16 KiB and less) a shared fixed one while there
 * is one; the rest any. */
static uint32_t
pool_class_slot(const struct mpool *p, unsigned index)
{
    if (p == &default_pool && index < MP_DEFAULT_FIXED_CLASSES)
        return index;
    return mp_class_size(index) <= POOL_FAST_MAX ? MP_TSLOT_SHARED
                                                 : MP_TSLOT_NONE;
}

static MP_NOINLINE struct mpool_cache *
pool_class_create(struct mpool *p, unsigned index)
{
    struct mpool_cache *c;
    char name[MPOOL_CACHE_NAME_MAX + 1];
    size_t size = mp_class_size(index), n = 0, v = size;
    char digits[24];
    size_t nd = 0;

    /* "<pool>:<size>", built by hand: no stdio in the core */
    for (const char *q = p->name[0] ? p->name : "pool"; *q && n < 20; q++)
        name[n++] = *q;
    name[n++] = ':';
    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (nd > 0 && n < MPOOL_CACHE_NAME_MAX)
        name[n++] = digits[--nd];
    name[n] = '\0';

    pool_lock(p);
    c = atomic_load_explicit(&p->classes[index], memory_order_acquire);
    if (c == NULL) {
        c = mp_cache_new_unlisted(name, size, size >= 16 ? 16 : 8,
                                  p->flags & MPOOL_SINGLE_THREADED
                                      ? MP_CACHE_NOLOCK
                                      : 0,
                                  p, &pool_class_ops,
                                  pool_class_slot(p, index));
        if (c != NULL) {
            atomic_store_explicit(&p->classes[index], c,
                                  memory_order_release);
            mp_pool_fast_set(p, index);
        }
    }
    pool_unlock(p);
    return c;
}

/* Point the direct table's entries for class `index` at its fixed thread
 * slot, as it is now (made, or given a new index by mpool_reset); the
 * null slot where there is no class yet, or a class whose blocks must be
 * trimmed (valgrind, checking mode), or one without a fixed slot (every
 * shared one taken: cache.h), whose calls then go the way of any cache. */
void
mp_pool_fast_set(struct mpool *p, unsigned index)
{
    struct mpool_cache *c =
        atomic_load_explicit(&p->classes[index], memory_order_acquire);
    int16_t word = c != NULL &&
                           !(c->flags & (MP_CACHE_VG | MPOOL_CACHE_DEBUG))
                       ? mp_tslot_fast_word(c)
                       : 0;

    for (size_t i = 0; i < POOL_FAST_SLOTS; i++)
        if (pool_fast_class[i] == index)
            atomic_store_explicit(&p->fast[i], word, memory_order_relaxed);
}

static inline struct mpool_cache *
pool_class(struct mpool *p, unsigned index)
{
    struct mpool_cache *c =
        atomic_load_explicit(&p->classes[index], memory_order_acquire);

    return MP_LIKELY(c != NULL) ? c : pool_class_create(p, index);
}

/* A class block is an object of its class's size.  In checking mode the
 * bytes past the size asked for become red zone (debug.c); under valgrind
 * the block becomes that size, the rest of the class inaccessible. */
static void *
pool_trim(struct mpool_cache *c, void *obj, size_t size)
{
    if (obj != NULL && (c->flags & MPOOL_CACHE_DEBUG))
        mp_debug_trim(c, obj, size);
    mp_pool_vg_class_block(c, obj, size);
    return obj;
}

/* The pool with ops whose memory holds ptr, if any (a region pool). */
static struct mpool *
pool_containing(const void *ptr)
{
    struct mpool *found = NULL;

    if (atomic_load_explicit(&mp_region_pools, memory_order_relaxed) == 0)
        return NULL;
    mp_mutex_lock(&pools_lock);
    for (struct mpool *p = pools; p != NULL && found == NULL; p = p->next)
        if (p->ops != NULL && p->ops->contains(p, ptr))
            found = p;
    mp_mutex_unlock(&pools_lock);
    return found;
}

/* ------------------------------------------------------------------------
 * The interface
 * ------------------------------------------------------------------------ */

MP_NOINLINE void *
mp_pool_alloc_slow(mpool_t *pool, size_t size)
{
    struct mpool *p = pool_resolve(pool, "mpool_alloc");
    struct mpool_cache *c;

    if (p == NULL)
        return NULL;
    if (p->ops != NULL)
        return p->ops->alloc(p, size, 16);
    if (size <= MP_LARGE_ABOVE) {
        c = pool_class(p, mp_size_class(size));
        return c != NULL ? pool_trim(c, mp_cache_alloc_inline(c), size)
                         : NULL;
    }
    return mp_large_alloc(p, size, MP_PAGE_SIZE, NULL);
}

/* The pool's direct table, sizes up to 16 KiB (pool->fast), or the slow
 * path: mpool_alloc, and malloc's sizes past its own table (1 KiB).  The
 * entry names the class's fixed slot in the calling thread's table (no
 * bound test: every table has the fixed slots); its pop fails for
 * everything else (no class yet, a class with no fixed slot, a first use,
 * an empty stack, a region pool, whose table is all null slots), which
 * the slow path sorts out.
 *
 * Instruction budget (x86-64, gcc 12 -O2; mpool_alloc, sizes up to 1
 * KiB): 17 with the return: the pool tested (2), the size bound (2), the
 * entry (1), the cell's TLS offset (1), the mark (1), the table (1), the
 * slot (1), the pop (6), the mark cleared, return.  One more than
 * malloc's, the pool's test. */
static inline void *
pool_alloc_entry(mpool_t *pool, size_t i, size_t size)
{
    void *obj;

    if (MP_LIKELY(mp_tslot_pop_word(&pool->fast[i], &obj)))
        return obj;
    return mp_pool_alloc_slow(pool, size);
}

/* Sizes past 1 KiB: entries by 128-byte steps. */
static MP_NOINLINE void *
pool_alloc_table_large(mpool_t *pool, size_t size)
{
    if (size <= POOL_FAST_MAX)
        return pool_alloc_entry(pool, mp_pool_fast_slot(size), size);
    return mp_pool_alloc_slow(pool, size);
}

static inline void *
pool_alloc_table(mpool_t *pool, size_t size)
{
    if (MP_LIKELY(size <= POOL_FAST_SMALL_MAX))
        return pool_alloc_entry(pool, size, size); /* entry = size */
    return pool_alloc_table_large(pool, size);
}

MP_NOINLINE void *
mp_pool_default_alloc_slow(size_t size)
{
    return pool_alloc_table(&default_pool, size);
}

MP_NOINLINE void
mp_pool_default_free_slow(void *ptr)
{
    mp_pool_free_slow(&default_pool, ptr);
}

void *
mpool_alloc(mpool_t *pool, size_t size)
{
    /* the common case: a named pool whose class exists; the pool's magic
     * is checked where the class is made */
    if (MP_LIKELY(pool != NULL))
        return pool_alloc_table(pool, size);
    return mp_pool_alloc_slow(pool, size);
}

/* A default pool's slab block goes the way of any cache (a first use, a
 * full stack, a block freed twice in a row, a class with no fixed slot);
 * anything else the slow way, which checks everything. */
MP_NOINLINE void
mp_pool_default_free_cold(void *ptr)
{
    mp_page_t *page = mp_buddy_page_fast(ptr);

    MP_ASSERT(page != NULL);
    if (page->group == &default_pool)
        mp_cache_free_inline_ex(page->sub_owner, ptr, false, true);
    else
        mp_pool_free_slow(&default_pool, ptr);
}

MP_NOINLINE void
mp_pool_free_slow(mpool_t *pool, void *ptr)
{
    mp_slab_t *s;
    mp_large_t *l;

    if (ptr == NULL)
        return;
    if (pool == &default_pool && &mp_malloc_override != NULL &&
        mp_segment_lookup(ptr) == NULL && pool_containing(ptr) == NULL &&
        !mp_debug_all)
        return; /* free() of memory libmpool-malloc never gave out */
    if (pool != NULL && pool->magic == MP_POOL_MAGIC && pool->ops != NULL) {
        pool->ops->free(pool, ptr);
        return;
    }
    l = mp_large_lookup(ptr, &s, "mpool_free", pool);
    if (l != NULL) {
        if (pool != NULL && l->pool != pool && (mp_debug_all))
            mp_cache_panic("mpool_free", "block freed to the wrong pool", ptr,
                           pool->name, l->pool->name);
        mp_large_free(l);
        return;
    }
    if (MP_UNLIKELY(((struct mpool *)s->cache->owner) == NULL))
        mp_cache_panic("mpool_free", "object of a cache freed with mpool_free",
                       ptr, s->cache->name, NULL);
    if (MP_UNLIKELY(pool != NULL && ((struct mpool *)s->cache->owner) != pool &&
                    (s->cache->flags & MPOOL_CACHE_DEBUG)))
        mp_cache_panic("mpool_free", "block freed to the wrong pool", ptr,
                       pool->name, ((struct mpool *)s->cache->owner)->name);
    mp_cache_free_inline(s->cache, ptr);
}

/* mpool_free past a push that found no room, or past a page whose word
 * names no fixed slot: a slab block of the pool named (the default pool
 * for NULL) goes the way of any cache, anything else the slow way. */
static MP_NOINLINE void
pool_free_cold(mpool_t *pool, void *ptr)
{
    mp_page_t *page = mp_buddy_page_fast(ptr);

    MP_ASSERT(page != NULL);
    if (page->group == (pool != NULL ? pool : &default_pool))
        mp_cache_free_inline_ex(page->sub_owner, ptr, false, true);
    else
        mp_pool_free_slow(pool, ptr);
}

/* free()'s fast path (pool-fast.h), whatever the pool: the page's word
 * names the fixed slot of its class, of whichever pool, and a block freed
 * to another pool goes back to its own class, as the slow path does
 * outside checking mode (whose classes have no slot, so it checks every
 * call).  No page a region pool's memory lies in has a word
 * (mp_pages_forget_fast_words), so a region's block never takes this way.
 * 25 instructions, as free's. */
void
mpool_free(mpool_t *pool, void *ptr)
{
    enum mp_pool_free_way way = mp_pool_free_fast(ptr);

    if (MP_LIKELY(way == MP_POOL_FREED))
        return;
    if (way == MP_POOL_FREE_COLD)
        pool_free_cold(pool, ptr);
    else
        mp_pool_free_slow(pool, ptr);
}

size_t
mpool_usable_size(const void *ptr)
{
    return mp_pool_usable_inline(ptr);
}

/* Everything but a class pool's slab block in plain mode (pool-fast.h). */
MP_NOINLINE size_t
mp_pool_usable_slow(const void *ptr)
{
    mp_slab_t *s;
    mp_large_t *l;
    struct mpool *rp;

    if (ptr == NULL)
        return 0;
    if ((rp = pool_containing(ptr)) != NULL)
        return rp->ops->usable_size(rp, ptr);
    l = mp_large_lookup(ptr, &s, "mpool_usable_size", NULL);
    if (l != NULL)
        return mp_large_usable(l);
    if (s->cache->flags & MPOOL_CACHE_DEBUG)
        return mp_debug_usable(s->cache, ptr);
    return s->cache->size;
}

/* calloc of a large block: pages fresh from the backend (or purged) read
 * zero already, and are not written (a calloc(1 GiB) never touched costs
 * no memory); only those a span kept for reuse may hold are cleared. */
static MP_NOINLINE void *
pool_calloc_large(mpool_t *pool, size_t bytes)
{
    struct mpool *p = pool_resolve(pool, "mpool_calloc");
    size_t dirty = bytes;
    void *block;

    if (p == NULL)
        return NULL;
    if (p->ops != NULL)
        block = p->ops->alloc(p, bytes, 16);
    else
        block = mp_large_alloc(p, bytes, MP_PAGE_SIZE, &dirty);
    if (block != NULL) {
        __builtin_memset(block, 0, dirty);
        mp_vg_defined(block, bytes);
    }
    return block;
}

void *
mpool_calloc(mpool_t *pool, size_t nmemb, size_t size)
{
    size_t bytes;
    void *p;

    if (__builtin_mul_overflow(nmemb, size, &bytes)) {
        mp_set_errno(ENOMEM);
        return NULL;
    }
    if (bytes > MP_LARGE_ABOVE)
        return pool_calloc_large(pool, bytes);
    p = mpool_alloc(pool, bytes);
    if (p != NULL)
        __builtin_memset(p, 0, bytes);
    return p;
}

void *
mpool_aligned_alloc(mpool_t *pool, size_t alignment, size_t size)
{
    struct mpool *p;
    size_t rounded;

    if (alignment == 0 || (alignment & (alignment - 1)) != 0 ||
        alignment > MP_POOL_ALIGN_MAX) {
        mp_set_errno(EINVAL);
        return NULL;
    }
    if (alignment <= 16) /* every class of 16 B or more is 16-aligned */
        return mpool_alloc(pool, size < alignment ? alignment : size);
    p = pool_resolve(pool, "mpool_aligned_alloc");
    if (p == NULL)
        return NULL;
    if (p->ops != NULL)
        return p->ops->alloc(p, size, alignment);
    if (alignment <= POOL_ALIGN_FROM_CLASSES && size <= MP_LARGE_ABOVE) {
        /* the smallest class that is a multiple of the alignment: its
         * objects are, since slabs start on pages and colours step by 64
         * (in checking mode, only if the red zone keeps the stride so) */
        rounded = (size + alignment - 1) & ~(alignment - 1);
        for (unsigned i = mp_size_class(rounded); i < MP_CLASSES; i++)
            if (mp_class_size(i) % alignment == 0) {
                struct mpool_cache *c = pool_class(p, i);
                if (c == NULL)
                    return NULL;
                if (c->stride % alignment != 0)
                    break; /* a page run of its own, below */
                return pool_trim(c, mp_cache_alloc_inline(c), size);
            }
    }
    return mp_large_alloc(p, size,
                          alignment > MP_PAGE_SIZE ? alignment : MP_PAGE_SIZE,
                          NULL);
}

void *
mp_pool_move(mpool_t *alloc_from, mpool_t *free_to, void *ptr, size_t copy,
             size_t size)
{
    void *moved = mpool_alloc(alloc_from, size);

    if (moved == NULL)
        return NULL;
    __builtin_memcpy(moved, ptr, copy < size ? copy : size);
    mpool_free(free_to, ptr);
    return moved;
}

/* A class pool's block, under valgrind or in checking mode, where realloc
 * always moves it (mp_pool_vg_realloc_moves): the bytes copied are those
 * the program asked for, what is addressable of the old block. */
static void *
pool_realloc_moving(mpool_t *pool, void *ptr, size_t size)
{
    mp_slab_t *s;
    mp_large_t *l = mp_large_lookup(ptr, &s, "mpool_realloc", pool);
    size_t old = mpool_usable_size(ptr);
    struct mpool *owner = pool != NULL ? pool
                          : l != NULL  ? l->pool
                                       : ((struct mpool *)s->cache->owner);

    return mp_pool_move(owner, pool, ptr, mp_vg_addressable(ptr, old), size);
}

/* What a class block that realloc moves gets.  The classes are close
 * (eight per doubling), so a block grown a few bytes at a time, as string
 * builders and growing arrays do, would leave its class at nearly every
 * step: a block that grows gets a quarter more than asked for (two or
 * three classes up), up to the largest class, so that the next few steps
 * stay in place.  Shrinks and blocks that become large get what they ask.
 * A slab block cannot itself grow (its neighbours are other blocks of the
 * class), so this headroom is what keeps growth in place; in place means
 * within the block's class, or a shrink to no less than half of it
 * (mimalloc's rule), which mpool_realloc(3) documents.  A pool with a
 * limit gets what is asked, so that headroom never makes a realloc fail
 * that would have fitted. */
static size_t
realloc_grown(size_t old, size_t size)
{
    size_t grown;

    if (size <= old || size > MP_CLASS_LARGEST)
        return size;
    grown = size + size / 4;
    return grown < MP_CLASS_LARGEST ? grown : MP_CLASS_LARGEST;
}

/* The class cache of ptr when it is a class block of the pool named (or
 * of any class pool, when none is), from the page entry alone
 * (mp_pool_page_class, pool-fast.h), and memcheck is not watching; NULL
 * for everything else (large blocks, region pools, checking mode, a block
 * of another pool), which the way through the large-block lookup sorts
 * out, coming to the same answer for a class block.  About 25
 * instructions, where that way took about 100. */
static inline struct mpool_cache *
pool_class_block(mpool_t *pool, const void *ptr)
{
    mp_page_t *page = mp_buddy_page_fast(ptr);

    if (page == NULL || mp_pool_vg_realloc_moves())
        return NULL;
    __asm__("" : "+r"(page)); /* as in mp_pool_usable_inline */
    if (pool != NULL && page->group != pool)
        return NULL;
    return mp_pool_page_class(page);
}

/* realloc of a class block of c to size: in place within the class, or a
 * shrink to half of it; else moved, to pool or (none named) the block's
 * own. */
static void *
pool_realloc_class(struct mpool *pool, struct mpool_cache *c, void *ptr,
                   size_t size)
{
    size_t old = c->size;
    struct mpool *to;

    if (size <= old && ((struct mpool *)c->owner) != NULL && size >= old / 2)
        return ptr; /* in place: the class, or a shrink to half of it */
    to = pool != NULL ? pool : (struct mpool *)c->owner;
    /* growing from 64 KiB on: moved with the headroom of large.h */
    if (old >= ((size_t)64 << 10))
        return mp_pool_move_grow(to, pool, ptr, old, size);
    return mp_pool_move(to, pool, ptr, old,
                        to != NULL && to->limit == 0
                            ? realloc_grown(old, size)
                            : size);
}

void *
mpool_realloc(mpool_t *pool, void *ptr, size_t size)
{
    struct mpool_cache *c;
    mp_slab_t *s;
    mp_large_t *l;

    if (ptr == NULL)
        return mpool_alloc(pool, size);
    if ((c = pool_class_block(pool, ptr)) != NULL)
        return pool_realloc_class(pool, c, ptr, size);
    if (pool != NULL && pool_resolve(pool, "mpool_realloc")->ops != NULL)
        return pool->ops->realloc(pool, ptr, size);
    if (mp_pool_vg_realloc_moves())
        return pool_realloc_moving(pool, ptr, size);
    l = mp_large_lookup(ptr, &s, "mpool_realloc", pool);
    if (l != NULL)
        return mp_large_realloc(l, pool, size);
    return pool_realloc_class(pool, s->cache, ptr, size);
}

/* ------------------------------------------------------------------------
 * fork (fork.c)
 * ------------------------------------------------------------------------ */

/* The pool layer's locks of class cls.  pools_lock is taken at its turn
 * and released at its turn after fork, so the list stays locked while the
 * walk of the later classes (each pool's lock, each region pool's own,
 * the classes' caches and depots) goes through it. */
void
mp_pools_fork(enum mp_lock_class cls, enum mp_fork_phase phase)
{
    if (cls == MP_LOCK_POOLS) {
        mp_mutex_fork(&pools_lock, phase);
        return;
    }
    for (struct mpool *p = pools; p != NULL; p = p->next) {
        if (cls == MP_LOCK_POOL) {
            mp_mutex_fork(&p->lock, phase);
        } else if (cls == MP_LOCK_REGION) {
            if (p->ops != NULL)
                p->ops->fork(p, phase);
        } else if (cls == MP_LOCK_CACHE || cls == MP_LOCK_DEPOT) {
            for (unsigned i = 0; i < MP_CLASSES; i++) {
                struct mpool_cache *c = atomic_load(&p->classes[i]);
                if (c != NULL)
                    mp_cache_fork(c, cls, phase);
            }
        }
    }
}

void
mp_pools_visit_classes(void (*fn)(struct mpool_cache *, void *), void *arg)
{
    mp_mutex_lock(&pools_lock);
    for (struct mpool *p = pools; p != NULL; p = p->next)
        for (unsigned i = 0; i < MP_CLASSES; i++) {
            struct mpool_cache *c = atomic_load(&p->classes[i]);
            if (c != NULL)
                fn(c, arg);
        }
    mp_mutex_unlock(&pools_lock);
}
