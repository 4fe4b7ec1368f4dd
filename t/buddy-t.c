/* SPDX-License-Identifier: MIT */
/*
 * t/buddy-t.c - the buddy system: splitting, the tail of a run given back,
 * joining on free until every segment is back to its maximal blocks, and
 * the invariants of internal.h checked (mp_census) after every phase of a
 * random workload whose runs are stamped and verified at free.
 *
 * With k210's 256 KiB segments (the largest buddy run 32 pages) and 8 MiB,
 * the workload's sizes scale with the segment, and fewer runs are live.
 */
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "page/page.h"
#include "mpool.h"
#include "tap/tap.h"

#define LIVE_MAX 400
#define OPS 6000

struct live {
    void *p;
    size_t npages;
    uint64_t stamp;
};

static struct live live[LIVE_MAX];
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static bool k210;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t
random_npages(void)
{
    uint64_t r = rng() % 100;

    if (k210) { /* the same shape below and above MP_BUDDY_MAX_PAGES (32) */
        if (r < 70)
            return 1 + rng() % 4;
        if (r < 95)
            return 5 + rng() % 12;
        if (r < 99)
            return 17 + rng() % 16; /* up to the largest buddy run */
        return 33 + rng() % 100;    /* huge spans of 1 to 3 segments */
    }
    if (r < 70)
        return 1 + rng() % 8;
    if (r < 95)
        return 9 + rng() % 120;
    if (r < 99)
        return 129 + rng() % 384; /* up to the largest buddy run */
    return 513 + rng() % 1600;    /* huge spans */
}

static void
stamp(struct live *l)
{
    for (size_t i = 0; i < l->npages; i++)
        memcpy((char *)l->p + i * MP_PAGE_SIZE, &(uint64_t){l->stamp + i},
               sizeof(uint64_t));
}

static bool
stamp_intact(const struct live *l)
{
    for (size_t i = 0; i < l->npages; i++) {
        uint64_t v;
        memcpy(&v, (char *)l->p + i * MP_PAGE_SIZE, sizeof(v));
        if (v != l->stamp + i)
            return false;
    }
    return true;
}

/* Every segment maximally joined: the free blocks of a segment whose pages
 * [first, SEGMENT_PAGES) are all free are one block per set bit of the
 * free length (SEGMENT_PAGES is a power of two). */
static bool
maximally_joined(const mp_arena_census_t *c)
{
    size_t usable = MP_SEGMENT_USABLE_PAGES;

    for (unsigned k = 0; k < MP_ORDERS; k++) {
        size_t want = ((usable >> k) & 1) ? c->segments : 0;
        if (c->free_blocks[k] != want) {
            diag("order %u: %zu free blocks, want %zu", k, c->free_blocks[k],
                 want);
            return false;
        }
    }
    return c->run_pages == 0 && c->huge_spans == 0 &&
           c->free_pages == c->segments * usable;
}

int
main(void)
{
    mp_arena_census_t c;
    cpu_set_t one_cpu;
    bool is_zero, stamps_ok = true;
    size_t nlive = 0, peak_segments = 0;
    size_t live_max = LIVE_MAX;
    void *p;

    tap_skip_if_break_capped(); /* sbrk under valgrind */
    plan_lazy();
    if ((k210 = tap_backend_is("k210")))
        live_max = LIVE_MAX / 8;
    /* One CPU, so one arena: the block arithmetic below is exact. */
    CPU_ZERO(&one_cpu);
    CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one_cpu);
    sched_setaffinity(0, sizeof(one_cpu), &one_cpu);

    /* Split: 3 pages from a fresh segment take an order-2 block and give
     * its fourth page back. */
    p = mp_pages_alloc(3, &is_zero);
    if (p == NULL)
        bail("mp_pages_alloc(3) failed");
    ok(is_zero, "a run from a fresh segment is known to be zero");
    mp_census(&c);
    is_size(c.segments, 1, "one segment");
    is_size(c.run_pages, 3, "3 pages in runs");
    is_size(c.free_pages, MP_SEGMENT_USABLE_PAGES - 3,
            "all other pages free: the run's tail page was given back");
    is_size(c.free_blocks[0], 1 + (MP_SEGMENT_USABLE_PAGES & 1),
            "the run's unused fourth page is a free order-0 block");
    memset(p, 0xee, 3 * MP_PAGE_SIZE);
    mp_pages_free(p, 3);
    mp_census(&c);
    ok(maximally_joined(&c), "freeing it joins the segment back whole");
    p = mp_pages_alloc(3, &is_zero);
    ok(p != NULL && !is_zero, "the same pages again are not known zero");
    mp_pages_free(p, 3);

    /* A random workload with a census after every 500 operations. */
    for (int op = 0; op < OPS; op++) {
        bool do_alloc = nlive == 0 || (nlive < live_max && rng() % 100 < 55);

        if (do_alloc) {
            struct live *l = &live[nlive];
            l->npages = random_npages();
            l->p = mpool_pages_alloc(l->npages);
            if (l->p == NULL)
                bail("mpool_pages_alloc(%zu) failed", l->npages);
            l->stamp = rng();
            stamp(l);
            nlive++;
        } else {
            size_t i = rng() % nlive;
            stamps_ok &= stamp_intact(&live[i]);
            if (mpool_pages_free(live[i].p, live[i].npages) != 0)
                bail("mpool_pages_free failed");
            live[i] = live[--nlive];
        }
        if (op % 500 == 499) {
            mp_census(&c); /* panics on a broken invariant */
            if (c.segments > peak_segments)
                peak_segments = c.segments;
        }
    }
    mp_census(&c);
    ok(true, "the invariants held after every 500 of %d random operations",
       OPS);
    diag("%zu live runs, %zu pages in runs, peak %zu segments", nlive,
         c.run_pages, peak_segments);
    for (size_t i = 0; i < nlive; i++) {
        stamps_ok &= stamp_intact(&live[i]);
        mpool_pages_free(live[i].p, live[i].npages);
    }
    ok(stamps_ok, "every run kept its stamp until it was freed");
    mp_census(&c);
    ok(maximally_joined(&c),
       "after freeing everything each of the %zu segments is maximally "
       "joined",
       c.segments);
    ok(c.segments <= 2, "at most two empty segments are kept (%zu)",
       c.segments);

    /* Fragment a segment on purpose: allocate every page singly, free the
     * even ones, then the odd ones; it must join back to the same blocks. */
    {
        size_t n = MP_SEGMENT_USABLE_PAGES;
        void **pages = calloc(n, sizeof(*pages));
        if (pages == NULL)
            bail("calloc");
        for (size_t i = 0; i < n; i++)
            if ((pages[i] = mpool_pages_alloc(1)) == NULL)
                bail("mpool_pages_alloc(1)");
        for (size_t i = 0; i < n; i += 2)
            mpool_pages_free(pages[i], 1);
        mp_census(&c);
        ok(c.free_blocks[0] >= n / 4,
           "freeing every other page leaves single free pages (%zu)",
           c.free_blocks[0]);
        for (size_t i = 1; i < n; i += 2)
            mpool_pages_free(pages[i], 1);
        mp_census(&c);
        ok(maximally_joined(&c),
           "freeing the rest joins them back to maximal blocks");
        free(pages);
    }
    return tap_done();
}
