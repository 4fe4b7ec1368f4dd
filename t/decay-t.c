/* SPDX-License-Identifier: MIT */
/*
 * t/decay-t.c - huge spans kept for reuse after they are freed, and each
 * rule that gives them back (lib/page/decay.c): by age (frees of huge runs
 * are the clock), by amount (the dirty-byte and span caps), and all at
 * once at mpool_reclaim; the counters mpool_system_stats() shows for
 * them; a huge run grown in place and by the backend's remap, and a buddy
 * run grown into the free pages after it; and a span made of segments the
 * backend hands out again unzeroed (sbrk's free ranges), whose pages past
 * its first run count as dirty, so a longer run in it later is not taken
 * for zero there.
 *
 * A backend that cannot purge (k210) keeps nothing: the test checks that
 * a freed span is gone at once, and that growth stays in place or fails.
 */
#include <errno.h>
#include <string.h>

#include "page/page.h"
#include "mpool.h"
#include "tap/tap.h"

/* A huge run of n segments' worth (less the header), and a size that
 * needs exactly that many segments. */
static size_t
run_pages(size_t nsegments)
{
    return nsegments * MP_SEGMENT_PAGES - MP_HUGE_FIRST_PAGE;
}

static mpool_system_stats_t
stats(void)
{
    mpool_system_stats_t s;

    memset(&s, 0, sizeof(s));
    s.size = sizeof(s);
    if (mpool_system_stats(&s) != 0)
        bail("mpool_system_stats: %s", strerror(errno));
    return s;
}

static char *
alloc_filled(size_t npages, int byte)
{
    bool is_zero;
    char *run = mp_pages_alloc(npages, &is_zero);

    if (run == NULL)
        bail("mp_pages_alloc(%zu): %s", npages, strerror(errno));
    memset(run, byte, npages << MP_PAGE_SHIFT);
    return run;
}

static void
census(const char *when)
{
    mp_arena_census_t c;

    mp_census(&c); /* stops the program on a broken invariant */
    diag("census %s: %zu huge, %zu retained", when, c.huge_spans,
         c.retained_spans);
}

static void
test_reuse(void)
{
    mp_backend_counters_t b0, b1;
    mpool_system_stats_t s;
    size_t n = run_pages(3);
    char *a = alloc_filled(n, 0x5a), *again;
    bool is_zero = true;

    mp_pages_free(a, n);
    s = stats();
    is_size(s.spans_retained, 1, "a freed span is kept");
    is_size(s.bytes_retained, 3 * MP_SEGMENT_SIZE, "its address space");
    is_size(s.bytes_retained_dirty, n << MP_PAGE_SHIFT,
            "its pages still hold memory");
    census("after a free");
    mp_backend_counters(&b0);
    again = mp_pages_alloc(n - 10, &is_zero);
    mp_backend_counters(&b1);
    ok(again == a, "the next run that fits takes it");
    ok(!is_zero && (unsigned char)again[0] == 0x5a,
       "dirty: not zero, as the program left it");
    is_size(b1.os_map_calls, b0.os_map_calls, "no mapping for it");
    is_size(stats().spans_retained, 0, "nothing kept while it is used");
    census("after reuse");
    mp_pages_free(again, n - 10);
    mpool_reclaim(NULL);
}

static void
test_stale_tail(void)
{
    size_t first = run_pages(1) + MP_SEGMENT_PAGES / 2, second = run_pages(2);
    size_t dirty = 0, stale = 0;
    void *segs;
    bool is_zero;
    char *a, *b;

    /* two segments written and given back unpurged: the sbrk backend
     * hands them out again as they are, the mmap backend zeroed */
    if (mp_backend_segments_alloc(2, &segs, &is_zero) != 0)
        bail("mp_backend_segments_alloc");
    memset(segs, 0xab, 2 * MP_SEGMENT_SIZE);
    if (mp_backend_segments_free(segs, 2) != 0)
        bail("mp_backend_segments_free");
    a = mp_pages_alloc(first, &is_zero);
    if (a == NULL)
        bail("mp_pages_alloc(%zu): %s", first, strerror(errno));
    mp_pages_free(a, first);
    b = mp_pages_alloc_dirty(second, &dirty);
    if (b == NULL)
        bail("mp_pages_alloc_dirty(%zu): %s", second, strerror(errno));
    for (size_t i = dirty << MP_PAGE_SHIFT; i < second << MP_PAGE_SHIFT; i++)
        stale += b[i] != 0;
    diag("the span %s the segments written", mp_segment_of(a) == segs
                                                  ? "reuses"
                                                  : "does not reuse");
    ok(b == a && stale == 0,
       "a longer run in the kept span reads zero past its dirty pages "
       "(%zu of %zu dirty, %zu bytes not zero)", dirty, second, stale);
    mp_pages_free(b, second);
    mpool_reclaim(NULL);
}

