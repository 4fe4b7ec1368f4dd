/* SPDX-License-Identifier: MIT */
/*
 * t/stress-t.c - N threads doing random work on every kind of memory at
 * once, for a bounded time, with every block checked (issue 8, "Stress").
 *
 * Each thread draws its operations from a seeded PRNG: mpool_alloc,
 * mpool_calloc, mpool_aligned_alloc, mpool_realloc and mpool_free on a
 * shared named pool and on the default pool; mpool_cache_alloc and
 * mpool_cache_free on a shared cache with a constructor; blocks handed to
 * other threads through a locked exchange, to be checked and freed (or
 * kept, resized, passed on) there; now and then mpool_reclaim() of
 * everything or of the pool, and mpool_cache_stats() or mpool_report(),
 * which read other threads' magazines while they work.  Sizes run from 0
 * bytes through the small and medium classes to a few blocks over 1 MiB,
 * and rarely past the largest class (8 MiB).
 *
 * Every block carries a pattern made from its address, its size and a tag
 * of its own, written when it is allocated and checked in full before it
 * is freed or reallocated, so a block that two owners share, that moved
 * without its contents, or that something wrote over is found.  realloc
 * must keep the old pattern in the prefix it preserves; calloc must hand
 * out zeros; each block must have its alignment and at least its size;
 * a cache object must come constructed.  At the end everything is freed,
 * and the cache's statistics must agree with what the threads did.
 *
 * Time and threads come from MPOOL_STRESS_SECONDS (default 2; 0.3 under
 * valgrind, which runs the threads one at a time) and MPOOL_STRESS_THREADS
 * (default 4); MPOOL_STRESS_SEED (default 0) changes every thread's seed.
 * Each thread also does a minimum number of operations, so that what the
 * checks need has happened however slow the machine: no check depends on
 * timing.  Under ThreadSanitizer (configure --enable-tsan) the same run
 * also checks that the library's threads synchronise as C11 defines it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpool.h"
#include "tap/tap.h"

#define THREADS_DEFAULT 4
#define THREADS_MAX 64
#define SECONDS_DEFAULT 2.0
#define SECONDS_VALGRIND 0.3
#define MIN_OPS 4000          /* per thread, whatever the time */
#define MIN_OPS_VALGRIND 600
#define LIVE 256              /* blocks a thread holds at most */
#define SLOTS 64              /* the exchange between threads */
#define RECLAIM_EVERY 8192    /* one operation in this many reclaims */
#define STATS_EVERY 1024      /* ... reads the cache's statistics */
#define REPORT_EVERY 16384    /* ... writes mpool_report to /dev/null */
#define OBJ_SIZE 200          /* the shared cache's objects */
#define OBJ_ALIGN 64
#define CTOR_MAGIC 0x63746f72c0ffee11ull
#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

/* ------------------------------------------------------------------------
 * Blocks and their patterns
 * ------------------------------------------------------------------------ */

enum kind { KIND_POOL, KIND_DEFAULT, KIND_CACHE };

struct block {
    unsigned char *p;  /* NULL: an empty record */
    size_t size;       /* bytes asked for */
    size_t align;      /* what its address must be a multiple of */
    uint64_t tag;      /* thread << 48 | sequence: unique per block */
    enum kind kind;
};

/* Counters of one thread (and of the main thread's clean-up). */
struct counts {
    uint64_t ops, allocs, callocs, aligned, reallocs, frees, cache_allocs,
        cache_frees, handed, cross_frees, reclaims, stats, large;
    uint64_t checked;      /* blocks checked in full */
    uint64_t damaged;      /* a pattern that did not hold */
    uint64_t misaligned;   /* an address off its alignment */
    uint64_t short_blocks; /* mpool_usable_size below the size asked */
    uint64_t not_zeroed;   /* calloc gave a non-zero byte */
    uint64_t raw_objects;  /* a cache object without its constructed mark */
    uint64_t prefix_lost;  /* realloc did not keep the old contents */
    uint64_t failed;       /* an allocation returned NULL */
    uint64_t failed_other; /* ... with errno other than ENOMEM */
    uint64_t bad_stats;    /* statistics read meanwhile did not add up */
};

