/* SPDX-License-Identifier: MIT */
/*
 * walk.c - the live objects of one cache, for mpool_walk(): every object
 * carved out of the cache's slabs that is neither on a slab's free list,
 * nor raw, nor cached in a thread's magazine, the depot or the quarantine.
 *
 * Free objects are scattered: slab free lists, every thread's slot, the
 * depot's full magazines, the quarantine, the raw list.  Testing each
 * object of a slab against the caches one by one would cost O(objects x
 * cached).  Instead, one pass under the locks builds a bitmap of live
 * objects per slab:
 *
 *   1. the cached objects (slots, depot, quarantine, raw) are copied into
 *      an array and sorted by address;
 *   2. for each slab with an object out, the bits of its carved objects
 *      are set, then cleared for each object on its free list, and for the
 *      cached objects that fall in the slab (a binary search in the sorted
 *      array finds the first one);
 *   3. the locks are dropped, and fn is called for each live object, in
 *      slab order.
 *
 * Empty slabs hold no live object and are skipped.  The scratch memory (a
 * record and a bitmap per slab, a word per cached object) comes from the
 * page level, never from a cache: about 1/64 of a bit per byte of slab, so
 * some 200 KiB for a million small blocks.  Cost: O(slabs x objects per
 * slab + cached x log cached), and no lock is held while fn runs.
 *
 * The caller guarantees that no thread allocates from or frees to the
 * cache meanwhile.  Another thread's reclaim may still move free objects
 * between the caches and the slabs: the copy is made under the cache's
 * lock (which every move into the slabs takes), the thread-table lock and
 * the depot's, in that order (base/lock.h), so a free object is seen in
 * one place or another; a slab that reclaim gives back held no live
 * object, and is never read after the locks are dropped.
 */
#include "cache/cache.h"

static size_t
slabs_with_objects(const struct mpool_cache *c)
{
    size_t n = c->nslabs[MP_SLAB_ON_FULL];

    for (unsigned b = 0; b < MP_PARTIAL_BUCKETS; b++)
        n += c->nslabs[b];
    return n;
}

static int
scratch_get(mp_cache_walk_t *w, size_t slab_cap, size_t cached_cap,
            size_t words)
{
    size_t bytes = slab_cap * sizeof(mp_walk_slab_t) +
                   slab_cap * words * sizeof(uint64_t) +
                   cached_cap * sizeof(uintptr_t);
    bool is_zero;

    w->npages = (bytes + MP_PAGE_SIZE - 1) >> MP_PAGE_SHIFT;
    if (w->npages == 0)
        w->npages = 1;
    w->pages = mp_pages_alloc(w->npages, &is_zero);
    if (w->pages == NULL)
        return -1;
    w->slab_cap = slab_cap;
    w->cached_cap = cached_cap;
    w->words = words;
    w->bits = w->pages; /* 8-byte items first, all aligned */
    w->cached = (uintptr_t *)(w->bits + slab_cap * words);
    w->slabs = (mp_walk_slab_t *)(w->cached + cached_cap);
    return 0;
}

static void
scratch_put(mp_cache_walk_t *w)
{
    if (w->pages != NULL)
        mp_pages_free(w->pages, w->npages);
    w->pages = NULL;
}

/* Heapsort: no C library in the core, and no recursion on a small stack. */
static void
sift_down(uintptr_t *a, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        uintptr_t t;
        if (child >= n)
            return;
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (a[root] >= a[child])
            return;
        t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static void
sort_addresses(uintptr_t *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n; end > 1; end--) {
        uintptr_t t = a[0];
        a[0] = a[end - 1];
        a[end - 1] = t;
        sift_down(a, 0, end - 1);
    }
}

