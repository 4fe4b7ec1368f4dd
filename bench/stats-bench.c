/* SPDX-License-Identifier: MIT */
/*
 * bench/stats-bench.c - the cost of mpool_stats() and mpool_walk() on a
 * pool with many live blocks.
 *
 *   stats-bench N [SIZE] [REPS]   N live blocks of SIZE bytes (64; 0:
 *                                 mixed sizes 16 .. 1024) in a pool of
 *                                 their own, a third of them then freed
 *                                 and as many allocated again (so that
 *                                 free lists and magazines hold some);
 *                                 then REPS (10) calls of each, timed
 *
 * bench_stats() and bench_walk() hold one call each, for callgrind's
 * --toggle-collect=bench_stats (or bench_walk): instructions per call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mpool.h"

static size_t walked;

static int
count_block(void *block, size_t usable, void *arg)
{
    (void)block;
    (void)arg;
    walked += usable != 0;
    return 0;
}

__attribute__((noinline)) static void
bench_stats(mpool_t *pool, mpool_stats_t *st)
{
    if (mpool_stats(pool, st) != 0) {
        perror("mpool_stats");
        exit(1);
    }
}

__attribute__((noinline)) static void
bench_walk(mpool_t *pool)
{
    walked = 0;
    if (mpool_walk(pool, count_block, NULL) != 0) {
        perror("mpool_walk");
        exit(1);
    }
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
    size_t size = argc > 2 ? strtoul(argv[2], NULL, 0) : 64;
    int reps = argc > 3 ? atoi(argv[3]) : 10;
    mpool_t *pool = mpool_create(NULL);
    void **block = malloc(n * sizeof(void *));
    mpool_stats_t st = {.size = sizeof(st)};
    double t0, stats_s, walk_s;

    if (pool == NULL || block == NULL || reps < 1)
        return 1;
    for (size_t i = 0; i < n; i++) {
        size_t s = size != 0 ? size : 16 + (i * 2654435761u) % 1009;
        if ((block[i] = mpool_alloc(pool, s)) == NULL) {
            perror("mpool_alloc");
            return 1;
        }
    }
    for (size_t i = 0; i < n; i += 3)
        mpool_free(pool, block[i]);
    for (size_t i = 0; i < n; i += 3)
        block[i] = mpool_alloc(pool, size != 0 ? size : 100);

    t0 = now();
    for (int r = 0; r < reps; r++)
        bench_stats(pool, &st);
    stats_s = (now() - t0) / reps;
    t0 = now();
    for (int r = 0; r < reps; r++)
        bench_walk(pool);
    walk_s = (now() - t0) / reps;
    if (walked != st.blocks_in_use || walked != n) {
        fprintf(stderr, "walked %zu, stats %zu, live %zu\n", walked,
                st.blocks_in_use, n);
        return 1;
    }
    printf("%zu blocks (%s), %zu bytes in use, %zu held: mpool_stats %.3f "
           "ms, mpool_walk %.3f ms (%.2f ns a block)\n",
           n, size != 0 ? "one size" : "mixed 16..1024", st.bytes_in_use,
           st.bytes_held, stats_s * 1e3, walk_s * 1e3,
           walk_s * 1e9 / (double)n);
    for (size_t i = 0; i < n; i++)
        mpool_free(pool, block[i]);
    mpool_destroy(pool);
    free(block);
    return 0;
}
