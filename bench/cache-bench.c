/* SPDX-License-Identifier: MIT */
/*
 * bench/cache-bench.c - the cost of an object allocate + free pair.
 *
 *   cache-bench cache N [SIZE]   N x mpool_cache_alloc + mpool_cache_free
 *                                on a cache of SIZE-byte objects (64)
 *   cache-bench malloc N [SIZE]  N x malloc(SIZE) + free(), for whatever
 *                                malloc is loaded (LD_PRELOAD a peer)
 *
 * The pairs run in bench_loop(), counted by callgrind with
 * --toggle-collect=bench_loop (bench/run).  Warm-up pairs run first, so the
 * count is the steady state: the fast path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpool.h"

static void *volatile sink;

__attribute__((noinline)) static void
bench_loop(mpool_cache_t *cache, long n, size_t size)
{
    if (cache != NULL) {
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

int
main(int argc, char **argv)
{
    mpool_cache_t *cache = NULL;
    size_t size;
    long n;

    if (argc < 3) {
        fprintf(stderr, "usage: %s cache|malloc N [SIZE]\n", argv[0]);
        return 2;
    }
    n = atol(argv[2]);
    size = argc > 3 ? (size_t)atol(argv[3]) : 64;
    if (strcmp(argv[1], "cache") == 0) {
        cache = mpool_cache_create("bench", size, 0, NULL, NULL, NULL, 0);
        if (cache == NULL) {
            perror("mpool_cache_create");
            return 1;
        }
    }
    bench_loop(cache, 100, size); /* warm-up */
    bench_loop(cache, n, size);
    return 0;
}
