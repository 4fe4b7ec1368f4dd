/* SPDX-License-Identifier: MIT */
/*
 * t/reclaim-t.c - mpool_reclaim(): the count it returns is exact (checked
 * against the page level's own census), resident memory drops by that
 * much, a second call finds nothing, live runs are untouched, and pages
 * handed out after a purge read as zero.
 *
 * A backend that cannot purge (k210: no OS under it) counts the pages that
 * leave runs (none here: the test frees its runs itself) and the headers of
 * the segments it gives back, and its free pages stay committed in the
 * buddy lists; the count is checked against the census all the same.  Its
 * host build has 8 MiB, so 128 runs of 8 pages stand for 1024, and there is
 * no resident memory to measure.
 */
#include <stdint.h>
#include <string.h>

#include "page/page.h"
#include "mpool.h"
#include "tap/tap.h"

#define RUNS 1024
#define RUN_PAGES 8

static void *runs[RUNS];
static int nruns = RUNS;
static bool k210;

static void
alloc_all(void)
{
    for (int i = 0; i < nruns; i++) {
        runs[i] = mpool_pages_alloc(RUN_PAGES);
        if (runs[i] == NULL)
            bail("mpool_pages_alloc failed");
        memset(runs[i], (i & 0x7f) + 1, RUN_PAGES * MP_PAGE_SIZE);
    }
}

/* Reclaim, and check the count against the census taken before and after:
 * the committed free pages, plus the header pages of released segments. */
static size_t
reclaim_checked(const char *what)
{
    mp_arena_census_t before, after;
    size_t got, want;

    mp_census(&before);
    got = mpool_reclaim(NULL);
    mp_census(&after);
    if (!mp_config.can_purge) {
        /* pages that left runs, and the headers of released segments;
         * free pages stay where they are, committed */
        size_t empty = 0;
        want = before.run_pages - after.run_pages +
               (before.segments - after.segments) * MP_SEGMENT_FIRST_PAGE;
        is_size(got, want, "%s: the count is exact", what);
        for (unsigned i = 0; i < mp_narenas; i++)
            empty += mp_arenas[i].empty_segments;
        is_size(empty, 0, "%s: no free segment is kept (no purge here)",
                what);
        return got;
    }
    want = before.free_committed +
           (before.segments - after.segments) * MP_SEGMENT_FIRST_PAGE;
    is_size(got, want, "%s: the count is exact", what);
    is_size(after.free_committed, 0, "%s: no free page still committed",
            what);
    return got;
}

int
main(void)
{
    size_t rss_start, rss_full, rss_after, got;
    bool intact = true, zero = true, called_zero = false;

    tap_skip_if_break_capped(); /* sbrk under valgrind */
    plan_lazy();
    if ((k210 = tap_backend_is("k210")))
        nruns = RUNS / 8;
    is_size(mpool_reclaim(NULL), 0,
            "reclaim before anything was allocated gives 0");

    /* Everything freed: whole segments go back, most of them as they
     * empty (an arena keeps two), the rest at reclaim. */
    rss_start = tap_resident_bytes();
    alloc_all();
    rss_full = tap_resident_bytes();
    for (int i = 0; i < nruns; i++)
        mpool_pages_free(runs[i], RUN_PAGES);
    got = reclaim_checked("all freed");
    rss_after = tap_resident_bytes();
    diag("resident %zu KiB at start, %zu KiB in use, %zu KiB after "
         "reclaiming %zu pages",
         rss_start / 1024, rss_full / 1024, rss_after / 1024, got);
    ok(got > 0, "reclaim gives back the segments kept empty (%zu pages)",
       got);
    if (k210)
        skip(1, "resident memory: the k210 backend has no OS to give pages "
                "back to");
    else
        ok(rss_full > rss_after &&
               rss_full - rss_after >=
                   (size_t)RUNS * RUN_PAGES * MP_PAGE_SIZE / 10 * 9,
           "resident memory drops by at least 90%% of what was allocated");
    {
        mp_arena_census_t c;
        mp_census(&c);
        is_size(c.segments, 0, "no segment is left");
    }
    is_size(mpool_reclaim(NULL), 0, "a second reclaim finds nothing");

    /* Half freed: the free runs are purged inside segments that stay. */
    alloc_all();
    for (int i = 1; i < nruns; i += 2)
        mpool_pages_free(runs[i], RUN_PAGES);
    rss_full = tap_resident_bytes();
    got = reclaim_checked("every other run freed");
    rss_after = tap_resident_bytes();
    if (k210) {
        is_size(got, 0, "no segment is free, and k210 cannot purge: "
                        "reclaim gives back nothing");
        skip(1, "resident memory: the k210 backend has no OS to give pages "
                "back to");
    } else {
        ok(got >= RUNS / 2 * RUN_PAGES,
           "at least the %d freed pages are purged (%zu)",
           RUNS / 2 * RUN_PAGES, got);
        ok(rss_full > rss_after &&
               rss_full - rss_after >= got * MP_PAGE_SIZE / 10 * 9,
           "resident memory drops by at least 90%% of the count");
    }
    for (int i = 0; i < nruns; i += 2)
        for (size_t b = 0; b < RUN_PAGES * MP_PAGE_SIZE; b += 997)
            intact &= ((unsigned char *)runs[i])[b] == (i & 0x7f) + 1;
    ok(intact, "the live runs kept their contents");
    is_size(mpool_reclaim(NULL), 0, "a second reclaim finds nothing");

    /* Purged pages come back zero.  (k210: nothing was purged; the pages
     * come back as they were left, and must not be called zero.) */
    for (int i = 1; i < nruns; i += 2) {
        bool is_zero;
        runs[i] = mp_pages_alloc(RUN_PAGES, &is_zero);
        if (runs[i] == NULL)
            bail("mp_pages_alloc failed");
        for (size_t b = 0; b < RUN_PAGES * MP_PAGE_SIZE; b += 64)
            zero &= ((unsigned char *)runs[i])[b] == 0;
        zero &= is_zero;
        called_zero |= is_zero;
    }
    if (k210)
        ok(!called_zero, "pages freed and handed out again are not called "
                         "zero (no purge)");
    else
        ok(zero, "pages handed out after a purge are zero and known to be");
    for (int i = 0; i < nruns; i++)
        mpool_pages_free(runs[i], RUN_PAGES);
    reclaim_checked("everything freed again");
    return tap_done();
}
