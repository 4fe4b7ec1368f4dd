/* SPDX-License-Identifier: MIT */
/*
 * pool.c - pools: independent heaps of blocks of any size.
 *
 *   size <= 8 MiB    the pool's cache for the size's class (sizeclass.h),
 *                    created on first use; the same magazines and slabs as
 *                    any object cache, so the fast path takes no lock
 *   larger, or       a page run of its own (mp_large_t), whose pages name
 *   aligned > 64     the block's header as their owner
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
 * mpool_destroy() drains every thread's magazines, then gives back each
 * class cache's slabs whole and each large run: time proportional to the
 * pages the pool holds, not to its blocks.
 *
 * The limit is counted in bytes of pages: slabs are charged when made and
 * credited when given back (slab.c), large runs likewise; the charge is an
 * atomic add, taken only on those slow paths.
 *
 * Locks: pool->lock (class creation, the large list), taken with no other
 * library lock held but the pool list's; its place: base/lock.h.
 */
#include "pool/pool.h"
#include "pool/region.h"
#include "pool/sizeclass.h"
#include "base/vg.h"

#define MP_POOL_MAGIC ((uintptr_t)0x6d70706f6f6c2121ull)
#define POOL_ALIGN_FROM_CLASSES 64 /* alignments a class can honour */
#define LARGE_REDZONE_BYTE 0xbb    /* checking mode: after a large block */
#define LARGE_FREED_KEPT 64        /* checking mode: large blocks remembered
                                      after free, to name a double free */
/* Alignments up to 2 MiB, and at most half a segment: a block aligned
 * further would start past its span's first segment, where its address
 * no longer leads to its header (256 KiB segments on k210). */
#define POOL_ALIGN_MAX                                                     \
    ((size_t)2 << 20 < MP_SEGMENT_SIZE / 2 ? (size_t)2 << 20                \
                                           : MP_SEGMENT_SIZE / 2)

/* mpool_alloc's direct table: sizes up to 1 KiB by 8-byte steps, then up
 * to 16 KiB by 128-byte steps, each slot naming the class cache that
 * serves its sizes once the class exists.  Class boundaries fall on those
 * steps (sizeclass.h), so one slot never straddles two classes. */
#define POOL_FAST_SMALL_MAX 1024
#define POOL_FAST_MAX 16384
#define POOL_FAST_SLOTS (POOL_FAST_SMALL_MAX / 8 + 1 + \
                         (POOL_FAST_MAX - POOL_FAST_SMALL_MAX) / 128)

static inline size_t
pool_fast_slot(size_t size)
{
    if (size <= POOL_FAST_SMALL_MAX)
        return (size + 7) >> 3;
    return POOL_FAST_SMALL_MAX / 8 + ((size - POOL_FAST_SMALL_MAX + 127) >> 7);
}

struct mpool {
    struct mpool_cache *_Atomic fast[POOL_FAST_SLOTS]; /* first: no offset
                                                         on the fast path */
    uintptr_t magic;
    struct mpool_cache *_Atomic classes[MP_CLASSES];
    mp_mutex_t lock;          /* classes[] creation, large list */
    mp_large_t *large;
    size_t limit;            /* bytes; 0: none */
    _Atomic size_t taken;    /* bytes of pages held */
    size_t retain;           /* bytes of empty slabs kept; 0: no cap */
    unsigned flags;          /* MPOOL_SINGLE_THREADED */
    _Atomic size_t empty;    /* bytes in empty slabs now */
    bool is_default;
    struct mpool *next;      /* every pool, for reclaim */
    struct mpool *prev;
    struct mp_region *region; /* a pool over the caller's memory, or NULL */
    char name[MPOOL_CACHE_NAME_MAX + 1];
    struct mp_region region_state;
};

/* The default pool; libmpool-malloc (malloc.c) allocates from it. */
MP_HIDDEN struct mpool mp_default_pool;
#define default_pool mp_default_pool
/* Defined (true) in libmpool-malloc only: free() of a pointer the library
 * never gave out is ignored there, as memory from before the library was
 * loaded may reach it; MPOOL_DEBUG=1 reports it instead. */
