/* SPDX-License-Identifier: MIT */
/*
 * slab.c - the slab layer of an object cache: page runs cut into objects,
 * constructed lazily, listed by how full they are.
 *
 * Layout of a slab (seeds/003, Bonwick 1994):
 *
 *   run                                                   run + slab bytes
 *   | [descriptor] | colour | obj 0 | obj 1 | ... | obj n-1 | spare tail |
 *
 * - Size: a number of pages whose unusable tail (what is left after the
 *   objects and an on-slab descriptor) is at most 1/8 of the slab; of the
 *   smallest such and those up to four times its size, the one that wastes
 *   the fewest bytes per byte of objects.
 * - Descriptor: at the start of the slab for objects under 1/8 page (and
 *   aligned to 64 bytes or less), where it costs less than one object;
 *   from the internal descriptor cache for larger objects, where it would
 *   cost a large part of one.  At the start, not the end: objects are
 *   carved from the start, so a slab of several pages of which a thread
 *   has used a few objects has its first page resident and no other,
 *   where a descriptor at the end made its last one resident too (a page
 *   a size class, 80-120 KiB in the small workloads of bench/suite).
 * - Colour: successive slabs start their objects one cache line further
 *   in, wrapping within the spare tail, so that the same object index in
 *   different slabs does not always fall on the same cache lines.
 * - Construction is lazy: objects are carved in order, and the constructor
 *   runs when an object is carved.  A slab's free list holds constructed
 *   objects only; objs[carved ..] have never been touched.
 * - The free-list link is the object's first word, unless the cache has a
 *   constructor or destructor: then it is a word after the object, so the
 *   constructed state survives while the object is free.
 * - Hardening: a link is stored XORed with its own address and a key made
 *   at start-up, and a link followed must lead into the same slab's
 *   carved objects, or the cache is reported corrupted.  A write after
 *   free or past an object that lands on a link cannot silently send the
 *   next allocation to memory of the writer's choosing.  The key mixes
 *   addresses the loader randomises and the time-stamp counter where
 *   there is one; on k210 it is fixed by the image and is a checksum
 *   rather than a secret.  Its cost is on the slabs' path only, which
 *   magazines take once per round.
 * - Lists: full, empty, and partial slabs in eight buckets by occupancy.
 *   Allocation takes from the fullest bucket, so the emptiest slabs drain
 *   and can be given back.  A batch (a thread stack's refill) takes the
 *   free objects of partly used slabs, then those of empty slabs (pages
 *   the cache holds already), and makes a new slab only if it took from
 *   no empty one, and then only one: what a refill carves beyond the
 *   object asked for waits in a stack, in pages no other class can use,
 *   and a class's peak would be a whole refill above its live count
 *   (Larson on two threads peaked 2.6 % higher with refills of up to 32
 *   objects in one-page slabs of 7).  Not none once some were found: a
 *   refill cut short at a slab's last free objects would come back at
 *   once, and the stack's capacity, which follows its refills, settled
 *   lower (the batch pair at 64 bytes, 73.0 instructions, took 75.5).
 *   Not after an empty one: a refill after mpool_reset takes what the
 *   refill before it carved, and no new page.  Empty slabs stay,
 *   constructed, until
 *   mpool_reclaim() or destroy gives them back, destructors first: a
 *   program cycling through objects never re-runs its constructors.
 *
 * Holes (mpool_reclaim).  A slab some of whose objects are still out
 * keeps the pages of its free ones resident: a program that freed most of
 * what it had, at random, leaves its slabs partly used, and a page of
 * them may hold free objects only.  Reclaim purges such pages
 * (mp_slab_purge_holes) and takes the objects on them off the free list:
 * they are the slab's holes, their memory the backend's again.  When the
 * free list next runs dry, before anything new is carved, the holes are
 * filled: their pages counted as holding memory again (the page level's
 * committed bits, which say where the holes are) and their objects put
 * back on the list.  An object is in a hole when it overlaps a purged
 * page, and every object that does was free and on the list when the
 * page was purged, so none can be out.  Only for caches whose free
 * objects carry nothing but the link (no constructor, not checking mode),
 * in slabs of 2 to MP_RUN_HOLES_MAX pages whose first page, if it holds
 * the descriptor, is never purged; a slab of one page with every object
 * free is empty, and goes back whole.
 *
 * Every page of a slab's run records the slab as its owner (page.c), so
 * the slab of any object is found through the segment header, and an
 * address that is not in a slab is recognised as such.
 *
 * Functions named _locked are called with cache->lock held.  Constructors
 * and destructors never run under it (base/lock.h, "calling out"):
 * mp_slab_alloc takes objects out under the lock, drops it, and then
 * constructs the newly carved ones; an object whose constructor failed
 * goes back as "raw" (carved, never constructed: kept on the cache's raw
 * list, marked in its link word, and taken first by the next carve).
 * Releasing slabs detaches them under the lock and runs the destructors
 * after dropping it.
 */
