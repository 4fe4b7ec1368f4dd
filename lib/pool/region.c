/* SPDX-License-Identifier: MIT */
/*
 * region.c - a pool over memory the caller supplies (a static array on a
 * microcontroller, a shared-memory segment): TLSF, Two-Level Segregated
 * Fit (Masmano, Ripoll, Crespo, Real, 2004), in O(1) for allocation and
 * free, with neighbours joined on free.
 *
 * Every block starts with a 16-byte header; the program's bytes follow.
 *
 *   | prev_phys | size|flags | program bytes ...      | next block
 *                            ^ 16-byte aligned
 *   a free block keeps two links (next_free, prev_free) in its first
 *   program bytes, so the smallest block is 32 bytes.
 *
 *   size   the block's bytes after its header, a multiple of 16
 *   flags  bit 0: this block is free; bit 1: the block before it is free
 *
 * Free blocks are kept in lists by size: a first level by the power of two
 * (fl = floor(log2 size)), a second level splitting each power into 16
 * (sl).  One bitmap bit per non-empty list at each level finds a list of
 * large enough blocks with two find-first-set instructions.  A request is
 * rounded up to the next list boundary, so any block of the list found
 * fits without a search ("good fit").
 *
 * The region is laid out as one free block and a zero-size sentinel block
 * at its end that is never free, so joining never runs off the region.  No
 * byte outside [region, region + size) is ever read or written.
 *
 * Locks: the region's own lock, taken by every call.
 */
#include "pool/region.h"
#include "base/vg.h"

#define ALIGN 16
#define HEADER 16
#define MIN_BLOCK 16 /* program bytes: room for the two links */
#define SL_SHIFT 4 /* MP_REGION_SL == 1 << SL_SHIFT */
#define SL_COUNT (1u << SL_SHIFT)
#define FL_SHIFT (SL_SHIFT + 4) /* sizes below 256 share first level 0 */
#define SMALL_BLOCK ((size_t)1 << FL_SHIFT)
#define FL_COUNT MP_REGION_FL

#define FLAG_FREE 1u
#define FLAG_PREV_FREE 2u
#define FLAGS 3u

typedef struct mp_rblock rblock_t;
struct mp_rblock {
    rblock_t *prev_phys; /* valid while the block before is free */
    size_t size_flags;
    rblock_t *next_free; /* valid while free */
    rblock_t *prev_free;
};

static size_t
block_size(const rblock_t *b)
{
    return b->size_flags & ~(size_t)FLAGS;
}

static void
block_set_size(rblock_t *b, size_t size)
{
    b->size_flags = size | (b->size_flags & FLAGS);
}

static bool
block_is_free(const rblock_t *b)
{
    return (b->size_flags & FLAG_FREE) != 0;
}

static void *
block_to_ptr(rblock_t *b)
{
    return (char *)b + HEADER;
}

static rblock_t *
ptr_to_block(const void *p)
{
    return (rblock_t *)((char *)p - HEADER);
}

static rblock_t *
block_next(rblock_t *b)
{
    return (rblock_t *)((char *)b + HEADER + block_size(b));
}

/* Mark b free (or used), and tell the block after it. */
static void
block_mark(rblock_t *b, bool free)
{
    rblock_t *next = block_next(b);

    if (free) {
        b->size_flags |= FLAG_FREE;
        next->size_flags |= FLAG_PREV_FREE;
        next->prev_phys = b;
    } else {
        b->size_flags &= ~(size_t)FLAG_FREE;
        next->size_flags &= ~(size_t)FLAG_PREV_FREE;
    }
}

static void
mapping(size_t size, unsigned *fl, unsigned *sl)
{
    if (size < SMALL_BLOCK) {
        *fl = 0;
        *sl = (unsigned)(size / (SMALL_BLOCK / SL_COUNT));
    } else {
        unsigned f = 63u - (unsigned)__builtin_clzll(size);
        *sl = (unsigned)((size >> (f - SL_SHIFT)) ^ SL_COUNT);
        *fl = f - (FL_SHIFT - 1);
    }
}

