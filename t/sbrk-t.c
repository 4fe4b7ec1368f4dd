/* SPDX-License-Identifier: MIT */
/*
 * t/sbrk-t.c - the sbrk backend on a break it shares: malloc() moving the
 * break between the backend's growths, another user moving it during one
 * (the test stands between the backend and the C library's sbrk() to do
 * that at the worst moment), the break going back down at reclaim when the
 * library's memory is at the top, a refused growth (a lowered RLIMIT_DATA,
 * in a child), free segments below the top purged, several threads at
 * once, and an overwritten free-list entry caught.  Built only with
 * --with-backend=sbrk.
 *
 * Under valgrind, which emulates the break in 8 MiB of its own, only what
 * fits there runs: one segment's growth and shrinking, and the refusal of
 * the next.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "page/page.h"
#include "mpool.h"
#include "tap/tap.h"

#define SEG MP_SEGMENT_SIZE
#define FAILED ((void *)-1)

/* ------------------------------------------------------------------------
 * Between the backend and the C library: sbrk() with a foreign growth
 * injected just before the backend's next one, as another thread calling
 * sbrk() between the backend's reading of the break and its growth would.
 * The executable's sbrk() is the one the library's backend calls; the C
 * library's malloc() calls its own internal one and is not affected.
 * ------------------------------------------------------------------------ */

static void *(*libc_sbrk)(intptr_t);
static intptr_t race_bytes; /* > 0: moved before the next growth, once */
static char *race_at;       /* where that foreign growth went */

void *
sbrk(intptr_t increment)
{
    if (libc_sbrk == NULL) {
        void *sym = dlsym(RTLD_NEXT, "sbrk");
        memcpy(&libc_sbrk, &sym, sizeof(sym));
        if (libc_sbrk == NULL)
            abort();
    }
    if (increment > 0 && race_bytes > 0) {
        intptr_t n = race_bytes;

        race_bytes = 0;
        race_at = libc_sbrk(n);
    }
    return libc_sbrk(increment);
}

static char *
brk_now(void)
{
    return sbrk(0);
}

/* ------------------------------------------------------------------------
 * Contents: one word per 512 bytes, derived from a tag and the offset.
 * ------------------------------------------------------------------------ */

static void
fill(void *p, size_t len, uint32_t tag)
{
    for (size_t o = 0; o + sizeof(uint32_t) <= len; o += 512)
        memcpy((char *)p + o, &(uint32_t){tag ^ (uint32_t)o}, 4);
}

static bool
intact(const void *p, size_t len, uint32_t tag)
{
    for (size_t o = 0; o + sizeof(uint32_t) <= len; o += 512) {
        uint32_t v;

        memcpy(&v, (const char *)p + o, 4);
        if (v != (tag ^ (uint32_t)o))
            return false;
    }
    return true;
}

static bool
reads_zero(const void *p, size_t len)
{
    for (size_t o = 0; o < len; o += 64)
        if (((const unsigned char *)p)[o] != 0)
            return false;
    return true;
}

static bool
aligned(const void *p)
{
    return ((uintptr_t)p & MP_SEGMENT_MASK) == 0;
}

static bool
disjoint(const void *a, size_t alen, const void *b, size_t blen)
{
    return (const char *)a + alen <= (const char *)b ||
           (const char *)b + blen <= (const char *)a;
}

static void *
segments(size_t n, bool *is_zero)
{
    void *p;
    int rc = mp_backend_segments_alloc(n, &p, is_zero);

    if (rc != 0) {
        errno = rc;
        sysbail("mp_backend_segments_alloc(%zu)", n);
    }
    return p;
}

/* Whether the break can grow by `bytes` here (and it is put back). */
static bool
break_can_grow(size_t bytes)
{
    if (sbrk((intptr_t)bytes) == FAILED)
        return false;
    sbrk(-(intptr_t)bytes);
    return true;
}

