/* SPDX-License-Identifier: MIT */
/*
 * cache.c - object caches: mpool_cache_create, _alloc, _free, _destroy,
 * _find and _set_reclaim.
 *
 * 1. Overview
 *
 *   An object cache hands out objects of one size and keeps them
 *   constructed while they are free (Bonwick, "The Slab Allocator", 1994).
 *   It has three layers, each in its own file:
 *
 *     thread slots   magazine.c   per thread, no lock: the fast path
 *     depot          magazine.c   full magazines, per cache, one lock
 *     slabs          slab.c       page runs cut into objects, per cache,
 *                                 one lock; pages from pages.c
 *
 *   mpool_cache_alloc() pops from the calling thread's slot for the cache
 *   and mpool_cache_free() pushes onto it; only an empty or full slot goes
 *   further down (Bonwick & Adams, "Magazines and Vmem", 2001).
 *
 * 2. The fast path
 *
 *   The byte offset of a cache's slot in a thread table is
 *   cache->fast_offset; the thread's table is in its cell (backend.h), one
 *   initial-exec TLS access.  Allocation is: mark the cell, load the
 *   table, compare the offset with the table's end, load the slot's top
 *   and base, compare, store top - 1, load the object, count, clear the
 *   mark.  Free is the same with the limit.  A table starts as the shared
 *   empty table (no room), so a thread's first call takes the slow path,
 *   which builds its table.  A cache that must not use the fast path
 *   (zero-filling, no magazines, too many caches) has fast_offset
 *   MP_TSLOT_NONE, which no table reaches.  A cache's slot is one of the
 *   fixed ones, which every table has, while there are some (cache.h):
 *   the fast paths of pools' classes that name it (cache.h,
 *   mp_tslot_pop_fixed; pool.c) skip the bound test.
 *
 * 3. Object state
 *
 *   The constructor runs when an object is first carved out of a slab, the
 *   destructor when its slab goes back to the page level (reclaim or
 *   destroy).  In between, alloc and free run neither.  Both run with no
 *   lock held (section 6).
 *
 * 4. Names
 *
 *   Names are unique among live caches, kept in a registry (a list under
 *   registry_lock, which also serialises create and destroy).  Destroy
 *   frees the name.  The library's own caches (slab descriptors, magazines,
 *   thread stacks, cache structures) are not in the registry: their names
 *   start with "mpool_" and only reports show them.
 *
 * 5. Destroy
 *
 *   Every thread's slots are flushed (the others' through the drain of
 *   magazine.c) and the depot drained, then, under the thread-table lock
 *   so that no other thread's flush can slip in, the objects out of the
 *   slabs are compared with those in magazines: any left over are the
 *   program's, and destroy fails with EBUSY, the cache intact.  Otherwise
 *   the slot index is retired (other threads drop their slots for it at
 *   their next slow path) and every slab is given back, destructors first.
 *   Where the drain cannot be done at once (no membarrier), objects still
 *   in other threads' slots are free objects: they go with the slabs, and
 *   those threads drop them.
 *
 * 6. Locks and calling out
 *
 *   The locks here (registry_lock, each cache's lock and depot lock, the
 *   thread-table lock, the internal caches') take their places in the one
 *   lock order, base/lock.h.  Constructors and destructors run with no
 *   lock held (slab.c), and so do reclaim callbacks (mp_caches_reclaim):
 *   the program's code may allocate and free anywhere.  An allocation
 *   that runs out of memory reclaims through the hook the layer above
 *   installed (mp_cache_oom_reclaim), with no lock held, and tries once
 *   more; an allocation made by a reclaim callback does not reclaim again.
 *   Reclaim calls the callbacks with the cache in hand marked busy and no
 *   lock held, and shrinks the registry's caches under registry_lock but
 *   runs the destructors of the slabs it detached after dropping it (each
 *   keeps its cache busy); destroy waits for busy caches, then unlinks the
 *   cache before its own destructors run.
 */
#include "cache/cache.h"
#include "base/vg.h"

