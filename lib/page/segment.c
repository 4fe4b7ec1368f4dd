/* SPDX-License-Identifier: MIT */
/*
 * segment.c - segments in and out of the backend, and the segment map that
 * tells the library's own addresses from everyone else's.
 *
 * The header of a segment sits at its aligned start, so finding it from an
 * address is a mask.  Before trusting that header for an address that came
 * from a caller, mp_segment_lookup() asks the segment map: one bit per
 * segment-sized slot of the address space, set while the library holds a
 * segment with a header there.  A foreign pointer (a stack address, a
 * malloc() block) therefore never makes the library read memory it does not
 * own.  The map is 2^(MP_ADDRESS_BITS - MP_SEGMENT_SHIFT) bits, 8 MiB of
 * zero-filled address space with mmap's 48 bits and 4 MiB segments; only
 * the words for slots in use are ever touched.
 *
 * A second map of the same shape, mp_buddy_map, marks the segments run by
 * an arena's buddy system, whose page entries mpool_free reads directly.
 *
 * A third, the span map, marks the slots of a span of several segments
 * after its first: there is no header at their start, so an address there
 * is found by walking back, slot by slot, to the span's first segment.
 * Only a block aligned past half a segment starts there (large.c: glibc's
 * memalign(64 MiB, n)); any other address of ours is found in one step,
 * and a stranger's costs one more bit test.
 */
#include "base/vg.h"
#include "page/page.h"

#define MAP_WORD_BITS MP_MAP_WORD_BITS

MP_HIDDEN _Atomic uintptr_t mp_segment_map[MP_MAP_SLOTS / MAP_WORD_BITS];
MP_HIDDEN _Atomic uintptr_t mp_buddy_map[MP_MAP_SLOTS / MAP_WORD_BITS];
static _Atomic uintptr_t segment_span_map[MP_MAP_SLOTS / MAP_WORD_BITS];
#define segment_map mp_segment_map

static bool
map_has(_Atomic uintptr_t *map, size_t slot)
{
    return (atomic_load_explicit(&map[slot / MAP_WORD_BITS],
                                 memory_order_acquire) >>
            (slot % MAP_WORD_BITS)) & 1;
}

/* Mark or clear the slots of a span after its first segment. */
static void
span_map_set(const mp_segment_t *seg, size_t nsegments, bool present)
{
    size_t slot = (uintptr_t)seg >> MP_SEGMENT_SHIFT;

    for (size_t i = slot + 1; i < slot + nsegments && i < MP_MAP_SLOTS; i++) {
        uintptr_t bit = (uintptr_t)1 << (i % MAP_WORD_BITS);
        if (present)
            atomic_fetch_or_explicit(&segment_span_map[i / MAP_WORD_BITS],
                                     bit, memory_order_release);
        else
            atomic_fetch_and_explicit(&segment_span_map[i / MAP_WORD_BITS],
                                      ~bit, memory_order_release);
    }
}

static void
map_set(_Atomic uintptr_t *map, const mp_segment_t *seg, bool present)
{
    size_t slot = (uintptr_t)seg >> MP_SEGMENT_SHIFT;
    uintptr_t bit = (uintptr_t)1 << (slot % MAP_WORD_BITS);

    if (present)
        atomic_fetch_or_explicit(&map[slot / MAP_WORD_BITS], bit,
                                 memory_order_release);
    else
        atomic_fetch_and_explicit(&map[slot / MAP_WORD_BITS], ~bit,
                                  memory_order_release);
}

void
mp_segment_map_buddy(const mp_segment_t *seg)
{
    map_set(mp_buddy_map, seg, true);
}

mp_segment_t *
mp_segment_lookup(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    size_t slot = a >> MP_SEGMENT_SHIFT;
    mp_segment_t *seg;

    if ((a >> MP_ADDRESS_BITS) != 0)
        return NULL;
    if (!map_has(segment_map, slot)) {
        /* inside a span past its first segment, or not ours: walk back
         * over the span's slots to its header */
        size_t first = slot;
        if (!map_has(segment_span_map, slot))
            return NULL;
        while (first > 0 && !map_has(segment_map, first - 1)) {
            if (!map_has(segment_span_map, first - 1))
                return NULL; /* a span going away under a racing lookup */
            first--;
        }
        if (first == 0)
            return NULL;
        seg = (mp_segment_t *)((uintptr_t)(first - 1) << MP_SEGMENT_SHIFT);
        if (seg->magic != mp_segment_magic(seg))
            mp_panic("mp_segment_lookup", "segment header overwritten",
                     seg);
        return slot - (first - 1) < seg->nsegments ? seg : NULL;
    }
    seg = mp_segment_of(addr);
    if (seg->magic != mp_segment_magic(seg))
        mp_panic("mp_segment_lookup", "segment header overwritten", seg);
    return seg;
}

int
mp_segment_acquire(size_t nsegments, mp_segment_t **out, bool *is_zero)
{
    void *addr;
    int rc = mp_fault_check(); /* tests only: fault.c */

    if (rc == 0)
        rc = mp_backend_segments_alloc(nsegments, &addr, is_zero);
    if (rc != 0)
        return rc;
    if (((uintptr_t)addr >> MP_ADDRESS_BITS) != 0) {
        /* outside the map: unusable, and a backend bug */
        mp_backend_segments_free(addr, nsegments);
        return ENOMEM;
    }
    mp_segment_t *seg = addr;
    seg->magic = mp_segment_magic(seg);
    seg->arena = NULL;
    seg->next = seg->prev = NULL;
    seg->nsegments = nsegments;
    seg->kind = 0;
    seg->first_page = 0;
    seg->end_page = 0;
    seg->flags = 0;
    seg->free_pages = 0;
    seg->run_pages = 0;
    seg->owner = NULL;
    span_map_set(seg, nsegments, true);
    map_set(segment_map, seg, true);
    *out = seg;
    return 0;
}

int
mp_segment_release(mp_segment_t *seg)
{
    size_t n = seg->nsegments;

    map_set(mp_buddy_map, seg, false);
    map_set(segment_map, seg, false);
    span_map_set(seg, n, false);
    seg->magic = 0;
    return mp_backend_segments_free(seg, n);
}

int
mp_segment_remap(mp_segment_t *seg, size_t nsegments, mp_segment_t **out,
                 bool *tail_zero)
{
    size_t n = seg->nsegments;
    void *addr = seg;
    int rc;

    /* The span's own pointers are the program's (a realloc): no lookup of
     * an address in it races this, so its map bits may go out and come
     * back around the call. */
    map_set(segment_map, seg, false);
    span_map_set(seg, n, false);
    rc = mp_backend_segments_remap(seg, n, nsegments, &addr, tail_zero);
    if (rc != 0) {
        span_map_set(seg, n, true);
        map_set(segment_map, seg, true);
        return rc;
    }
    /* memcheck (3.19) at times marks what a span's mremap added as
     * inaccessible, though it is mapped read-write: t/threads-t under
     * make check-valgrind, in some runs of a few hundred, wrote into a
     * span moved by MREMAP_FIXED and grown from one segment to two, and
     * memcheck reported every write to the second.  The pages are the
     * span's, plain memory: say so. */
    mp_vg_defined((char *)addr + (n << MP_SEGMENT_SHIFT),
                  (nsegments - n) << MP_SEGMENT_SHIFT);
    seg = addr;
    seg->magic = mp_segment_magic(seg);
    seg->nsegments = nsegments;
    span_map_set(seg, nsegments, true);
    map_set(segment_map, seg, true);
    *out = seg;
    return 0;
}