/* ------------------------------------------------------------------------
 * (a) The break moved by malloc, by the test, and during a growth.
 * ------------------------------------------------------------------------ */

#define MBLOCKS 256
#define MBLOCK (64u << 10) /* below glibc's mmap threshold (128 KiB) */

static void *mblocks[MBLOCKS];
static int nmblocks;

struct held {
    void *p;
    size_t n;
};
static struct held held[8];
static int nheld;

static void
hold(void *p, size_t n)
{
    held[nheld].p = p;
    held[nheld].n = n;
    fill(p, n * SEG, (uint32_t)(uintptr_t)p);
    nheld++;
}

static bool
all_intact(void)
{
    for (int i = 0; i < nheld; i++)
        if (!intact(held[i].p, held[i].n * SEG,
                    (uint32_t)(uintptr_t)held[i].p))
            return false;
    for (int i = 0; i < nmblocks; i++)
        if (!intact(mblocks[i], MBLOCK, 0xb10c0000u + (uint32_t)i))
            return false;
    return true;
}

static bool
none_overlap(const void *p, size_t len)
{
    for (int i = 0; i < nmblocks; i++)
        if (!disjoint(p, len, mblocks[i], MBLOCK))
            return false;
    for (int i = 0; i < nheld; i++)
        if (held[i].p != p && !disjoint(p, len, held[i].p, held[i].n * SEG))
            return false;
    return true;
}