MP_HIDDEN struct mpool_cache mp_slab_cache;
MP_HIDDEN struct mpool_cache mp_magazine_caches[MP_SIZE_TIERS];
MP_HIDDEN struct mpool_cache mp_stack_caches[MP_SIZE_TIERS];
/* Each at most the largest: a backend with fewer rounds (k210, 32) has
 * sizes of the same room, of which the first serves and only it is laid
 * out (mp_cache_bootstrap). */
#define TIER(n, max) ((n) < (max) ? (n) : (max))
MP_HIDDEN const uint32_t mp_magazine_tier_rounds[MP_SIZE_TIERS] = {
    TIER(16, MP_MAGAZINE_ROUNDS_MAX), TIER(64, MP_MAGAZINE_ROUNDS_MAX),
    TIER(128, MP_MAGAZINE_ROUNDS_MAX), MP_MAGAZINE_ROUNDS_MAX};
MP_HIDDEN const uint32_t mp_stack_tier_room[MP_SIZE_TIERS] = {
    TIER(16, 2 * MP_MAGAZINE_ROUNDS_MAX), TIER(64, 2 * MP_MAGAZINE_ROUNDS_MAX),
    TIER(256, 2 * MP_MAGAZINE_ROUNDS_MAX), 2 * MP_MAGAZINE_ROUNDS_MAX};
MP_HIDDEN struct mpool_cache *mp_registry;
static struct mpool_cache mp_cache_cache;   /* struct mpool_cache itself */
MP_HIDDEN struct mpool_cache *mp_internal_caches[MP_INTERNAL_CACHES];

/* What an allocation that ran out of memory calls, with no lock held,
 * before it tries once more: installed by the top layer (init.c), which
 * knows every layer that can give memory back. */
MP_HIDDEN size_t (*mp_cache_oom_reclaim)(void);

static mp_mutex_t registry_lock = MP_MUTEX_INIT(REGISTRY);
static _Atomic unsigned callbacks_running; /* reclaim callbacks in flight */

void
mp_registry_lock(void)
{
    mp_mutex_lock(&registry_lock);
}

void
mp_registry_unlock(void)
{
    mp_mutex_unlock(&registry_lock);
}

static size_t
name_length(const char *name)
{
    size_t n = 0;

    while (n <= MPOOL_CACHE_NAME_MAX && name[n] != '\0')
        n++;
    return n;
}

