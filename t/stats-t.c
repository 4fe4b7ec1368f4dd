/* SPDX-License-Identifier: MIT */
/*
 * t/stats-t.c - mpool_stats() and mpool_system_stats(): exact numbers for
 * a known set of blocks (class and large, in a class pool, a
 * single-threaded pool, a region pool, the default pool and a pool in
 * checking mode, where usable sizes are what was asked for), the peak,
 * the numbers after frees and after mpool_reclaim, blocks freed by another
 * thread and cached in its magazines, snapshots taken while threads
 * allocate and free (never negative or torn), a caller's shorter struct,
 * child pools counted and the peak starting again at mpool_reset, and bad
 * input.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpool.h"
#include "tap/tap.h"
#include "remote-free.h"

static bool k210;
static size_t nblocks = 2000; /* 200 on k210's 8 MiB */

/* Sizes of the known workload: classes small and large, and page runs
 * (a block above 8 MiB on the OS backends, an aligned one on k210). */
static const size_t sizes[] = {1, 8, 24, 100, 1000, 5000, 40000, 300000};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
#define NBLOCKS 2000

static mpool_stats_t
stats_of(mpool_t *p)
{
    mpool_stats_t st;

    memset(&st, 0xa5, sizeof(st));
    st.size = sizeof(st);
    if (mpool_stats(p, &st) != 0)
        bail("mpool_stats: %s", strerror(errno));
    return st;
}

/* The invariants every snapshot keeps. */
static bool
sane(const mpool_stats_t *st)
{
    return st->size == sizeof(*st) && st->bytes_in_use <= st->bytes_held &&
           st->bytes_free <= st->bytes_held - st->bytes_in_use &&
           st->bytes_empty <= st->bytes_free &&
           st->bytes_held <= st->bytes_held_peak &&
           st->large_blocks <= st->blocks_in_use &&
           st->blocks_in_use <= st->bytes_in_use + 1 && st->children == 0;
}

struct workload {
    void *block[NBLOCKS];
    size_t bytes, blocks, large;
};

static void
allocate(mpool_t *p, struct workload *w, bool with_large)
{
    memset(w, 0, sizeof(*w));
    for (size_t i = 0; i < nblocks; i++) {
        size_t size = sizes[i % NSIZES];
        void *b;
        if (k210 && size > 40000)
            size = 20000; /* 8 MiB of RAM in all */
        if (!with_large && size > 1000)
            size = 1000; /* a region pool of 2 MiB */
        b = mpool_alloc(p, size);
        if (b == NULL)
            bail("mpool_alloc(%zu): %s", size, strerror(errno));
        w->block[i] = b;
        w->bytes += mpool_usable_size(b);
        w->blocks++;
    }
    if (with_large) {
        /* page runs: too large for the classes, or aligned past 64 */
        for (size_t i = 0; i < 4; i++) {
            size_t size = k210 ? 3000 : (9u << 20) + i * 4096;
            void *b = k210 ? mpool_aligned_alloc(p, 4096, size)
                           : mpool_alloc(p, size);
            if (b == NULL)
                bail("large block: %s", strerror(errno));
            mpool_free(p, w->block[i]); /* make room in the array */
            w->bytes -= mpool_usable_size(w->block[i]);
            w->block[i] = b;
            w->bytes += mpool_usable_size(b);
            w->large++;
        }
    }
}

static void
release(mpool_t *p, struct workload *w, size_t from, size_t step)
{
    for (size_t i = from; i < nblocks; i += step)
        if (w->block[i] != NULL) {
            w->bytes -= mpool_usable_size(w->block[i]);
            w->blocks--;
            mpool_free(p, w->block[i]);
            w->block[i] = NULL;
        }
}

