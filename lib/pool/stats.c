/* SPDX-License-Identifier: MIT */
/*
 * stats.c - mpool_stats() and mpool_system_stats(): the numbers of a pool
 * and of the whole library, computed on the call.
 *
 * Nothing is counted on the allocation and free fast paths for them.  A
 * class pool's figures come from what its layers keep anyway:
 *
 *   blocks in use   per class, the objects out of the slabs (objs_out,
 *                   kept by the slab layer under the cache's lock) less
 *                   those cached in magazines: every thread's slots, the
 *                   depot, the quarantine (mp_cache_stats_fill, as for
 *                   mpool_cache_stats); plus the large blocks on the
 *                   pool's list
 *   bytes in use    each class block at its class size, which is what
 *                   mpool_usable_size() says of it; each large block at
 *                   its usable size.  In checking mode a class block's
 *                   usable size is what the program asked for (the rest
 *                   is red zone): the class's live objects are then found
 *                   as mpool_walk() finds them (cache/walk.c) and their
 *                   sizes added up, O(objects), under the class's lock
 *   bytes held      the pool's charge (pool.c: slabs and large runs,
 *                   counted when made and given back), and its peak,
 *                   raised by the same slow paths
 *   bytes free      the free objects of the pool's slabs, wherever they
 *                   are cached, and the objects not carved yet; bytes
 *                   empty, those of slabs with no object out
 *
 * A region pool's come from one pass over its blocks under its lock.
 *
 * Exact when no other thread allocates or frees in the pool during the
 * call.  Otherwise each class is read as a snapshot (its slabs under the
 * cache's lock, other threads' slots as they are seen), and the classes
 * one after another: every figure is one that the pool had, or lies
 * between two that it had, and none is torn or negative: a count that
 * could come out below zero (objects cached seen after they left a slot)
 * is clamped at zero, and bytes_free at what is held and not in use.  The
 * pools' reclaim is kept away for the call (pools_lock), so objects on
 * their way from a depot to the slabs are never counted as in use.
 */
#include "pool/pool.h"
#include "pool/large.h"
#include "pool/region.h"

/* The fields a caller must cover: those the issue first gave each
 * struct. */
#define STATS_MIN_SIZE                                                     \
    (offsetof(mpool_stats_t, limit) + sizeof(size_t))
#define SYSTEM_STATS_MIN_SIZE                                              \
    (offsetof(mpool_system_stats_t, bytes_in_use) + sizeof(size_t))

static void
class_pool_stats(struct mpool *p, mpool_stats_t *st)
{
    size_t free_bytes = 0, empty = 0, in_use_bytes = 0, room;

    pool_lock(p); /* the large list */
    for (mp_large_t *l = p->large; l != NULL; l = l->next) {
        st->large_blocks++;
        in_use_bytes += mp_large_usable(l);
    }
    pool_unlock(p);
    st->blocks_in_use = st->large_blocks;
    for (unsigned i = 0; i < MP_CLASSES; i++) {
        struct mpool_cache *c = atomic_load_explicit(&p->classes[i],
                                                     memory_order_acquire);
        mpool_cache_stats_t cs;
        size_t slabs, capacity;

        if (c == NULL)
            continue;
        mp_cache_stats_fill(c, &cs);
        slabs = cs.slabs_full + cs.slabs_partial + cs.slabs_empty;
        capacity = slabs * cs.objects_per_slab;
        if (cs.objects_in_use > capacity)
            cs.objects_in_use = capacity; /* a snapshot's skew */
        if (c->flags & MPOOL_CACHE_DEBUG) {
            /* checking mode: the usable sizes, block by block (the mode
             * is slow anyway); the class size where there is no memory
             * for the walk's bitmaps */
            mp_cache_walk_t w;
            if (mp_cache_walk_collect(c, &w) == 0) {
                size_t out = w.live < capacity ? w.live : capacity;
                mp_cache_walk_done(&w);
                st->blocks_in_use += out;
                in_use_bytes += w.live_bytes;
                free_bytes += (capacity - out) * c->size;
                empty += cs.slabs_empty * cs.objects_per_slab * c->size;
                continue;
            }
        }
        st->blocks_in_use += cs.objects_in_use;
        in_use_bytes += cs.objects_in_use * c->size;
        free_bytes += (capacity - cs.objects_in_use) * c->size;
        empty += cs.slabs_empty * cs.objects_per_slab * c->size;
    }
    st->bytes_in_use = in_use_bytes;
    st->bytes_held = atomic_load_explicit(&p->taken, memory_order_relaxed);
    st->bytes_held_peak =
        atomic_load_explicit(&p->taken_peak, memory_order_relaxed);
    /* never more free than held and not in use (the charge and the
     * classes are read one after the other) */
    room = st->bytes_held > in_use_bytes ? st->bytes_held - in_use_bytes : 0;
    st->bytes_free = free_bytes < room ? free_bytes : room;
    free_bytes = st->bytes_free;
    st->bytes_empty = empty < free_bytes ? empty : free_bytes;
}