static void
test_shared_break(void)
{
    mp_backend_counters_t c0, c1;
    bool z, moved = false;
    char *b, *p, *foreign;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    /* The first growth: aligned, fresh. */
    b = brk_now();
    p = segments(1, &z);
    ok(aligned(p) && p >= b && z,
       "a segment from the break is aligned, above the old break, zero");
    hold(p, 1);

    /* malloc() grows its heap above the library's segments. */
    b = brk_now();
    if (tap_under_asan()) {
        skip(1, "AddressSanitizer's malloc() does not use the break; the "
                "test moves it with sbrk() instead");
        if (sbrk((intptr_t)(4 * page + 77)) == FAILED)
            sysbail("sbrk");
    } else {
        while (nmblocks < MBLOCKS && brk_now() == b) {
            mblocks[nmblocks] = malloc(MBLOCK);
            if (mblocks[nmblocks] == NULL)
                sysbail("malloc");
            fill(mblocks[nmblocks], MBLOCK, 0xb10c0000u + (uint32_t)nmblocks);
            nmblocks++;
        }
        moved = brk_now() > b;
        for (int i = 0; i < nmblocks; i++)
            moved &= (char *)mblocks[i] + MBLOCK <= p ||
                     (char *)mblocks[i] >= p + SEG;
        ok(moved, "malloc() moved the break (%d blocks of 64 KiB), its "
                  "blocks clear of the library's segment",
           nmblocks);
    }

    /* Five segments: more than the batch left free (3), so the break
     * grows again from wherever malloc() left it; the requests below ask
     * for 4 or more for the same reason. */
    mp_backend_counters(&c0);
    b = brk_now();
    p = segments(5, &z);
    mp_backend_counters(&c1);
    ok(aligned(p) && p >= b && z && none_overlap(p, 5 * SEG),
       "after malloc(), 5 segments: aligned, above the break malloc() left "
       "(%p >= %p), clear of its blocks",
       (void *)p, (void *)b);
    is_size(c1.os_map_calls - c0.os_map_calls, 1, "... in one growth");
    hold(p, 5);
    ok(all_intact(), "every segment and malloc() block kept its contents");

    /* The test moves the break by an odd amount itself. */
    foreign = sbrk(12345);
    if (foreign == FAILED)
        sysbail("sbrk(12345)");
    memset(foreign, 0xf0, 12345);
    p = segments(4, &z);
    ok(aligned(p) && p >= foreign + 12345 && z,
       "after sbrk(12345) by someone else, 4 segments: aligned, above it");
    hold(p, 4);

    /* During a growth: the break moves by a page and a bit between the
     * backend's sbrk(0) and its sbrk(n), when the break was aligned (no
     * padding asked for): the grant is too short once aligned, so it goes
     * back and the growth is tried again. */
    mp_backend_counters(&c0);
    race_bytes = (intptr_t)(page + 123);
    p = segments(4, &z);
    mp_backend_counters(&c1);
    ok(race_bytes == 0 && race_at != NULL && race_at != FAILED,
       "the break was moved during the growth");
    if (race_at != NULL && race_at != FAILED)
        memset(race_at, 0xf1, page + 123);
    ok(aligned(p) && z && disjoint(p, 4 * SEG, race_at, page + 123) &&
           p > race_at,
       "a grant too short once aligned: retried, aligned, above the other "
       "user's piece");
    ok(c1.os_unmap_calls - c0.os_unmap_calls == 1 &&
           c1.os_map_calls - c0.os_map_calls == 2,
       "... the short grant was handed back first (%zu grows, %zu shrinks)",
       c1.os_map_calls - c0.os_map_calls,
       c1.os_unmap_calls - c0.os_unmap_calls);
    hold(p, 4);

    /* During a growth that asked for padding: the break moves by less than
     * the padding, so the aligned segments still fit; the unused tail goes
     * back. */
    foreign = sbrk((intptr_t)page);
    if (foreign == FAILED)
        sysbail("sbrk(page)");
    memset(foreign, 0xf2, page);
    race_bytes = (intptr_t)(2 * page);
    p = segments(4, &z);
    ok(race_bytes == 0 && aligned(p) && z && p >= race_at + 2 * page &&
           brk_now() == p + 4 * SEG,
       "a grant still long enough: aligned, above the other user's piece, "
       "its tail handed back (break at the end of the segments)");
    if (race_at != NULL && race_at != FAILED)
        memset(race_at, 0xf3, 2 * page);
    hold(p, 4);
    ok(all_intact(), "every segment and malloc() block still intact");
    {
        bool clean = true;
        for (int i = 0; i < nheld; i++)
            clean &= none_overlap(held[i].p, held[i].n * SEG);
        ok(clean, "no two segment ranges or malloc() blocks overlap");
    }

    /* Before any reclaim, freed segments come back as they were left: not
     * zero.  Two growths in a row are adjacent, and once both are freed
     * they serve one request for the two, with no growth. */
    {
        char *q, *r;
        bool zq, zr;

        mp_backend_counters(&c0);
        p = segments(4, &z);
        q = segments(4, &zq);
        fill(p, 4 * SEG, 1);
        fill(q, 4 * SEG, 2);
        ok(q == p + 4 * SEG && z && zq,
           "two growths in a row give adjacent fresh segments");
        mp_backend_segments_free(p, 4);
        mp_backend_segments_free(q, 4);
        r = segments(8, &zr);
        mp_backend_counters(&c1);
        ok(r == p && !zr && c1.os_map_calls - c0.os_map_calls == 2,
           "freed neighbours serve one request for both, without growing, "
           "reported not zero");
        mp_backend_segments_free(r, 8);

        /* The same with one half purged (zero) and the other not: two
         * free ranges of different kinds side by side, still one fit. */
        p = segments(4, &z);
        q = segments(4, &zq);
        if (p != r || q != r + 4 * SEG)
            bail("the freed 8 segments were not reused in place");
        if (sbrk((intptr_t)page) == FAILED) /* someone above them */
            sysbail("sbrk");
        mp_backend_segments_free(p, 4);
        mpool_reclaim(NULL); /* p is purged, not cut off the heap */
        mp_backend_segments_free(q, 4);
        mp_backend_counters(&c0);
        r = segments(8, &zr);
        mp_backend_counters(&c1);
        ok(r == p && !zr && c1.os_map_calls == c0.os_map_calls,
           "a purged range and a dirty one beside it serve one request");
        mp_backend_segments_free(r, 8);
    }

    /* Free them all, and the malloc() blocks. */
    for (int i = 0; i < nheld; i++)
        if (mp_backend_segments_free(held[i].p, held[i].n) != 0)
            bail("mp_backend_segments_free failed");
    nheld = 0;
    for (int i = 0; i < nmblocks; i++)
        free(mblocks[i]);
    nmblocks = 0;
    mpool_reclaim(NULL);
}

