/* SPDX-License-Identifier: MIT */
/*
 * t/k210/pages-t.c - the page level of the k210 build on two harts at once
 * (bare metal, QEMU virt): runs allocated, filled, checked and freed on
 * each hart; runs allocated on one hart and freed by the other; then
 * exhaustion: both harts take single pages until the library says ENOMEM,
 * every page is checked for a second owner, all are freed, reclaim gives
 * back whole segments, and the whole range is one run again.
 */
#include "kernel.h"

#define PAGE 4096u
#define SEGMENT_PAGES 64u   /* 256 KiB segments of 4 KiB pages */
#define CHURN_ROUNDS 3000u  /* runs each hart allocates in the churn */
#define CHURN_LIVE 16u      /* runs each hart holds at once */
#define CHURN_MAX_PAGES 16u
#define CROSS_RUNS 500u     /* runs each hart hands to the other */
#define CROSS_MAX_PAGES 8u
#define OWNER_MAGIC 0x6f776e6572000000ull /* "owner" */

/* What each hart found, for hart 0 to report. */
static struct hart_result {
    unsigned churn_bad;     /* runs whose contents changed */
    unsigned churn_failed;  /* allocations or frees that failed */
    unsigned cross_got;     /* runs received from the other hart */
    unsigned cross_bad;
    unsigned cross_failed;
    size_t exhaust_pages;   /* single pages taken until ENOMEM */
    int exhaust_errno;
    void *exhaust_list;     /* the pages, linked through their first word */
    unsigned free_failed;   /* frees of the other hart's pages that failed */
} result[RV_NHARTS];

static rv_mbox_t mbox[RV_NHARTS]; /* mbox[h]: runs for hart h to free */

/* Runs of 1..CHURN_MAX_PAGES pages, CHURN_LIVE live at a time, each filled
 * when allocated and checked when freed. */
static void
churn(unsigned hart)
{
    struct hart_result *r = &result[hart];
    struct { void *p; size_t n; uint64_t seed; } live[CHURN_LIVE] = {{0}};
    uint64_t rng = 0x9e3779b97f4a7c15ull * (hart + 1);

    for (unsigned round = 0; round < CHURN_ROUNDS + CHURN_LIVE; round++) {
        unsigned i = round % CHURN_LIVE;

        if (live[i].p != NULL) {
            if (rv_check(live[i].p, live[i].n * PAGE, live[i].seed) !=
                SIZE_MAX)
                r->churn_bad++;
            if (mpool_pages_free(live[i].p, live[i].n) != 0)
                r->churn_failed++;
            live[i].p = NULL;
        }
        if (round >= CHURN_ROUNDS)
            continue;
        live[i].n = 1 + rv_rand(&rng) % CHURN_MAX_PAGES;
        live[i].seed = rv_rand(&rng);
        live[i].p = mpool_pages_alloc(live[i].n);
        if (live[i].p == NULL || (uintptr_t)live[i].p % PAGE != 0) {
            r->churn_failed++;
            live[i].p = NULL;
            continue;
        }
        rv_fill(live[i].p, live[i].n * PAGE, live[i].seed);
    }
}

/* Hand CROSS_RUNS runs to the other hart while freeing the ones it hands
 * over.  A run carries its length in its first word; the rest is a pattern
 * seeded by its address. */
static void
cross(unsigned hart)
{
    struct hart_result *r = &result[hart];
    rv_mbox_t *out = &mbox[1 - hart], *in = &mbox[hart];
    uint64_t rng = 0x2545f4914f6cdd1dull * (hart + 1);
    unsigned sent = 0;
    uint64_t *pending = NULL;
    uint64_t deadline = rv_deadline();

    while (sent < CROSS_RUNS || r->cross_got < CROSS_RUNS) {
        uint64_t *run;

        rv_check_deadline(deadline, "runs from one hart to the other");
        if (sent < CROSS_RUNS) {
            if (pending == NULL) {
                size_t n = 1 + rv_rand(&rng) % CROSS_MAX_PAGES;
                pending = mpool_pages_alloc(n);
                if (pending == NULL) {
                    r->cross_failed++;
                    pending = RV_MBOX_FAILED;
                } else {
                    pending[0] = n;
                    rv_fill(pending + 1, n * PAGE - 8, (uintptr_t)pending);
                }
            }
            if (rv_mbox_put(out, pending)) {
                pending = NULL;
                sent++;
            }
        }
        run = rv_mbox_get(in);
        if (run == RV_MBOX_FAILED) {
            r->cross_got++;
        } else if (run != NULL) {
            size_t n = run[0];
            r->cross_got++;
            if (n == 0 || n > CROSS_MAX_PAGES ||
                rv_check(run + 1, n * PAGE - 8, (uintptr_t)run) != SIZE_MAX)
                r->cross_bad++;
            else if (mpool_pages_free(run, n) != 0)
                r->cross_failed++;
        }
    }
}