static void
test_exact(const char *what, mpool_t *p, bool class_pool)
{
    struct workload *w = malloc(sizeof(*w));
    mpool_stats_t st, before;
    size_t peak;

    if (w == NULL)
        bail("malloc");
    before = stats_of(p);
    allocate(p, w, class_pool);
    st = stats_of(p);
    is_size(st.blocks_in_use - before.blocks_in_use, w->blocks,
            "%s: blocks_in_use counts every block", what);
    is_size(st.bytes_in_use - before.bytes_in_use, w->bytes,
            "%s: bytes_in_use is the sum of their usable sizes", what);
    if (class_pool)
        is_size(st.large_blocks, w->large, "%s: large_blocks", what);
    ok(sane(&st), "%s: in use <= held, free + in use <= held, held <= peak",
       what);
    peak = st.bytes_held_peak;

    release(p, w, 1, 2); /* half of them, into this thread's magazines */
    st = stats_of(p);
    is_size(st.blocks_in_use - before.blocks_in_use, w->blocks,
            "%s: after freeing half, blocks exact", what);
    is_size(st.bytes_in_use - before.bytes_in_use, w->bytes,
            "%s: after freeing half, bytes exact", what);
    ok(sane(&st) && st.bytes_held_peak >= peak,
       "%s: still consistent, the peak kept", what);

    release(p, w, 0, 1);
    st = stats_of(p);
    is_size(st.blocks_in_use, before.blocks_in_use,
            "%s: all freed: blocks back to before", what);
    is_size(st.bytes_in_use, before.bytes_in_use,
            "%s: all freed: bytes back to before", what);
    ok(st.bytes_held_peak >= peak, "%s: the peak stays", what);
    if (class_pool) {
        size_t held = st.bytes_held;
        mpool_reclaim(p);
        st = stats_of(p);
        ok(sane(&st) && st.bytes_held <= held && st.bytes_held_peak >= peak,
           "%s: after mpool_reclaim held %zu -> %zu, peak %zu kept", what,
           held, st.bytes_held, st.bytes_held_peak);
        ok(st.bytes_empty == 0 || st.bytes_held > 0,
           "%s: no empty bytes without held ones", what);
    }
    free(w);
}

static void
test_pools(void)
{
    mpool_options_t opt = {.size = sizeof(opt), .name = "stats",
                           .limit = 0, .retain = 123456};
    static _Alignas(16) unsigned char region[2 << 20];
    mpool_t *p = mpool_create(&opt);
    mpool_stats_t st;

    if (p == NULL)
        bail("mpool_create");
    st = stats_of(p);
    ok(st.blocks_in_use == 0 && st.bytes_in_use == 0 && st.bytes_held == 0 &&
           st.bytes_held_peak == 0 && st.retain == 123456 && st.limit == 0,
       "a new pool: nothing in use or held, its options reported");
    test_exact("class pool", p, true);
    mpool_destroy(p);

    opt.flags = MPOOL_SINGLE_THREADED;
    opt.limit = 1u << 30;
    opt.retain = 0;
    p = mpool_create(&opt);
    if (p == NULL)
        bail("mpool_create single-threaded");
    is_size(stats_of(p).limit, 1u << 30, "the limit is reported");
    test_exact("single-threaded pool", p, true);
    mpool_destroy(p);

    memset(&opt, 0, sizeof(opt));
    opt.size = sizeof(opt);
    opt.region = region;
    opt.region_size = sizeof(region);
    p = mpool_create(&opt);
    if (p == NULL)
        bail("mpool_create region");
    test_exact("region pool", p, false);
    st = stats_of(p);
    ok(st.bytes_held == sizeof(region) && st.bytes_free > 0 &&
           st.bytes_free <= sizeof(region),
       "region pool: held is the region, free its free blocks");
    mpool_destroy(p);

    test_exact("default pool", NULL, true);

    {
        /* checking mode: a block's usable size is what was asked for */
        int was = mpool_set_debug(1);
        p = mpool_create(NULL);
        mpool_set_debug(was);
        if (p == NULL)
            bail("mpool_create in checking mode");
        test_exact("checking-mode pool", p, true);
        mpool_destroy(p);
    }
}

