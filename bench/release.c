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
 * The request is the allocator's own call, found with dlsym, the first
 * of: mpool_reclaim(NULL) (libmpool-malloc), mi_collect(true) (mimalloc),
 * mallctl("arena.4096.purge") (jemalloc, all arenas),
 * MallocExtension_ReleaseFreeMemory() (tcmalloc), malloc_trim(0) (glibc,
 * always there, so last).  Built with BENCH_POOL it is
 * mpool_reclaim(pool).  Each is one call that any program could make.
 *
 * Prints, in KiB above the resident memory before the first allocation:
 * peak_kib (after allocating), kept_kib (after the frees) and
 * trimmed_kib (after the request), and trim=the call used.  An operation
 * is an allocation or a free.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_DEFAULT */
#endif
#include <dlfcn.h>
#include <stdbool.h>

#include "bench.h"

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

/* Ask the allocator to give memory back; return what was called. */
static const char *
trim(void)
{
#ifdef BENCH_POOL
    mpool_reclaim(bench_pool);
    return "mpool_reclaim(pool)";
#else
    void *f;

    if ((f = dlsym(RTLD_DEFAULT, "mpool_reclaim")) != NULL) {
        ((size_t(*)(void *))f)(NULL);
        return "mpool_reclaim";
    }
    if ((f = dlsym(RTLD_DEFAULT, "mi_collect")) != NULL) {
        ((void (*)(bool))f)(true);
        return "mi_collect";
    }
    if ((f = dlsym(RTLD_DEFAULT, "mallctl")) != NULL) {
        ((int (*)(const char *, void *, size_t *, void *, size_t))f)(
            "arena.4096.purge", NULL, NULL, NULL, 0);
        return "mallctl(purge)";
    }
    if ((f = dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory")) !=
        NULL) {
        ((void (*)(void))f)();
        return "ReleaseFreeMemory";
    }
    if ((f = dlsym(RTLD_DEFAULT, "malloc_trim")) != NULL) {
        ((int (*)(size_t))f)(0);
        return "malloc_trim";
    }
    return "none";
#endif
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
    how = trim();
    trimmed = bench_resident_bytes();
    bench_report(2.0 * (double)n, seconds);
    printf(" peak_kib=%zu kept_kib=%zu trimmed_kib=%zu trim=%s\n",
           (peak - base) / 1024, kept > base ? (kept - base) / 1024 : 0,
           trimmed > base ? (trimmed - base) / 1024 : 0, how);
    return 0;
}