/* Single pages until NULL; each page is marked with its owner and linked
 * to the previous one. */
static void
exhaust(unsigned hart)
{
    struct hart_result *r = &result[hart];
    uint64_t *page, *list = NULL;

    for (;;) {
        mpool_errno = 0;
        page = mpool_pages_alloc(1);
        if (page == NULL)
            break;
        page[0] = (uintptr_t)list;
        page[1] = OWNER_MAGIC | hart;
        page[2] = (uintptr_t)page;
        list = page;
        r->exhaust_pages++;
    }
    r->exhaust_errno = mpool_errno;
    r->exhaust_list = list;
}

/* Check the marks of one hart's pages: a page handed out twice carries the
 * other owner's mark, or breaks the list. */
static size_t
check_marks(unsigned hart, size_t *count)
{
    size_t bad = 0;

    *count = 0;
    for (uint64_t *p = result[hart].exhaust_list; p != NULL;
         p = (uint64_t *)(uintptr_t)p[0]) {
        if (p[1] != (OWNER_MAGIC | hart) || p[2] != (uintptr_t)p)
            return bad + 1;
        if (++*count > result[hart].exhaust_pages)
            return bad + 1;
    }
    return bad;
}

/* Free the other hart's pages. */
static void
free_other(unsigned hart)
{
    uint64_t *p = result[1 - hart].exhaust_list, *next;

    for (; p != NULL; p = next) {
        next = (uint64_t *)(uintptr_t)p[0];
        if (mpool_pages_free(p, 1) != 0)
            result[hart].free_failed++;
    }
}

/* Take runs of `run` pages until NULL, free them; how many there were. */
static size_t
count_runs(size_t run)
{
    void *list = NULL, *p;
    size_t n = 0;

    while ((p = mpool_pages_alloc(run)) != NULL) {
        *(void **)p = list;
        list = p;
        n++;
    }
    while (list != NULL) {
        p = list;
        list = *(void **)p;
        if (mpool_pages_free(p, run) != 0)
            bail("mpool_pages_free of a %zu-page run failed", run);
    }
    return n;
}

/* The work both harts do, in step; hart 0 reports. */
static void
both(unsigned hart)
{
    rv_barrier("churn start");
    churn(hart);
    rv_barrier("churn end");
    if (hart == 0)
        for (unsigned h = 0; h < RV_NHARTS; h++)
            ok(result[h].churn_bad == 0 && result[h].churn_failed == 0,
               "hart %u: %u runs of 1..%u pages allocated, filled, checked "
               "and freed (%u changed, %u calls failed)", h, CHURN_ROUNDS,
               CHURN_MAX_PAGES, result[h].churn_bad, result[h].churn_failed);

    rv_barrier("cross start");
    cross(hart);
    rv_barrier("cross end");
    if (hart == 0)
        for (unsigned h = 0; h < RV_NHARTS; h++)
            ok(result[h].cross_got == CROSS_RUNS &&
               result[h].cross_bad == 0 && result[h].cross_failed == 0,
               "hart %u freed the %u runs hart %u allocated, intact (%u "
               "received, %u changed, %u calls failed)", h, CROSS_RUNS,
               1 - h, result[h].cross_got, result[h].cross_bad,
               result[h].cross_failed);

    rv_barrier("exhaustion start");
    exhaust(hart);
    rv_barrier("exhaustion end");
    if (hart == 0) {
        for (unsigned h = 0; h < RV_NHARTS; h++)
            ok(result[h].exhaust_errno == ENOMEM,
               "hart %u took %zu single pages until NULL with ENOMEM "
               "(errno %d)", h, result[h].exhaust_pages,
               result[h].exhaust_errno);
    }
    rv_barrier("exhaustion checked");
    free_other(hart);
}