/* ------------------------------------------------------------------------
 * (b) Everything freed: the break goes back down.
 * ------------------------------------------------------------------------ */

static void
test_break_goes_down(void)
{
    enum { NRUNS = 300 };
    static void *runs[NRUNS];
    size_t page = mpool_page_size();
    size_t huge_pages = 16 * 1024 - 1; /* a span of 16 segments */
    mp_backend_counters_t c0, c;
    char *b0, *b1, *b2, *big;
    bool ok_runs = true;

    mp_backend_counters(&c0); /* what is kept below others' memory */
    /* Someone else's page, so that the growth below needs padding. */
    if (sbrk((intptr_t)sysconf(_SC_PAGESIZE)) == FAILED)
        sysbail("sbrk");
    b0 = brk_now();
    if (aligned(b0) && sbrk((intptr_t)sysconf(_SC_PAGESIZE)) == FAILED)
        sysbail("sbrk");
    b0 = brk_now();
    for (int i = 0; i < NRUNS; i++) {
        runs[i] = mpool_pages_alloc((size_t)(i % 7) + 1);
        if (runs[i] == NULL)
            bail("mpool_pages_alloc failed");
        fill(runs[i], ((size_t)(i % 7) + 1) * page, (uint32_t)i);
    }
    big = mpool_pages_alloc(huge_pages);
    if (big == NULL)
        bail("mpool_pages_alloc(%zu) failed", huge_pages);
    fill(big, huge_pages * page, 0xb16u);
    b1 = brk_now();
    for (int i = 0; i < NRUNS; i++)
        ok_runs &= intact(runs[i], ((size_t)(i % 7) + 1) * page, (uint32_t)i);
    ok(b1 >= b0 + 16 * SEG && ok_runs &&
           intact(big, huge_pages * page, 0xb16u),
       "page runs and a 64 MiB run grew the break (%zu MiB)",
       (size_t)(b1 - b0) >> 20);

    for (int i = 0; i < NRUNS; i++)
        mpool_pages_free(runs[i], (size_t)(i % 7) + 1);
    mpool_pages_free(big, huge_pages);
    mpool_reclaim(NULL);
    b2 = brk_now();
    mp_backend_counters(&c);
    diag("break %p at start, %p in use, %p after reclaim", (void *)b0,
         (void *)b1, (void *)b2);
    ok(b2 == b0, "after freeing everything, reclaim puts the break back "
                 "where it was, padding included");
    is_size(c.segments_out, 0, "... no segment is left with the library");
    is_size(c.segments_cached, c0.segments_cached,
            "... and the backend keeps only what it kept before (%zu "
            "segments below other users' memory, purged)",
            c0.segments_cached);

    /* malloc() goes on growing from the lowered break. */
    {
        void *m = malloc(100000);
        bool good = m != NULL;
        if (good) {
            fill(m, 100000, 0x3a110cu);
            good = intact(m, 100000, 0x3a110cu);
            free(m);
        }
        ok(good, "malloc() works on the lowered break");
    }
}

/* ------------------------------------------------------------------------
 * (c) The kernel refusing to grow the break (child, RLIMIT_DATA lowered).
 * ------------------------------------------------------------------------ */

static const char *const oom_checks[] = {
    "allocation ends in NULL under a lowered RLIMIT_DATA",
    "... with errno ENOMEM",
    "a refused growth leaves the break where it was",
    "every run allocated before the refusal is intact",
    "a freed span is reused under the limit",
    "the backend returns ENOMEM and leaves errno alone",
    "after the limit is lifted, the break grows again (a 64 MiB run)",
};
enum { NOOM = sizeof(oom_checks) / sizeof(oom_checks[0]) };

