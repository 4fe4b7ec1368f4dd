/* SPDX-License-Identifier: MIT */
/*
 * bench/memory.c - memory held per byte of live objects in steady state.
 *
 *   memory cache|malloc SIZE
 *
 * Allocates 64 MiB worth of SIZE-byte objects (at least 64), writes every
 * object, and prints resident bytes gained / live bytes.  Resident memory
 * is read from /proc/self/statm before and after, so every allocator is
 * measured the same way, metadata included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "mpool.h"

int
main(int argc, char **argv)
{
    mpool_cache_t *cache = NULL;
    size_t size, n, before, after;
    void **objs;

    if (argc < 3)
        return 2;
    size = (size_t)atol(argv[2]);
    n = (64u << 20) / size;
    if (n < 64)
        n = 64;
    objs = calloc(n, sizeof(*objs));
    if (objs == NULL)
        return 1;
    memset(objs, 0xff, n * sizeof(*objs)); /* resident before we measure */
    if (strcmp(argv[1], "cache") == 0)
        cache = mpool_cache_create("mem", size, 0, NULL, NULL, NULL, 0);
    /* warm up whatever the allocator sets up once */
    if (cache != NULL)
        mpool_cache_free(cache, mpool_cache_alloc(cache));
    else
        free(malloc(size));
    before = bench_resident_bytes();
    for (size_t i = 0; i < n; i++) {
        objs[i] = cache != NULL ? mpool_cache_alloc(cache) : malloc(size);
        memset(objs[i], 1, size);
    }
    after = bench_resident_bytes();
    printf("%.3f\n", (double)(after - before) / (double)(n * size));
    return 0;
}