static bool
name_equal(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static struct mpool_cache *
registry_find_locked(const char *name)
{
    for (struct mpool_cache *c = mp_registry; c != NULL; c = c->next)
        if (name_equal(c->name, name))
            return c;
    return NULL;
}

/* The most rounds a magazine of a cache made from now on may hold: the
 * option "magazine" (lib/set-option.c) lowers it; 0 gives such caches no
 * magazines at all.  Read when a cache is made, never on a fast path. */
MP_HIDDEN uint32_t mp_magazine_rounds_max = MP_MAGAZINE_ROUNDS_MAX;

/* Fill in a cache's fields.  0, or an error number. */
static int
cache_init(struct mpool_cache *c, const char *name, size_t size,
           size_t align, mpool_ctor_fn *ctor, mpool_dtor_fn *dtor, void *arg,
           unsigned flags)
{
    size_t len = name_length(name);
    int rc;

    __builtin_memset(c, 0, sizeof(*c));
    __builtin_memcpy(c->name, name, len);
    c->size = size;
    c->align = align;
    c->ctor = ctor;
    c->dtor = dtor;
    c->arg = arg;
    c->flags = flags;
    c->tslot = MP_TSLOT_NONE;
    c->tslot_claim = MP_TSLOT_NONE;
    c->fast_offset = MP_TSLOT_NONE;
    c->fixed_offset = mp_tslot_offset(MP_TSLOT_NULL);
    mp_mutex_init(&c->lock, MP_LOCK_CACHE, 0);
    mp_mutex_init(&c->depot_lock, MP_LOCK_DEPOT, 0);
    rc = mp_slab_layout(c);
    if (rc != 0)
        return rc;
    c->mag_rounds = (uint32_t)(MP_MAGAZINE_BYTES / c->stride);
    if (c->mag_rounds > MP_MAGAZINE_ROUNDS &&
        c->stride > MP_MAGAZINE_TINY)
        c->mag_rounds = MP_MAGAZINE_ROUNDS;
    if (c->mag_rounds > mp_magazine_rounds_max)
        c->mag_rounds = mp_magazine_rounds_max;
    c->magic = MP_CACHE_MAGIC;
    return 0;
}

void
mp_cache_init_internal(struct mpool_cache *c, const char *name, size_t size,
                       unsigned key)
{
    if (key >= MP_INTERNAL_CACHES ||
        cache_init(c, name, size, sizeof(void *), NULL, NULL, NULL,
                   MPOOL_CACHE_NOMAGAZINE) != 0)
        mp_panic("mp_cache_bootstrap", "cannot lay out an internal cache",
                 c);
    mp_mutex_init(&c->lock, MP_LOCK_INTERNAL, key);
    mp_internal_caches[key] = c;
}

/* The slab descriptors' cache comes last (its key is the highest): a slab
 * of stacks (off-slab, like any cache's of objects of 1/8 page or more)
 * takes and gives back its descriptor under its own cache's lock, and
 * reclaim, which gives back the others' empty slabs first, then finds
 * the descriptors' slabs they emptied. */
void
mp_cache_bootstrap(void)
{
    mp_cache_init_internal(&mp_slab_cache, "mpool_slab", sizeof(mp_slab_t),
                           MP_INTERNAL_SLAB);
    /* a size equal to the one before it is never used (the first of
     * equal sizes serves: magazine.c, size_tier), and is not laid out */
    for (unsigned t = 0; t < MP_SIZE_TIERS; t++) {
        char name[MPOOL_CACHE_NAME_MAX + 1];
        size_t at;

        if (t == 0 ||
            mp_magazine_tier_rounds[t] != mp_magazine_tier_rounds[t - 1]) {
            at = mp_fmt_str(name, 0, sizeof(name), "mpool_magazine");
            at = mp_fmt_uint(name, at, sizeof(name),
                             mp_magazine_tier_rounds[t]);
            name[at] = '\0';
            mp_cache_init_internal(&mp_magazine_caches[t], name,
                                   offsetof(mp_magazine_t, round) +
                                       mp_magazine_tier_rounds[t] *
                                           sizeof(void *),
                                   MP_INTERNAL_MAGAZINE + t);
        }
        if (t == 0 || mp_stack_tier_room[t] != mp_stack_tier_room[t - 1]) {
            at = mp_fmt_str(name, 0, sizeof(name), "mpool_stack");
            at = mp_fmt_uint(name, at, sizeof(name), mp_stack_tier_room[t]);
            name[at] = '\0';
            mp_cache_init_internal(&mp_stack_caches[t], name,
                                   (mp_stack_tier_room[t] + 1) *
                                       sizeof(void *),
                                   MP_INTERNAL_STACK + t);
        }
    }
    mp_cache_init_internal(&mp_cache_cache, "mpool_cache",
                           sizeof(struct mpool_cache),
                           MP_INTERNAL_CACHE_STRUCT);
    /* A destroyed cache's structure keeps its fields while it is free, so
     * that a call on it finds the dead mark instead of a list link. */
    mp_cache_cache.flags |= MP_CACHE_KEEP_STATE;
    mp_slab_layout(&mp_cache_cache);
}

/* ------------------------------------------------------------------------
 * Create, find, destroy
 * ------------------------------------------------------------------------ */

#define KNOWN_FLAGS \
    (MPOOL_CACHE_ZERO | MPOOL_CACHE_NOMAGAZINE | MPOOL_CACHE_DEBUG)

mpool_cache_t *
mpool_cache_create(const char *name, size_t size, size_t align,
                   mpool_ctor_fn *ctor, mpool_dtor_fn *dtor, void *arg,
                   unsigned flags)
{
    struct mpool_cache *c;
    size_t len;
    void *mem;
    int rc;

    if (name == NULL || (len = name_length(name)) == 0 ||
        len > MPOOL_CACHE_NAME_MAX || size == 0 ||
        (align & (align - 1)) != 0 || align > MP_PAGE_SIZE ||
        (flags & ~KNOWN_FLAGS) != 0 ||
        ((flags & MPOOL_CACHE_ZERO) && ctor != NULL)) {
        mp_set_errno(EINVAL);
        return NULL;
    }
    if (size > ((size_t)1 << 40)) {
        mp_set_errno(ENOMEM);
        return NULL;
    }
    if (mp_debug_all)
        flags |= MPOOL_CACHE_DEBUG;
    if (align == 0) /* natural: no padding for sizes like 24 or 40 */
        align = size % 16 == 0 ? 16 : 8;
    if (align < sizeof(void *))
        align = sizeof(void *);
    if ((rc = mp_init()) != 0) {
        mp_set_errno(rc);
        return NULL;
    }
    if (mp_vg_active)
        flags |= MP_CACHE_VG;

    mp_mutex_lock(&registry_lock);
    if (registry_find_locked(name) != NULL) {
        mp_mutex_unlock(&registry_lock);
        mp_set_errno(EEXIST);
        return NULL;
    }
    mem = mp_internal_alloc(&mp_cache_cache);
    if (mem == NULL) {
        mp_mutex_unlock(&registry_lock);
        mp_set_errno(ENOMEM);
        return NULL;
    }
    c = mem;
    rc = cache_init(c, name, size, align, ctor, dtor, arg, flags);
    if (rc == 0 &&
        !(flags & (MPOOL_CACHE_NOMAGAZINE | MPOOL_CACHE_DEBUG | MP_CACHE_VG)) &&
        c->stride <= MP_MAGAZINE_BYTES && c->mag_rounds != 0 &&
        mp_tslot_claim(c, MP_TSLOT_NONE) == 0 && (flags & MPOOL_CACHE_ZERO))
        c->fast_offset = MP_TSLOT_NONE; /* every call zeroes: slow */
    if (rc != 0) {
        mp_internal_free(&mp_cache_cache, mem, "mpool_cache_create");
        mp_mutex_unlock(&registry_lock);
        mp_set_errno(rc);
        return NULL;
    }
    c->prev = NULL;
    c->next = mp_registry;
    if (c->next != NULL)
        c->next->prev = c;
    mp_registry = c;
    mp_mutex_unlock(&registry_lock);
    return c;
}

struct mpool_cache *
mp_cache_new_unlisted(const char *name, size_t size, size_t align,
                      unsigned flags, void *owner,
                      const mp_cache_owner_ops_t *owner_ops,
                      uint32_t fixed_slot)
{
    struct mpool_cache *c;
    void *mem;
    int rc;

    if (mp_debug_all)
        flags |= MPOOL_CACHE_DEBUG;
    if (mp_vg_active)
        flags |= MP_CACHE_VG;
    mem = mp_internal_alloc(&mp_cache_cache);
    if (mem == NULL) {
        mp_set_errno(ENOMEM);
        return NULL;
    }
    c = mem;
    rc = cache_init(c, name, size, align, NULL, NULL, NULL, flags);
    if (rc != 0) {
        mp_internal_free(&mp_cache_cache, mem, "mp_cache_new");
        mp_set_errno(rc);
        return NULL;
    }
    c->owner = owner;
    c->owner_ops = owner_ops;
    if (!(flags & (MPOOL_CACHE_NOMAGAZINE | MPOOL_CACHE_DEBUG | MP_CACHE_VG)) &&
        c->stride <= MP_MAGAZINE_BYTES && c->mag_rounds != 0) {
        c->tslot_claim = fixed_slot;
        (void)mp_tslot_claim(c, fixed_slot); /* else: no magazines */
    }
    return c;
}

static void
cache_free_quarantine(struct mpool_cache *c)
{
    if (c->quarantine != NULL) {
        void *ring = c->quarantine;
        c->quarantine = NULL;
        mp_internal_free(&mp_stack_caches[1], ring, "mp_cache_delete");
    }
}

void
mp_cache_delete_unlisted(struct mpool_cache *c)
{
    void *mem = c;

    mp_tcache_flush_current(c);
    mp_depot_drain(c);
    mp_tslot_retire(c);
    mp_depot_drain(c);
    c->q_count = 0; /* the quarantine's objects go with their slabs */
    mp_slab_release_all(c);
    cache_free_quarantine(c);
    c->magic = MP_CACHE_DEAD;
    mp_internal_free(&mp_cache_cache, mem, "mp_cache_delete");
}

/* A cache's free objects back to their slabs, its empty slabs detached
 * onto *chain for mp_slab_finish_chain, and the pages of its other slabs
 * that hold free objects only purged (slab.c, "Holes"). */
static size_t
cache_shrink_detach(struct mpool_cache *c, mp_slab_t **chain)
{
    size_t pages;

    mp_depot_drain(c);
    if (c->flags & MPOOL_CACHE_DEBUG)
        mp_debug_flush(c);
    pages = mp_slab_detach_empty(c, chain);
    return pages + mp_slab_purge_holes(c);
}

size_t
mp_cache_shrink(struct mpool_cache *c)
{
    mp_slab_t *chain = NULL;
    size_t pages = cache_shrink_detach(c, &chain);

    mp_slab_finish_chain(chain);
    return pages;
}

mpool_cache_t *
mpool_cache_find(const char *name)
{
    struct mpool_cache *c;

    if (name == NULL) {
        mp_set_errno(EINVAL);
        return NULL;
    }
    mp_mutex_lock(&registry_lock);
    c = registry_find_locked(name);
    mp_mutex_unlock(&registry_lock);
    if (c == NULL)
        mp_set_errno(ENOENT);
    return c;
}

int
mpool_cache_set_reclaim(mpool_cache_t *c, mpool_reclaim_fn *fn)
{
    if (c == NULL || c->magic != MP_CACHE_MAGIC) {
        mp_set_errno(EINVAL);
        return -1;
    }
    mp_mutex_lock(&registry_lock);
    c->reclaim = fn;
    mp_mutex_unlock(&registry_lock);
    return 0;
}

int
mpool_cache_destroy(mpool_cache_t *c)
{
    void *mem = c;
    bool drained;

    if (c == NULL || c->magic != MP_CACHE_MAGIC) {
        mp_set_errno(EINVAL);
        return -1;
    }
    mp_mutex_lock(&registry_lock);
    mp_tcache_flush_current(c);
    drained = c->tslot == MP_TSLOT_NONE ||
              mp_tcache_drain_others(); /* other threads' magazines */
    mp_depot_drain(c);
    if (c->flags & MPOOL_CACHE_DEBUG)
        mp_debug_flush(c);
    if (mp_tslot_retire_if_idle(c) != 0) {
        mp_mutex_unlock(&registry_lock);
        mp_set_errno(EBUSY);
        return -1;
    }
    mp_depot_drain(c); /* what other threads flushed before retirement */
    /* objects out of the slabs = in use + in magazines + in the depot;
     * idle, and with every magazine and the depot emptied, that is 0 */
    MP_ASSERT(!drained || c->objs_out == 0);
    (void)drained; /* release builds: only the assertion reads it */
    while (c->reclaim_busy > 0) { /* a reclaim pass is on it */
        mp_mutex_unlock(&registry_lock);
        mp_backend_yield();
        mp_mutex_lock(&registry_lock);
    }
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        mp_registry = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->magic = MP_CACHE_DEAD;
    mp_mutex_unlock(&registry_lock);

    /* out of the registry, no reclaim pass can reach it: its destructors
     * run with no lock held */
    mp_slab_release_all(c);
    cache_free_quarantine(c);
    mp_internal_free(&mp_cache_cache, mem, "mpool_cache_destroy");
    return 0;
}

/* ------------------------------------------------------------------------
 * Reclaim
 * ------------------------------------------------------------------------ */

/* fn on every registered cache, with no lock held: the cache in hand is
 * marked busy under registry_lock, so destroy leaves it in the registry
 * (and its next link valid) until fn returns.  Caches created meanwhile
 * may be missed. */
static size_t
registry_each(size_t (*fn)(struct mpool_cache *))
{
    struct mpool_cache *c;
    size_t sum = 0;

    mp_mutex_lock(&registry_lock);
    if ((c = mp_registry) != NULL)
        c->reclaim_busy++;
    while (c != NULL) {
        struct mpool_cache *next;

        mp_mutex_unlock(&registry_lock);
        sum += fn(c);
        mp_mutex_lock(&registry_lock);
        if ((next = c->next) != NULL)
            next->reclaim_busy++;
        c->reclaim_busy--;
        c = next;
    }
    mp_mutex_unlock(&registry_lock);
    return sum;
}

static size_t
run_reclaim_callback(struct mpool_cache *c)
{
    mpool_reclaim_fn *fn = c->reclaim;

    if (fn != NULL) {
        atomic_fetch_add(&callbacks_running, 1);
        fn(c->arg);
        atomic_fetch_sub(&callbacks_running, 1);
    }
    return 0;
}

/* Shrink every registered cache under registry_lock, so that reclaims
 * from several threads go one after another (one that finds the others'
 * work done waits for it to end, then finds its memory), but run the
 * destructors of the slabs given back after dropping it: each detached
 * slab keeps its cache busy, so destroy waits for them. */
static size_t
registry_shrink(void)
{
    mp_slab_t *chain = NULL;
    size_t pages = 0;

    mp_mutex_lock(&registry_lock);
    for (struct mpool_cache *c = mp_registry; c != NULL; c = c->next)
        pages += cache_shrink_detach(c, &chain);
    for (mp_slab_t *s = chain; s != NULL; s = s->next)
        s->cache->reclaim_busy++;
    mp_mutex_unlock(&registry_lock);
    for (mp_slab_t *s = chain; s != NULL;) {
        mp_slab_t *next = s->next;
        struct mpool_cache *c = s->cache;

        s->next = NULL; /* finish it alone: it may free its descriptor */
        mp_slab_finish_chain(s);
        mp_mutex_lock(&registry_lock);
        c->reclaim_busy--;
        mp_mutex_unlock(&registry_lock);
        s = next;
    }
    return pages;
}

size_t
mp_caches_reclaim(size_t (*also)(void))
{
    size_t pages = 0;

    if (!mp_initialised())
        return 0;
    registry_each(run_reclaim_callback);
    mp_tcache_flush_current(NULL); /* the callbacks' frees too */
    mp_tcache_drain_others();
    pages += registry_shrink();
    if (also != NULL)
        pages += also();
    for (unsigned i = 0; i < MP_INTERNAL_CACHES; i++)
        if (mp_internal_caches[i] != NULL)
            pages += mp_slab_release_empty(mp_internal_caches[i], 0);
    return pages;
}

/* Out of memory in an allocation: reclaim with no lock held, unless a
 * reclaim callback is the one allocating (it would call itself again).
 * A destructor that allocates may start a reclaim inside the one that
 * runs it: no lock is held across either, and each gives back slabs
 * before it runs their destructors.  Allocations that are not from a
 * cache (a pool's large blocks, mpool_pages_alloc) call it too
 * (mp_cache_oom). */
static void
oom_reclaim(void)
{
    if (atomic_load(&callbacks_running) != 0)
        return;
    if (mp_cache_oom_reclaim != NULL)
        mp_cache_oom_reclaim();
    else
        mp_caches_reclaim(NULL);
}

void
mp_cache_oom(void)
{
    oom_reclaim();
}

/* ------------------------------------------------------------------------
 * The fast paths
 * ------------------------------------------------------------------------ */

void *
mpool_cache_alloc(mpool_cache_t *c)
{
    return mp_cache_alloc_inline(c);
}

void
mpool_cache_free(mpool_cache_t *c, void *obj)
{
    mp_cache_free_inline(c, obj);
}

/* Everything the fast path does not do: first calls on a thread, empty
 * and full slots, caches without magazines, running out of memory. */
MP_NOINLINE void *
mp_cache_alloc_slow(struct mpool_cache *c)
{
    void *obj;

    if (MP_UNLIKELY(c == NULL || c->magic != MP_CACHE_MAGIC)) {
        if (c != NULL && c->magic == MP_CACHE_DEAD)
            mp_cache_panic("mpool_cache_alloc", "use of a destroyed cache",
                           c, c->name, NULL);
        mp_set_errno(EINVAL);
        return NULL;
    }
    obj = c->flags & MPOOL_CACHE_DEBUG ? mp_debug_alloc(c)
                                       : mp_magazine_alloc_slow(c);
    if (MP_UNLIKELY(obj == NULL)) {
        /* Out of memory: let every layer give back what it can (no lock
         * is held here), and try once more before reporting it. */
        oom_reclaim();
        obj = c->flags & MPOOL_CACHE_DEBUG ? mp_debug_alloc(c)
                                           : mp_magazine_alloc_slow(c);
        if (obj == NULL)
            mp_set_errno(ENOMEM);
    }
    return obj;
}

/* Reported from the free fast path (cache.h), which found the object on
 * top of the thread's stack of free objects: freed twice in a row. */
MP_NOINLINE __attribute__((cold)) void
mp_cache_double_free(const struct mpool_cache *c, const void *obj)
{
    mp_cache_panic(c->owner != NULL ? "mpool_free" : "mpool_cache_free",
                   "double free", obj, c->name, NULL);
}

MP_NOINLINE void
mp_cache_free_slow(struct mpool_cache *c, void *obj)
{
    if (obj == NULL)
        return;
    if (MP_UNLIKELY(c == NULL || c->magic != MP_CACHE_MAGIC))
        mp_cache_panic("mpool_cache_free",
                       c != NULL && c->magic == MP_CACHE_DEAD
                           ? "free into a destroyed cache"
                           : "free into something that is not a cache",
                       obj, NULL, NULL);
    if (c->flags & MPOOL_CACHE_DEBUG)
        mp_debug_free(c, obj);
    else
        mp_magazine_free_slow(c, obj);
}

/* ------------------------------------------------------------------------
 * fork (fork.c walks the lock table and calls these class by class)
 * ------------------------------------------------------------------------ */

void
mp_cache_fork(struct mpool_cache *c, enum mp_lock_class cls,
              enum mp_fork_phase phase)
{
    if (c->flags & MP_CACHE_NOLOCK)
        return;
    if (cls == MP_LOCK_CACHE || cls == MP_LOCK_INTERNAL)
        mp_mutex_fork(&c->lock, phase);
    else if (cls == MP_LOCK_DEPOT)
        mp_mutex_fork(&c->depot_lock, phase);
}

/* The walk of one class visits the registry (held since REGISTRY's turn
 * before fork, until its turn after) and the internal caches by key. */
void
mp_caches_fork(enum mp_lock_class cls, enum mp_fork_phase phase)
{
    switch (cls) {
    case MP_LOCK_REGISTRY:
        mp_mutex_fork(&registry_lock, phase);
        break;
    case MP_LOCK_CACHE:
        for (struct mpool_cache *c = mp_registry; c != NULL; c = c->next)
            mp_cache_fork(c, cls, phase);
        break;
    case MP_LOCK_TCACHE:
        mp_tcache_fork(phase);
        break;
    case MP_LOCK_DEPOT:
        for (struct mpool_cache *c = mp_registry; c != NULL; c = c->next)
            mp_cache_fork(c, cls, phase);
        for (unsigned i = 0; i < MP_INTERNAL_CACHES; i++)
            if (mp_internal_caches[i] != NULL)
                mp_cache_fork(mp_internal_caches[i], cls, phase);
        break;
    case MP_LOCK_INTERNAL:
        for (unsigned i = 0; i < MP_INTERNAL_CACHES; i++)
            if (mp_internal_caches[i] != NULL)
                mp_cache_fork(mp_internal_caches[i], cls, phase);
        break;
    default:
        break;
    }
}
