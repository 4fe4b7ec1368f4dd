/* SPDX-License-Identifier: MIT */
/*
 * bench/cache-bench.c - the cost of an object allocate + free pair.
 *
 *   cache-bench cache N [SIZE]   N x mpool_cache_alloc + mpool_cache_free
 *                                on a cache of SIZE-byte objects (64)
 *   cache-bench pool N [SIZE]    N x mpool_alloc(SIZE) + mpool_free on a
 *                                pool of its own
 *   cache-bench batch N [SIZE]   the same with 1000 live blocks of mixed
 *                                sizes around SIZE, freed in another order
 *   cache-bench malloc N [SIZE]  N x malloc(SIZE) + free(), for whatever
 *                                malloc is loaded (LD_PRELOAD a peer)
 *   cache-bench mbatch N [SIZE]  the batch pattern with malloc
 *   cache-bench usable N [SIZE]  N x malloc_usable_size on the live blocks
 *                                of one batch (1000 blocks around SIZE),
 *                                in turn: what a program that asks each
 *                                block's size (Ruby) pays per call
 *   cache-bench pusable N [SIZE] the same with mpool_usable_size on a
 *                                pool's blocks
 *
 * The pairs run in bench_loop(), counted by callgrind with
 * --toggle-collect=bench_loop (bench/run).  Warm-up pairs run first, in
 * warm_up(), the same loop under another name that callgrind does not
 * collect, so the count is the steady state: the fast path, without the
 * first calls' set-up (a thread's cache, the dynamic linker's binding of
 * malloc), which a count that took in the warm-up spread over N pairs.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpool.h"

static void *volatile sink;
static mpool_t *pool;
static int batch;
static int usable; /* the usable and pusable modes */
static volatile size_t usable_sum;

#define BATCH 1000
static void *live[BATCH];

static void *
any_alloc(size_t size)
{
    return pool != NULL ? mpool_alloc(pool, size) : malloc(size);
}

static void
any_free(void *p)
{
    if (pool != NULL)
        mpool_free(pool, p);
    else
        free(p);
}

static inline __attribute__((always_inline)) void
run_loop(mpool_cache_t *cache, long n, size_t size)
{
    if (usable) {
        /* n calls on the live blocks in turn, the sum kept so that no
         * call is dropped */
        size_t sum = 0;
        int i = 0;

        for (long done = 0; done < n; done++) {
            sum += pool != NULL ? mpool_usable_size(live[i])
                                : malloc_usable_size(live[i]);
            if (++i == BATCH)
                i = 0;
        }
        usable_sum = sum;
    } else if (batch) {
        /* n pairs, in rounds of BATCH allocations of sizes size/2 ..
         * 3*size/2, then BATCH frees in a shuffled order */
        for (long done = 0; done < n; done += BATCH) {
            for (int i = 0; i < BATCH; i++)
                live[i] = any_alloc(size / 2 + (size_t)(i * 7919) % (size + 1));
            for (int i = 0; i < BATCH; i++)
                any_free(live[(i * 577) % BATCH]);
        }
    } else if (pool != NULL) {
        for (long i = 0; i < n; i++) {
            void *p = mpool_alloc(pool, size);
            sink = p;
            mpool_free(pool, p);
        }
    } else if (cache != NULL) {
        for (long i = 0; i < n; i++) {
            void *p = mpool_cache_alloc(cache);
            sink = p;
            mpool_cache_free(cache, p);
        }
    } else {
        for (long i = 0; i < n; i++) {
            void *p = malloc(size);
            sink = p;
            free(p);
        }
    }
}

/* warmed keeps the two from being folded into one (gcc's -fipa-icf) */
static volatile int warmed;

__attribute__((noinline)) static void
warm_up(mpool_cache_t *cache, long n, size_t size)
{
    run_loop(cache, n, size);
    warmed = 1;
}

__attribute__((noinline)) static void
bench_loop(mpool_cache_t *cache, long n, size_t size)
{
    run_loop(cache, n, size);
}

int
main(int argc, char **argv)
{
    mpool_cache_t *cache = NULL;
    size_t size;
    long n;

    if (argc < 3) {
        fprintf(stderr, "usage: %s cache|pool|batch|malloc|mbatch|usable|pusable"
                        " N [SIZE]\n", argv[0]);
        return 2;
    }
    n = atol(argv[2]);
    size = argc > 3 ? (size_t)atol(argv[3]) : 64;
    batch = strcmp(argv[1], "batch") == 0 || strcmp(argv[1], "mbatch") == 0;
    usable = strcmp(argv[1], "usable") == 0 || strcmp(argv[1], "pusable") == 0;
    if (strcmp(argv[1], "pool") == 0 || strcmp(argv[1], "batch") == 0 ||
        strcmp(argv[1], "pusable") == 0)
        pool = mpool_create(NULL);
    if (usable) /* the live blocks, allocated outside the loop counted */
        for (int i = 0; i < BATCH; i++)
            live[i] = any_alloc(size / 2 + (size_t)(i * 7919) % (size + 1));
    if (strcmp(argv[1], "cache") == 0) {
        cache = mpool_cache_create("bench", size, 0, NULL, NULL, NULL, 0);
        if (cache == NULL) {
            perror("mpool_cache_create");
            return 1;
        }
    }
    warm_up(cache, batch ? BATCH : 100, size);
    bench_loop(cache, n, size);
    return 0;
}