#include "cache/cache.h"
#include "base/vg.h"

/* A raw object's mark in its link word while its slab is released: never
 * a real link, which is NULL or an object's address. */
#define MP_RAW_MARK ((void *)1)

static size_t
round_up(size_t n, size_t to)
{
    return (n + to - 1) & ~(to - 1);
}

int
mp_slab_layout(struct mpool_cache *c)
{
    size_t word = sizeof(void *);
    size_t desc, n;

    if (c->flags & MPOOL_CACHE_DEBUG) {
        /* | object | red zone | state word | link | */
        c->state_offset = round_up(c->size, word) + MP_REDZONE;
        c->link_offset = c->state_offset + word;
        c->stride = round_up(c->link_offset + word, c->align);
    } else if (c->ctor != NULL || c->dtor != NULL ||
               (c->flags & MP_CACHE_KEEP_STATE)) {
        c->link_offset = round_up(c->size, word);
        c->stride = round_up(c->link_offset + word, c->align);
    } else {
        c->link_offset = 0;
        c->stride = round_up(c->size < word ? word : c->size, c->align);
    }
    if (c->stride < c->size)
        return ENOMEM; /* overflowed */
    c->desc_on_slab = c->size < MP_PAGE_SIZE / 8 && c->align <= 64;
    desc = c->desc_on_slab ? sizeof(mp_slab_t) : 0;

    /* The smallest slab whose tail obeys the 1/8 rule, then, among it and
     * up to four times its size, the one that wastes the least in all
     * (tail, descriptor and padding), a smaller one on a tie. */
    size_t first_fit = 0;
    c->slab_pages = 0;
    for (n = 1; n <= MP_BUDDY_MAX_PAGES; n++) {
        size_t bytes = n << MP_PAGE_SHIFT;
        size_t objs, tail;

        if (first_fit != 0 && n > 4 * first_fit)
            break;
        if (bytes < desc + c->stride)
            continue;
        objs = (bytes - desc) / c->stride;
        tail = bytes - desc - objs * c->stride;
        if (tail * 8 > bytes)
            continue;
        if (first_fit == 0)
            first_fit = n;
        if (c->slab_pages == 0 ||
            (bytes - objs * c->size) * (c->slab_pages << MP_PAGE_SHIFT) <
                ((c->slab_pages << MP_PAGE_SHIFT) -
                 c->objs_per_slab * c->size) * bytes) {
            c->slab_pages = n;
            c->objs_per_slab = objs;
        }
    }
    if (c->slab_pages == 0) {
        /* Larger than any buddy block: one object in a run of its own,
         * whose tail is under a page. */
        if (c->stride > SIZE_MAX - MP_PAGE_SIZE)
            return ENOMEM;
        c->slab_pages = round_up(c->stride, MP_PAGE_SIZE) >> MP_PAGE_SHIFT;
        c->objs_per_slab = 1;
        c->desc_on_slab = false;
        desc = 0;
    }
    c->colour_step = c->align > 64 ? c->align : 64;
    {
        size_t bytes = c->slab_pages << MP_PAGE_SHIFT;
        size_t tail = bytes - desc - c->objs_per_slab * c->stride;
        c->colour_max = tail / c->colour_step * c->colour_step;
    }
    c->colour_next = 0;
    return 0;
}

static uintptr_t link_key; /* mp_slab_key_init */

void
mp_slab_key_init(const void *entropy)
{
    uintptr_t k = (uintptr_t)entropy ^ ((uintptr_t)&link_key << 16);

#if defined(__x86_64__) || defined(__i386__)
    k ^= (uintptr_t)__builtin_ia32_rdtsc() * 0x9e3779b97f4a7c15ull;
#endif
    k *= (uintptr_t)0xbf58476d1ce4e5b9ull; /* spread every bit */
    k ^= k >> 31;
    link_key = k | 1; /* never 0: a NULL link is never stored as 0 */
}

static void **
link_of(const struct mpool_cache *c, void *obj)
{
    return (void **)((char *)obj + c->link_offset);
}

static void *
link_decode(void *const *link, void *stored)
{
    return (void *)((uintptr_t)stored ^ (uintptr_t)link ^ link_key);
}

/* The free-list link of a free object.  Under valgrind a free object of a
 * described cache is inaccessible: the link's word is opened for the read
 * or write and closed again (vg.h). */
static void *
link_get(const struct mpool_cache *c, void *obj)
{
    void **link = link_of(c, obj);
    void *next;

    if (!(c->flags & MP_CACHE_VG))
        return link_decode(link, *link);
    mp_vg_defined(link, sizeof(*link));
    next = link_decode(link, *link);
    mp_vg_noaccess(link, sizeof(*link));
    return next;
}

static void
link_set(const struct mpool_cache *c, void *obj, void *next)
{
    void **link = link_of(c, obj);

    next = link_decode(link, next); /* the same XOR encodes */
    if (!(c->flags & MP_CACHE_VG)) {
        *link = next;
        return;
    }
    mp_vg_undefined(link, sizeof(*link));
    *link = next;
    mp_vg_noaccess(link, sizeof(*link));
}

