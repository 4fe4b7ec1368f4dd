/* SPDX-License-Identifier: MIT */
/*
 * t/mallopt-t.c - mallopt(3) in libmpool-malloc (lib/hosted/mallopt.c),
 * linked in: M_TRIM_THRESHOLD sets the default pool's retention cap (4 MiB
 * until it is set) and returns 1, as glibc does for a parameter it
 * applies; -1 is no cap; seen by how much
 * mpool_reclaim still finds to give back after 20 MB of malloc'd blocks
 * are freed.  The parameters without a meaning here return 0, as glibc
 * does for one it does not know, and change nothing.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "mpool.h"
#include "tap/tap.h"

static int (*volatile do_mallopt)(int, int) = mallopt;

#define BLOCKS 20000 /* of 1000 bytes: 20 MB, 4883 pages */
static void *blocks[BLOCKS];

/* Pages mpool_reclaim gives back after BLOCKS blocks are freed: what the
 * default pool kept of its empty slabs (and magazines hold). */
static long
kept_after_free(void)
{
    mpool_reclaim(NULL); /* start from nothing kept */
    for (size_t i = 0; i < BLOCKS; i++)
        if ((blocks[i] = malloc(1000)) == NULL)
            bail("malloc: out of memory");
    for (size_t i = 0; i < BLOCKS; i++)
        free(blocks[i]);
    return (long)mpool_reclaim(NULL);
}

int
main(void)
{
    static const struct {
        int param;
        const char *name;
    } unmapped[] = {
        {M_MXFAST, "M_MXFAST"},
        {M_TOP_PAD, "M_TOP_PAD"},
        {M_MMAP_THRESHOLD, "M_MMAP_THRESHOLD"},
        {M_MMAP_MAX, "M_MMAP_MAX"},
        {M_CHECK_ACTION, "M_CHECK_ACTION"},
        {M_PERTURB, "M_PERTURB"},
        {M_ARENA_TEST, "M_ARENA_TEST"},
        {M_ARENA_MAX, "M_ARENA_MAX"},
        {12345, "an unknown parameter"},
    };
    long uncapped, capped, zero, back;

    if (tap_under_asan() || tap_under_tsan())
        skip_all("a sanitizer's malloc takes the place of libmpool-malloc's");
    if (tap_under_valgrind())
        skip_all("valgrind's malloc and mallopt take the place of "
                 "libmpool-malloc's");
    plan_lazy();
    /* the default cap is one segment's worth, 4 MiB: 1024 pages, and
     * what magazines and depots hold (a few hundred blocks) on top */
    uncapped = kept_after_free();
    ok(uncapped > 256 + 400 && uncapped < 1024 + 400,
       "by default the default pool keeps at most 4 MiB of empty slabs "
       "(%ld pages reclaimed after 20 MB freed)", uncapped);

    is_int(do_mallopt(M_TRIM_THRESHOLD, 1 << 20), 1,
           "mallopt(M_TRIM_THRESHOLD, 1 MiB) is applied: 1");
    capped = kept_after_free();
    ok(capped >= 0 && capped < 256 + 400,
       "then at most 1 MiB of empty slabs is kept (%ld pages reclaimed)",
       capped);

    is_int(do_mallopt(M_TRIM_THRESHOLD, 0), 1,
           "mallopt(M_TRIM_THRESHOLD, 0): 1");
    zero = kept_after_free();
    ok(zero >= 0 && zero < 400,
       "then no empty slab is kept (%ld pages reclaimed: magazines' only)",
       zero);

    is_int(do_mallopt(M_TRIM_THRESHOLD, -1), 1,
           "mallopt(M_TRIM_THRESHOLD, -1): 1, no cap (glibc: never trim)");
    back = kept_after_free();
    ok(back > 4000, "then empty slabs are kept again (%ld pages)", back);

    for (size_t i = 0; i < sizeof(unmapped) / sizeof(unmapped[0]); i++)
        is_int(do_mallopt(unmapped[i].param, 1), 0,
               "mallopt(%s, 1): 0, nothing it maps onto", unmapped[i].name);
    back = kept_after_free();
    ok(back > 4000, "and they changed nothing (%ld pages)", back);
    return tap_done();
}
