/* SPDX-License-Identifier: MIT */
/*
 * bench/frag.c - fragmentation: how much memory an allocator holds at its
 * peak for the bytes the program has live at its peak, when the sizes in
 * use shift.  A long-running program changes its mix (a cache warms with
 * small entries, later holds large ones); memory freed in one size leaves
 * scattered survivors behind, and an allocator that cannot use those pages
 * for other sizes grows.
 *
 *   frag [LIVE_MIB]
 *
 * Eight phases, cycling through the sizes 16-64, 64-512, 512-4096 and
 * 4096-32768 bytes.  Each phase allocates blocks (every byte written)
 * until LIVE_MIB (32) are live, then frees three blocks in four, chosen
 * at random among all the live ones, whatever phase made them.  At the
 * end everything is freed.
 *
 * Prints frag=peak resident / peak live, where peak resident is VmHWM
 * from /proc/self/status less the resident memory before the first
 * allocation, and live bytes are the sizes asked for.  Then, with the last
 * phase's survivors still live (a quarter of LIVE_MIB, scattered over
 * pages of every size), what a long-running program can get back by
 * asking: kept_kib, resident above the start, before the allocator's trim
 * call (bench/trim.h), trimmed_kib after it, and left_live_kib, the bytes
 * live then; the call is not timed.  An operation is an allocation or a
 * free.
 */
#include "trim.h" /* first: it sets _GNU_SOURCE */

static const size_t range[4][2] = {
    {16, 64}, {64, 512}, {512, 4096}, {4096, 32768}};

int
main(int argc, char **argv)
{
    size_t live_max = (argc > 1 ? (size_t)atol(argv[1]) : 32) << 20;
    size_t cap = live_max / 16 + 1, n = 0, live = 0, peak_live = 0;
    size_t base, kept, trimmed, left_live;
    const char *how;
    void **block = bench_scratch(cap * sizeof(void *));
    size_t *block_size = bench_scratch(cap * sizeof(size_t));
    uint64_t rng = 0x853c49e6748fea9bull;
    double ops = 0, start, elapsed;

    if (live_max == 0)
        return 2;
    bench_api_init();
    bench_free(bench_alloc(1)); /* whatever the allocator sets up once */
    base = bench_resident_bytes();
    start = bench_now();
    for (int phase = 0; phase < 8; phase++) {
        const size_t *r = range[phase % 4];

        while (live < live_max && n < cap) {
            size_t size = bench_rand_range(&rng, r[0], r[1]);

            block[n] = bench_check(bench_alloc(size));
            memset(block[n], 1, size);
            block_size[n++] = size;
            live += size;
            ops++;
        }
        if (live > peak_live)
            peak_live = live;
        /* free three in four, at random; keep the survivors packed */
        for (size_t i = 0; i < n;) {
            if (bench_rand(&rng) % 4 != 0) {
                bench_free(block[i]);
                live -= block_size[i];
                block[i] = block[--n];
                block_size[i] = block_size[n];
                ops++;
            } else {
                i++;
            }
        }
    }
    elapsed = bench_now() - start;
    kept = bench_resident_bytes();
    how = bench_trim();
    trimmed = bench_resident_bytes();
    start = bench_now();
    left_live = live;
    while (n > 0) {
        bench_free(block[--n]);
        ops++;
    }
    bench_report(ops, elapsed + (bench_now() - start));
    printf(" frag=%.3f peak_live_kib=%zu kept_kib=%zu trimmed_kib=%zu"
           " left_live_kib=%zu trim=%s\n",
           (double)(bench_peak_resident_bytes() - base) / (double)peak_live,
           peak_live / 1024, kept > base ? (kept - base) / 1024 : 0,
           trimmed > base ? (trimmed - base) / 1024 : 0, left_live / 1024,
           how);
    return 0;
}
