/* SPDX-License-Identifier: MIT */
/*
 * t/fault-t.c - fault injection (lib/page/fault.c): every request for segments
 * that a workload makes of the backend is made to fail in turn.
 *
 * The workload uses pages, a cache with a constructor, a pool (alloc,
 * realloc, aligned, calloc, blocks above the size classes), a region pool
 * and mpool_reclaim, and checks its own results.  A run with the counter
 * set high counts its backend requests; then, for N = 1 .. that count, the
 * library is brought back to its resting state (everything freed,
 * mpool_reclaim(NULL)), the Nth request is made to fail, and the test
 * checks that every call that failed said so as documented (NULL with
 * errno ENOMEM), that blocks obtained before the failure kept their
 * contents, that after freeing everything the page level and the backend
 * hold what they held at rest (no leak), and that the same workload with
 * no fault then succeeds in full.
 *
 * The test keeps to the CPU it starts on, so that one arena serves it and
 * the walk is the same every time: a request that fails in one arena is
 * otherwise often absorbed by another's free pages (pages.c).
 */
#ifdef __linux__
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_setaffinity */
#endif
#include <sched.h>
#endif
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "page/page.h"
#include "mpool.h"
#include "tap/tap.h"
#include "rest.h"

#define NOBJ 96       /* cache objects: several slabs */
#define OBJ_SIZE 1000
#define OBJ_MAGIC 0x6f626a63746f72ull /* set by the constructor */
#define NBLK 32       /* pool blocks */
#define NRBLK 8       /* region pool blocks */
#define REGION_SIZE (128u * 1024)

struct blk {
    unsigned char *p;
    size_t n;
    unsigned char stamp;
};

struct work {
    void *pages;
    size_t npages;
    unsigned char pages_stamp;
    mpool_cache_t *cache;
    void *objs[NOBJ];
    mpool_t *pool;
    struct blk blk[NBLK];
    int nblk;
    mpool_t *rpool;
    struct blk rblk[NRBLK];
    int nrblk;
    unsigned failed; /* calls that failed as documented */
    unsigned bad;    /* wrong results: the test fails */
    const char *first_failed; /* the first call that failed */
};

static long nctor, ndtor;
static unsigned char region_mem[REGION_SIZE] __attribute__((aligned(64)));
static unsigned char next_stamp = 1;

static int
ctor(void *obj, void *arg)
{
    (void)arg;
    *(uint64_t *)obj = OBJ_MAGIC;
    nctor++;
    return 0;
}

static void
dtor(void *obj, void *arg)
{
    (void)arg;
    if (*(uint64_t *)obj != OBJ_MAGIC)
        diag("destructor: object %p lost its constructed state", obj);
    ndtor++;
}

static void
bad(struct work *w, const char *what)
{
    if (w->bad++ < 5)
        diag("%s", what);
}

/* A call returned p (NULL: failed): a failure must be ENOMEM. */
static bool
got(struct work *w, const void *p, const char *what)
{
    if (p != NULL)
        return true;
    if (errno == ENOMEM) {
        if (w->failed++ == 0)
            w->first_failed = what;
    } else {
        diag("%s failed with errno %d, not ENOMEM", what, errno);
        w->bad++;
    }
    return false;
}

/* Every byte of a block is checked: a word pattern that differs from
 * word to word and block to block, then the tail bytes. */
static uint64_t
pattern(size_t i, unsigned char stamp)
{
    return ((uint64_t)stamp * 0x9e3779b97f4a7c15ull) ^ i;
}

static void
fill(unsigned char *p, size_t n, unsigned char stamp)
{
    size_t i;

    for (i = 0; i + 8 <= n; i += 8) {
        uint64_t v = pattern(i, stamp);
        memcpy(p + i, &v, 8);
    }
    for (; i < n; i++)
        p[i] = stamp;
}

static bool
intact(const unsigned char *p, size_t n, unsigned char stamp)
{
    size_t i;

    for (i = 0; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v != pattern(i, stamp))
            return false;
    }
    for (; i < n; i++)
        if (p[i] != stamp)
            return false;
    return true;
}

static void
add_blk(struct work *w, struct blk *b, void *p, size_t n)
{
    b->p = p;
    b->n = n;
    b->stamp = next_stamp++;
    fill(b->p, n, b->stamp);
    (void)w;
}

static void
pool_alloc(struct work *w, void *p, size_t n, const char *what)
{
    if (got(w, p, what) && w->nblk < NBLK)
        add_blk(w, &w->blk[w->nblk++], p, n);
    else if (p != NULL)
        bail("fault-t: NBLK too small");
}

/* Grow a block by realloc: on success the prefix survives, on failure the
 * old block is untouched. */
static void
grow(struct work *w, struct blk *b, size_t n)
{
    void *p = mpool_realloc(w->pool, b->p, n);

    if (p == NULL) {
        (void)got(w, p, "mpool_realloc");
        if (!intact(b->p, b->n, b->stamp))
            bad(w, "mpool_realloc failed and damaged the block");
        return;
    }
    if (!intact(p, b->n, b->stamp))
        bad(w, "mpool_realloc lost the contents");
    add_blk(w, b, p, n);
}