extern const bool mp_malloc_override __attribute__((weak));
MP_HIDDEN uint8_t mp_class_table[MP_CLASS_TABLE_MAX / 16 + 1];
static uint8_t pool_fast_class[POOL_FAST_SLOTS]; /* slot -> class */
static mp_mutex_t pools_lock = MP_MUTEX_INIT(POOLS);
static struct mpool *pools; /* under pools_lock */
static _Atomic unsigned region_pools; /* live pools over caller memory */
/* Checking mode: the last large blocks freed, so that freeing one again is
 * reported as a double free rather than as a stranger (their pages are
 * gone).  A diagnostic only: relaxed, and old entries are overwritten. */
static _Atomic uintptr_t large_freed[LARGE_FREED_KEPT];
static _Atomic unsigned large_freed_next;

/* The pool's own lock, skipped for a single-threaded pool. */
#define pool_lock(p)                                                       \
    do {                                                                   \
        if (!((p)->flags & MPOOL_SINGLE_THREADED))                         \
            mp_mutex_lock(&(p)->lock);                                   \
    } while (0)
#define pool_unlock(p)                                                     \
    do {                                                                   \
        if (!((p)->flags & MPOOL_SINGLE_THREADED))                         \
            mp_mutex_unlock(&(p)->lock);                                   \
    } while (0)

#define POOL_PAGES ((sizeof(struct mpool) + MP_PAGE_SIZE - 1) >> MP_PAGE_SHIFT)

static void
pool_link(struct mpool *p)
{
    mp_mutex_lock(&pools_lock);
    p->prev = NULL;
    p->next = pools;
    if (pools != NULL)
        pools->prev = p;
    pools = p;
    mp_mutex_unlock(&pools_lock);
}

static void
pool_init(struct mpool *p, const char *name, size_t limit)
{
    size_t n = 0;

    __builtin_memset(p, 0, sizeof(*p));
    mp_mutex_init(&p->lock, MP_LOCK_POOL, 0);
    p->limit = limit;
    if (name != NULL)
        while (n < MPOOL_CACHE_NAME_MAX && name[n] != '\0') {
            p->name[n] = name[n];
            n++;
        }
    p->magic = MP_POOL_MAGIC;
}

MP_HIDDEN struct mpool_cache mp_large_cache;

void
mp_pool_bootstrap(void)
{
    mp_cache_init_internal(&mp_large_cache, "mpool_large", sizeof(mp_large_t),
                           MP_INTERNAL_CLIENT);
    /* sizes 16k-15 .. 16k share a class: the class of 16k */
    for (size_t i = 0; i <= MP_CLASS_TABLE_MAX / 16; i++)
        mp_class_table[i] = (uint8_t)mp_size_class_compute(i * 16);
    for (size_t size = 0; size <= POOL_FAST_MAX; size++)
        pool_fast_class[pool_fast_slot(size)] =
            (uint8_t)mp_size_class_compute(size);
    pool_init(&default_pool, "default", 0);
    default_pool.is_default = true;
    pool_link(&default_pool);
}

/* The hooks a pool installs in its class caches (cache/cache.h). */
static bool
pool_empty_slab(void *owner, ptrdiff_t bytes)
{
    struct mpool *p = owner;
    size_t now = atomic_fetch_add_explicit(&p->empty, (size_t)bytes,
                                           memory_order_relaxed) +
                 (size_t)bytes;

    return bytes > 0 && p->retain != 0 && now > p->retain;
}

static bool
pool_charge_hook(void *owner, ptrdiff_t bytes);

static const mp_cache_owner_ops_t pool_class_ops = {
    .charge = pool_charge_hook,
    .empty_slab = pool_empty_slab,
};

