/* SPDX-License-Identifier: MIT */
/*
 * large.c - a class pool's large blocks: those over MP_LARGE_ABOVE (2 MiB;
 * the classes above it would each keep slabs of whole spans of their own,
 * where one list of spans kept for reuse serves every size: page/decay.c),
 * and those aligned past what a class can honour.  Each is a page
 * run of its own with a header from the library's mp_large_cache; every
 * page of the run names the header, tagged with bit 0 (slab descriptors,
 * the other owners, never are), so the block is found from its address.
 *
 *   | run (npages)                                       | guard page  |
 *   | pad to align | block (size) | red zone 0xbb ...    | (checking)  |
 *
 * In checking mode the run is followed by a guard page (page level), the
 * bytes from the block's end to it are red zone, checked at free, and the
 * last blocks freed are remembered so that freeing one again is reported
 * as a double free rather than as a stranger (their pages are gone).
 *
 * A block aligned past half a segment (glibc serves memalign(64 MiB, n))
 * starts in a later segment of its span than the first: the page level's
 * span map leads its address back to the span's header.  The pad before
 * it is address space only, never touched (but in checking mode, the red
 * zone after the block fills the rest of the run).
 *
 * Growing by realloc: a huge run grows in place into the tail of its
 * span's last segment, else the page level remaps the span (mremap, with
 * headroom: page/huge.c); a buddy run (an aligned block) into the free
 * pages after it (page/page.c); where that fails the block moves to one twice
 * its size (mp_large_headroom), so that a buffer grown step by step moves
 * O(log n) times, not once a step.  A freed run's span is kept for reuse
 * a while (page/decay.c); a pool past its retain cap frees it purged.
 *
 * Each large run is charged to its pool's limit while it lives.  The pool
 * keeps its large blocks on a list, under the pool's lock, for destroy.
 */
#include "pool/large.h"
#include "pool/pool-vg.h"

/* The headers of large blocks: an internal cache the pool layer lays out
 * (mp_pool_bootstrap). */
MP_HIDDEN struct mpool_cache mp_large_cache;

#define LARGE_REDZONE_BYTE 0xbb /* checking mode: after a large block */
#define LARGE_FREED_KEPT 64     /* checking mode: large blocks remembered
                                   after free, to name a double free */

/* Checking mode: the last large blocks freed.  A diagnostic only:
 * relaxed, and old entries are overwritten. */
static _Atomic uintptr_t large_freed[LARGE_FREED_KEPT];
static _Atomic unsigned large_freed_next;

static size_t
large_run_bytes(const mp_large_t *l)
{
    return l->npages << MP_PAGE_SHIFT;
}

/* A run of npages from the page level (guarded in checking mode), and in
 * *dirty_pages how many of its first pages may hold old bytes. */
static char *
large_run(size_t npages, size_t *dirty_pages)
{
    bool is_zero;
    char *run;

    if (!mp_debug_all)
        return mp_pages_alloc_dirty(npages, dirty_pages);
    run = mp_pages_alloc_guarded(npages, &is_zero);
    if (run != NULL)
        *dirty_pages = is_zero ? 0 : npages;
    return run;
}