static void
workload(struct work *w)
{
    size_t seg = MP_SEGMENT_SIZE;
    mpool_options_t opt = {.size = sizeof opt, .name = "fault-t region"};
    void *p;

    memset(w, 0, sizeof *w);

    /* pages */
    w->npages = 5;
    w->pages = mpool_pages_alloc(w->npages);
    if (got(w, w->pages, "mpool_pages_alloc")) {
        w->pages_stamp = next_stamp++;
        fill(w->pages, w->npages * mpool_page_size(), w->pages_stamp);
    }

    /* a cache with a constructor */
    w->cache = mpool_cache_create("fault-t", OBJ_SIZE, 0, ctor, dtor, NULL,
                                  0);
    if (got(w, w->cache, "mpool_cache_create"))
        for (int i = 0; i < NOBJ; i++) {
            w->objs[i] = mpool_cache_alloc(w->cache);
            if (!got(w, w->objs[i], "mpool_cache_alloc"))
                continue;
            if (*(uint64_t *)w->objs[i] != OBJ_MAGIC)
                bad(w, "a cache object is not constructed");
            fill((unsigned char *)w->objs[i] + 8, OBJ_SIZE - 8,
                 (unsigned char)i);
        }

    /* a pool */
    w->pool = mpool_create(NULL);
    if (got(w, w->pool, "mpool_create")) {
        static const size_t sizes[] = {24, 100, 1000, 5000, 40000, 300000};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            pool_alloc(w, mpool_alloc(w->pool, sizes[i]), sizes[i],
                       "mpool_alloc");
        /* enough to need several segments */
        for (int i = 0; i < 8; i++)
            pool_alloc(w, mpool_alloc(w->pool, seg / 4), seg / 4,
                       "mpool_alloc (bulk)");
        p = mpool_aligned_alloc(w->pool, 4096, 10000);
        if (p != NULL && ((uintptr_t)p & 4095) != 0)
            bad(w, "mpool_aligned_alloc: misaligned");
        pool_alloc(w, p, 10000, "mpool_aligned_alloc");
        p = mpool_aligned_alloc(w->pool, seg / 8, 100);
        if (p != NULL && ((uintptr_t)p & (seg / 8 - 1)) != 0)
            bad(w, "mpool_aligned_alloc: misaligned");
        pool_alloc(w, p, 100, "mpool_aligned_alloc");
        /* calloc: zeroed, also where freed (and reclaimed) memory is reused */
        for (size_t n = 1000; n <= seg * 2; n *= 64) {
            unsigned char *z = mpool_calloc(w->pool, n, 3);
            if (z != NULL)
                for (size_t i = 0; i < n * 3; i += 509)
                    if (z[i] != 0) {
                        bad(w, "mpool_calloc: not zeroed");
                        break;
                    }
            pool_alloc(w, z, n * 3, "mpool_calloc");
        }
        /* a block above the size classes: whole segments of its own */
        pool_alloc(w, mpool_alloc(w->pool, 2 * seg + 1), 2 * seg + 1,
                   "mpool_alloc (large)");
        /* realloc from small to large, through every kind of block */
        p = mpool_alloc(w->pool, 16);
        pool_alloc(w, p, 16, "mpool_alloc");
        if (p != NULL) {
            struct blk *b = &w->blk[w->nblk - 1];
            for (size_t n = 64; n <= 3 * seg; n *= 8)
                grow(w, b, n);
            grow(w, b, 3 * seg);
        }
        /* free half, reclaim, and allocate again */
        for (int i = 0; i < w->nblk; i += 2) {
            if (!intact(w->blk[i].p, w->blk[i].n, w->blk[i].stamp))
                bad(w, "a pool block was damaged");
            mpool_free(w->pool, w->blk[i].p);
            w->blk[i].p = NULL;
        }
        (void)mpool_reclaim(NULL);
        for (int i = 0; i < 4; i++)
            pool_alloc(w, mpool_alloc(w->pool, seg / 2), seg / 2,
                       "mpool_alloc (after reclaim)");
    }

    /* a region pool */
    opt.region = region_mem;
    opt.region_size = sizeof region_mem;
    w->rpool = mpool_create(&opt);
    if (got(w, w->rpool, "mpool_create (region)"))
        for (int i = 0; i < NRBLK; i++) {
            size_t n = 100 + (size_t)i * 1000;
            p = mpool_alloc(w->rpool, n);
            if (got(w, p, "mpool_alloc (region)"))
                add_blk(w, &w->rblk[w->nrblk++], p, n);
        }

    (void)mpool_reclaim(NULL);
}