static bool
pool_charge(struct mpool *p, ptrdiff_t bytes)
{
    size_t now = atomic_fetch_add_explicit(&p->taken, (size_t)bytes,
                                           memory_order_relaxed) +
                 (size_t)bytes;

    if (bytes > 0 && p->limit != 0 && now > p->limit) {
        atomic_fetch_sub_explicit(&p->taken, (size_t)bytes,
                                  memory_order_relaxed);
        return false;
    }
    return true;
}

static bool
pool_charge_hook(void *owner, ptrdiff_t bytes)
{
    return pool_charge(owner, bytes);
}

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
    struct mpool *p;
    bool is_zero;
    int rc;

    if (opt != NULL && (opt->size < sizeof(mpool_options_t) ||
                        (opt->flags & ~MPOOL_SINGLE_THREADED) != 0)) {
        mp_set_errno(EINVAL);
        return NULL;
    }
    if ((rc = mp_init()) != 0) {
        mp_set_errno(rc);
        return NULL;
    }
    p = mp_pages_alloc(POOL_PAGES, &is_zero);
    if (p == NULL)
        return NULL;
    pool_init(p, opt != NULL ? opt->name : NULL,
              opt != NULL ? opt->limit : 0);
    if (opt != NULL) {
        p->retain = opt->retain;
        p->flags = opt->flags;
    }
    if (opt != NULL && opt->region != NULL) {
        rc = mp_region_init(&p->region_state, opt->region, opt->region_size);
        if (rc != 0) {
            mp_pages_free(p, POOL_PAGES);
            mp_set_errno(rc);
            return NULL;
        }
        p->region = &p->region_state;
        atomic_fetch_add(&region_pools, 1);
    }
    pool_link(p);
    return p;
}

mpool_t *
mpool_default(void)
{
    return mp_init() == 0 ? &default_pool : NULL;
}

void
mpool_destroy(mpool_t *pool)
{
    mp_large_t *l;

    if (pool == NULL || pool == &default_pool)
        return;
    pool_resolve(pool, "mpool_destroy");
    mp_mutex_lock(&pools_lock);
    if (pool->prev != NULL)
        pool->prev->next = pool->next;
    else
        pools = pool->next;
    if (pool->next != NULL)
        pool->next->prev = pool->prev;
    mp_mutex_unlock(&pools_lock);
    if (pool->region != NULL) {
        /* the memory is the caller's: nothing to give back */
        if (mp_vg_active) {
            mp_region_forget(pool->region); /* its blocks, for memcheck */
            mp_vg_undefined(pool->region->base, pool->region->size);
        }
        atomic_fetch_sub(&region_pools, 1);
        pool->magic = 0;
        mp_pages_free(pool, POOL_PAGES);
        return;
    }

    mp_tcache_drain_others(); /* every thread's magazines, into depots */
    for (unsigned i = 0; i < MP_CLASSES; i++) {
        struct mpool_cache *c = atomic_load(&pool->classes[i]);
        if (c != NULL)
            mp_cache_delete_unlisted(c);
    }
    while ((l = pool->large) != NULL) {
        void *hdr = l;
        pool->large = l->next;
        mp_vg_block_free(mp_unhide(l->block_h));
        mp_vg_undefined(mp_unhide(l->run_h), l->npages << MP_PAGE_SHIFT);
        mp_pages_free(mp_unhide(l->run_h), l->npages);
        mp_internal_free(&mp_large_cache, hdr, "mpool_destroy");
    }
    pool->magic = 0;
    mp_pages_free(pool, POOL_PAGES);
}

bool
mp_pool_is_live(const struct mpool *pool)
{
    bool live = false;

    mp_mutex_lock(&pools_lock);
    for (struct mpool *p = pools; p != NULL && !live; p = p->next)
        live = p == pool;
    mp_mutex_unlock(&pools_lock);
    return live;
}

struct mp_region *
mp_pool_region(struct mpool *p)
{
    return p->region;
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
        if (!(p->flags & MPOOL_SINGLE_THREADED)) /* its thread's to do */
            pages += mp_pool_shrink(p);
    mp_mutex_unlock(&pools_lock);
    return pages;
}

