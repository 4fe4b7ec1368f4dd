/* SPDX-License-Identifier: MIT */
/*
 * bench/pool-bench.c - pools against malloc on whole workloads.
 *
 *   pool-bench mixed pool|malloc   a mixed workload: 2 million operations,
 *       sizes drawn from a skewed distribution (most 16-128 B, some up to
 *       4 KiB, a few up to 64 KiB), lifetimes from immediate to the whole
 *       run; prints peak resident bytes / peak live bytes
 *   pool-bench destroy pool|reset|free   1 million blocks of 16-256 B,
 *       then mpool_destroy, mpool_reset (the pool kept, its slabs warm) or
 *       a free of each; prints the seconds taken by that last step
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "mpool.h"

static mpool_t *pool;

static void *
a(size_t n)
{
    return pool != NULL ? mpool_alloc(pool, n) : malloc(n);
}

static void
f(void *p)
{
    if (pool != NULL)
        mpool_free(pool, p);
    else
        free(p);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t
skewed_size(void)
{
    uint64_t r = next() % 1000;

    if (r < 700)
        return 16 + next() % 113;        /* 16 .. 128 */
    if (r < 950)
        return 129 + next() % 900;       /* .. 1 KiB */
    if (r < 995)
        return 1024 + next() % 3073;     /* .. 4 KiB */
    return 4096 + next() % 61441;        /* .. 64 KiB */
}

#define SLOTS 200000

int
main(int argc, char **argv)
{
    static void *slot[SLOTS];
    static size_t slot_size[SLOTS];

    if (argc < 3)
        return 2;
    if (strcmp(argv[2], "pool") == 0)
        pool = mpool_create(NULL);
    if (strcmp(argv[1], "mixed") == 0) {
        size_t live = 0, peak_live = 0, peak_rss = 0, base = bench_resident_bytes();
        for (long op = 0; op < 2000000; op++) {
            size_t i = next() % SLOTS;
            if (slot[i] != NULL) {
                f(slot[i]);
                live -= slot_size[i];
                slot[i] = NULL;
            }
            /* long-lived slots are rarely replaced */
            if (i < SLOTS / 10 && op > 10000 && next() % 8 != 0)
                continue;
            slot_size[i] = skewed_size();
            slot[i] = a(slot_size[i]);
            memset(slot[i], 1, slot_size[i]);
            live += slot_size[i];
            if (live > peak_live)
                peak_live = live;
            if (op % 20000 == 0) {
                size_t r = bench_resident_bytes() - base;
                if (r > peak_rss)
                    peak_rss = r;
            }
        }
        printf("%.3f\n", (double)peak_rss / (double)peak_live);
        return 0;
    }
    if (strcmp(argv[1], "destroy") == 0) {
        enum { N = 1000000 };
        static void *blocks[N];
        struct timespec t0, t1;
        if (pool == NULL)
            pool = mpool_create(NULL);
        for (int i = 0; i < N; i++)
            blocks[i] = mpool_alloc(pool, 16 + (size_t)(next() % 241));
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (strcmp(argv[2], "pool") == 0) {
            mpool_destroy(pool);
        } else if (strcmp(argv[2], "reset") == 0) {
            mpool_reset(pool);
        } else {
            for (int i = 0; i < N; i++)
                mpool_free(pool, blocks[i]);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("%.4f\n", (double)(t1.tv_sec - t0.tv_sec) +
                             (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        return 0;
    }
    return 2;
}