void *
mp_large_alloc(struct mpool *p, size_t size, size_t align, size_t *dirty)
{
    size_t npages, extra = 0, bytes, dirty_pages = 0;
    mp_large_t *l;
    void *hdr;
    char *run;

    /* a quarter of the address space each: no sum below overflows */
    if (size > (SIZE_MAX >> 2) || align > (SIZE_MAX >> 2)) {
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
    if (!mp_pool_charge(p, (ptrdiff_t)bytes)) {
        mp_set_errno(ENOMEM);
        return NULL;
    }
    hdr = mp_internal_alloc(&mp_large_cache);
    run = hdr == NULL ? NULL : large_run(npages, &dirty_pages);
    if (run == NULL) {
        /* Out of memory: every layer gives back what it can (the empty
         * slabs a pool keeps may be what the run, or its header, needs),
         * as a class block's allocation does, and once more.  No lock is
         * held. */
        mp_cache_oom();
        if (hdr == NULL)
            hdr = mp_internal_alloc(&mp_large_cache);
        if (hdr != NULL)
            run = large_run(npages, &dirty_pages);
    }
    if (run == NULL) {
        if (hdr != NULL) {
            mp_internal_free(&mp_large_cache, hdr, "mpool_alloc");
        }
        mp_pool_charge(p, -(ptrdiff_t)bytes);
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
    mp_pool_vg_large_block(run, bytes, mp_unhide(l->block_h), size);
    if (dirty != NULL) {
        char *block = mp_unhide(l->block_h);
        char *end = run + (dirty_pages << MP_PAGE_SHIFT);
        *dirty = end <= block ? 0
                 : (size_t)(end - block) < size ? (size_t)(end - block)
                                                : size;
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

size_t
mp_large_usable(const mp_large_t *l)
{
    if (l->size != 0)
        return l->size;
    return (size_t)(mp_unhide(l->run_h) + large_run_bytes(l) -
                    mp_unhide(l->block_h));
}

/* Checking mode: the red zone from the block's end to the guard page. */
static void
large_check(const mp_large_t *l, const char *caller)
{
    const unsigned char *end =
        (const unsigned char *)mp_unhide(l->block_h) + l->size;
    const unsigned char *limit =
        (const unsigned char *)mp_unhide(l->run_h) + large_run_bytes(l);

    mp_pool_vg_large_redzone(end, (size_t)(limit - end));
    for (; end < limit; end++)
        if (*end != LARGE_REDZONE_BYTE)
            mp_cache_panic(caller, "write past the end of a block",
                           mp_unhide(l->block_h), l->pool->name, NULL);
}

void
mp_large_free(mp_large_t *l)
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
    mp_pool_vg_large_gone(mp_unhide(l->run_h), large_run_bytes(l),
                          mp_unhide(l->block_h));
    /* a pool with a retain cap that its empty slabs already fill wants
     * memory back now, as for a slab past it (cache/slab.c) */
    if (mp_pool_retain_bounds_large(p) &&
        atomic_load_explicit(&p->empty, memory_order_relaxed) +
                large_run_bytes(l) >
            p->retain)
        mp_pages_free_purge(mp_unhide(l->run_h), l->npages);
    else
        mp_pages_free(mp_unhide(l->run_h), l->npages);
    mp_pool_charge(p, -(ptrdiff_t)large_run_bytes(l));
    mp_internal_free(&mp_large_cache, hdr, "mpool_free");
}

/* Grow l in place to size bytes (its run's pages grown by the page level,
 * mp_pages_grow, which may move a huge run without copying); the block,
 * or NULL with nothing changed. */
static void *
large_grow(mp_large_t *l, size_t size)
{
    struct mpool *p = l->pool;
    char *run = mp_unhide(l->run_h);
    size_t pad = (size_t)(mp_unhide(l->block_h) - run);
    size_t npages, bytes;
    char *grown;

    if (size > (SIZE_MAX >> 2))
        return NULL;
    npages = (pad + size + MP_PAGE_SIZE - 1) >> MP_PAGE_SHIFT;
    bytes = (npages - l->npages) << MP_PAGE_SHIFT;
    if (npages <= l->npages || !mp_pool_charge(p, (ptrdiff_t)bytes))
        return NULL;
    grown = mp_pages_grow(run, l->npages, npages);
    if (grown == NULL) {
        mp_pool_charge(p, -(ptrdiff_t)bytes);
        return NULL;
    }
    /* a buddy run's new pages name the block too */
    mp_pages_set_owner(grown, npages, (char *)l + 1);
    pool_lock(p); /* stats read the header under it */
    l->npages = npages;
    l->run_h = mp_hide(grown);
    l->block_h = mp_hide(grown + pad);
    pool_unlock(p);
    return grown + pad;
}

void *
mp_large_realloc(mp_large_t *l, mpool_t *pool, size_t size)
{
    size_t old = mp_large_usable(l);
    void *block = mp_unhide(l->block_h);

    void *moved;

    /* in place down to half: the headroom a growth left, or a shrink not
     * worth a copy (the pages past it stay the block's) */
    if (size > MP_LARGE_ABOVE && size <= old && size > old / 2)
        return block;
    /* (in checking mode, and under valgrind, realloc always moves) */
    if (size > old && l->size == 0 && (pool == NULL || pool == l->pool) &&
        (moved = large_grow(l, size)) != NULL)
        return moved;
    return mp_pool_move_grow(pool != NULL ? pool : l->pool, pool, block, old,
                             size);
}

void *
mp_pool_move_grow(mpool_t *alloc_from, mpool_t *free_to, void *ptr,
                  size_t old, size_t size)
{
    size_t want = mp_large_headroom(old, size);
    void *moved = mp_pool_move(alloc_from, free_to, ptr, old, want);

    if (moved == NULL && want != size) /* a limit the headroom passes */
        moved = mp_pool_move(alloc_from, free_to, ptr, old, size);
    return moved;
}

void
mp_large_release_all(struct mpool *p)
{
    mp_large_t *l;

    while ((l = p->large) != NULL) {
        void *hdr = l;
        p->large = l->next;
        mp_pool_vg_large_gone(mp_unhide(l->run_h), large_run_bytes(l),
                              mp_unhide(l->block_h));
        mp_pages_free(mp_unhide(l->run_h), l->npages);
        mp_internal_free(&mp_large_cache, hdr, "mpool_destroy");
    }
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

mp_large_t *
mp_large_lookup(const void *ptr, mp_slab_t **slab, const char *caller,
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