/* VmData from /proc/self/status, in bytes: what RLIMIT_DATA is held to. */
static size_t
data_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmData: %zu kB", &kb) == 1)
            break;
    fclose(f);
    return kb << 10;
}

static int
oom_child(void)
{
    enum { SPAN_PAGES = 4 * 1024 - 1, MAXSPANS = 64 };
    static void *spans[MAXSPANS];
    size_t page = mpool_page_size();
    struct rlimit old, low;
    void *keep[4], *p;
    int failed = 0, n = 0, err = 0;
    char *before = NULL;
    bool z;

    for (int i = 0; i < 4; i++) {
        keep[i] = mpool_pages_alloc((size_t)i * 300 + 1);
        if (keep[i] == NULL)
            return 0x7f;
        fill(keep[i], ((size_t)i * 300 + 1) * page, 0xcee9u + (uint32_t)i);
    }
    if (getrlimit(RLIMIT_DATA, &old) != 0 || data_bytes() == 0)
        return 0x7f;
    low = old;
    low.rlim_cur = data_bytes() + (48u << 20);
    if (setrlimit(RLIMIT_DATA, &low) != 0)
        return 0x7f;
    while (n < MAXSPANS) {
        /* Another user's page first, as malloc() might take, so that
         * every growth, the refused one too, needs padding. */
        if (sbrk((intptr_t)page) != FAILED)
            memset(brk_now() - page, 0xee, page);
        before = brk_now();
        errno = 0;
        if ((spans[n] = mpool_pages_alloc(SPAN_PAGES)) == NULL) {
            err = errno;
            break;
        }
        fill(spans[n], SPAN_PAGES * page, (uint32_t)n);
        n++;
    }
    if (n == MAXSPANS || n == 0)
        failed |= 1 << 0;
    if (err != ENOMEM)
        failed |= 1 << 1;
    if (brk_now() != before)
        failed |= 1 << 2;
    for (int i = 0; i < 4; i++)
        if (!intact(keep[i], ((size_t)i * 300 + 1) * page,
                    0xcee9u + (uint32_t)i))
            failed |= 1 << 3;
    for (int i = 0; i < n; i++)
        if (!intact(spans[i], SPAN_PAGES * page, (uint32_t)i))
            failed |= 1 << 3;
    if (n > 0) {
        mpool_pages_free(spans[n - 1], SPAN_PAGES);
        if ((spans[n - 1] = mpool_pages_alloc(SPAN_PAGES)) == NULL)
            failed |= 1 << 4;
    }
    errno = EDOM;
    if (mp_backend_segments_alloc(64, &p, &z) != ENOMEM || errno != EDOM)
        failed |= 1 << 5;
    if (setrlimit(RLIMIT_DATA, &old) != 0)
        return 0x7f;
    p = mpool_pages_alloc(16 * 1024 - 1);
    if (p == NULL)
        failed |= 1 << 6;
    else {
        fill(p, (16 * 1024 - 1) * page, 0x64u);
        if (!intact(p, (16 * 1024 - 1) * page, 0x64u))
            failed |= 1 << 6;
        mpool_pages_free(p, 16 * 1024 - 1);
    }
    for (int i = 0; i < n; i++)
        if (spans[i] != NULL)
            mpool_pages_free(spans[i], SPAN_PAGES);
    for (int i = 0; i < 4; i++)
        mpool_pages_free(keep[i], (size_t)i * 300 + 1);
    return failed;
}

/* ------------------------------------------------------------------------
 * (d) Free segments below the top are purged and kept.
 * ------------------------------------------------------------------------ */