/* ------------------------------------------------------------------------
 * Classes and large blocks
 * ------------------------------------------------------------------------ */

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
                                  p, &pool_class_ops);
        if (c != NULL) {
            atomic_store_explicit(&p->classes[index], c,
                                  memory_order_release);
            /* not under valgrind or checking: blocks must be trimmed */
            for (size_t i = 0; i < POOL_FAST_SLOTS && !mp_vg_active &&
                               !(c->flags & MPOOL_CACHE_DEBUG);
                 i++)
                if (pool_fast_class[i] == index)
                    atomic_store_explicit(&p->fast[i], c,
                                          memory_order_release);
        }
    }
    pool_unlock(p);
    return c;
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
    if (obj != NULL && (c->flags & MP_CACHE_VG)) {
        size_t keep = size > 0 ? size : 1; /* so destroy can see it */
        mp_vg_block_resize(obj, c->size, keep);
        mp_vg_noaccess((char *)obj + keep, c->size - keep);
    }
    return obj;
}

/* Under valgrind: a block of a region pool is a heap block too. */
static void *
pool_vg_region_block(struct mpool *p, void *block, size_t size)
{
    if (block != NULL && mp_vg_active) {
        mp_vg_block_alloc(block, size);
        mp_vg_noaccess((char *)block + size,
                       mp_region_usable_size(p->region, block) - size);
    }
    return block;
}

static void *
large_alloc(struct mpool *p, size_t size, size_t align)
{
    size_t npages, extra = 0, bytes;
    mp_large_t *l;
    void *hdr;
    bool is_zero;
    char *run;

    if (size > (SIZE_MAX >> 1) || align > POOL_ALIGN_MAX) {
        mp_set_errno(ENOMEM);
        return NULL;
    }
    npages = (size + MP_PAGE_SIZE - 1) >> MP_PAGE_SHIFT;
    if (npages == 0)
        npages = 1;
    if (align > MP_PAGE_SIZE)
        extra = (align >> MP_PAGE_SHIFT) - 1;
    npages += extra;
    bytes = npages << MP_PAGE_SHIFT;
    if (!pool_charge(p, (ptrdiff_t)bytes)) {
        mp_set_errno(ENOMEM);
        return NULL;
    }
    hdr = mp_internal_alloc(&mp_large_cache);
    run = hdr == NULL   ? NULL
          : mp_debug_all ? mp_pages_alloc_guarded(npages, &is_zero)
                         : mp_pages_alloc(npages, &is_zero);
    if (run == NULL) {
        if (hdr != NULL) {
            mp_internal_free(&mp_large_cache, hdr, "mpool_alloc");
        }
        pool_charge(p, -(ptrdiff_t)bytes);
        mp_set_errno(ENOMEM);
        return NULL;
    }
    l = hdr;
    l->pool = p;
    l->run_h = mp_hide(run);
    l->npages = npages;
    l->block_h = mp_hide((char *)(((uintptr_t)run + align - 1) &
                                  ~(uintptr_t)(align - 1)));
    l->size = 0;
    if (mp_debug_all) {
        /* checking mode: a guard page follows the run, and the bytes
         * between the block's end and the guard are red zone */
        char *end = mp_unhide(l->block_h) + size;
        l->size = size > 0 ? size : 1;
        __builtin_memset(end, LARGE_REDZONE_BYTE,
                         (size_t)(run + bytes - end));
    }
    mp_pages_set_owner(run, npages, (char *)l + 1);
    if (mp_vg_active) {
        mp_vg_noaccess(run, npages << MP_PAGE_SHIFT);
        mp_vg_block_alloc(mp_unhide(l->block_h), size);
    }
    pool_lock(p);
    l->prev = NULL;
    l->next = p->large;
    if (p->large != NULL)
        p->large->prev = l;
    p->large = l;
    pool_unlock(p);
    return mp_unhide(l->block_h);
}