/* The first of a[0 .. n) that is >= key. */
static size_t
lower_bound(const uintptr_t *a, size_t n, uintptr_t key)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void
bit_clear(uint64_t *bits, size_t i)
{
    bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* Record slab s and its live objects in slot k of the scratch.  The
 * cache's lock is held. */
static void
record_slab_locked(struct mpool_cache *c, const mp_slab_t *s,
                   mp_cache_walk_t *w, size_t k, size_t ncached)
{
    uint64_t *bits = w->bits + k * w->words;
    uintptr_t objs = (uintptr_t)mp_slab_objs(s);
    uintptr_t end = objs + (uintptr_t)s->carved * c->stride;

    w->slabs[k].objs = objs;
    /* objs[0 .. carved) set, whole words at a time */
    for (size_t i = 0; i < w->words; i++) {
        if (s->carved >= (i + 1) * 64)
            bits[i] = ~(uint64_t)0;
        else if (s->carved <= i * 64)
            bits[i] = 0;
        else
            bits[i] = ((uint64_t)1 << (s->carved % 64)) - 1;
    }
    for (void *f = s->free; f != NULL; f = mp_slab_free_next(c, f)) {
        MP_ASSERT((uintptr_t)f >= objs && (uintptr_t)f < end);
        bit_clear(bits, ((uintptr_t)f - objs) / c->stride);
    }
    mp_slab_clear_holed(c, s, bits);
    for (size_t j = lower_bound(w->cached, ncached, objs);
         j < ncached && w->cached[j] < end; j++)
        bit_clear(bits, (w->cached[j] - objs) / c->stride);
}

/* The cached objects into w->cached; how many there are (more than the
 * room when it did not suffice).  The cache's lock is held. */
static size_t
collect_cached_locked(struct mpool_cache *c, mp_cache_walk_t *w)
{
    size_t n = mp_magazine_collect(c, (void **)w->cached, w->cached_cap);

    for (uint32_t i = 0; i < c->q_count; i++, n++)
        if (n < w->cached_cap)
            w->cached[n] = (uintptr_t)
                c->quarantine[(c->q_head + i) % MP_QUARANTINE];
    for (void *r = c->raw; r != NULL; r = mp_slab_free_next(c, r), n++)
        if (n < w->cached_cap)
            w->cached[n] = (uintptr_t)r;
    return n;
}

static size_t
usable_of(const struct mpool_cache *c, const void *obj)
{
    return (c->flags & MPOOL_CACHE_DEBUG) ? mp_debug_usable(c, obj)
                                          : c->size;
}

/* Checking mode: each live object's usable size is its own (the rest is
 * red zone), so mpool_stats() counts them here, under the lock, where no
 * object can be freed meanwhile. */
static void
tally_locked(const struct mpool_cache *c, mp_cache_walk_t *w)
{
    for (size_t k = 0; k < w->nslabs; k++) {
        const uint64_t *bits = w->bits + k * w->words;
        for (size_t word = 0; word < w->words; word++)
            for (uint64_t b = bits[word]; b != 0; b &= b - 1) {
                size_t i = word * 64 + (size_t)__builtin_ctzll(b);
                w->live++;
                w->live_bytes += mp_debug_usable(
                    c, (void *)(w->slabs[k].objs + i * c->stride));
            }
    }
}

int
mp_cache_walk_collect(struct mpool_cache *c, mp_cache_walk_t *w)
{
    size_t slab_cap, cached_cap, ncached;
    size_t words = (c->objs_per_slab + 63) / 64;

    __builtin_memset(w, 0, sizeof(*w));
    w->cache = c;
    /* Sized from a first look without the lock; larger and again, in the
     * rare case a reclaim or a thread table changed the counts since. */
    if (__atomic_load_n(&c->objs_out, __ATOMIC_RELAXED) == 0)
        return 0; /* nothing out of the slabs: nothing live */
    mp_cache_lock(&c->lock, c);
    slab_cap = slabs_with_objects(c) + 8;
    cached_cap = c->nraw + 64;
    mp_cache_unlock(&c->lock, c);
    cached_cap += mp_magazine_cached(c);
    for (;;) {
        if (scratch_get(w, slab_cap, cached_cap, words) != 0)
            return -1;
        mp_cache_lock(&c->lock, c);
        if (slabs_with_objects(c) > w->slab_cap) {
            slab_cap = slabs_with_objects(c) * 2;
        } else if ((ncached = collect_cached_locked(c, w)) > w->cached_cap) {
            cached_cap = ncached * 2;
        } else {
            sort_addresses(w->cached, ncached);
            for (unsigned list = 0; list <= MP_SLAB_ON_FULL; list++) {
                const mp_slab_t *s = list == MP_SLAB_ON_FULL
                                         ? c->full
                                         : c->partial[list];
                for (; s != NULL; s = s->next)
                    record_slab_locked(c, s, w, w->nslabs++, ncached);
            }
            if (c->flags & MPOOL_CACHE_DEBUG)
                tally_locked(c, w);
            mp_cache_unlock(&c->lock, c);
            return 0;
        }
        mp_cache_unlock(&c->lock, c);
        scratch_put(w);
    }
}

int
mp_cache_walk_visit(const mp_cache_walk_t *w, mp_cache_walk_fn *fn,
                    void *arg)
{
    const struct mpool_cache *c = w->cache;
    int rc = 0;

    for (size_t k = 0; k < w->nslabs && rc == 0; k++) {
        const uint64_t *bits = w->bits + k * w->words;
        for (size_t word = 0; word < w->words && rc == 0; word++)
            /* the set bits one by one: no branch per free object */
            for (uint64_t b = bits[word]; b != 0 && rc == 0; b &= b - 1) {
                size_t i = word * 64 + (size_t)__builtin_ctzll(b);
                void *obj = (void *)(w->slabs[k].objs + i * c->stride);
                rc = fn(obj, usable_of(c, obj), arg);
            }
    }
    return rc;
}

void
mp_cache_walk_done(mp_cache_walk_t *w)
{
    scratch_put(w);
}