/* ------------------------------------------------------------------------
 * Lists
 * ------------------------------------------------------------------------ */

static mp_slab_t **
list_head(struct mpool_cache *c, uint32_t list)
{
    if (list == MP_SLAB_ON_FULL)
        return &c->full;
    if (list == MP_SLAB_ON_EMPTY)
        return &c->empty;
    return &c->partial[list];
}

static void
list_insert(struct mpool_cache *c, mp_slab_t *s, uint32_t list)
{
    mp_slab_t **head = list_head(c, list);

    s->list = (uint8_t)list;
    s->prev = NULL;
    s->next = *head;
    if (s->next != NULL)
        s->next->prev = s;
    *head = s;
    c->nslabs[list]++;
    if (list < MP_PARTIAL_BUCKETS)
        c->partial_mask |= 1u << list;
}

static void
list_remove(struct mpool_cache *c, mp_slab_t *s)
{
    mp_slab_t **head = list_head(c, s->list);

    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    c->nslabs[s->list]--;
    if (s->list < MP_PARTIAL_BUCKETS && *head == NULL)
        c->partial_mask &= ~(1u << s->list);
    s->next = s->prev = NULL;
}

static uint32_t
list_for(const struct mpool_cache *c, const mp_slab_t *s)
{
    if (s->inuse == 0)
        return MP_SLAB_ON_EMPTY;
    if (s->inuse == c->objs_per_slab)
        return MP_SLAB_ON_FULL;
    return (uint32_t)((size_t)s->inuse * MP_PARTIAL_BUCKETS /
                      c->objs_per_slab);
}

static size_t slab_detach_locked(struct mpool_cache *c, mp_slab_t *s);
static void slab_finish(struct mpool_cache *c, mp_slab_t *s);

/* Whether c's slabs hold one block each, too large for magazines (the
 * classes above 64 KiB): its owner may keep fewer such empty slabs than
 * others (pool.c, pool_empty_slab).  Kept, such a slab serves its class
 * only: git repack's delta search walks its objects by size, and each
 * class of 72-208 KiB kept its high-water mark of empty slabs
 * (doc/bench-suite.md, issue 16).  Decided by the layout, which never
 * changes, and not by the slot index, which a reset may drop: what the
 * owner counts in, it counts out. */
static bool
slab_single(const struct mpool_cache *c)
{
    return c->objs_per_slab == 1 && c->stride > MP_MAGAZINE_BYTES;
}

/* Move s to the list its occupancy calls for.  For a pool's cache, tell
 * the owner of a slab that became empty, and give it back at once if the
 * owner says so, purged or not. */
static void
relist(struct mpool_cache *c, mp_slab_t *s)
{
    MP_ASSERT(s->cache == c && s->inuse <= s->carved &&
              s->carved <= c->objs_per_slab);
    uint32_t want = list_for(c, s);
    uint32_t was = s->list;
    ptrdiff_t bytes = (ptrdiff_t)(c->slab_pages << MP_PAGE_SHIFT);

    if (want == was)
        return;
    list_remove(c, s);
    list_insert(c, s, want);
    if (c->owner_ops == NULL)
        return;
    if (was == MP_SLAB_ON_EMPTY) {
        c->owner_ops->empty_slab(c->owner, -bytes, slab_single(c));
    } else if (want == MP_SLAB_ON_EMPTY) {
        enum mp_empty_verdict v =
            c->owner_ops->empty_slab(c->owner, bytes, slab_single(c));
        if (v != MP_EMPTY_KEEP) {
            /* an owner's class cache has no destructor to call out to, so
             * the slab goes at once, under the lock */
            MP_ASSERT(c->dtor == NULL);
            s->purge = v == MP_EMPTY_RELEASE_PURGED ? MP_SLAB_FREE_PURGE
                                                    : MP_SLAB_FREE_REUSE;
            slab_detach_locked(c, s);
            slab_finish(c, s);
        }
    }
}

/* ------------------------------------------------------------------------
 * Slabs in and out
 * ------------------------------------------------------------------------ */

