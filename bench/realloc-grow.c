/* SPDX-License-Identifier: MIT */
/*
 * bench/realloc-grow.c - one buffer grown by realloc in fixed steps, as a
 * string builder or a growing vector that asks for exactly what it needs.
 * An allocator that grows a block only inside its size class moves it at
 * almost every step, copying all of it: quadratic time (issue 16).
 *
 *   realloc-grow [STEP_KIB [MAX_MIB [REPEAT]]]
 *
 * A buffer of STEP_KIB (64) KiB grown by STEP_KIB at a time to MAX_MIB
 * (128) MiB, the new step written each time; REPEAT (1) times.  An
 * operation is one realloc.  Also prints moves= (reallocs that returned a
 * new address: the block moved, whether copied or remapped) and
 * reallocs=.
 */
#include "bench.h"

int
main(int argc, char **argv)
{
    size_t step = (argc > 1 ? (size_t)atol(argv[1]) : 64) << 10;
    size_t max = (argc > 2 ? (size_t)atol(argv[2]) : 128) << 20;
    long repeat = argc > 3 ? atol(argv[3]) : 1;
    unsigned long moves = 0, reallocs = 0, sum = 0;
    double start;

    if (step == 0 || max < step || repeat < 1)
        return 2;
    bench_api_init();
    start = bench_now();
    for (long r = 0; r < repeat; r++) {
        char *p = bench_check(bench_alloc(step));
        size_t len = step;

        memset(p, 1, step);
        while (len + step <= max) {
            char *q = bench_check(bench_realloc(p, len + step));

            moves += q != p;
            reallocs++;
            p = q;
            memset(p + len, (int)(len >> 16), step);
            len += step;
        }
        sum += (unsigned char)p[len / 2] + (unsigned char)p[len - 1];
        bench_free(p);
    }
    bench_report((double)reallocs, bench_now() - start);
    printf(" moves=%lu reallocs=%lu check=%lu\n", moves / (unsigned long)repeat,
           reallocs / (unsigned long)repeat, sum % 1000);
    return 0;
}