/* Check every live block and free it all; back to rest. */
static void
teardown(struct work *w)
{
    if (w->pages != NULL) {
        if (!intact(w->pages, w->npages * mpool_page_size(),
                    w->pages_stamp))
            bad(w, "a page run was damaged");
        if (mpool_pages_free(w->pages, w->npages) != 0)
            bad(w, "mpool_pages_free failed");
    }
    if (w->cache != NULL) {
        for (int i = 0; i < NOBJ; i++) {
            if (w->objs[i] == NULL)
                continue;
            if (*(uint64_t *)w->objs[i] != OBJ_MAGIC ||
                !intact((unsigned char *)w->objs[i] + 8, OBJ_SIZE - 8,
                        (unsigned char)i))
                bad(w, "a cache object was damaged");
            mpool_cache_free(w->cache, w->objs[i]);
        }
        if (mpool_cache_destroy(w->cache) != 0)
            bad(w, "mpool_cache_destroy failed");
    }
    if (nctor != ndtor) {
        diag("%ld objects constructed, %ld destroyed", nctor, ndtor);
        bad(w, "constructors and destructors do not balance");
    }
    nctor = ndtor = 0;
    if (w->pool != NULL) {
        for (int i = 0; i < w->nblk; i++) {
            if (w->blk[i].p == NULL)
                continue;
            if (!intact(w->blk[i].p, w->blk[i].n, w->blk[i].stamp))
                bad(w, "a pool block was damaged");
            /* free some, let destroy take the rest */
            if (i % 3 != 0)
                mpool_free(w->pool, w->blk[i].p);
        }
        mpool_destroy(w->pool);
    }
    if (w->rpool != NULL) {
        for (int i = 0; i < w->nrblk; i++) {
            if (!intact(w->rblk[i].p, w->rblk[i].n, w->rblk[i].stamp))
                bad(w, "a region pool block was damaged");
            mpool_free(w->rpool, w->rblk[i].p);
        }
        mpool_destroy(w->rpool);
    }
    (void)mpool_reclaim(NULL);
}

static struct work w;
static struct rest base;

/* Make request n fail (and, when persist, every one after it) for each n
 * up to requests; return how many runs had a request fail. */
static long
walk(long requests, bool persist)
{
    const char *how = persist ? "on" : "failed";
    long n, fired = 0, absorbed = 0, failed_calls = 0;

    atomic_store(&mp_fault_persist, persist);
    for (n = 1; n <= requests; n++) {
        long injected = atomic_load(&mp_fault_injected);
        bool clean, recovered;

        atomic_store(&mp_fault_countdown, n);
        workload(&w);
        atomic_store(&mp_fault_countdown, 0);
        if (atomic_load(&mp_fault_injected) != injected) {
            fired++;
            if (w.failed == 0)
                absorbed++;
        }
        failed_calls += w.failed;
        teardown(&w);
        clean = same_rest(&base, "after the fault");
        ok(w.bad == 0 && clean,
           "request %ld %s: %u calls failed with ENOMEM%s%s, nothing "
           "else went wrong, nothing leaked",
           n, how, w.failed, w.failed ? ", first " : "",
           w.failed ? w.first_failed : "");

        workload(&w);
        teardown(&w);
        recovered = w.failed == 0 && w.bad == 0 &&
                    same_rest(&base, "the run after the fault");
        ok(recovered, "... and the workload then succeeds in full");
    }
    atomic_store(&mp_fault_persist, false);
    diag("%s: %ld runs with an injected failure (%ld absorbed with no call "
         "failing, %ld not reached), %ld calls failed",
         persist ? "request N and all after it fail" : "request N fails",
         fired, absorbed, requests - fired, failed_calls);
    return fired;
}

int
main(void)
{
    long requests, once, persist;

    tap_skip_if_break_capped(); /* sbrk under valgrind */
    plan_lazy();
#ifdef __linux__
    {
        cpu_set_t one;
        int cpu = sched_getcpu();

        CPU_ZERO(&one);
        if (cpu >= 0)
            CPU_SET(cpu, &one);
        if (cpu < 0 || sched_setaffinity(0, sizeof one, &one) != 0)
            diag("cannot keep to one CPU: requests may be absorbed");
    }
#endif

    /* once to warm up what the library keeps (its own caches), then
     * counting the backend requests */
    workload(&w);
    teardown(&w);
    ok(w.failed == 0 && w.bad == 0, "the workload succeeds");
    rest_of(&base);
    ok(same_rest(&base, "at rest"), "at rest, every segment is accounted for");
    atomic_store(&mp_fault_countdown, LONG_MAX);
    workload(&w);
    requests = LONG_MAX - atomic_exchange(&mp_fault_countdown, 0);
    teardown(&w);
    ok(w.failed == 0 && w.bad == 0, "the workload succeeds again");
    ok(same_rest(&base, "counting run"),
       "and leaves the library as it was at rest");
    ok(requests > 0, "the workload makes %ld backend requests", requests);

    once = walk(requests, false);
    persist = walk(requests, true);
    diag("%ld backend requests; %ld + %ld = %ld injected failures walked",
         requests, once, persist, once + persist);
    ok(once > 0 && persist > 0, "%ld injected failures walked",
       once + persist);
    return tap_done();
}
