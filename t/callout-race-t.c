/* SPDX-License-Identifier: MIT */
/*
 * t/callout-race-t.c - constructors and destructors that call into the
 * library, racing mpool_reclaim().
 *
 * Four threads each have a cache whose constructor takes an object of a
 * shared cache ("part") and a block of a shared pool, and whose destructor
 * frees both; each thread allocates and frees objects of its cache, checking
 * every object's contents, while the main thread calls mpool_reclaim(NULL)
 * in a loop (which destructs objects of empty slabs, in other threads'
 * caches, while those threads construct more).  The rule
 * (mpool_cache_create(3)) allows callouts to allocate from and free to any
 * cache or pool but their own, with no lock of the library held; this is
 * the race that rule has to survive.  It must finish (the work runs in a
 * child with a deadline, t/watchdog.h), every object must keep its
 * contents, and at the end every construction must be matched by a
 * destruction and every part and block given back.
 *
 * It runs MPOOL_CALLOUT_RACE_SECONDS seconds (3 by default); the deadline
 * is that plus a generous margin.  Sizes fit k210's 8 MiB host build.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mpool.h"
#include "tap/tap.h"
#include "watchdog.h"

#define NTHREADS 4
#define OBJ_SIZE 96
#define PART_SIZE 200
#define BLOCK_SIZE 700
#define HELD 48 /* objects a thread holds at most */
#define OBJ_MAGIC 0x726163656f626aull
#define MARGIN_S 60

struct obj {
    uint64_t magic;         /* set by the constructor */
    unsigned char *part;    /* PART_SIZE bytes of "part" */
    unsigned char *block;   /* BLOCK_SIZE bytes of the pool */
    uint64_t key;           /* fills part and block */
    uint64_t stamp;         /* the program's, while allocated */
};

static mpool_cache_t *part_cache;
static mpool_t *pool;
static atomic_bool stop;
static atomic_long made, unmade, ctor_failed, parts_live, blocks_live;
static atomic_long bad_objects, alloc_failed, rounds;
static atomic_ulong next_key;

static void
fill(unsigned char *p, size_t n, uint64_t key)
{
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = key ^ (i * 0x9e3779b97f4a7c15ull);
        memcpy(p + i, &v, 8);
    }
}

static bool
intact(const unsigned char *p, size_t n, uint64_t key)
{
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v != (key ^ (i * 0x9e3779b97f4a7c15ull)))
            return false;
    }
    return true;
}

static int
ctor(void *obj, void *arg)
{
    struct obj *o = obj;

    (void)arg;
    o->part = mpool_cache_alloc(part_cache);
    if (o->part == NULL) {
        atomic_fetch_add(&ctor_failed, 1);
        return -1;
    }
    o->block = mpool_alloc(pool, BLOCK_SIZE);
    if (o->block == NULL) {
        mpool_cache_free(part_cache, o->part); /* leave nothing taken */
        atomic_fetch_add(&ctor_failed, 1);
        return -1;
    }
    atomic_fetch_add(&parts_live, 1);
    atomic_fetch_add(&blocks_live, 1);
    o->key = atomic_fetch_add(&next_key, 1) * 0x2545f4914f6cdd1dull;
    fill(o->part, PART_SIZE, o->key);
    fill(o->block, BLOCK_SIZE, ~o->key);
    o->magic = OBJ_MAGIC;
    atomic_fetch_add(&made, 1);
    return 0;
}

static void
dtor(void *obj, void *arg)
{
    struct obj *o = obj;

    (void)arg;
    if (o->magic != OBJ_MAGIC || !intact(o->part, PART_SIZE, o->key) ||
        !intact(o->block, BLOCK_SIZE, ~o->key))
        atomic_fetch_add(&bad_objects, 1);
    mpool_cache_free(part_cache, o->part);
    mpool_free(pool, o->block);
    o->part = o->block = NULL;
    o->magic = 0;
    atomic_fetch_sub(&parts_live, 1);
    atomic_fetch_sub(&blocks_live, 1);
    atomic_fetch_add(&unmade, 1);
}

static bool
obj_ok(const struct obj *o, uint64_t stamp)
{
    return o->magic == OBJ_MAGIC && o->stamp == stamp &&
           intact(o->part, PART_SIZE, o->key) &&
           intact(o->block, BLOCK_SIZE, ~o->key);
}

struct worker {
    pthread_t thread;
    mpool_cache_t *cache;
    struct obj *held[HELD];
    uint64_t stamp[HELD];
    bool destroyed;
};

