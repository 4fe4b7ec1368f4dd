/* SPDX-License-Identifier: MIT */
/*
 * stats.c - mpool_cache_stats(): the numbers of one cache, for programs.
 *
 * Slab counts are exact (read under the cache's lock).  Counts of calls
 * served by a thread's slot are kept by that thread without atomics and
 * added to the cache's totals at its next slow path, at exit, or when it
 * asks for statistics itself; objects in other threads' slots are read as
 * a snapshot.  So for a cache other threads are using at the moment, the
 * split between "in use" and "cached", and the hit count, may lag by up to
 * two magazines per such thread.
 */
#include "cache/cache.h"

/* The fields version 0.1 of the struct has; callers must cover them. */
#define STATS_V0_SIZE (offsetof(mpool_cache_stats_t, flags) + sizeof(unsigned))

static void
publish_current(struct mpool_cache *c)
{
    mp_tcache_t *tc = mp_tcache_mine();
    mp_tslot_t *s;

    if (c->tslot == MP_TSLOT_NONE || c->tslot >= tc->capacity)
        return;
    s = &tc->slots[c->tslot];
    if (s->gen != c->tslot_gen)
        return;
    atomic_fetch_add_explicit(&c->allocs_hit, s->allocs, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->frees_hit, s->frees, memory_order_relaxed);
    s->allocs = s->frees = 0;
}

void
mp_cache_stats_fill(struct mpool_cache *c, mpool_cache_stats_t *st)
{
    size_t cached, out, slabs;

    __builtin_memset(st, 0, sizeof(*st));
    st->size = sizeof(*st);
    publish_current(c);
    cached = mp_magazine_cached(c);
    mp_cache_lock(&c->lock, c);
    __builtin_memcpy(st->name, c->name, sizeof(st->name));
    st->object_size = c->size;
    st->align = c->align;
    st->stride = c->stride;
    st->slab_size = c->slab_pages << MP_PAGE_SHIFT;
    st->objects_per_slab = c->objs_per_slab;
    out = c->objs_out;
    st->objects_total = /* constructed, and not in a slab's holes */
        c->objs_carved - c->nraw - c->objs_holed;
    st->slabs_full = c->nslabs[MP_SLAB_ON_FULL];
    st->slabs_empty = c->nslabs[MP_SLAB_ON_EMPTY];
    for (unsigned b = 0; b < MP_PARTIAL_BUCKETS; b++)
        st->slabs_partial += c->nslabs[b];
    mp_cache_unlock(&c->lock, c);
    slabs = st->slabs_full + st->slabs_partial + st->slabs_empty;
    st->pages = slabs * c->slab_pages;
    st->waste = slabs * (st->slab_size - c->objs_per_slab * c->size);
    st->objects_cached = cached < out ? cached : out;
    st->objects_in_use = out - st->objects_cached;
    st->allocs = atomic_load(&c->allocs_hit) + atomic_load(&c->allocs_miss);
    st->frees = atomic_load(&c->frees_hit) + atomic_load(&c->frees_miss);
    st->magazine_hits = atomic_load(&c->allocs_hit) + atomic_load(&c->frees_hit);
    st->magazine_misses =
        atomic_load(&c->allocs_miss) + atomic_load(&c->frees_miss);
    st->mode = c->tslot == MP_TSLOT_NONE ? MPOOL_MAGAZINE_NONE
                                         : MPOOL_MAGAZINE_PER_THREAD;
    /* not the library's own flags: valgrind mode too */
    st->flags = c->flags &
                ~(MP_CACHE_KEEP_STATE | MP_CACHE_NOLOCK | MP_CACHE_VG);
}

int
mpool_cache_stats(const mpool_cache_t *cache, mpool_cache_stats_t *stats)
{
    mpool_cache_stats_t full;
    size_t want;

    if (cache == NULL || stats == NULL || cache->magic != MP_CACHE_MAGIC ||
        stats->size < STATS_V0_SIZE) {
        mp_set_errno(EINVAL);
        return -1;
    }
    want = stats->size < sizeof(full) ? stats->size : sizeof(full);
    mp_cache_stats_fill((struct mpool_cache *)cache, &full);
    full.size = want;
    __builtin_memcpy(stats, &full, want);
    return 0;
}
