/* SPDX-License-Identifier: MIT */
/*
 * bench/large-buffers.c - large buffers replaced over and over: image
 * frames, compression windows, request bodies.  Under an allocator that
 * maps each buffer afresh, faults it in page by page and unmaps it on
 * free, the program's time goes to the kernel (issue 16).
 *
 *   large-buffers [ROUNDS [LIVE [MIN_MIB [MAX_MIB]]]]
 *
 * LIVE (4) buffers of MIN_MIB..MAX_MIB (5..25) MiB, sizes at random in
 * 4 KiB steps; each of ROUNDS (300) rounds frees one at random and
 * allocates its replacement, then fills it (memset, as a reader would).
 * An operation is one replacement: a free, an allocation and a fill.
 * Also prints minflt= (the minor page faults of the whole run, from
 * getrusage).
 */
#include <sys/resource.h>

#include "bench.h"

int
main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 300;
    size_t live = argc > 2 ? (size_t)atol(argv[2]) : 4;
    size_t lo = (argc > 3 ? (size_t)atol(argv[3]) : 5) << 20;
    size_t hi = (argc > 4 ? (size_t)atol(argv[4]) : 25) << 20;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    unsigned long sum = 0;
    struct rusage ru;
    char **buf;
    double start;

    if (rounds < 1 || live < 1 || lo < 4096 || hi < lo)
        return 2;
    buf = bench_scratch(live * sizeof(*buf));
    bench_api_init();
    start = bench_now();
    for (size_t i = 0; i < live; i++) {
        size_t n = bench_rand_range(&rng, lo >> 12, hi >> 12) << 12;
        buf[i] = bench_check(bench_alloc(n));
        memset(buf[i], (int)i, n);
    }
    for (long r = 0; r < rounds; r++) {
        size_t i = (size_t)(bench_rand(&rng) >> 16) % live;
        size_t n = bench_rand_range(&rng, lo >> 12, hi >> 12) << 12;

        sum += (unsigned char)buf[i][n % 4096];
        bench_free(buf[i]);
        buf[i] = bench_check(bench_alloc(n));
        memset(buf[i], (int)r, n);
    }
    bench_report((double)(rounds + (long)live), bench_now() - start);
    getrusage(RUSAGE_SELF, &ru);
    printf(" minflt=%ld check=%lu\n", ru.ru_minflt, sum % 1000);
    for (size_t i = 0; i < live; i++)
        bench_free(buf[i]);
    return 0;
}