static size_t
large_usable(const mp_large_t *l)
{
    if (l->size != 0)
        return l->size;
    return (size_t)(mp_unhide(l->run_h) + (l->npages << MP_PAGE_SHIFT) -
                    mp_unhide(l->block_h));
}

/* Checking mode: the red zone from the block's end to the guard page. */
static void
large_check(const mp_large_t *l, const char *caller)
{
    const unsigned char *end =
        (const unsigned char *)mp_unhide(l->block_h) + l->size;
    const unsigned char *limit =
        (const unsigned char *)mp_unhide(l->run_h) +
        (l->npages << MP_PAGE_SHIFT);

    mp_vg_defined(end, (size_t)(limit - end)); /* closed under valgrind */
    for (; end < limit; end++)
        if (*end != LARGE_REDZONE_BYTE)
            mp_cache_panic(caller, "write past the end of a block",
                           mp_unhide(l->block_h), l->pool->name, NULL);
}

static void
large_free(mp_large_t *l)
{
    struct mpool *p = l->pool;
    void *hdr = l;

    if (l->size != 0) {
        unsigned slot = atomic_fetch_add_explicit(&large_freed_next, 1,
                                                  memory_order_relaxed);
        large_check(l, "mpool_free");
        atomic_store_explicit(&large_freed[slot % LARGE_FREED_KEPT],
                              (uintptr_t)mp_unhide(l->block_h),
                              memory_order_relaxed);
    }
    pool_lock(p);
    if (l->prev != NULL)
        l->prev->next = l->next;
    else
        p->large = l->next;
    if (l->next != NULL)
        l->next->prev = l->prev;
    pool_unlock(p);
    if (mp_vg_active) {
        mp_vg_block_free(mp_unhide(l->block_h));
        mp_vg_undefined(mp_unhide(l->run_h), l->npages << MP_PAGE_SHIFT);
    }
    mp_pages_free(mp_unhide(l->run_h), l->npages);
    pool_charge(p, -(ptrdiff_t)(l->npages << MP_PAGE_SHIFT));
    mp_internal_free(&mp_large_cache, hdr, "mpool_free");
}

/* The region pool whose memory holds ptr, if any. */
static struct mpool *
region_pool_of(const void *ptr)
{
    struct mpool *found = NULL;

    if (atomic_load_explicit(&region_pools, memory_order_relaxed) == 0)
        return NULL;
    mp_mutex_lock(&pools_lock);
    for (struct mpool *p = pools; p != NULL && found == NULL; p = p->next)
        if (p->region != NULL && mp_region_contains(p->region, ptr))
            found = p;
    mp_mutex_unlock(&pools_lock);
    return found;
}

/* Checking mode: was ptr a large block freed lately? */
static bool
large_was_freed(const void *ptr)
{
    if (!mp_debug_all)
        return false;
    for (unsigned i = 0; i < LARGE_FREED_KEPT; i++)
        if (atomic_load_explicit(&large_freed[i], memory_order_relaxed) ==
            (uintptr_t)ptr)
            return true;
    return false;
}

/* What holds ptr: a slab (*slab set) or a large block (returned). */
static mp_large_t *
block_owner(const void *ptr, mp_slab_t **slab, const char *caller,
            const struct mpool *p)
{
    void *owner = mp_pages_owner(ptr);

    if (owner == NULL && large_was_freed(ptr))
        mp_cache_panic(caller, "double free", ptr,
                       p != NULL ? p->name : NULL, NULL);
    if (owner == NULL)
        mp_cache_panic(caller,
                       mp_segment_lookup(ptr) != NULL
                           ? "pointer to memory not in use (freed twice?)"
                           : "pointer not from any pool",
                       ptr, p != NULL ? p->name : NULL, NULL);
    if (((uintptr_t)owner & 1) != 0) {
        mp_large_t *l = (mp_large_t *)((char *)owner - 1);
        if (mp_unhide(l->block_h) != ptr)
            mp_cache_panic(caller, "pointer is not the start of a block",
                           ptr, l->pool->name, NULL);
        *slab = NULL;
        return l;
    }
    *slab = owner;
    return NULL;
}

