/* SPDX-License-Identifier: MIT */
/*
 * bench/trim.h - the one call with which a program asks its allocator to
 * give free memory back, whichever allocator is preloaded: found with
 * dlsym, the first of mpool_reclaim(NULL) (libmpool-malloc), mi_collect(true)
 * (mimalloc), mallctl("arena.4096.purge") (jemalloc, all arenas),
 * MallocExtension_ReleaseFreeMemory() (tcmalloc), malloc_trim(0) (glibc,
 * always there, so last).  Built with BENCH_POOL it is
 * mpool_reclaim(pool).  bench/release.c and bench/frag.c use it.
 *
 * Include it first: it needs _GNU_SOURCE (RTLD_DEFAULT) before any system
 * header.
 */
#ifndef MPOOL_BENCH_TRIM_H
#define MPOOL_BENCH_TRIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_DEFAULT */
#endif
#include <dlfcn.h>
#include <stdbool.h>

#include "bench.h"

/* Ask the allocator to give memory back; return what was called. */
static inline const char *
bench_trim(void)
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

#endif /* MPOOL_BENCH_TRIM_H */
