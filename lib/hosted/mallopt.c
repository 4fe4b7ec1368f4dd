/* SPDX-License-Identifier: MIT */
/*
 * mallopt.c - glibc's mallopt(3) in libmpool-malloc, so that a program
 * that tunes its allocator under LD_PRELOAD tunes libmpool and not the
 * C library's idle heap.  A parameter that maps onto one of libmpool's
 * options (set-option.c) is applied and mallopt returns 1; the others
 * return 0, as glibc does for a parameter it does not know:
 *
 *   M_TRIM_THRESHOLD  the default pool's retention cap, as "retain":
 *                     value bytes of empty slabs are kept, the rest goes
 *                     back to the system at once.  0 keeps none (glibc:
 *                     trim at every free); a negative value is no cap
 *                     (glibc takes it as a huge threshold: never trim).
 *   M_MMAP_THRESHOLD, M_MMAP_MAX   0: which blocks are page runs is fixed
 *                     by the size classes (above 2 MiB, or aligned past
 *                     64), not by a threshold
 *   M_ARENA_MAX, M_ARENA_TEST      0: threads share one heap through
 *                     per-thread magazines, there are no arenas to limit
 *   M_TOP_PAD          0: segments are taken 4 MiB at a time
 *   M_PERTURB, M_CHECK_ACTION, M_MXFAST
 *                     0: checking mode (MPOOL_DEBUG, "debug") is the way
 *                     to catch misuse; it poisons and checks on its own
 *                     terms, and there are no fastbins
 *
 * libmpool-malloc only: libmpool itself has no malloc to tune.
 */
#include <malloc.h>

#include "top.h"

__attribute__((visibility("default"))) int
mallopt(int param, int value)
{
    if (param == M_TRIM_THRESHOLD) {
        /* retain 0 means no cap: 1 byte keeps no empty slab */
        mp_pool_set_default_retain(value < 0    ? 0
                                   : value == 0 ? 1
                                                : (size_t)value);
        return 1;
    }
    return 0;
}