/* ------------------------------------------------------------------------
 * The interface
 * ------------------------------------------------------------------------ */

static MP_NOINLINE void *
pool_alloc_slow(mpool_t *pool, size_t size)
{
    struct mpool *p = pool_resolve(pool, "mpool_alloc");
    struct mpool_cache *c;

    if (p == NULL)
        return NULL;
    if (p->region != NULL)
        return pool_vg_region_block(p, mp_region_alloc(p->region, size, 16),
                                    size);
    if (size <= MP_CLASS_LARGEST) {
        c = pool_class(p, mp_size_class(size));
        return c != NULL ? pool_trim(c, mp_cache_alloc_inline(c), size)
                         : NULL;
    }
    return large_alloc(p, size, MP_PAGE_SIZE);
}

void *
mpool_alloc(mpool_t *pool, size_t size)
{
    struct mpool_cache *c;

    /* the common case: a named pool whose class exists; the pool's magic
     * is checked where the class is made */
    if (MP_LIKELY(pool != NULL && size <= POOL_FAST_MAX &&
                  (c = atomic_load_explicit(&pool->fast[pool_fast_slot(size)],
                                            memory_order_acquire)) != NULL))
        return mp_cache_alloc_inline_ex(c, false);
    return pool_alloc_slow(pool, size);
}