static mp_slab_t *
slab_create_locked(struct mpool_cache *c)
{
    size_t bytes = c->slab_pages << MP_PAGE_SHIFT;
    bool is_zero;
    char *run;
    mp_slab_t *s;

    if (c->owner_ops != NULL &&
        !c->owner_ops->charge(c->owner, (ptrdiff_t)bytes)) {
        mp_set_errno(ENOMEM);
        return NULL;
    }
    run = mp_pages_alloc(c->slab_pages, &is_zero);
    if (run == NULL) {
        if (c->owner_ops != NULL)
            c->owner_ops->charge(c->owner, -(ptrdiff_t)bytes);
        return NULL;
    }
    if (c->desc_on_slab) {
        s = (mp_slab_t *)run;
    } else {
        void *d = mp_internal_alloc(&mp_slab_cache);
        if (d == NULL) {
            mp_pages_free(run, c->slab_pages);
            if (c->owner_ops != NULL)
                c->owner_ops->charge(c->owner, -(ptrdiff_t)bytes);
            return NULL;
        }
        s = d;
    }
    s->cache = c;
    s->run_h = mp_hide(run);
    s->colour = (uint32_t)c->colour_next +
                (c->desc_on_slab ? (uint32_t)sizeof(mp_slab_t) : 0);
    s->objs_h = mp_hide(run + s->colour);
    s->free = NULL;
    s->carved = 0;
    s->inuse = 0;
    s->purge = MP_SLAB_FREE_PLAIN;
    s->holed = 0;
    c->colour_next += c->colour_step;
    if (c->colour_next > c->colour_max)
        c->colour_next = 0;
    if (c->owner != NULL)
        mp_pages_set_owners(run, c->slab_pages, s, c->owner, c,
                            mp_tslot_fast_word(c));
    else
        mp_pages_set_owner(run, c->slab_pages, s);
    if ((c->flags & MP_CACHE_VG) && !(c->flags & MPOOL_CACHE_DEBUG))
        /* nothing in it is the program's until handed out; the padding
         * after each object stays inaccessible, a red zone */
        mp_vg_noaccess(mp_slab_objs(s), (size_t)c->objs_per_slab * c->stride);
    list_insert(c, s, MP_SLAB_ON_EMPTY);
    if (c->owner_ops != NULL)
        /* never past the cap: it is about to be used */
        c->owner_ops->empty_slab(c->owner, (ptrdiff_t)bytes, slab_single(c));
    return s;
}

/* Whether obj, a carved object of a slab being released, is raw (its
 * constructor never ran to the end): slab_detach_locked marked it. */
static bool
is_raw_marked(const struct mpool_cache *c, void *obj)
{
    return link_get(c, obj) == MP_RAW_MARK;
}

/* Take s off its cache: off the lists, out of the counts, its raw objects
 * off the raw list (marked, so that slab_finish skips their destructor).
 * Returns its pages. */
static size_t
slab_detach_locked(struct mpool_cache *c, mp_slab_t *s)
{
    char *objs = mp_slab_objs(s);
    char *end = objs + (size_t)s->carved * c->stride;

    MP_ASSERT(s->cache == c && s->inuse == 0);
    /* the page entry of the slab's run names it as owner */
    MP_ASSERT(mp_pages_owner(mp_unhide(s->run_h)) == s);
    if (c->owner_ops != NULL && s->list == MP_SLAB_ON_EMPTY)
        c->owner_ops->empty_slab(c->owner,
                                 -(ptrdiff_t)(c->slab_pages << MP_PAGE_SHIFT),
                                 slab_single(c));
    list_remove(c, s);
    if (c->nraw > 0) {
        void *prev = NULL;
        for (void *obj = c->raw; obj != NULL;) {
            void *next = link_get(c, obj);
            if ((char *)obj >= objs && (char *)obj < end) {
                if (prev == NULL)
                    c->raw = next;
                else
                    link_set(c, prev, next);
                c->nraw--;
                link_set(c, obj, MP_RAW_MARK);
            } else {
                prev = obj;
            }
            obj = next;
        }
    }
    c->objs_carved -= s->carved;
    c->objs_holed -= s->holed; /* the page level has their pages as they are */
    s->holed = 0;
    return c->slab_pages;
}

/* Destructors, then the slab's pages back; no lock of the cache held
 * (except for a cache without destructor, whose slab relist releases). */
static void
slab_finish(struct mpool_cache *c, mp_slab_t *s)
{
    char *run = mp_unhide(s->run_h);
    unsigned purge = s->purge;
    bool any_raw = c->ctor != NULL;

    if (c->flags & MP_CACHE_VG)
        /* a destroyed cache frees what is still out: the objects whose
         * first byte is accessible (free ones are not) */
        for (uint32_t i = 0; i < s->carved; i++) {
            char *obj = mp_slab_objs(s) + (size_t)i * c->stride;
            if (mp_vg_addressable(obj, 1) == 1)
                mp_vg_block_free(obj);
        }
    if (c->dtor != NULL)
        for (uint32_t i = 0; i < s->carved; i++) {
            char *obj = mp_slab_objs(s) + (size_t)i * c->stride;
            if (any_raw && is_raw_marked(c, obj))
                continue; /* never constructed */
            /* in checking mode a freed object was destructed at free */
            if (c->flags & MP_CACHE_VG)
                mp_vg_defined(obj, c->size); /* its constructed state */
            if (!(c->flags & MPOOL_CACHE_DEBUG) || !mp_debug_is_free(c, obj))
                c->dtor(obj, c->arg);
        }
    if (!c->desc_on_slab) {
        void *d = s;
        mp_internal_free(&mp_slab_cache, d, "mp_slab_release");
    }
    if (c->flags & MP_CACHE_VG) /* plain pages again, for their next use */
        mp_vg_undefined(run, c->slab_pages << MP_PAGE_SHIFT);
    if (purge == MP_SLAB_FREE_PURGE)
        mp_pages_free_purge(run, c->slab_pages);
    else if (purge == MP_SLAB_FREE_REUSE)
        mp_pages_free_reuse(run, c->slab_pages);
    else
        mp_pages_free(run, c->slab_pages);
    if (c->owner_ops != NULL)
        c->owner_ops->charge(c->owner,
                             -(ptrdiff_t)(c->slab_pages << MP_PAGE_SHIFT));
}