static void
test_age(void)
{
    size_t big = run_pages(3), small = run_pages(1) + 100;
    uint64_t dirty_ticks = mp_decay_dirty_ticks;
    uint64_t muzzy_ticks = mp_decay_muzzy_ticks;
    char *a = alloc_filled(big, 1), *b = alloc_filled(small, 2);
    mpool_system_stats_t s;

    mp_decay_dirty_ticks = 4;
    mp_decay_muzzy_ticks = 8;
    mp_pages_free(a, big); /* tick 1: kept dirty */
    /* b's span (2 segments) is the best fit for b again: a ages */
    for (int i = 0; i < 3; i++) {
        mp_pages_free(b, small);
        b = alloc_filled(small, 3);
    }
    s = stats();
    ok(s.spans_retained == 1 && s.bytes_retained_dirty == big << MP_PAGE_SHIFT,
       "3 frees later the span is still dirty (%zu bytes)",
       s.bytes_retained_dirty);
    mp_pages_free(b, small);
    b = alloc_filled(small, 4);
    s = stats();
    ok(s.spans_retained == 1 && s.bytes_retained_dirty == 0 &&
           s.bytes_retained == 3 * MP_SEGMENT_SIZE,
       "4 frees later it is purged: address space only (%zu dirty)",
       s.bytes_retained_dirty);
    census("after purge by age");
    for (int i = 0; i < 4; i++) {
        mp_pages_free(b, small);
        b = alloc_filled(small, 5);
    }
    s = stats();
    ok(s.spans_retained == 0 && s.bytes_retained == 0,
       "8 frees later it is given back (%zu spans kept)", s.spans_retained);
    census("after release by age");
    mp_pages_free(b, small);
    mp_decay_dirty_ticks = dirty_ticks;
    mp_decay_muzzy_ticks = muzzy_ticks;
    mpool_reclaim(NULL);
}

static void
test_caps(void)
{
    size_t dirty_max = mp_decay_dirty_max, spans_max = mp_decay_spans_max;
    size_t n1 = run_pages(1) + 1, n2 = run_pages(2) + 1, n3 = run_pages(3);
    char *a = alloc_filled(n1, 1), *b = alloc_filled(n2, 2);
    char *c = alloc_filled(n3, 3);
    mpool_system_stats_t s;

    mp_decay_dirty_max = MP_PAGE_SIZE; /* any span but the newest */
    mp_pages_free(a, n1);
    s = stats();
    is_size(s.bytes_retained_dirty, n1 << MP_PAGE_SHIFT,
            "the span just freed stays dirty past the dirty cap");
    mp_pages_free(b, n2);
    s = stats();
    ok(s.spans_retained == 2 && s.bytes_retained_dirty == n2 << MP_PAGE_SHIFT,
       "the next free purges the older span by the cap (%zu dirty)",
       s.bytes_retained_dirty);
    census("after purge by cap");
    mp_decay_dirty_max = dirty_max;
    mp_decay_spans_max = 2;
    mp_pages_free(c, n3);
    s = stats();
    ok(s.spans_retained == 2 &&
           s.bytes_retained == (3 + 3) * MP_SEGMENT_SIZE,
       "past the span cap the oldest is given back (%zu spans, %zu bytes)",
       s.spans_retained, s.bytes_retained);
    census("after release by cap");
    mp_decay_spans_max = spans_max;
    mpool_reclaim(NULL);
}