static MP_NOINLINE void
pool_free_slow(mpool_t *pool, void *ptr)
{
    mp_slab_t *s;
    mp_large_t *l;

    if (ptr == NULL)
        return;
    if (pool == &default_pool && &mp_malloc_override != NULL &&
        mp_segment_lookup(ptr) == NULL && region_pool_of(ptr) == NULL &&
        !mp_debug_all)
        return; /* free() of memory libmpool-malloc never gave out */
    if (pool != NULL && pool->magic == MP_POOL_MAGIC && pool->region != NULL) {
        mp_vg_block_free(ptr);
        if (mp_region_free(pool->region, ptr) != 0)
            mp_cache_panic("mpool_free",
                           mp_region_contains(pool->region, ptr)
                               ? "pointer is not a live block of the region"
                               : "pointer not from this pool",
                           ptr, pool->name, NULL);
        return;
    }
    l = block_owner(ptr, &s, "mpool_free", pool);
    if (l != NULL) {
        if (pool != NULL && l->pool != pool && (mp_debug_all))
            mp_cache_panic("mpool_free", "block freed to the wrong pool", ptr,
                           pool->name, l->pool->name);
        large_free(l);
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

void
mpool_free(mpool_t *pool, void *ptr)
{
    mp_page_t *page;

    /* the common case: a slab block of the pool named, whose page says so
     * (NULL for the default pool, large blocks and strangers go the slow
     * way, which checks everything) */
    if (MP_LIKELY(pool != NULL && (page = mp_buddy_page_fast(ptr)) != NULL &&
                  page->group == pool))
        mp_cache_free_inline_ex(page->sub_owner, ptr, false, true);
    else
        pool_free_slow(pool, ptr);
}

size_t
mpool_usable_size(const void *ptr)
{
    mp_slab_t *s;
    mp_large_t *l;
    struct mpool *rp;

    if (ptr == NULL)
        return 0;
    if ((rp = region_pool_of(ptr)) != NULL)
        return mp_region_usable_size(rp->region, ptr);
    l = block_owner(ptr, &s, "mpool_usable_size", NULL);
    if (l != NULL)
        return large_usable(l);
    if (s->cache->flags & MPOOL_CACHE_DEBUG)
        return mp_debug_usable(s->cache, ptr);
    return s->cache->size;
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
        alignment > POOL_ALIGN_MAX) {
        mp_set_errno(EINVAL);
        return NULL;
    }
    if (alignment <= 16) /* every class of 16 B or more is 16-aligned */
        return mpool_alloc(pool, size < alignment ? alignment : size);
    p = pool_resolve(pool, "mpool_aligned_alloc");
    if (p == NULL)
        return NULL;
    if (p->region != NULL)
        return pool_vg_region_block(
            p, mp_region_alloc(p->region, size, alignment), size);
    if (alignment <= POOL_ALIGN_FROM_CLASSES && size <= MP_CLASS_LARGEST) {
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
    return large_alloc(p, size, alignment > MP_PAGE_SIZE ? alignment
                                                         : MP_PAGE_SIZE);
}

/* Under valgrind and in checking mode, realloc always moves the block:
 * memcheck then sees the old block freed and a new one of the new size,
 * the checks see a new red zone, and the bytes copied are those the
 * program asked for (what is addressable of the old block). */
static void *
pool_realloc_moving(mpool_t *pool, void *ptr, size_t size)
{
    struct mpool *owner = pool;
    size_t old;
    void *moved;

    if (pool != NULL && pool_resolve(pool, "mpool_realloc")->region != NULL) {
        old = mp_region_usable_size(pool->region, ptr);
        if (old == 0)
            mp_cache_panic("mpool_realloc", "pointer not from this pool", ptr,
                           pool->name, NULL);
    } else {
        mp_slab_t *s;
        mp_large_t *l = block_owner(ptr, &s, "mpool_realloc", pool);
        old = mpool_usable_size(ptr);
        if (owner == NULL)
            owner = l != NULL ? l->pool : ((struct mpool *)s->cache->owner);
    }
    old = mp_vg_addressable(ptr, old);
    moved = mpool_alloc(owner, size);
    if (moved == NULL)
        return NULL;
    __builtin_memcpy(moved, ptr, old < size ? old : size);
    mpool_free(pool, ptr);
    return moved;
}

void *
mpool_realloc(mpool_t *pool, void *ptr, size_t size)
{
    mp_slab_t *s;
    mp_large_t *l;
    size_t old;
    void *moved;

    if (ptr == NULL)
        return mpool_alloc(pool, size);
    if (mp_vg_active || mp_debug_all)
        return pool_realloc_moving(pool, ptr, size);
    if (pool != NULL && pool_resolve(pool, "mpool_realloc")->region != NULL) {
        void *r = mp_region_realloc(pool->region, ptr, size);
        if (r == NULL && mp_region_usable_size(pool->region, ptr) == 0)
            mp_cache_panic("mpool_realloc", "pointer not from this pool",
                           ptr, pool->name, NULL);
        return r;
    }
    l = block_owner(ptr, &s, "mpool_realloc", pool);
    if (l == NULL) {
        old = s->cache->size;
        /* in place while the size stays in the block's class */
        if (size <= MP_CLASS_LARGEST && ((struct mpool *)s->cache->owner) != NULL &&
            mp_class_size(mp_size_class(size)) == old)
            return ptr;
    } else {
        old = large_usable(l);
        if (size > MP_CLASS_LARGEST && size <= old &&
            size > old - MP_PAGE_SIZE)
            return ptr; /* the same number of pages */
    }
    moved = mpool_alloc(pool != NULL ? pool
                        : l != NULL  ? l->pool
                                     : ((struct mpool *)s->cache->owner),
                        size);
    if (moved == NULL)
        return NULL;
    __builtin_memcpy(moved, ptr, old < size ? old : size);
    mpool_free(pool, ptr);
    return moved;
}

/* ------------------------------------------------------------------------
 * fork (fork.c)
 * ------------------------------------------------------------------------ */

/* The pool layer's locks of class cls.  pools_lock is taken at its turn
 * and released at its turn after fork, so the list stays locked while the
 * walk of the later classes (each pool's, each region's, the classes'
 * caches' and depots') goes through it. */
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
            if (p->region != NULL)
                mp_mutex_fork(&p->region->lock, phase);
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