/* Detach under the lock the empty slabs beyond keep (or, with all, every
 * slab) onto *chain, linked through their next; returns their pages. */
static size_t
slabs_detach(struct mpool_cache *c, size_t keep, bool all, mp_slab_t **chain)
{
    size_t pages = 0;

    mp_cache_lock(&c->lock, c);
    if (all) {
        for (uint32_t list = 0; list <= MP_SLAB_ON_EMPTY; list++)
            while (*list_head(c, list) != NULL) {
                mp_slab_t *s = *list_head(c, list);
                s->inuse = 0; /* what is out goes with it (destroy) */
                pages += slab_detach_locked(c, s);
                s->next = *chain;
                *chain = s;
            }
        c->objs_out = 0;
        MP_ASSERT(c->raw == NULL && c->nraw == 0); /* detached with them */
    } else {
        while (c->nslabs[MP_SLAB_ON_EMPTY] > keep) {
            mp_slab_t *s = c->empty;
            pages += slab_detach_locked(c, s);
            s->next = *chain;
            *chain = s;
        }
    }
    mp_cache_unlock(&c->lock, c);
    return pages;
}

size_t
mp_slab_detach_empty(struct mpool_cache *c, mp_slab_t **chain)
{
    return slabs_detach(c, 0, false, chain);
}

void
mp_slab_finish_chain(mp_slab_t *chain)
{
    while (chain != NULL) {
        mp_slab_t *s = chain;
        chain = s->next;
        slab_finish(s->cache, s);
    }
}

size_t
mp_slab_release_empty(struct mpool_cache *c, size_t keep)
{
    mp_slab_t *chain = NULL;
    size_t pages = slabs_detach(c, keep, false, &chain);

    mp_slab_finish_chain(chain);
    return pages;
}

void
mp_slab_release_all(struct mpool_cache *c)
{
    mp_slab_t *chain = NULL;

    slabs_detach(c, 0, true, &chain);
    mp_slab_finish_chain(chain);
}

/* Every object of s free again (mpool_reset), under the cache's lock.
 * Plain mode uncarves the slab: O(1), and the objects are carved again
 * from the start.  Checking mode keeps them carved but marks each one
 * freed and poisoned (debug.c) and relinks them all, so that a late free
 * is a double free and a write through a stale pointer is caught when the
 * object is next handed out.  Under valgrind every block still out, or
 * quarantined, is freed to memcheck. */
static void
slab_reset_locked(struct mpool_cache *c, mp_slab_t *s)
{
    char *objs = mp_slab_objs(s);

    if (c->flags & MPOOL_CACHE_DEBUG) {
        s->free = NULL;
        for (uint32_t i = s->carved; i-- > 0;) {
            char *obj = objs + (size_t)i * c->stride;
            mp_debug_reset_object(c, obj);
            link_set(c, obj, s->free);
            s->free = obj;
        }
    } else {
        if (c->flags & MP_CACHE_VG) {
            for (uint32_t i = 0; i < s->carved; i++) {
                char *obj = objs + (size_t)i * c->stride;
                if (mp_vg_addressable(obj, 1) == 1)
                    mp_vg_block_free(obj);
            }
            mp_vg_noaccess(objs, (size_t)c->objs_per_slab * c->stride);
        }
        if (s->holed != 0) { /* carved anew from the start, holes too */
            (void)mp_pages_holes_within(mp_unhide(s->run_h), c->slab_pages,
                                        true);
            c->objs_holed -= s->holed;
            s->holed = 0;
        }
        c->objs_carved -= s->carved;
        s->carved = 0;
        s->free = NULL;
    }
    s->inuse = 0;
    if (c->owner != NULL) /* the class's fixed slot may be a new one */
        mp_pages_set_owners(mp_unhide(s->run_h), c->slab_pages, s, c->owner, c,
                            mp_tslot_fast_word(c));
    relist(c, s); /* to the empty list, or back to the page level past the
                     owner's retention cap */
}

void
mp_slab_reset_all(struct mpool_cache *c)
{
    MP_ASSERT(c->ctor == NULL && c->dtor == NULL && c->nraw == 0);
    mp_cache_lock(&c->lock, c);
    /* the quarantine's objects are out of their slabs: reset with them */
    c->q_count = 0;
    c->q_head = 0;
    for (uint32_t list = 0; list < MP_SLAB_ON_EMPTY; list++)
        while (*list_head(c, list) != NULL)
            slab_reset_locked(c, *list_head(c, list));
    c->objs_out = 0;
    mp_cache_unlock(&c->lock, c);
}