static void
test_remote(void)
{
    remote_free_t r;
    void *block[100];
    mpool_stats_t st;
    mpool_t *pool = mpool_create(NULL);

    for (size_t i = 0; i < 100; i++)
        if ((block[i] = mpool_alloc(pool, 48)) == NULL)
            bail("mpool_alloc");
    is_size(stats_of(pool).blocks_in_use, 100, "100 blocks in use");
    /* freed by a thread that stays alive: cached in its magazines */
    remote_free_start(&r, pool, block, 100);
    st = stats_of(pool);
    ok(st.blocks_in_use == 0 && st.bytes_in_use == 0 && sane(&st),
       "freed by a live thread (in its magazine): none in use");
    ok(st.bytes_free >= 100 * 48, "and their bytes count as free");
    remote_free_finish(&r);
    st = stats_of(pool);
    ok(st.blocks_in_use == 0 && sane(&st),
       "after the thread's exit (its magazines in the depot): none in use");
    mpool_destroy(pool);
}

/* Threads allocate and free while the main thread reads snapshots. */
#define CHURN_THREADS 3
#define CHURN_LIVE 64
static _Atomic int churn_stop;

static void *
churn(void *arg)
{
    mpool_t *p = arg;
    void *live[CHURN_LIVE] = {0};
    unsigned seed = 1;

    while (!churn_stop) {
        for (size_t i = 0; i < CHURN_LIVE; i++) {
            seed = seed * 1103515245u + 12345u;
            mpool_free(p, live[i]);
            live[i] = mpool_alloc(p, 16 + (seed >> 16) % 2000);
        }
    }
    for (size_t i = 0; i < CHURN_LIVE; i++)
        mpool_free(p, live[i]);
    return NULL;
}

static void
test_concurrent(void)
{
    mpool_t *p = mpool_create(NULL);
    pthread_t t[CHURN_THREADS];
    bool all_sane = true;
    size_t most = 0;

    for (int i = 0; i < CHURN_THREADS; i++)
        if (pthread_create(&t[i], NULL, churn, p) != 0)
            bail("pthread_create");
    for (int n = 0; n < 2000; n++) {
        mpool_stats_t st = stats_of(p);
        /* at most CHURN_LIVE blocks of at most 2048 bytes per thread,
         * and objects on their way between its magazines and the slabs
         * (mpool_stats(3): up to three magazines of 128 rounds) */
        all_sane &= st.blocks_in_use <= CHURN_THREADS * (CHURN_LIVE + 384) &&
                    st.bytes_in_use <=
                        CHURN_THREADS * (CHURN_LIVE + 384) * 2048 &&
                    st.bytes_free <= st.bytes_held &&
                    st.bytes_empty <= st.bytes_free &&
                    st.bytes_held <= st.bytes_held_peak;
        if (st.blocks_in_use > most)
            most = st.blocks_in_use;
    }
    churn_stop = 1;
    for (int i = 0; i < CHURN_THREADS; i++)
        pthread_join(t[i], NULL);
    ok(all_sane, "2000 snapshots while %d threads churn: none negative or "
                 "out of bounds (most blocks seen %zu)",
       CHURN_THREADS, most);
    is_size(stats_of(p).blocks_in_use, 0, "when they stop: none in use");
    mpool_destroy(p);
}