struct worker {
    pthread_t thread;
    unsigned id;
    uint64_t rng;
    uint64_t seq;
    size_t nlive;
    struct block live[LIVE];
    struct counts n;
};

static mpool_t *pool;
static mpool_cache_t *cache;
static FILE *devnull;         /* where mpool_report writes meanwhile */
static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;
static struct block exchange[SLOTS];
static atomic_bool stop;
static uint64_t min_ops;
static _Atomic uint64_t constructed, destructed, dtor_saw_raw;

static uint64_t
rng_next(uint64_t *s)
{
    /* xorshift64*: good enough to pick operations and sizes */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

/* The first word of a block's pattern: its address, size and tag mixed
 * (splitmix64's finaliser), so that no two live blocks share a pattern. */
static uint64_t
pattern_seed(uintptr_t addr, size_t size, uint64_t tag)
{
    uint64_t x = (uint64_t)addr ^ ((uint64_t)size << 32) ^ (tag * 3);

    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Word i of a pattern; each word differs, so a shifted copy shows. */
static uint64_t
pattern_word(uint64_t seed, size_t i)
{
    return seed + (uint64_t)i * 0x9e3779b97f4a7c15ull;
}

static void
pattern_fill(unsigned char *p, size_t len, uint64_t seed)
{
    size_t words = len / 8;
    uint64_t w;

    for (size_t i = 0; i < words; i++) {
        w = pattern_word(seed, i);
        memcpy(p + 8 * i, &w, 8);
    }
    w = pattern_word(seed, words);
    memcpy(p + 8 * words, &w, len % 8);
}

static bool
pattern_holds(const unsigned char *p, size_t len, uint64_t seed)
{
    size_t words = len / 8;
    uint64_t w, got;

    for (size_t i = 0; i < words; i++) {
        memcpy(&got, p + 8 * i, 8);
        if (got != pattern_word(seed, i))
            return false;
    }
    w = pattern_word(seed, words);
    return memcmp(p + 8 * words, &w, len % 8) == 0;
}

/* Where a block's pattern lies: all of it, or a cache object past its
 * constructed mark (the first word, which the program leaves alone). */
static size_t
pattern_offset(const struct block *b)
{
    return b->kind == KIND_CACHE ? 8 : 0;
}

static uint64_t
block_seed(const struct block *b)
{
    return pattern_seed((uintptr_t)b->p, b->size, b->tag);
}

static void
block_stamp(const struct block *b)
{
    size_t off = pattern_offset(b);

    pattern_fill(b->p + off, b->size - off, block_seed(b));
}

static bool
block_constructed(const void *obj)
{
    uint64_t mark;

    memcpy(&mark, obj, 8);
    return mark == (CTOR_MAGIC ^ (uint64_t)(uintptr_t)obj);
}

/* Check a block in full: its pattern, and a cache object's mark. */
static void
block_check(struct counts *n, const struct block *b)
{
    size_t off = pattern_offset(b);

    n->checked++;
    if (!pattern_holds(b->p + off, b->size - off, block_seed(b)))
        n->damaged++;
    if (b->kind == KIND_CACHE && !block_constructed(b->p))
        n->raw_objects++;
}

/* A new block's address, size and (for pools) usable size. */
static void
block_check_new(struct counts *n, const struct block *b)
{
    if ((uintptr_t)b->p % b->align != 0)
        n->misaligned++;
    if (b->kind != KIND_CACHE && mpool_usable_size(b->p) < b->size)
        n->short_blocks++;
    if (b->kind == KIND_CACHE && !block_constructed(b->p))
        n->raw_objects++;
}

/* The pool a block of this kind belongs to. */
static mpool_t *
kind_pool(enum kind k)
{
    return k == KIND_POOL ? pool : NULL;
}

static void
block_free(struct counts *n, const struct block *b)
{
    block_check(n, b);
    if (b->kind == KIND_CACHE) {
        mpool_cache_free(cache, b->p);
        n->cache_frees++;
    } else {
        mpool_free(kind_pool(b->kind), b->p);
        n->frees++;
    }
}

static bool
all_zero(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* The alignment mpool_alloc promises a block of this size. */
static size_t
default_align(size_t size)
{
    return size > 8 ? 16 : 8;
}

/* ------------------------------------------------------------------------
 * The shared cache's constructor and destructor
 * ------------------------------------------------------------------------ */

static int
obj_ctor(void *obj, void *arg)
{
    uint64_t mark = CTOR_MAGIC ^ (uint64_t)(uintptr_t)obj;

    (void)arg;
    memcpy(obj, &mark, 8);
    atomic_fetch_add_explicit(&constructed, 1, memory_order_relaxed);
    return 0;
}

static void
obj_dtor(void *obj, void *arg)
{
    (void)arg;
    if (!block_constructed(obj))
        atomic_fetch_add_explicit(&dtor_saw_raw, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&destructed, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------------
 * Operations
 * ------------------------------------------------------------------------ */

/* A size: mostly the small classes, some medium, few large, rarely over
 * 1 MiB, and once in a long while over the largest class (a page run of
 * its own).  Per 100,000: 85,000 of 0..256 B, 13,000 to 8 KiB, 1,700 to
 * 128 KiB, 250 to 1 MiB, 48 to 3 MiB, 2 over 8 MiB. */
static size_t
size_pick(uint64_t r)
{
    unsigned tier = (unsigned)(r % 100000);
    uint64_t x = r >> 17;

    if (tier < 85000)
        return (size_t)(x % 257);
    if (tier < 98000)
        return 257 + (size_t)(x % (8 * KIB - 256));
    if (tier < 99700)
        return 8 * KIB + 1 + (size_t)(x % (120 * KIB));
    if (tier < 99950)
        return 128 * KIB + 1 + (size_t)(x % (896 * KIB));
    if (tier < 99998)
        return MIB + 1 + (size_t)(x % (2 * MIB));
    return 8 * MIB + 1 + (size_t)(x % (2 * MIB));
}

/* An alignment for mpool_aligned_alloc: past 64 the block is a page run
 * of its own, so those come less often, and 64 KiB and 2 MiB (the
 * largest) rarely: a run so aligned is made and unmade at page level. */
static size_t
align_pick(uint64_t r)
{
    static const size_t common[] = {8, 16, 32, 64, 8, 16, 32, 64, 128, 4096};
    unsigned x = (unsigned)(r % 1024);

    if (x == 0) /* k210 refuses more than half its 256 KiB segment */
        return tap_backend_is("k210") ? 64 * KIB : 2 * MIB;
    if (x < 16)
        return 64 * KIB;
    return common[x % (sizeof(common) / sizeof(common[0]))];
}

/* Fill a new record; false when the allocation failed. */
static bool
alloc_into(struct worker *w, struct block *b, uint64_t r)
{
    unsigned call = (unsigned)((r >> 40) % 10);

    b->kind = (enum kind)((r >> 44) % 3);
    b->tag = (uint64_t)w->id << 48 | w->seq++;
    if (b->kind == KIND_CACHE) {
        b->size = OBJ_SIZE;
        b->align = OBJ_ALIGN;
        b->p = mpool_cache_alloc(cache);
        w->n.cache_allocs += b->p != NULL;
        return b->p != NULL;
    }
    b->size = size_pick(rng_next(&w->rng));
    w->n.large += b->size > MIB;
    if (call < 6) {
        b->align = default_align(b->size);
        b->p = mpool_alloc(kind_pool(b->kind), b->size);
        w->n.allocs++;
    } else if (call < 8) {
        size_t each = 1 + (size_t)(r % 16);
        b->size = b->size / each * each;
        b->align = default_align(b->size);
        b->p = mpool_calloc(kind_pool(b->kind), b->size / each, each);
        w->n.callocs++;
        if (b->p != NULL && !all_zero(b->p, b->size))
            w->n.not_zeroed++;
    } else {
        b->align = align_pick(r >> 20);
        b->p = mpool_aligned_alloc(kind_pool(b->kind), b->align, b->size);
        w->n.aligned++;
    }
    return b->p != NULL;
}

static void
alloc_one(struct worker *w, uint64_t r)
{
    struct block b;

    if (!alloc_into(w, &b, r)) {
        w->n.failed++;
        w->n.failed_other += errno != ENOMEM;
        return;
    }
    block_check_new(&w->n, &b);
    block_stamp(&b);
    w->live[w->nlive++] = b;
}

/* Resize a pool block: near its size mostly, sometimes to any size. */
static void
realloc_one(struct worker *w, struct block *b, uint64_t r)
{
    size_t size = (r >> 40) % 4 == 0
                      ? size_pick(rng_next(&w->rng))
                      : b->size / 2 + (size_t)((r >> 24) % (b->size + 16));
    uint64_t old_seed = block_seed(b);
    size_t keep;
    unsigned char *p;

    if (size == 0)
        size = 1;
    keep = size < b->size ? size : b->size;
    block_check(&w->n, b);
    p = mpool_realloc(kind_pool(b->kind), b->p, size);
    w->n.reallocs++;
    if (p == NULL) {
        w->n.failed++;
        w->n.failed_other += errno != ENOMEM;
        return; /* the old block stays as it was */
    }
    if (!pattern_holds(p, keep, old_seed))
        w->n.prefix_lost++;
    b->p = p;
    b->size = size;
    b->align = default_align(size);
    b->tag = (uint64_t)w->id << 48 | w->seq++;
    w->n.large += size > MIB;
    block_check_new(&w->n, b);
    block_stamp(b);
}

/* Take record i out of the thread's list. */
static struct block
live_take(struct worker *w, size_t i)
{
    struct block b = w->live[i];

    w->live[i] = w->live[--w->nlive];
    return b;
}

/* Put a block into a slot of the exchange and take what was there: free
 * it (checked first) or keep it, to free or resize later. */
static void
hand_over(struct worker *w, size_t i, uint64_t r)
{
    struct block mine = live_take(w, i);
    size_t slot = (size_t)((r >> 24) % SLOTS);
    struct block other;

    pthread_mutex_lock(&exchange_lock);
    other = exchange[slot];
    exchange[slot] = mine;
    pthread_mutex_unlock(&exchange_lock);
    w->n.handed++;
    if (other.p == NULL)
        return;
    if (other.tag >> 48 != w->id)
        w->n.cross_frees++; /* another thread's block, freed or kept here */
    if ((r >> 32) % 2 == 0 && w->nlive < LIVE)
        w->live[w->nlive++] = other;
    else
        block_free(&w->n, &other);
}

/* Statistics read while every thread works: a snapshot of other threads'
 * magazines (stats.c), which must still add up; or the report of every
 * cache and pool class, which reads the same. */
static void
read_stats(struct worker *w, bool report)
{
    mpool_cache_stats_t st = {.size = sizeof(st)};

    w->n.stats++;
#ifndef MPOOL_K210 /* the k210 build has no stdio report */
    if (report) {
        if (mpool_report(devnull) != 0)
            w->n.bad_stats++;
        return;
    }
#else
    (void)report;
#endif
    if (mpool_cache_stats(cache, &st) != 0 ||
        st.objects_in_use + st.objects_cached > st.objects_total ||
        st.pages * mpool_page_size() < st.objects_total * st.stride)
        w->n.bad_stats++;
}

static void
step(struct worker *w)
{
    uint64_t r = rng_next(&w->rng);
    unsigned what;
    size_t i;

    if (r % RECLAIM_EVERY == 0) {
        mpool_reclaim((r >> 32) % 2 == 0 ? NULL : pool);
        w->n.reclaims++;
        return;
    }
    if (r % STATS_EVERY == 1) {
        read_stats(w, (r >> 32) % (REPORT_EVERY / STATS_EVERY) == 0);
        return;
    }
    if (w->nlive == 0 || (w->nlive < LIVE && (r >> 8) % 2 == 0)) {
        alloc_one(w, r);
        return;
    }
    i = (size_t)((r >> 12) % w->nlive);
    what = (unsigned)((r >> 20) % 8);
    if (what < 2 && w->live[i].kind != KIND_CACHE) {
        realloc_one(w, &w->live[i], r);
    } else if (what < 4) {
        hand_over(w, i, r);
    } else {
        struct block b = live_take(w, i);
        block_free(&w->n, &b);
    }
}

static void *
worker_run(void *arg)
{
    struct worker *w = arg;

    while (w->n.ops < min_ops ||
           !atomic_load_explicit(&stop, memory_order_relaxed)) {
        step(w);
        w->n.ops++;
    }
    read_stats(w, false); /* once at least, others perhaps still busy */
    read_stats(w, true);
    while (w->nlive > 0) {
        struct block b = live_take(w, w->nlive - 1);
        block_free(&w->n, &b);
    }
    return NULL;
}

/* ------------------------------------------------------------------------
 * Set-up, and the verdict
 * ------------------------------------------------------------------------ */

/* An environment variable as a number in [lo, hi], or `dflt` when unset. */
static double
env_number(const char *name, double dflt, double lo, double hi)
{
    const char *s = getenv(name);
    char *end;
    double v;

    if (s == NULL || *s == '\0')
        return dflt;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !(v >= lo && v <= hi))
        bail("%s=%s: want a number from %g to %g", name, s, lo, hi);
    return v;
}

static void
sleep_seconds(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        continue;
}

static double
now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* struct counts is nothing but uint64_t counters, added as an array. */
_Static_assert(sizeof(struct counts) % sizeof(uint64_t) == 0,
               "struct counts holds only uint64_t");

static void
counts_add(struct counts *sum, const struct counts *n)
{
    const uint64_t *from = (const uint64_t *)n;
    uint64_t *to = (uint64_t *)sum;

    for (size_t i = 0; i < sizeof(*n) / sizeof(uint64_t); i++)
        to[i] += from[i];
}

static void
create_shared(void)
{
    mpool_options_t opt = {.size = sizeof(opt), .name = "stress"};

    pool = mpool_create(&opt);
    if (pool == NULL)
        sysbail("mpool_create");
    cache = mpool_cache_create("stress", OBJ_SIZE, OBJ_ALIGN, obj_ctor,
                               obj_dtor, NULL, 0);
    if (cache == NULL)
        sysbail("mpool_cache_create");
    devnull = fopen("/dev/null", "w");
    if (devnull == NULL)
        sysbail("/dev/null");
}

/* Start the workers, let them run `seconds`, stop and join them. */
static double
run_workers(struct worker *w, unsigned nthreads, double seconds,
            uint64_t seed)
{
    double start = now();

    for (unsigned k = 0; k < nthreads; k++) {
        w[k].id = k + 1;
        w[k].rng = (seed + k + 1) * 0x9e3779b97f4a7c15ull | 1;
        errno = pthread_create(&w[k].thread, NULL, worker_run, &w[k]);
        if (errno != 0)
            sysbail("pthread_create");
    }
    sleep_seconds(seconds);
    atomic_store(&stop, true);
    for (unsigned k = 0; k < nthreads; k++)
        pthread_join(w[k].thread, NULL);
    return now() - start;
}

/* What is left in the exchange, freed by the main thread (id 0). */
static void
drain_exchange(struct counts *n)
{
    for (size_t i = 0; i < SLOTS; i++)
        if (exchange[i].p != NULL) {
            n->cross_frees++;
            block_free(n, &exchange[i]);
            exchange[i].p = NULL;
        }
}

static void
report_threads(const struct worker *w, unsigned nthreads)
{
    for (unsigned k = 0; k < nthreads; k++) {
        const struct counts *n = &w[k].n;
        ok(n->damaged == 0 && n->raw_objects == 0,
           "thread %u: no block damaged (%llu checked in full, %llu "
           "operations)",
           w[k].id, (unsigned long long)n->checked,
           (unsigned long long)n->ops);
        ok(n->misaligned == 0 && n->short_blocks == 0,
           "thread %u: every block aligned and as large as asked", w[k].id);
    }
}

static void
report_totals(const struct counts *t, const struct counts *main_n,
              unsigned nthreads)
{
    if (tap_backend_is("k210")) /* 8 MiB: blocks of 1-3 MiB run out */
        is_int((long long)t->failed_other, 0,
               "every failed allocation said ENOMEM (%llu failed)",
               (unsigned long long)t->failed);
    else
        is_int((long long)t->failed, 0, "no allocation failed");
    is_int((long long)t->not_zeroed, 0,
           "calloc: every block zeroed (%llu)",
           (unsigned long long)t->callocs);
    ok(t->prefix_lost == 0 && t->reallocs > 0,
       "realloc kept the contents of every block it resized (%llu, "
       "%llu lost)",
       (unsigned long long)t->reallocs, (unsigned long long)t->prefix_lost);
    if (nthreads > 1)
        ok(t->cross_frees > 0,
           "blocks crossed threads: %llu freed or kept by a thread that "
           "did not allocate them",
           (unsigned long long)t->cross_frees);
    else
        skip(1, "one thread: nothing crosses threads");
    ok(t->bad_stats == 0 && t->stats > 0,
       "statistics and reports taken while the threads ran added up (%llu)",
       (unsigned long long)t->stats);
    ok(main_n->damaged == 0 && main_n->raw_objects == 0,
       "the %llu blocks left in the exchange were intact",
       (unsigned long long)main_n->checked);
}

/* The cache's numbers against the threads' (exact once they have
 * exited), then its destruction. */
static void
report_cache(const struct counts *t)
{
    mpool_cache_stats_t st = {.size = sizeof(st)};
    uint64_t carved;

    if (mpool_cache_stats(cache, &st) != 0)
        sysbail("mpool_cache_stats");
    ok(st.allocs == t->cache_allocs && st.frees == t->cache_frees &&
           st.allocs == st.frees,
       "cache statistics: %llu allocs and %llu frees, as the threads "
       "counted (%llu, %llu)",
       (unsigned long long)st.allocs, (unsigned long long)st.frees,
       (unsigned long long)t->cache_allocs,
       (unsigned long long)t->cache_frees);
    carved = atomic_load(&constructed) - atomic_load(&destructed);
    ok(st.objects_in_use == 0 && st.objects_total == carved,
       "cache statistics: nothing in use, %zu objects carved = "
       "constructed - destructed (%llu)",
       st.objects_total, (unsigned long long)carved);
    mpool_reclaim(NULL);
    ok(mpool_cache_destroy(cache) == 0 &&
           atomic_load(&constructed) == atomic_load(&destructed) &&
           atomic_load(&dtor_saw_raw) == 0,
       "the cache is destroyed idle; its %llu objects constructed were "
       "all destructed, still in their constructed state",
       (unsigned long long)atomic_load(&constructed));
}

static void
report_ops(const struct counts *t, unsigned nthreads, double secs)
{
    diag("%u threads, %.2f s: %llu operations (%.0f a second)", nthreads,
         secs, (unsigned long long)t->ops, (double)t->ops / secs);
    diag("alloc %llu, calloc %llu, aligned_alloc %llu, realloc %llu, "
         "free %llu, cache alloc %llu, cache free %llu",
         (unsigned long long)t->allocs, (unsigned long long)t->callocs,
         (unsigned long long)t->aligned, (unsigned long long)t->reallocs,
         (unsigned long long)t->frees, (unsigned long long)t->cache_allocs,
         (unsigned long long)t->cache_frees);
    diag("handed over %llu, freed across threads %llu, over 1 MiB %llu, "
         "reclaim %llu, statistics %llu, blocks checked %llu",
         (unsigned long long)t->handed, (unsigned long long)t->cross_frees,
         (unsigned long long)t->large, (unsigned long long)t->reclaims,
         (unsigned long long)t->stats, (unsigned long long)t->checked);
}

int
main(void)
{
    bool vg = tap_under_valgrind();
    unsigned nthreads = (unsigned)env_number(
        "MPOOL_STRESS_THREADS", THREADS_DEFAULT, 1, THREADS_MAX);
    double seconds = env_number("MPOOL_STRESS_SECONDS",
                                vg ? SECONDS_VALGRIND : SECONDS_DEFAULT, 0,
                                3600);
    uint64_t seed = (uint64_t)env_number("MPOOL_STRESS_SEED", 0, 0, 1e15);
    struct counts total = {0}, main_n = {0};
    struct worker *w;
    double secs;

    min_ops = vg ? MIN_OPS_VALGRIND : MIN_OPS;
    plan(2 * (int)nthreads + 9);
    w = calloc(nthreads, sizeof(*w));
    if (w == NULL)
        sysbail("calloc");
    create_shared();
    secs = run_workers(w, nthreads, seconds, seed);
    drain_exchange(&main_n);
    for (unsigned k = 0; k < nthreads; k++)
        counts_add(&total, &w[k].n);
    counts_add(&total, &main_n);

    report_threads(w, nthreads);
    report_totals(&total, &main_n, nthreads);
    report_cache(&total);
    report_ops(&total, nthreads, secs);
    mpool_destroy(pool);
    fclose(devnull);
    free(w);
    return tap_done();
}