void *
mp_internal_alloc(struct mpool_cache *c)
{
    void *obj;

    if (mp_slab_alloc(c, &obj, 1) != 1)
        obj = NULL;
    return obj;
}

void
mp_internal_free(struct mpool_cache *c, void *obj, const char *caller)
{
    mp_cache_lock(&c->lock, c);
    mp_slab_free_locked(c, &obj, 1, caller);
    mp_cache_unlock(&c->lock, c);
}

mp_slab_t *
mp_slab_of(const void *obj)
{
    mp_slab_t *s = mp_pages_owner(obj);

    if (s == NULL || ((uintptr_t)s & 1) != 0)
        return NULL; /* not in a run, or a run that is not a slab */
    return s;
}

/* ------------------------------------------------------------------------
 * Holes
 * ------------------------------------------------------------------------ */

/* The most objects a slab with holes has: its free ones are found with a
 * bitmap of this many bits on the stack (512 bytes). */
#define HOLES_OBJS_MAX 4096

/* Whether c's slabs may have holes (the top of the file). */
static bool
holes_allowed(const struct mpool_cache *c)
{
    return mp_config.can_purge && c->ctor == NULL && c->dtor == NULL &&
           !(c->flags & (MPOOL_CACHE_DEBUG | MP_CACHE_KEEP_STATE)) &&
           c->slab_pages >= 2 &&
           c->slab_pages <= MP_RUN_HOLES_MAX && c->objs_per_slab >= 2 &&
           c->objs_per_slab <= HOLES_OBJS_MAX;
}

/* The pages of s's run that object i overlaps, as a mask. */
static uint64_t
object_pages(const struct mpool_cache *c, const mp_slab_t *s, size_t i)
{
    size_t at = (size_t)(mp_slab_objs(s) - (char *)mp_unhide(s->run_h)) +
                i * c->stride;
    size_t first = at >> MP_PAGE_SHIFT;
    size_t last = (at + c->stride - 1) >> MP_PAGE_SHIFT;

    MP_ASSERT(last < c->slab_pages);
    return (last - first == 63 ? ~(uint64_t)0
                               : (((uint64_t)1 << (last - first + 1)) - 1))
           << first;
}

static bool
bit_test(const uint64_t *bits, size_t i)
{
    return (bits[i / 64] >> (i % 64)) & 1;
}

/* Whether bits lo .. hi are all set. */
static bool
bits_all_set(const uint64_t *bits, size_t lo, size_t hi)
{
    for (size_t w = lo / 64; w <= hi / 64; w++) {
        uint64_t want = ~(uint64_t)0;
        if (w == lo / 64)
            want &= ~(uint64_t)0 << (lo % 64);
        if (w == hi / 64 && hi % 64 != 63)
            want &= ((uint64_t)1 << (hi % 64 + 1)) - 1;
        if ((bits[w] & want) != want)
            return false;
    }
    return true;
}

/* The objects that page p of s's run overlaps: *lo .. *hi; false when
 * none does (the colour before the first, the tail after the last). */
static bool
page_objects(const struct mpool_cache *c, const mp_slab_t *s, size_t p,
             size_t *lo, size_t *hi)
{
    size_t first = (size_t)(mp_slab_objs(s) - (char *)mp_unhide(s->run_h));
    size_t start = p << MP_PAGE_SHIFT, stop = start + MP_PAGE_SIZE;
    size_t end = first + (size_t)c->objs_per_slab * c->stride;

    if (stop <= first || start >= end)
        return false;
    *lo = start > first ? (start - first) / c->stride : 0;
    *hi = ((stop < end ? stop : end) - 1 - first) / c->stride;
    return true;
}

