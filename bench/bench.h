/* SPDX-License-Identifier: MIT */
/*
 * bench/bench.h - what the benchmark programs share: the resident memory
 * of the process, read from /proc/self/statm.
 */
#ifndef MPOOL_BENCH_H
#define MPOOL_BENCH_H

#include <stdio.h>
#include <unistd.h>

static inline size_t
bench_resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;

    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

#endif /* MPOOL_BENCH_H */