/* The list to search for a block of at least `size`: round up to the next
 * list boundary first. */
static void
mapping_search(size_t size, unsigned *fl, unsigned *sl)
{
    if (size >= SMALL_BLOCK) {
        unsigned f = 63u - (unsigned)__builtin_clzll(size);
        size += ((size_t)1 << (f - SL_SHIFT)) - 1;
    }
    mapping(size, fl, sl);
}

/* Under valgrind a freed block is inaccessible (vg.h): open its links, or
 * a header about to be written inside what was a block. */
static void
open_links(rblock_t *b)
{
    mp_vg_undefined(&b->next_free, 2 * sizeof(rblock_t *));
}

static void
open_header(rblock_t *b)
{
    mp_vg_undefined(b, HEADER);
}

static void
list_insert(struct mp_region *r, rblock_t *b)
{
    unsigned fl, sl;

    open_links(b);

    mapping(block_size(b), &fl, &sl);
    b->prev_free = NULL;
    b->next_free = r->lists[fl][sl];
    if (b->next_free != NULL)
        b->next_free->prev_free = b;
    r->lists[fl][sl] = b;
    r->fl_bitmap |= (uint64_t)1 << fl;
    r->sl_bitmap[fl] |= 1u << sl;
}

static void
list_remove(struct mp_region *r, rblock_t *b)
{
    unsigned fl, sl;

    mapping(block_size(b), &fl, &sl);
    if (b->prev_free != NULL)
        b->prev_free->next_free = b->next_free;
    else
        r->lists[fl][sl] = b->next_free;
    if (b->next_free != NULL)
        b->next_free->prev_free = b->prev_free;
    if (r->lists[fl][sl] == NULL) {
        r->sl_bitmap[fl] &= ~(1u << sl);
        if (r->sl_bitmap[fl] == 0)
            r->fl_bitmap &= ~((uint64_t)1 << fl);
    }
}

static rblock_t *
find_suitable(struct mp_region *r, unsigned fl, unsigned sl)
{
    unsigned sl_map;
    uint64_t fl_map;

    if (fl >= FL_COUNT)
        return NULL;
    sl_map = r->sl_bitmap[fl] & (~0u << sl);
    if (sl_map == 0) {
        fl_map = fl + 1 < 64 ? r->fl_bitmap & (~(uint64_t)0 << (fl + 1)) : 0;
        if (fl_map == 0)
            return NULL;
        fl = (unsigned)__builtin_ctzll(fl_map);
        sl_map = r->sl_bitmap[fl];
    }
    sl = (unsigned)__builtin_ctz(sl_map);
    return r->lists[fl][sl];
}

/* Cut b down to `size`, the rest becoming a free block (if it is big
 * enough to be one). */
static void
block_trim(struct mp_region *r, rblock_t *b, size_t size)
{
    size_t have = block_size(b);
    rblock_t *rest;

    if (have < size + HEADER + MIN_BLOCK)
        return;
    block_set_size(b, size);
    rest = block_next(b);
    open_header(rest);
    rest->size_flags = have - size - HEADER;
    rest->prev_phys = b;
    /* rest's block before (b) is in use; rest goes on the lists, and may
     * join the block after it */
    {
        rblock_t *after = block_next(rest);
        if (block_is_free(after)) {
            list_remove(r, after);
            block_set_size(rest, block_size(rest) + HEADER + block_size(after));
        }
    }
    block_mark(rest, true);
    list_insert(r, rest);
}