static void
test_system(void)
{
    mpool_system_stats_t a, b;
    mpool_cache_t *c;
    mpool_t *p;
    void *big, *obj, *pages;
    size_t big_size = k210 ? (1u << 20) : (32u << 20);

    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    b = a;
    is_int(mpool_system_stats(&a), 0, "mpool_system_stats");
    ok(a.size == sizeof(a) && a.bytes_committed <= a.bytes_mapped &&
           a.bytes_committed <= a.bytes_committed_peak && a.segments > 0 &&
           a.pools >= 1 && a.bytes_in_use <= a.bytes_committed,
       "mapped %zu >= committed %zu <= peak %zu, %zu segments, %zu pools, "
       "%zu in use",
       a.bytes_mapped, a.bytes_committed, a.bytes_committed_peak,
       a.segments, a.pools, a.bytes_in_use);
    p = mpool_create(NULL);
    c = mpool_cache_create("stats-t", 200, 0, NULL, NULL, NULL, 0);
    big = mpool_alloc(p, big_size);
    obj = mpool_cache_alloc(c);
    pages = mpool_pages_alloc(3);
    if (p == NULL || c == NULL || big == NULL || obj == NULL || pages == NULL)
        bail("setting up: %s", strerror(errno));
    is_int(mpool_system_stats(&b), 0, "again with a pool, a cache, a large "
                                      "block, an object and pages");
    is_size(b.pools, a.pools + 1, "one pool more");
    is_size(b.caches, a.caches + 1, "one cache more");
    ok(b.bytes_in_use >=
           a.bytes_in_use + big_size + 200 + 3 * mpool_page_size(),
       "in use grew by the block, the object and the pages (%zu -> %zu)",
       a.bytes_in_use, b.bytes_in_use);
    ok(b.bytes_committed_peak >= b.bytes_committed &&
           b.bytes_committed_peak >= a.bytes_committed_peak &&
           b.bytes_mapped >= b.bytes_committed,
       "the committed peak only grows");
    mpool_free(p, big);
    mpool_cache_free(c, obj);
    mpool_pages_free(pages, 3);
    mpool_destroy(p);
    mpool_cache_destroy(c);
    mpool_reclaim(NULL);
    is_int(mpool_system_stats(&a), 0, "after it is all given back");
    ok(a.bytes_committed < b.bytes_committed &&
           a.bytes_committed_peak >= b.bytes_committed_peak,
       "committed fell (%zu -> %zu), the peak stayed", b.bytes_committed,
       a.bytes_committed);
}

/* children counts a pool's live child pools; mpool_reset destroys them
 * and starts the peak again from what the pool keeps. */
static void
test_family(void)
{
    /* a pool that keeps 64 KiB of slabs at a reset, so that its bytes
     * held fall there */
    mpool_options_t o = {.size = sizeof(o), .name = "stats-parent",
                         .retain = 65536};
    mpool_t *parent = mpool_create(&o), *a, *b, *grandchild;
    mpool_stats_t st;
    size_t peak_before;

    o.parent = parent;
    o.name = "stats-child";
    a = mpool_create(&o);
    b = mpool_create(&o);
    o.parent = a;
    grandchild = mpool_create(&o);
    ok(parent != NULL && a != NULL && b != NULL && grandchild != NULL,
       "a parent, two children and a grandchild");
    st = stats_of(parent);
    ok(st.children == 2 && stats_of(a).children == 1 &&
           stats_of(grandchild).children == 0,
       "children: 2 under the parent, 1 under the first child, 0 below");
    mpool_destroy(b);
    ok(stats_of(parent).children == 1,
       "a child destroyed alone: the parent counts 1");

    for (int i = 0; i < 1000; i++)
        if (mpool_alloc(parent, 3000) == NULL)
            break;
    peak_before = stats_of(parent).bytes_held_peak;
    ok(mpool_reset(parent) == 0, "mpool_reset of the parent");
    st = stats_of(parent);
    ok(st.children == 0 && st.blocks_in_use == 0 && st.bytes_in_use == 0,
       "after it: no children, nothing in use");
    ok(st.bytes_held_peak == st.bytes_held && st.bytes_held_peak < peak_before,
       "the peak starts again from what it keeps: %zu (was %zu)",
       st.bytes_held_peak, peak_before);
    mpool_destroy(parent);
}

