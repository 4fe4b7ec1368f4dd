/* SPDX-License-Identifier: MIT */
/*
 * bench/pages-bench.c - the cost of a page-run allocate + free pair.
 *
 *   pages-bench mpool N    N x mpool_pages_alloc(1) + mpool_pages_free()
 *   pages-bench malloc N   N x malloc(4096) + free(), for whatever malloc
 *                          is loaded (glibc, or a peer through LD_PRELOAD)
 *
 * The pairs run inside bench_loop(), so that
 *   valgrind --tool=callgrind --toggle-collect=bench_loop
 * counts exactly their instructions; bench/run divides by N.  A warm-up
 * pair runs first, outside the loop, so set-up is not counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpool.h"

static void *volatile sink;

__attribute__((noinline)) static void
bench_loop(int use_mpool, long n, size_t npages)
{
    for (long i = 0; i < n; i++) {
        if (use_mpool) {
            void *p = mpool_pages_alloc(npages);
            sink = p;
            mpool_pages_free(p, npages);
        } else {
            void *p = malloc(npages * 4096);
            sink = p;
            free(p);
        }
    }
}

int
main(int argc, char **argv)
{
    int use_mpool;
    long n;
    size_t npages;

    if (argc < 3) {
        fprintf(stderr, "usage: %s mpool|malloc N [PAGES]\n", argv[0]);
        return 2;
    }
    use_mpool = strcmp(argv[1], "mpool") == 0;
    n = atol(argv[2]);
    npages = argc > 3 ? (size_t)atol(argv[3]) : 1;
    bench_loop(use_mpool, 1, npages); /* warm-up: first segment, init */
    bench_loop(use_mpool, n, npages);
    return 0;
}
