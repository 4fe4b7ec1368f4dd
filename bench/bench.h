/* SPDX-License-Identifier: MIT */
/*
 * bench/bench.h - what the benchmark programs share: the clock, the
 * resident memory of the process (now and at its peak), memory of the
 * benchmark's own that no allocator serves, a small random number
 * generator, and for the suite's workloads (bench/suite) the allocator
 * they call.
 *
 * The allocator: a workload calls bench_alloc, bench_realloc and
 * bench_free.  Built plainly they are malloc, realloc and free, and the
 * program does not link libmpool, so whatever malloc is preloaded serves
 * them alone.  Built with -DBENCH_POOL they are mpool_alloc, mpool_realloc
 * and mpool_free on one pool made by bench_api_init(): libmpool's own
 * interface.
 *
 * Nothing here allocates: /proc is read with read(2) into the stack, so
 * that measuring does not disturb the allocator being measured.
 */
#ifndef MPOOL_BENCH_H
#define MPOOL_BENCH_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifdef BENCH_POOL
#include "mpool.h"
#endif

/* Seconds on the monotonic clock. */
static inline double
bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void
bench_sleep(double seconds)
{
    struct timespec d = {(time_t)seconds,
                         (long)((seconds - (double)(time_t)seconds) * 1e9)};

    while (nanosleep(&d, &d) != 0)
        ;
}

/* The start of a file under /proc, NUL-terminated, in buf; "" on error. */
static inline void
bench_read_proc(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

    buf[n > 0 ? n : 0] = '\0';
    if (fd >= 0)
        close(fd);
}

/* Resident memory of the process now, from /proc/self/statm. */
static inline size_t
bench_resident_bytes(void)
{
    char buf[128];
    unsigned long size = 0, resident = 0;

    bench_read_proc("/proc/self/statm", buf, sizeof(buf));
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* A field of /proc/self/status given in kB ("VmRSS", "VmHWM"), in
 * bytes; 0 when it is not there. */
static inline size_t
bench_status_bytes(const char *field)
{
    char buf[4096], *line;
    size_t len = strlen(field);

    bench_read_proc("/proc/self/status", buf, sizeof(buf));
    for (line = buf; line != NULL && *line != '\0';) {
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            return (size_t)strtoul(line + len + 1, NULL, 10) * 1024;
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return 0;
}

/* The most memory the process has had resident so far (VmHWM). */
static inline size_t
bench_peak_resident_bytes(void)
{
    return bench_status_bytes("VmHWM");
}

/* Bytes mapped by bench_scratch(), which bench_report() leaves out. */
static size_t bench_scratch_bytes;

/* size bytes of zeroed memory for the benchmark's own bookkeeping, mapped
 * directly and made resident at once: outside every allocator, and left
 * out of the peak resident memory that bench_report() prints.  Exits on
 * failure. */
static inline void *
bench_scratch(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    memset(p, 0, size);
    bench_scratch_bytes += (size + page - 1) / page * page;
    return p;
}

/* xorshift64: cheap, and the same sequence for every allocator.  *state
 * must not be 0. */
static inline uint64_t
bench_rand(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* A number in [lo, hi]. */
static inline size_t
bench_rand_range(uint64_t *state, size_t lo, size_t hi)
{
    return lo + (size_t)(bench_rand(state) % (hi - lo + 1));
}

/* The allocator under test (see the top of this file). */
#ifdef BENCH_POOL
static mpool_t *bench_pool;

static inline void
bench_api_init(void)
{
    if ((bench_pool = mpool_create(NULL)) == NULL) {
        perror("mpool_create");
        exit(1);
    }
}

static inline void *
bench_alloc(size_t size)
{
    return mpool_alloc(bench_pool, size);
}

static inline void *
bench_realloc(void *p, size_t size)
{
    return mpool_realloc(bench_pool, p, size);
}

static inline void
bench_free(void *p)
{
    mpool_free(bench_pool, p);
}
#else
static inline void
bench_api_init(void)
{
}

static inline void *
bench_alloc(size_t size)
{
    return malloc(size);
}

static inline void *
bench_realloc(void *p, size_t size)
{
    return realloc(p, size);
}

static inline void
bench_free(void *p)
{
    free(p);
}
#endif

/* Exit when an allocation the workload needs failed. */
static inline void *
bench_check(void *p)
{
    if (p == NULL) {
        perror("allocation");
        exit(1);
    }
    return p;
}

/* The start of a workload's result line, which bench/suite reads:
 * nanoseconds per operation (each workload says what an operation is)
 * and the peak resident memory in KiB, the program's own scratch memory
 * left out.  The workload may add more key=value words before it ends
 * the line. */
static inline void
bench_report(double ops, double seconds)
{
    printf("ns_op=%.3f hwm_kib=%zu", seconds * 1e9 / ops,
           (bench_peak_resident_bytes() - bench_scratch_bytes) / 1024);
}

#endif /* MPOOL_BENCH_H */
