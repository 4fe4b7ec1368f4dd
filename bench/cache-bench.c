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
 *   cache-bench usable N [SIZE]  N x malloc_usable_size() of one block of
 *                                SIZE from malloc (LD_PRELOAD a peer, or
 *                                libmpool-malloc)
 *   cache-bench pusable N [SIZE] N x mpool_usable_size() of one block of
 *                                SIZE from a pool of its own
 *
 * The pairs run in bench_loop(), counted by callgrind with
 * --toggle-collect=bench_loop (bench/run).  A malloc and free start the
 * allocator outside the loop, and warm-up pairs run first, so the count is
 * the steady state: the fast path.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpool.h"

static void *volatile sink;
static mpool_t *pool;
static int batch;
static int usable; /* 1: malloc_usable_size, 2: mpool_usable_size */
static void *block; /* the block usable measures */
static size_t volatile usable_sum;

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

/* the size of one block, n times; the sum keeps each call */
__attribute__((noinline)) static void
usable_loop(long n)
{
    size_t sum = 0;

    if (usable == 1)
        for (long i = 0; i < n; i++)
            sum += malloc_usable_size(block);
    else
        for (long i = 0; i < n; i++)
            sum += mpool_usable_size(block);
    usable_sum = sum;
}

__attribute__((noinline)) static void
bench_loop(mpool_cache_t *cache, long n, size_t size)
{
    if (batch) {
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
    } else if (usable) {
        usable_loop(n);
    } else {
        for (long i = 0; i < n; i++) {
            void *p = malloc(size);
            sink = p;
            free(p);
        }
    }
}

int
main(int argc, char **argv)
{
    mpool_cache_t *cache = NULL;
    size_t size;
    long n;

    if (argc < 3) {
        fprintf(stderr, "usage: %s cache|pool|batch|malloc|mbatch|usable|pusable N [SIZE]\n", argv[0]);
        return 2;
    }
    n = atol(argv[2]);
    size = argc > 3 ? (size_t)atol(argv[3]) : 64;
    batch = strcmp(argv[1], "batch") == 0 || strcmp(argv[1], "mbatch") == 0;
    if (strcmp(argv[1], "usable") == 0) {
        usable = 1;
        block = malloc(size);
    } else if (strcmp(argv[1], "pusable") == 0) {
        usable = 2;
        block = mpool_alloc(mpool_create(NULL), size);
    }
    if (strcmp(argv[1], "pool") == 0 || strcmp(argv[1], "batch") == 0)
        pool = mpool_create(NULL);
    if (strcmp(argv[1], "cache") == 0) {
        cache = mpool_cache_create("bench", size, 0, NULL, NULL, NULL, 0);
        if (cache == NULL) {
            perror("mpool_cache_create");
            return 1;
        }
    }
    /* the allocator's start-up (a preloaded malloc starts at its first
     * call) is not a pair: outside the loop callgrind counts */
    sink = malloc(size);
    free(sink);
    bench_loop(cache, batch ? BATCH : 100, size); /* warm-up */
    bench_loop(cache, n, size);
    return 0;
}
