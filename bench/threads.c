/* SPDX-License-Identifier: MIT */
/*
 * bench/threads.c - many short threads, as a server that starts a thread
 * per request or a program that runs small tasks on fresh threads does.
 * Each thread allocates a few blocks, uses them, frees them and exits, so
 * what is measured is what the allocator does when a thread first comes
 * to it (setting up its per-thread caches) and when it leaves (giving
 * them back), not the allocations themselves.
 *
 *   threads [THREADS [BLOCKS [AT_ONCE]]]
 *
 * THREADS (30000) threads in all, started AT_ONCE (4) at a time and
 * joined before the next group starts.  Each allocates BLOCKS (8) blocks
 * of 16 .. 512 bytes, writes their first bytes, then frees them in the
 * order it allocated them.
 *
 * An operation is one thread: its start, its work, its exit and its join.
 */
#include <pthread.h>

#include "bench.h"

#define MAX_BLOCKS 1024
#define MAX_AT_ONCE 64

static size_t blocks = 8;

static void *
work(void *arg)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uintptr_t)arg;
    void *block[MAX_BLOCKS];
    unsigned long sum = 0;

    for (size_t i = 0; i < blocks; i++) {
        size_t size = bench_rand_range(&rng, 16, 512);
        block[i] = bench_check(bench_alloc(size));
        memset(block[i], (int)i, 16);
    }
    for (size_t i = 0; i < blocks; i++) {
        sum += *(volatile unsigned char *)block[i];
        bench_free(block[i]);
    }
    return (void *)(uintptr_t)sum;
}

int
main(int argc, char **argv)
{
    long nthreads = argc > 1 ? atol(argv[1]) : 30000;
    long at_once = argc > 3 ? atol(argv[3]) : 4;
    pthread_t tid[MAX_AT_ONCE];
    double start, end;
    long started = 0;

    if (argc > 2)
        blocks = (size_t)atol(argv[2]);
    if (nthreads < 1 || blocks > MAX_BLOCKS || at_once < 1 ||
        at_once > MAX_AT_ONCE) {
        fprintf(stderr, "usage: %s [THREADS [BLOCKS [AT_ONCE]]]\n", argv[0]);
        return 2;
    }
    bench_api_init();
    start = bench_now();
    while (started < nthreads) {
        long n = nthreads - started < at_once ? nthreads - started : at_once;
        for (long i = 0; i < n; i++)
            if (pthread_create(&tid[i], NULL, work,
                               (void *)(uintptr_t)(started + i + 1)) != 0) {
                perror("pthread_create");
                return 1;
            }
        for (long i = 0; i < n; i++)
            pthread_join(tid[i], NULL);
        started += n;
    }
    end = bench_now();
    bench_report((double)nthreads, end - start);
    printf(" threads=%ld\n", nthreads);
    return 0;
}