static void
test_bad_input(void)
{
    mpool_stats_t st;
    mpool_system_stats_t ss;
    static uint64_t not_a_pool[64];
    mpool_t *p = mpool_create(NULL), *dead = mpool_create(NULL);
    void *b = mpool_alloc(p, 100);
    size_t cut = offsetof(mpool_stats_t, retain);

    mpool_destroy(dead);
    errno = 0;
    ok(mpool_stats(p, NULL) == -1 && errno == EINVAL, "stats NULL: EINVAL");
    st.size = 0;
    errno = 0;
    ok(mpool_stats(p, &st) == -1 && errno == EINVAL, ".size 0: EINVAL");
    st.size = offsetof(mpool_stats_t, limit);
    errno = 0;
    ok(mpool_stats(p, &st) == -1 && errno == EINVAL,
       ".size short of limit: EINVAL");
    st.size = sizeof(st);
    errno = 0;
    ok(mpool_stats((mpool_t *)not_a_pool, &st) == -1 && errno == EINVAL,
       "not a pool: EINVAL");
    errno = 0;
    ok(mpool_stats(dead, &st) == -1 && errno == EINVAL,
       "a destroyed pool: EINVAL");
    memset(&st, 0x5a, sizeof(st));
    st.size = cut;
    errno = 0;
    ok(mpool_stats(p, &st) == 0 && errno == 0 && st.size == cut &&
           st.blocks_in_use == 1 && st.bytes_in_use == mpool_usable_size(b),
       "a shorter struct (an older caller): filled as far as it goes");
    ok(st.retain == (size_t)0x5a5a5a5a5a5a5a5aull &&
           st.children == (size_t)0x5a5a5a5a5a5a5a5aull,
       "and not a byte past it");
    is_size(stats_of(p).blocks_in_use, 1, "the block is still there");
    errno = 0;
    ok(mpool_system_stats(NULL) == -1 && errno == EINVAL,
       "system stats NULL: EINVAL");
    ss.size = 3;
    errno = 0;
    ok(mpool_system_stats(&ss) == -1 && errno == EINVAL,
       "system stats .size 3: EINVAL");
    memset(&ss, 0x5a, sizeof(ss));
    ss.size = offsetof(mpool_system_stats_t, segments);
    ok(mpool_system_stats(&ss) == 0 &&
           ss.segments == (size_t)0x5a5a5a5a5a5a5a5aull,
       "system stats: a shorter struct filled as far as it goes");
    mpool_free(p, b);
    mpool_destroy(p);
}

#ifdef MPOOL_HAVE_REPORT
/* mpool_report's pools section: the same numbers. */
static void
test_report(void)
{
    mpool_options_t opt = {.size = sizeof(opt), .name = "reported",
                           .limit = 1u << 30, .retain = 65536};
    mpool_t *p = mpool_create(&opt);
    void *b = mpool_alloc(p, 1000);
    FILE *f = tmpfile();
    char line[512], want[64];
    bool header = false, found = false;
    mpool_stats_t st;

    if (p == NULL || b == NULL || f == NULL)
        bail("setting up the report");
    st = stats_of(p);
    is_int(mpool_report(f), 0, "mpool_report");
    rewind(f);
    snprintf(want, sizeof(want), "%zu", st.bytes_in_use);
    while (fgets(line, sizeof(line), f) != NULL) {
        header |= strncmp(line, "# libmpool pools", 16) == 0;
        if (header && strncmp(line, "reported ", 9) == 0) {
            size_t in_use, blocks, held, peak, limit, retain;
            found = sscanf(line + 9, "%zu %zu %zu %zu %zu %zu", &in_use,
                           &blocks, &held, &peak, &limit, &retain) == 6 &&
                    in_use == st.bytes_in_use && blocks == 1 &&
                    held == st.bytes_held && peak == st.bytes_held_peak &&
                    limit == 1u << 30 && retain == 65536;
        }
    }
    ok(header, "the report has a pools section");
    ok(found, "with the pool's line: in use, blocks, held, peak, limit, "
              "retain as mpool_stats gives them");
    fclose(f);
    mpool_free(p, b);
    mpool_destroy(p);
}
#endif

int
main(void)
{
    k210 = tap_backend_is("k210");
    if (k210)
        nblocks = 200;
    plan_lazy();
    test_pools();
    test_remote();
    test_concurrent();
    test_system();
    test_family();
    test_bad_input();
#ifdef MPOOL_HAVE_REPORT
    test_report();
#endif
    return tap_done();
}