static void
test_purge_below_top(void)
{
    size_t page = mpool_page_size();
    size_t npages = 16 * 1024 - 1; /* a span of 16 segments, 64 MiB: more
                                      than any free stretch so far */
    size_t ospage = (size_t)sysconf(_SC_PAGESIZE);
    mp_backend_counters_t base, c0, c1;
    size_t rss_used, rss_after;
    char *p, *span, *again, *foreign, *b;
    bool z;

    p = mpool_pages_alloc(npages);
    if (p == NULL)
        bail("mpool_pages_alloc(%zu) failed", npages);
    span = (char *)mp_segment_of(p); /* the run follows the span's header */
    if (brk_now() != span + 16 * SEG)
        bail("the 64 MiB span is not at the top of the heap");
    mp_backend_counters(&base);
    memset(p, 0x5a, npages * page);
    foreign = sbrk((intptr_t)ospage); /* someone else above it */
    if (foreign == FAILED)
        sysbail("sbrk");
    memset(foreign, 0xf4, ospage);
    mpool_pages_free(p, npages);
    rss_used = tap_resident_bytes();
    b = brk_now();
    mp_backend_counters(&c0);
    mpool_reclaim(NULL);
    mp_backend_counters(&c1);
    rss_after = tap_resident_bytes();
    diag("resident %zu KiB before reclaim, %zu KiB after", rss_used >> 10,
         rss_after >> 10);
    ok(brk_now() == b, "with someone else's memory above, the break stays");
    ok(c1.os_purge_calls > c0.os_purge_calls &&
           c1.segments_cached == base.segments_cached + 16,
       "the freed span is purged (%zu calls) and kept (16 segments)",
       c1.os_purge_calls - c0.os_purge_calls);
    ok(rss_used > rss_after && rss_used - rss_after >= npages * page / 10 * 9,
       "resident memory drops by at least 90%% of the span's 64 MiB");
    again = mp_pages_alloc(npages, &z);
    ok(again == p && z && reads_zero(again, npages * page),
       "the same span is handed out again, zero and known to be");
    if (again != NULL)
        mpool_pages_free(again, npages);

    /* The other user gives its page back: now the top is ours. */
    if (brk_now() == foreign + ospage)
        sbrk(-(intptr_t)ospage);
    mpool_reclaim(NULL);
    mp_backend_counters(&c1);
    ok(brk_now() <= span && c1.segments_cached == base.segments_cached,
       "once the other user has gone, reclaim lowers the break below the "
       "span and keeps it no more");
}

/* ------------------------------------------------------------------------
 * Threads: segments taken and given back from four threads at once.
 * ------------------------------------------------------------------------ */

enum { THREADS = 4, ROUNDS = 5000 };
static _Atomic int thread_errors;

/* A word at every 64 KiB: enough to see two owners of one segment. */
static void
mark(void *p, size_t len, uint32_t tag)
{
    for (size_t o = 0; o < len; o += 64u << 10)
        *(volatile uint32_t *)((char *)p + o) = tag;
}

static bool
marked(const void *p, size_t len, uint32_t tag)
{
    for (size_t o = 0; o < len; o += 64u << 10)
        if (*(const volatile uint32_t *)((const char *)p + o) != tag)
            return false;
    return true;
}

static void *
thread_main(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    void *mine[3] = {NULL, NULL, NULL};
    size_t sizes[3] = {1, 2, 3};

    for (int r = 0; r < ROUNDS; r++) {
        int k = r % 3;
        bool z;

        if (mine[k] != NULL) {
            if (!marked(mine[k], sizes[k] * SEG, id * 1000 + (uint32_t)k))
                thread_errors++;
            mp_backend_segments_free(mine[k], sizes[k]);
        }
        if (mp_backend_segments_alloc(sizes[k], &mine[k], &z) != 0 ||
            !aligned(mine[k])) {
            thread_errors++;
            mine[k] = NULL;
            continue;
        }
        mark(mine[k], sizes[k] * SEG, id * 1000 + (uint32_t)k);
    }
    for (int k = 0; k < 3; k++)
        if (mine[k] != NULL) {
            if (!marked(mine[k], sizes[k] * SEG, id * 1000 + (uint32_t)k))
                thread_errors++;
            mp_backend_segments_free(mine[k], sizes[k]);
        }
    return NULL;
}