void
test_main(void)
{
    size_t len = (size_t)(__ram_end - __free_start);
    size_t total, counted[RV_NHARTS], bad = 0, reclaimed, big, runs;
    /* The backend uses the whole 256 KiB segments inside the range. */
    size_t segments = ((uintptr_t)__ram_end / (SEGMENT_PAGES * PAGE) -
                       ((uintptr_t)__free_start + SEGMENT_PAGES * PAGE - 1) /
                           (SEGMENT_PAGES * PAGE));
    void *p;

    plan(21);
    is_u((unsigned long)mpool_k210_init(__free_start, len), 0,
         "mpool_k210_init(%p, %zu KiB) succeeds", (void *)__free_start,
         len / 1024);
    is_u(mpool_page_size(), PAGE, "pages are 4 KiB");
    mpool_errno = 0;
    p = mpool_pages_alloc(0);
    ok(p == NULL && mpool_errno == EINVAL, "0 pages: NULL with EINVAL");

    rv_release_secondary();
    both(0);
    rv_wait_secondary("freeing hart 0's pages");

    total = result[0].exhaust_pages + result[1].exhaust_pages;
    for (unsigned h = 0; h < RV_NHARTS; h++)
        bad += check_marks(h, &counted[h]);
    ok(bad == 0 && counted[0] == result[0].exhaust_pages &&
       counted[1] == result[1].exhaust_pages,
       "no page was handed to both harts");
    ok(result[0].free_failed == 0 && result[1].free_failed == 0,
       "each hart freed the other's pages (%u + %u failures)",
       result[0].free_failed, result[1].free_failed);
    diag("%zu pages (%zu KiB) of the %zu KiB handed to mpool_k210_init "
         "were allocatable: %zu.%zu%%", total, total * PAGE / 1024,
         len / 1024, total * PAGE * 100 / len,
         total * PAGE * 1000 / len % 10);
    ok(total * PAGE >= len / 8 * 7,
       "at least 7/8 of the range is allocatable as pages");
    ok(total % segments == 0,
       "each of the %zu whole segments in the range gives %zu pages",
       segments, total / segments);

    /* The arenas gave most segments back as they became free, keeping a
     * few for the next request; reclaim gives those back too (there is
     * nothing to purge on bare metal).  That all of them are back shows
     * below, when the whole range is one run. */
    reclaimed = mpool_reclaim(NULL);
    ok(reclaimed > 0 && reclaimed <= segments * SEGMENT_PAGES,
       "mpool_reclaim gives back the segments the arenas kept (%zu pages "
       "counted)", reclaimed);
    is_u(mpool_reclaim(NULL), 0, "a second mpool_reclaim finds nothing");

    /* Coalesced: all segments are one free block again, so one run fills
     * them all (the run's span has a header page). */
    big = segments * SEGMENT_PAGES - 1;
    p = mpool_pages_alloc(big);
    ok(p != NULL, "the whole range is one run again: %zu pages", big);
    if (p != NULL) {
        void *q;

        rv_fill(p, big * PAGE, 7);
        ok(rv_check(p, big * PAGE, 7) == SIZE_MAX,
           "... and every byte of it can be written and read back");
        mpool_errno = 0;
        q = mpool_pages_alloc(1);
        ok(q == NULL && mpool_errno == ENOMEM,
           "... while it is held, one more page fails with ENOMEM");
        (void)mpool_pages_free(q, 1);
        is_u((unsigned long)mpool_pages_free(p, big), 0, "... it is freed");
    } else {
        for (unsigned i = 0; i < 3; i++)
            ok(false, "(the whole-range run failed: errno %d)", mpool_errno);
    }

    runs = count_runs(SEGMENT_PAGES / 2);
    is_u(runs, segments, "runs of %u pages: one from each segment",
         SEGMENT_PAGES / 2);
    is_u(count_runs(1), total,
         "one hart alone gets the same %zu single pages", total);
}

void
test_secondary(unsigned hart)
{
    both(hart);
}