static void
region_pool_stats(struct mpool *p, mpool_stats_t *st)
{
    struct mp_region *r = mp_pool_region(p);
    size_t blocks, used, free_bytes;

    mp_region_stats(r, &blocks, &used, &free_bytes);
    st->blocks_in_use = blocks;
    st->bytes_in_use = used;
    st->bytes_held = st->bytes_held_peak = r->size; /* the caller's memory */
    st->bytes_free = free_bytes;
}

void
mp_pool_stats_fill(struct mpool *p, mpool_stats_t *st)
{
    __builtin_memset(st, 0, sizeof(*st));
    st->size = sizeof(*st);
    st->limit = p->limit;
    st->retain = p->retain;
    if (p->ops != NULL)
        region_pool_stats(p, st);
    else
        class_pool_stats(p, st);
    if (st->bytes_held_peak < st->bytes_held)
        st->bytes_held_peak = st->bytes_held; /* read apart */
    st->children = mp_pool_children(p);
}

int
mpool_stats(const mpool_t *pool, mpool_stats_t *stats)
{
    mpool_stats_t full;
    struct mpool *p = (struct mpool *)(uintptr_t)pool;
    size_t want;

    if (stats == NULL || stats->size < STATS_MIN_SIZE) {
        mp_set_errno(EINVAL);
        return -1;
    }
    if (p == NULL && (p = mpool_default()) == NULL)
        return -1;
    mp_pools_lock();
    if (!mp_pool_valid(p)) {
        mp_pools_unlock();
        mp_set_errno(EINVAL);
        return -1;
    }
    mp_pool_stats_fill(p, &full);
    mp_pools_unlock();
    want = stats->size < sizeof(full) ? stats->size : sizeof(full);
    full.size = want;
    __builtin_memcpy(stats, &full, want);
    return 0;
}

/* ------------------------------------------------------------------------
 * The whole library
 * ------------------------------------------------------------------------ */

static void
add_pool(struct mpool *p, void *arg)
{
    mpool_system_stats_t *st = arg;
    mpool_stats_t ps;

    mp_pool_stats_fill(p, &ps);
    st->pools++;
    st->bytes_in_use += ps.bytes_in_use;
}

int
mpool_system_stats(mpool_system_stats_t *stats)
{
    mpool_system_stats_t full;
    mp_page_usage_t usage;
    size_t want;

    if (stats == NULL || stats->size < SYSTEM_STATS_MIN_SIZE) {
        mp_set_errno(EINVAL);
        return -1;
    }
    if (mpool_default() == NULL)
        return -1;
    __builtin_memset(&full, 0, sizeof(full));
    mp_pools_visit(add_pool, &full);
    mp_registry_lock();
    for (struct mpool_cache *c = mp_registry; c != NULL; c = c->next) {
        mpool_cache_stats_t cs;
        mp_cache_stats_fill(c, &cs);
        full.caches++;
        full.bytes_in_use += cs.objects_in_use * c->size;
    }
    mp_registry_unlock();
    mp_page_usage(&usage);
    full.bytes_in_use += usage.bytes_public;
    full.segments = usage.segments;
    full.bytes_mapped = usage.bytes_mapped;
    full.bytes_committed = usage.bytes_committed;
    full.bytes_committed_peak = usage.bytes_committed_peak;
    full.bytes_retained = usage.bytes_retained;
    full.bytes_retained_dirty = usage.bytes_retained_dirty;
    full.spans_retained = usage.spans_retained;
    want = stats->size < sizeof(full) ? stats->size : sizeof(full);
    full.size = want;
    __builtin_memcpy(stats, &full, want);
    return 0;
}