/* Purge the pages of s that hold free objects only; the pages purged. */
static size_t
slab_purge_holes_locked(struct mpool_cache *c, mp_slab_t *s)
{
    uint64_t free_bits[HOLES_OBJS_MAX / 64];
    uint64_t candidates = 0, purged;
    char *objs = mp_slab_objs(s);
    char *end = objs + (size_t)s->carved * c->stride;
    size_t holed = 0, walked = 0;
    size_t listed = s->carved - s->inuse - s->holed;

    /* a page is covered by at least this many objects (one, when an
     * object spans pages): with fewer free, none can be a hole */
    if (listed == 0 || listed < MP_PAGE_SIZE / c->stride)
        return 0;
    __builtin_memset(free_bits, 0,
                     (c->objs_per_slab + 63) / 64 * sizeof(uint64_t));
    for (char *obj = s->free; obj != NULL; obj = link_get(c, obj)) {
        if (obj < objs || obj >= end ||
            (size_t)(obj - objs) % c->stride != 0)
            mp_cache_panic("mpool_reclaim",
                           "free list corrupted: a free object's link "
                           "overwritten",
                           obj, c->name, NULL);
        free_bits[(size_t)(obj - objs) / c->stride / 64] |=
            (uint64_t)1 << ((size_t)(obj - objs) / c->stride % 64);
        walked++;
    }
    MP_ASSERT(walked == listed); /* the list holds what the counts say */
    (void)walked;
    /* a page is a candidate when objects lie on it and all are free;
     * never one of uncarved objects (never written), nor the descriptor's */
    for (size_t p = c->desc_on_slab ? 1 : 0; p < c->slab_pages; p++) {
        size_t lo, hi;
        if (page_objects(c, s, p, &lo, &hi) && hi < s->carved &&
            bits_all_set(free_bits, lo, hi))
            candidates |= (uint64_t)1 << p;
    }
    if (candidates == 0)
        return 0;
    purged = mp_pages_purge_within(mp_unhide(s->run_h), c->slab_pages,
                                   candidates);
    if (purged == 0)
        return 0;
    /* the free list again, lowest address first, without the objects of
     * the purged pages (their links went with them) */
    s->free = NULL;
    for (size_t i = s->carved; i-- > 0;) {
        char *obj = objs + i * c->stride;
        if (!bit_test(free_bits, i))
            continue;
        if (object_pages(c, s, i) & purged) {
            holed++;
            continue;
        }
        link_set(c, obj, s->free);
        s->free = obj;
    }
    s->holed = (uint16_t)(s->holed + holed);
    c->objs_holed += holed;
    return (size_t)__builtin_popcountll(purged);
}

size_t
mp_slab_purge_holes(struct mpool_cache *c)
{
    size_t pages = 0;

    if (!holes_allowed(c))
        return 0;
    mp_cache_lock(&c->lock, c);
    for (uint32_t list = 0; list < MP_PARTIAL_BUCKETS; list++)
        for (mp_slab_t *s = c->partial[list]; s != NULL; s = s->next)
            pages += slab_purge_holes_locked(c, s);
    mp_cache_unlock(&c->lock, c);
    return pages;
}

/* s's free list ran dry and it has holes: their pages hold memory again
 * and their objects go on the list.  The first of them. */
static void *
slab_fill_holes_locked(struct mpool_cache *c, mp_slab_t *s)
{
    uint64_t holes = mp_pages_holes_within(mp_unhide(s->run_h),
                                           c->slab_pages, true);
    char *objs = mp_slab_objs(s);
    size_t filled = 0;

    MP_ASSERT(s->free == NULL && holes != 0);
    for (size_t i = s->carved; i-- > 0;)
        if (object_pages(c, s, i) & holes) {
            link_set(c, objs + i * c->stride, s->free);
            s->free = objs + i * c->stride;
            filled++;
        }
    MP_ASSERT(filled == s->holed);
    c->objs_holed -= s->holed;
    s->holed = 0;
    return s->free;
}

