/* SPDX-License-Identifier: MIT */
/*
 * bench/realloc.c - growing and shrinking buffers with realloc, as string
 * builders, parsers and growing arrays do when they ask for exactly what
 * they need.  It measures how often and how cheaply an allocator resizes
 * in place, and what copying costs when it cannot.
 *
 *   realloc [OPS [BUFFERS]]
 *
 * BUFFERS (1000) buffers, all starting empty.  Each of OPS (2 million)
 * operations picks one at random and
 *   - 85 in 100: appends 1 .. 64 bytes: realloc to the new length, and
 *     the bytes written;
 *   - 10 in 100: truncates it to half its length: realloc to that;
 *   - 5 in 100, or when it would pass 64 KiB: frees it (the string is
 *     done) and starts again empty.
 *
 * An operation is one of these steps: one realloc or free.  Also prints
 * moved=the share of reallocs that returned a new address (a copy).
 */
#include "bench.h"

#define MAX_LEN 65536

struct buffer {
    char *data;
    size_t len;
};

int
main(int argc, char **argv)
{
    long ops = argc > 1 ? atol(argv[1]) : 2000000;
    size_t nbuf = argc > 2 ? (size_t)atol(argv[2]) : 1000;
    struct buffer *buf;
    uint64_t rng = 0xda942042e4dd58b5ull;
    unsigned long sum = 0, reallocs = 0, moves = 0;
    double start;

    if (ops < 1 || nbuf < 1)
        return 2;
    buf = bench_scratch(nbuf * sizeof(*buf));
    bench_api_init();
    start = bench_now();
    for (long op = 0; op < ops; op++) {
        uint64_t r = bench_rand(&rng);
        struct buffer *b = &buf[(r >> 16) % nbuf];
        unsigned what = (unsigned)(r % 100);
        size_t add = 1 + (size_t)((r >> 8) % 64);

        if (what < 85 && b->len + add <= MAX_LEN) {
            char *p = bench_check(bench_realloc(b->data, b->len + add));

            moves += b->data != NULL && p != b->data;
            reallocs += b->data != NULL;
            b->data = p;
            memset(b->data + b->len, (int)op, add);
            b->len += add;
        } else if (what >= 85 && what < 95 && b->len >= 2) {
            char *p;

            b->len /= 2;
            p = bench_check(bench_realloc(b->data, b->len));
            moves += p != b->data;
            reallocs++;
            b->data = p;
            sum += (unsigned char)b->data[b->len - 1];
        } else {
            bench_free(b->data);
            b->data = NULL;
            b->len = 0;
        }
    }
    bench_report((double)ops, bench_now() - start);
    printf(" moved=%.3f check=%lu\n", (double)moves / (double)reallocs,
           sum % 1000);
    for (size_t i = 0; i < nbuf; i++)
        bench_free(buf[i].data);
    return 0;
}