static void
test_reclaim(void)
{
    size_t n = run_pages(2);
    char *a = alloc_filled(n, 1), *b = alloc_filled(n + 1000, 2);
    mpool_system_stats_t s;
    size_t got;

    mp_pages_free(a, n);
    mp_pages_free(b, n + 1000);
    s = stats();
    is_size(s.spans_retained, 2, "two spans kept");
    got = mpool_reclaim(NULL);
    ok(got >= 2 * n + 1000, "mpool_reclaim gives them back, counted (%zu "
                            "pages)", got);
    s = stats();
    ok(s.spans_retained == 0 && s.bytes_retained == 0 &&
           s.bytes_retained_dirty == 0,
       "nothing kept after it");
    census("after reclaim");
}

static void
test_grow(bool can_remap)
{
    size_t n0 = MP_BUDDY_MAX_PAGES + 1; /* a huge run, 1 segment */
    size_t more = run_pages(1) + 2 * MP_SEGMENT_PAGES; /* 4 segments */
    size_t n = n0;
    char *a = alloc_filled(n, 7), *g;
    bool same = true;

    g = mp_huge_grow(a, n, run_pages(1));
    ok(g == a, "a huge run grows in place into its segment's tail");
    if (g == NULL)
        return;
    memset(g + (n << MP_PAGE_SHIFT), 8, (run_pages(1) - n) << MP_PAGE_SHIFT);
    g = mp_huge_grow(a, run_pages(1), more);
    if (!can_remap) {
        ok(g == NULL || g == a, "past it, in place or not at all");
        if (g == NULL)
            g = a, n = run_pages(1);
        else
            n = more;
    } else {
        ok(g != NULL, "past it, by a remap of the span");
        n = more;
        if (g == NULL)
            bail("remap failed");
    }
    for (size_t i = 0; i < (run_pages(1) << MP_PAGE_SHIFT); i += 4096)
        same &= g[i] == (i < (n0 << MP_PAGE_SHIFT) ? 7 : 8);
    ok(same, "its contents stay");
    ok(mp_pages_owner(g) == NULL && mp_segment_lookup(g + (n << MP_PAGE_SHIFT) - 1) != NULL,
       "the segment map knows the grown span");
    census("after growth");
    mp_pages_free(g, n);
    mpool_reclaim(NULL);
}

/* A buddy run grows into the free pages after it: a run of 3 pages is cut
 * from a block of 4, whose last page goes back free at once. */
static void
test_grow_buddy(void)
{
    char *a = alloc_filled(3, 9), *g;
    bool same = true;

    g = mp_pages_grow(a, 3, 4);
    ok(g == a, "a buddy run grows in place into the free page after it");
    if (g == NULL) {
        mp_pages_free(a, 3);
        return;
    }
    memset(g + (3 << MP_PAGE_SHIFT), 10, MP_PAGE_SIZE);
    for (size_t i = 0; i < (3 << MP_PAGE_SHIFT); i += 512)
        same &= g[i] == 9;
    ok(same && mp_pages_free(g, 3) == EINVAL && mp_pages_free(g, 4) == 0,
       "its contents stay, and it is a run of 4 pages now");
    census("after a buddy run grew");
}

int
main(void)
{
    bool k210 = tap_backend_is("k210");

    if (mpool_default() == NULL)
        bail("init: %s", strerror(errno));
    if (!mp_config.can_purge) {
        size_t n = MP_BUDDY_MAX_PAGES + 1;
        char *a;

        plan(7);
        a = alloc_filled(n, 1);
        mp_pages_free(a, n);
        is_size(stats().spans_retained, 0,
                "a backend that cannot purge keeps no span");
        test_grow(k210);
        test_grow_buddy();
        return 0;
    }
    plan(23);
    mpool_reclaim(NULL);
    test_reuse();
    test_stale_tail();
    test_age();
    test_caps();
    test_reclaim();
    test_grow(tap_backend_is("mmap"));
    test_grow_buddy();
    return 0;
}