static void
test_threads(void)
{
    pthread_t t[THREADS];
    mp_backend_counters_t c;

    for (uintptr_t i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, thread_main, (void *)(i + 1)) != 0)
            bail("pthread_create failed");
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    mp_backend_counters(&c);
    ok(thread_errors == 0 && c.segments_out == 0,
       "4 threads taking and giving back segments: none shared, none lost");
}

/* ------------------------------------------------------------------------
 * A write into a free range's entry is caught, not followed.
 * ------------------------------------------------------------------------ */

static void
test_corruption(void)
{
    char report[512] = "";
    int status, fd[2];
    ssize_t n;
    pid_t pid;

    fflush(stdout);
    if (pipe(fd) != 0)
        sysbail("pipe");
    pid = fork();
    if (pid < 0)
        sysbail("fork");
    if (pid == 0) {
        bool z;
        void *p, *q;

        dup2(fd[1], STDERR_FILENO);
        mpool_reclaim(NULL); /* the free ranges purged: p's stays apart */
        p = segments(2, &z);
        mp_backend_segments_free(p, 2);
        memset(p, 0x41, 16); /* a write after free, over its entry */
        mp_backend_segments_alloc(2, &q, &z);
        _exit(0);
    }
    close(fd[1]);
    if (waitpid(pid, &status, 0) != pid)
        sysbail("waitpid");
    n = read(fd[0], report, sizeof(report) - 1);
    report[n > 0 ? n : 0] = '\0';
    close(fd[0]);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
           strstr(report, "sbrk backend") != NULL,
       "a free range's entry overwritten: the backend says so and aborts");
}

/* ------------------------------------------------------------------------
 * Under valgrind, whose break is 8 MiB: one segment grows and shrinks the
 * break, and the next growth is refused.
 * ------------------------------------------------------------------------ */

static void
test_capped_break(void)
{
    mp_backend_counters_t c;
    char *b0 = brk_now(), *p;
    void *q;
    bool z;
    int rc;

    p = segments(1, &z); /* a batch of 4 is refused, then 1 is asked for */
    fill(p, SEG, 0xca99edu);
    ok(aligned(p) && z && p >= b0 && intact(p, SEG, 0xca99edu),
       "one segment from the capped break: aligned, zero, writable");
    errno = EDOM;
    rc = mp_backend_segments_alloc(2, &q, &z);
    ok(rc == ENOMEM && errno == EDOM && brk_now() == p + SEG,
       "two more do not fit: ENOMEM, errno untouched, the break unmoved");
    mp_backend_segments_free(p, 1);
    mpool_reclaim(NULL);
    mp_backend_counters(&c);
    ok(brk_now() == b0 && c.segments_cached == 0 && c.segments_out == 0,
       "freed and reclaimed: the break is back where it was");
    p = segments(1, &z);
    ok(p != NULL && aligned(p) && z, "and the break grows again after");
    mp_backend_segments_free(p, 1);
    mpool_reclaim(NULL);
    skip(1, "the other checks need a break of more than 8 MiB, which "
            "valgrind does not give");
}

int
main(void)
{
    char *b;

    free(malloc(1)); /* malloc()'s heap exists before anything is measured */
    if (!break_can_grow(64u << 20) && !tap_under_valgrind())
        skip_all("the program break cannot grow by 64 MiB here");
    plan_lazy();
    if (mp_init() != 0)
        bail("library initialisation failed");
    if (tap_under_valgrind()) {
        test_capped_break();
        return tap_done();
    }
    b = brk_now();
    test_shared_break();
    diag("break %p before, %p after the shared-break tests", (void *)b,
         (void *)brk_now());
    test_break_goes_down();
    tap_child_checks(oom_child, oom_checks, NOOM);
    test_purge_below_top();
    test_threads();
    test_corruption();
    return tap_done();
}