static void *
work(void *arg)
{
    struct worker *w = arg;
    uint64_t x = (uint64_t)(uintptr_t)w | 1, stamp = 0;

    while (!atomic_load(&stop)) {
        /* xorshift: which slot, and whether to take or give back */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % HELD);
        struct obj *o = w->held[i];

        if (o != NULL) {
            if (!obj_ok(o, w->stamp[i]))
                atomic_fetch_add(&bad_objects, 1);
            mpool_cache_free(w->cache, o);
            w->held[i] = NULL;
        } else if ((o = mpool_cache_alloc(w->cache)) != NULL) {
            if (o->magic != OBJ_MAGIC || !intact(o->part, PART_SIZE, o->key))
                atomic_fetch_add(&bad_objects, 1);
            o->stamp = w->stamp[i] = stamp++;
            w->held[i] = o;
        } else {
            atomic_fetch_add(&alloc_failed, 1);
        }
        if ((x & 0xfff) == 0) {
            /* now and then give everything back, so slabs empty */
            for (int j = 0; j < HELD; j++)
                if (w->held[j] != NULL) {
                    if (!obj_ok(w->held[j], w->stamp[j]))
                        atomic_fetch_add(&bad_objects, 1);
                    mpool_cache_free(w->cache, w->held[j]);
                    w->held[j] = NULL;
                }
        }
    }
    for (int j = 0; j < HELD; j++)
        if (w->held[j] != NULL) {
            if (!obj_ok(w->held[j], w->stamp[j]))
                atomic_fetch_add(&bad_objects, 1);
            mpool_cache_free(w->cache, w->held[j]);
            w->held[j] = NULL;
        }
    return NULL;
}

static unsigned
race_seconds(void)
{
    const char *s = getenv("MPOOL_CALLOUT_RACE_SECONDS");

    if (s != NULL && atoi(s) > 0)
        return (unsigned)atoi(s);
    return 3;
}

static const char *const checks[] = {
    "every object kept its contents, its part and its block",
    "no allocation failed",
    "mpool_reclaim(NULL) ran while the threads worked",
    "every cache destroys once its objects are freed",
    "constructions and destructions balance",
    "the destructors gave back every part and block",
    "the shared cache destroys",
};
enum { NCHECKS = sizeof checks / sizeof checks[0] };

static void
race_child(void *arg)
{
    static struct worker workers[NTHREADS];
    unsigned seconds = *(unsigned *)arg;
    struct timespec start, now, nap = {0, 2 * 1000 * 1000};
    bool destroyed = true;
    char name[32];

    watch_phase("setting up");
    part_cache = mpool_cache_create("callout part", PART_SIZE, 0, NULL, NULL,
                                    NULL, 0);
    pool = mpool_create(NULL);
    if (part_cache == NULL || pool == NULL) {
        diag("cannot create the shared cache and pool");
        return;
    }
    for (int i = 0; i < NTHREADS; i++) {
        snprintf(name, sizeof name, "callout race %d", i);
        workers[i].cache = mpool_cache_create(name, OBJ_SIZE, 0, ctor, dtor,
                                              NULL, 0);
        if (workers[i].cache == NULL) {
            diag("cannot create cache %s", name);
            return;
        }
    }
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0) {
            diag("cannot start thread %d", i);
            return;
        }
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        watch_phase("mpool_reclaim(NULL) round %ld, racing the threads",
                    atomic_load(&rounds) + 1);
        (void)mpool_reclaim(NULL);
        atomic_fetch_add(&rounds, 1);
        nanosleep(&nap, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - start.tv_sec < (time_t)seconds);
    atomic_store(&stop, true);
    watch_phase("joining the threads");
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(workers[i].thread, NULL);
    diag("%ld reclaims; %ld constructions, %ld destructions so far; %ld "
         "allocations failed, %ld constructors failed",
         atomic_load(&rounds), atomic_load(&made), atomic_load(&unmade),
         atomic_load(&alloc_failed), atomic_load(&ctor_failed));
    watch_check(1, atomic_load(&alloc_failed) == 0);
    watch_check(2, atomic_load(&rounds) > 0);
    watch_phase("destroying the threads' caches");
    for (int i = 0; i < NTHREADS; i++)
        if (mpool_cache_destroy(workers[i].cache) != 0) {
            diag("mpool_cache_destroy(%d): errno %d", i, errno);
            destroyed = false;
        }
    watch_check(0, atomic_load(&bad_objects) == 0);
    watch_check(3, destroyed);
    watch_check(4, atomic_load(&made) == atomic_load(&unmade));
    watch_check(5, atomic_load(&parts_live) == 0 &&
                       atomic_load(&blocks_live) == 0);
    watch_phase("destroying the shared cache and pool");
    watch_check(6, mpool_cache_destroy(part_cache) == 0);
    mpool_destroy(pool);
    (void)mpool_reclaim(NULL);
}

int
main(void)
{
    unsigned seconds = race_seconds();

    plan_lazy();
    watch_run("4 threads' callouts racing mpool_reclaim", race_child,
              &seconds, watch_deadline(seconds + MARGIN_S), checks, NCHECKS);
    return tap_done();
}