static size_t
adjust(size_t size)
{
    if (size < MIN_BLOCK)
        return MIN_BLOCK;
    return (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

int
mp_region_init(struct mp_region *r, void *base, size_t size)
{
    char *start = (char *)(((uintptr_t)base + ALIGN - 1) &
                           ~(uintptr_t)(ALIGN - 1));
    size_t usable;
    rblock_t *first, *sentinel;

    if (base == NULL || size < (size_t)(start - (char *)base) +
                                   2 * HEADER + MIN_BLOCK)
        return EINVAL;
    usable = (size - (size_t)(start - (char *)base)) & ~(size_t)(ALIGN - 1);
    __builtin_memset(r, 0, sizeof(*r));
    mp_mutex_init(&r->lock, MP_LOCK_REGION, 0);
    r->base = base;
    r->size = size;
    /* one free block, then the sentinel: a used block of size 0 */
    first = (rblock_t *)start;
    first->prev_phys = NULL;
    first->size_flags = usable - 2 * HEADER;
    sentinel = block_next(first);
    sentinel->size_flags = 0;
    block_mark(first, true);
    list_insert(r, first);
    return 0;
}

bool
mp_region_contains(const struct mp_region *r, const void *p)
{
    return (const char *)p >= r->base && (const char *)p < r->base + r->size;
}

void *
mp_region_alloc(struct mp_region *r, size_t size, size_t align)
{
    size_t want, need;
    unsigned fl, sl;
    rblock_t *b;
    void *p;

    if (size > r->size || align > r->size) {
        mp_set_errno(ENOMEM);
        return NULL;
    }
    want = adjust(size);
    /* room to move the start forward to the alignment, leaving a free
     * block in front */
    need = align > ALIGN ? want + align + HEADER + MIN_BLOCK : want;
    mp_mutex_lock(&r->lock);
    mapping_search(need, &fl, &sl);
    b = find_suitable(r, fl, sl);
    if (b == NULL) {
        mp_mutex_unlock(&r->lock);
        mp_set_errno(ENOMEM);
        return NULL;
    }
    list_remove(r, b);
    if (align > ALIGN) {
        uintptr_t ptr = (uintptr_t)block_to_ptr(b);
        uintptr_t aligned = (ptr + HEADER + MIN_BLOCK + align - 1) &
                            ~(uintptr_t)(align - 1);
        if (aligned != ptr) {
            /* the gap in front becomes a free block of its own */
            size_t gap = aligned - ptr; /* >= HEADER + MIN_BLOCK */
            rblock_t *moved = (rblock_t *)(aligned - HEADER);
            open_header(moved);
            moved->size_flags = block_size(b) - gap;
            moved->prev_phys = b;
            block_set_size(b, gap - HEADER);
            block_mark(b, true);
            list_insert(r, b);
            b = moved;
        }
    }
    block_trim(r, b, want);
    block_mark(b, false);
    r->used += block_size(b);
    p = block_to_ptr(b);
    mp_mutex_unlock(&r->lock);
    return p;
}

/* Free b, joining it with free neighbours.  Lock held. */
static void
free_locked(struct mp_region *r, rblock_t *b)
{
    rblock_t *next = block_next(b);

    r->used -= block_size(b);
    if (block_is_free(next)) {
        list_remove(r, next);
        block_set_size(b, block_size(b) + HEADER + block_size(next));
    }
    if (b->size_flags & FLAG_PREV_FREE) {
        rblock_t *prev = b->prev_phys;
        list_remove(r, prev);
        block_set_size(prev, block_size(prev) + HEADER + block_size(b));
        b = prev;
    }
    block_mark(b, true);
    list_insert(r, b);
}

/* Whether p is a block the region handed out and has not taken back. */
static bool
valid_block_locked(const struct mp_region *r, const void *p)
{
    const rblock_t *b = ptr_to_block(p);

    return ((uintptr_t)p & (ALIGN - 1)) == 0 &&
           (const char *)b >= r->base &&
           (const char *)p + MIN_BLOCK <= r->base + r->size &&
           !block_is_free(b) && block_size(b) > 0 &&
           (const char *)p + block_size(b) <= r->base + r->size;
}

int
mp_region_free(struct mp_region *r, void *p)
{
    mp_mutex_lock(&r->lock);
    if (!valid_block_locked(r, p)) {
        mp_mutex_unlock(&r->lock);
        return EINVAL;
    }
    free_locked(r, ptr_to_block(p));
    mp_mutex_unlock(&r->lock);
    return 0;
}

size_t
mp_region_usable_size(struct mp_region *r, const void *p)
{
    size_t n;

    mp_mutex_lock(&r->lock);
    n = valid_block_locked(r, p) ? block_size(ptr_to_block(p)) : 0;
    mp_mutex_unlock(&r->lock);
    return n;
}

void *
mp_region_realloc(struct mp_region *r, void *p, size_t size)
{
    rblock_t *b = ptr_to_block(p), *next;
    size_t want = adjust(size), have;
    void *moved;

    if (size > r->size) {
        mp_set_errno(ENOMEM);
        return NULL;
    }
    mp_mutex_lock(&r->lock);
    if (!valid_block_locked(r, p)) {
        mp_mutex_unlock(&r->lock);
        mp_set_errno(EINVAL);
        return NULL;
    }
    have = block_size(b);
    next = block_next(b);
    if (want > have && block_is_free(next) &&
        have + HEADER + block_size(next) >= want) {
        /* grow in place into the free block after it */
        list_remove(r, next);
        block_set_size(b, have + HEADER + block_size(next));
        block_mark(b, false);
    }
    if (want <= block_size(b)) {
        block_trim(r, b, want);
        r->used = r->used - have + block_size(b);
        mp_mutex_unlock(&r->lock);
        return p;
    }
    mp_mutex_unlock(&r->lock);
    moved = mp_region_alloc(r, size, ALIGN);
    if (moved == NULL)
        return NULL;
    __builtin_memcpy(moved, p, have);
    mp_region_free(r, p);
    return moved;
}

void
mp_region_forget(struct mp_region *r)
{
    char *start = (char *)(((uintptr_t)r->base + ALIGN - 1) &
                           ~(uintptr_t)(ALIGN - 1));

    mp_mutex_lock(&r->lock);
    for (rblock_t *b = (rblock_t *)start; block_size(b) != 0; b = block_next(b))
        if (!block_is_free(b))
            mp_vg_block_free(block_to_ptr(b));
    mp_mutex_unlock(&r->lock);
}

void
mp_region_census(struct mp_region *r, size_t *free_blocks,
                 size_t *largest_free, size_t *used)
{
    rblock_t *b;
    char *start = (char *)(((uintptr_t)r->base + ALIGN - 1) &
                           ~(uintptr_t)(ALIGN - 1));

    *free_blocks = *largest_free = 0;
    mp_mutex_lock(&r->lock);
    /* every block but the sentinel, which alone has size 0 */
    for (b = (rblock_t *)start; block_size(b) != 0; b = block_next(b)) {
        if (block_is_free(b)) {
            (*free_blocks)++;
            if (block_size(b) > *largest_free)
                *largest_free = block_size(b);
        }
    }
    *used = r->used;
    mp_mutex_unlock(&r->lock);
}

/* ------------------------------------------------------------------------
 * Statistics and walking (pool/stats.c, pool/walk.c)
 * ------------------------------------------------------------------------ */

void
mp_region_stats(struct mp_region *r, size_t *blocks, size_t *used,
                size_t *free_bytes)
{
    char *start = (char *)(((uintptr_t)r->base + ALIGN - 1) &
                           ~(uintptr_t)(ALIGN - 1));

    *blocks = *free_bytes = 0;
    mp_mutex_lock(&r->lock);
    for (rblock_t *b = (rblock_t *)start; block_size(b) != 0;
         b = block_next(b)) {
        if (block_is_free(b))
            *free_bytes += block_size(b);
        else
            (*blocks)++;
    }
    *used = r->used;
    mp_mutex_unlock(&r->lock);
}

void *
mp_region_next_live(struct mp_region *r, void *after, size_t *usable)
{
    rblock_t *b;
    void *found = NULL;

    mp_mutex_lock(&r->lock);
    if (after == NULL)
        b = (rblock_t *)(((uintptr_t)r->base + ALIGN - 1) &
                         ~(uintptr_t)(ALIGN - 1));
    else
        b = block_next(ptr_to_block(after));
    for (; block_size(b) != 0; b = block_next(b))
        if (!block_is_free(b)) {
            found = block_to_ptr(b);
            *usable = block_size(b);
            break;
        }
    mp_mutex_unlock(&r->lock);
    return found;
}
