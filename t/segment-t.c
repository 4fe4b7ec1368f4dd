/* SPDX-License-Identifier: MIT */
/*
 * t/segment-t.c - segments from the backend: alignment, the segment map,
 * and how few system calls the backend makes (mmap refills its pool, sbrk
 * grows the break, a batch at a time, so 100 000 page allocations need
 * only a handful).
 *
 * The k210 backend makes no system call at all: in its 8 MiB (2016 pages
 * outside the headers) the test allocates 1500 pages, and checks instead
 * that they take exactly the segments they need, and that pages freed and
 * allocated again reuse the segments the arena kept.
 */
#include <stdint.h>
#include <string.h>

#include "page/page.h"
#include "mpool.h"
#include "tap/tap.h"

#define RUNS 100000
#define RUNS_K210 1500

static void *runs[RUNS];

/* Segments needed for n single pages in one arena. */
static size_t
segments_for(size_t n)
{
    return (n + MP_SEGMENT_USABLE_PAGES - 1) / MP_SEGMENT_USABLE_PAGES;
}

int
main(void)
{
    mp_backend_counters_t before, after;
    mp_segment_t *segs[6];
    bool is_zero, aligned = true, mapped = true, zero = true;
    size_t sizes[6] = {1, 1, 2, 3, 1, 5};
    int local = 0;
    bool sbrk = tap_backend_is("sbrk");
    bool k210 = tap_backend_is("k210");
    int nruns = k210 ? RUNS_K210 : RUNS;

    tap_skip_if_break_capped(); /* sbrk under valgrind */
    plan_lazy();
    if (mp_init() != 0)
        bail("library initialisation failed");

    for (int i = 0; i < 6; i++) {
        if (mp_segment_acquire(sizes[i], &segs[i], &is_zero) != 0)
            bail("mp_segment_acquire(%zu) failed", sizes[i]);
        aligned &= ((uintptr_t)segs[i] & MP_SEGMENT_MASK) == 0;
        mapped &= mp_segment_lookup((char *)segs[i] + 12345) == segs[i];
        zero &= is_zero;
        /* the whole span must be writable */
        memset((char *)segs[i] + MP_PAGE_SIZE, 0xa5,
               sizes[i] * MP_SEGMENT_SIZE - MP_PAGE_SIZE);
    }
    ok(aligned, "segments of 1, 2, 3 and 5 are aligned to %zu bytes",
       (size_t)MP_SEGMENT_SIZE);
    ok(mapped, "the segment map finds each segment from an inner address");
    ok(mp_segment_lookup((char *)segs[5] + 4 * MP_SEGMENT_SIZE + 77) ==
               segs[5] &&
           mp_segment_lookup((char *)segs[3] + MP_SEGMENT_SIZE) == segs[3],
       "the span map leads an address past a span's first segment to its "
       "header");
    ok(zero, "fresh segments are reported zero-filled");
    ok(mp_segment_lookup(&local) == NULL && mp_segment_lookup(NULL) == NULL &&
           mp_segment_lookup((void *)~(uintptr_t)0) == NULL,
       "the map knows no stack, null or out-of-range address");
    for (int i = 0; i < 6; i++)
        mp_segment_release(segs[i]);
    ok(mp_segment_lookup((char *)segs[0] + 1) == NULL &&
           mp_segment_lookup((char *)segs[5] + 4 * MP_SEGMENT_SIZE) == NULL,
       "a released segment leaves the map, a span's later ones too");

    /* 100 000 single pages: the backend maps memory only a few times. */
    mp_backend_counters(&before);
    for (int i = 0; i < nruns; i++) {
        runs[i] = mpool_pages_alloc(1);
        if (runs[i] == NULL)
            bail("mpool_pages_alloc(1) failed at %d", i);
        *(volatile char *)runs[i] = 1;
    }
    mp_backend_counters(&after);
    size_t maps = after.os_map_calls - before.os_map_calls;
    diag("%zu %s calls, %zu %s calls for %d page allocations", maps,
         sbrk ? "growing sbrk" : "mmap",
         after.os_unmap_calls - before.os_unmap_calls,
         sbrk ? "shrinking sbrk" : "munmap", nruns);
    if (k210) {
        is_size(maps, 0, "the k210 backend makes no system call");
        is_size(after.segments_out - before.segments_out,
                segments_for(RUNS_K210),
                "%d page allocations take the %zu segments they need",
                RUNS_K210, segments_for(RUNS_K210));
    } else {
        ok(maps > 0 && maps <= 12,
           "100000 page allocations make at most 12 %s calls (%zu)",
           sbrk ? "growing sbrk" : "mmap", maps);
    }

    for (int i = 0; i < nruns; i++)
        if (mpool_pages_free(runs[i], 1) != 0)
            bail("mpool_pages_free failed at %d", i);

    /* Steady state: allocating again maps nothing new while the freed
     * segments are still held (at most two empty ones per arena). */
    mp_backend_counters(&before);
    for (int i = 0; i < 1000; i++)
        if ((runs[i] = mpool_pages_alloc(1)) == NULL)
            bail("mpool_pages_alloc(1) failed at %d", i);
    mp_backend_counters(&after);
    is_size(after.os_map_calls - before.os_map_calls, 0,
            "re-allocating 1000 pages after freeing makes no %s call",
            sbrk ? "growing sbrk" : "mmap");
    if (k210)
        is_size(after.segments_out, segments_for(1000),
                "... and, on k210, takes %zu segments in all: the %zu the "
                "arena kept when the pages were freed are used again",
                segments_for(1000), before.segments_out);
    for (int i = 0; i < 1000; i++)
        mpool_pages_free(runs[i], 1);

    mpool_reclaim(NULL);
    mp_backend_counters(&after);
    is_size(after.segments_out, 0,
            "after reclaim no segment is left with the library");
    if (sbrk)
        skip(1, "the sbrk backend keeps free segments below the top of the "
                "heap listed, purged (t/sbrk-t checks what reclaim gives "
                "back)");
    else
        is_size(after.segments_cached, 0,
                "... and none in the backend's pool");
    return tap_done();
}