void
mp_slab_clear_holed(const struct mpool_cache *c, const mp_slab_t *s,
                    uint64_t *bits)
{
    uint64_t holes;

    if (s->holed == 0)
        return;
    holes = mp_pages_holes_within(mp_unhide(s->run_h), c->slab_pages, false);
    for (size_t i = 0; i < s->carved; i++)
        if (object_pages(c, s, i) & holes)
            bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* ------------------------------------------------------------------------
 * Objects in and out
 * ------------------------------------------------------------------------ */

/* A raw object (carved, never constructed) out to the caller. */
static void *
raw_take_locked(struct mpool_cache *c)
{
    void *obj = c->raw;
    mp_slab_t *s;

    c->raw = link_get(c, obj);
    c->nraw--;
    s = mp_slab_of(obj);
    MP_ASSERT(s != NULL && s->cache == c);
    s->inuse++;
    relist(c, s);
    return obj;
}

/* out[0 .. got) from the slabs, got <= n: partly used slabs' objects,
 * then empty slabs', then at most one new slab's, only if no empty one
 * served (see the top of the file); of them, the last *unbuilt still
 * need their constructor (carved now, or raw), which the caller runs with
 * the lock dropped. */
static size_t
slab_alloc_locked(struct mpool_cache *c, void **out, size_t n,
                  size_t *unbuilt)
{
    size_t got = 0, fresh = 0; /* fresh: at out[n - fresh .. n) */
    bool whole = false; /* taken from an empty or a new slab */

    while (got + fresh < n && c->raw != NULL) {
        char *obj = raw_take_locked(c);
        if (c->flags & MP_CACHE_VG) {
            mp_vg_block_alloc(obj, c->size);
            mp_vg_defined(obj, c->size);
        }
        out[n - ++fresh] = obj;
    }
    while (got + fresh < n) {
        mp_slab_t *s;

        if (c->partial_mask != 0) {
            s = c->partial[31 - __builtin_clz(c->partial_mask)];
        } else if (c->empty != NULL) {
            s = c->empty;
            whole = true;
        } else if (whole || (s = slab_create_locked(c)) == NULL) {
            break; /* a new slab only where no empty one served */
        } else {
            whole = true;
        }

        while (got + fresh < n && s->inuse < c->objs_per_slab) {
            char *obj = s->free;

            if (obj == NULL && s->holed != 0)
                obj = slab_fill_holes_locked(c, s);
            if (obj != NULL) {
                char *next = link_get(c, obj);
                if (next != NULL &&
                    (next < mp_slab_objs(s) ||
                     next >= mp_slab_objs(s) + (size_t)s->carved * c->stride))
                    mp_cache_panic("mpool_cache_alloc",
                                   "free list corrupted: a free object's "
                                   "link overwritten",
                                   obj, c->name, NULL);
                s->free = next;
                out[got++] = obj;
            } else {
                MP_ASSERT(s->carved < c->objs_per_slab);
                obj = mp_slab_objs(s) + (size_t)s->carved * c->stride;
                if (c->flags & MP_CACHE_VG)
                    mp_vg_undefined(obj, c->size);
                s->carved++;
                c->objs_carved++;
                if (c->flags & MPOOL_CACHE_DEBUG)
                    *(uint64_t *)(obj + c->state_offset) = MP_STATE_FRESH;
                if (c->ctor != NULL)
                    out[n - ++fresh] = obj;
                else
                    out[got++] = obj;
            }
            s->inuse++;
            if (c->flags & MP_CACHE_VG) {
                /* a chunk: undefined, but a constructed object's state is
                 * the constructor's, defined */
                mp_vg_block_alloc(obj, c->size);
                if (c->ctor != NULL || (c->flags & MPOOL_CACHE_DEBUG))
                    mp_vg_defined(obj, c->size);
            }
        }
        relist(c, s);
    }
    if (fresh > 0 && got + fresh < n)
        __builtin_memmove(out + got, out + n - fresh, fresh * sizeof(void *));
    got += fresh;
    c->objs_out += got;
    *unbuilt = fresh;
    if (got == 0)
        mp_set_errno(ENOMEM);
    return got;
}

/* Objects whose constructor did not run (or failed) back as raw. */
static void
slab_unbuild_locked(struct mpool_cache *c, void **objs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *obj = objs[i];
        mp_slab_t *s = mp_slab_of(obj);

        MP_ASSERT(s != NULL && s->cache == c && s->inuse > 0);
        if (c->flags & MP_CACHE_VG)
            mp_vg_block_free(obj);
        link_set(c, obj, c->raw);
        c->raw = obj;
        c->nraw++;
        s->inuse--;
        relist(c, s);
    }
    c->objs_out -= n;
}

size_t
mp_slab_alloc(struct mpool_cache *c, void **out, size_t n)
{
    size_t got, unbuilt, built;

    mp_cache_lock(&c->lock, c);
    got = slab_alloc_locked(c, out, n, &unbuilt);
    mp_cache_unlock(&c->lock, c);
    if (unbuilt == 0)
        return got;
    /* Constructors, with no lock held: they may allocate from any other
     * cache or pool, which may run out of memory and reclaim. */
    for (built = 0; built < unbuilt; built++)
        if (c->ctor(out[got - unbuilt + built], c->arg) != 0)
            break;
    if (built == unbuilt)
        return got;
    mp_cache_lock(&c->lock, c);
    slab_unbuild_locked(c, out + got - unbuilt + built, unbuilt - built);
    mp_cache_unlock(&c->lock, c);
    got -= unbuilt - built;
    if (got == 0)
        mp_set_errno(ENOMEM);
    return got;
}

/* A stranger in a free: name it, and the cache, and stop. */
static MP_NORETURN void
slab_bad_free(const char *caller, const char *what, const void *obj,
              const struct mpool_cache *c, const struct mpool_cache *other)
{
    mp_cache_panic(caller, what, obj, c->name,
                   other != NULL ? other->name : NULL);
}

void
mp_slab_free_locked(struct mpool_cache *c, void **objs, size_t n,
                    const char *caller)
{
    for (size_t i = 0; i < n; i++) {
        char *obj = objs[i];
        mp_slab_t *s = mp_slab_of(obj);
        size_t offset;

        if (s == NULL)
            slab_bad_free(caller, "pointer not from any cache", obj, c, NULL);
        if (s->cache != c)
            slab_bad_free(caller, "object freed to the wrong cache", obj, c,
                          s->cache);
        offset = (size_t)(obj - mp_slab_objs(s));
        if (obj < mp_slab_objs(s) || offset % c->stride != 0 ||
            offset / c->stride >= s->carved)
            slab_bad_free(caller, "pointer is not the start of an object",
                          obj, c, NULL);
        if (c->flags & MP_CACHE_VG)
            mp_vg_block_free(obj); /* inaccessible from now on */
        link_set(c, obj, s->free);
        s->free = obj;
        s->inuse--;
        relist(c, s);
    }
    c->objs_out -= n;
}

void *
mp_slab_free_next(const struct mpool_cache *c, void *obj)
{
    return link_get(c, obj);
}
