/* SPDX-License-Identifier: MIT */
/*
 * bench/release.c - what goes back to the system when a program frees
 * everything: a batch job between jobs, a server after a burst.  Memory
 * an allocator keeps after that is memory no other process can have.
 *
 *   release [MIB]
 *
 * Allocates MIB (64) MiB in blocks of mixed sizes (most 16-128 B, some to
 * 4 KiB, a few to 64 KiB, one in 500 of 128 KiB - 1 MiB), writes every
 * byte, frees them all in random order, and reads the resident memory;
 * then asks the allocator to give back what it can and reads it again.
 *
 * The request is the allocator's own call (bench/trim.h), one call that
 * any program could make.
 *
 * Prints, in KiB above the resident memory before the first allocation:
 * peak_kib (after allocating), kept_kib (after the frees) and
 * trimmed_kib (after the request), and trim=the call used.  An operation
 * is an allocation or a free.
 */
#include "trim.h" /* first: it sets _GNU_SOURCE */

static size_t
mixed_size(uint64_t *rng)
{
    uint64_t r = bench_rand(rng) % 1000;

    if (r < 700)
        return bench_rand_range(rng, 16, 128);
    if (r < 950)
        return bench_rand_range(rng, 129, 4096);
    if (r < 998)
        return bench_rand_range(rng, 4097, 65536);
    return bench_rand_range(rng, 128 << 10, 1 << 20);
}

int
main(int argc, char **argv)
{
    size_t total = (argc > 1 ? (size_t)atol(argv[1]) : 64) << 20;
    size_t cap = total / 16 + 1, n = 0, bytes = 0;
    size_t base, peak, kept, trimmed;
    void **block = bench_scratch(cap * sizeof(void *));
    uint64_t rng = 0x6a09e667f3bcc909ull;
    double start, seconds;
    const char *how;

    if (total == 0)
        return 2;
    bench_api_init();
    bench_free(bench_alloc(1)); /* whatever the allocator sets up once */
    base = bench_resident_bytes();
    start = bench_now();
    while (bytes < total && n < cap) {
        size_t size = mixed_size(&rng);

        block[n] = bench_check(bench_alloc(size));
        memset(block[n++], 1, size);
        bytes += size;
    }
    peak = bench_resident_bytes();
    /* free in random order: shuffle, then free in array order */
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(bench_rand(&rng) % (i + 1));
        void *t = block[i];

        block[i] = block[j];
        block[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        bench_free(block[i]);
    seconds = bench_now() - start;
    kept = bench_resident_bytes();
    how = bench_trim();
    trimmed = bench_resident_bytes();
    bench_report(2.0 * (double)n, seconds);
    printf(" peak_kib=%zu kept_kib=%zu trimmed_kib=%zu trim=%s\n",
           (peak - base) / 1024, kept > base ? (kept - base) / 1024 : 0,
           trimmed > base ? (trimmed - base) / 1024 : 0, how);
    return 0;
}
