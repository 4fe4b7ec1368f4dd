/* SPDX-License-Identifier: MIT */
/*
 * t/large-t.c - large blocks grown by realloc and cleared by calloc, on
 * every backend: a buffer grown step by step moves a logarithmic number of
 * times (in place into its span's tail, by the backend's remap where it
 * has one, and with headroom when it must move), its contents intact; a
 * calloc of pages fresh from the backend reads zero and is not written
 * (resident memory stays where it was); a calloc of memory used before
 * reads zero too; a pool past its retain cap keeps no freed large block
 * resident, the default pool keeps one for reuse until mpool_reclaim.
 * Moves are counted by comparing pointers; no timing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpool.h"
#include "tap/tap.h"

/* Resident bytes of the process (Linux /proc), or 0 where unknown. */
static size_t
resident_bytes(void)
{
#ifdef __linux__
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;

    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (size_t)resident * 4096;
#else
    return 0;
#endif
}

static void
test_grow(mpool_t *p, size_t step, size_t max, unsigned long max_moves)
{
    unsigned char *b = mpool_alloc(p, step);
    size_t len = step;
    unsigned long moves = 0, steps = 0;
    bool intact = true;

    if (b == NULL)
        bail("mpool_alloc: %s", strerror(errno));
    memset(b, 0, step);
    while (len + step <= max) {
        unsigned char *q = mpool_realloc(p, b, len + step);

        if (q == NULL)
            bail("mpool_realloc(%zu): %s", len + step, strerror(errno));
        moves += q != b;
        steps++;
        b = q;
        memset(b + len, (int)(len / step) & 0xff, step);
        len += step;
    }
    for (size_t off = 0; off < len; off += step / 2)
        intact &= b[off] == ((off / step) & 0xff);
    if (tap_under_valgrind()) /* there every realloc moves (pool-vg.h) */
        skip(1, "under valgrind realloc always moves (%lu moves)", moves);
    else
        ok(moves <= max_moves,
           "grown by %zu KiB to %zu KiB in %lu reallocs: %lu moves (<= %lu)",
           step >> 10, max >> 10, steps, moves, max_moves);
    ok(intact, "the contents came along");
    mpool_free(p, b);
}

static void
test_calloc(mpool_t *p, size_t size, bool check_rss)
{
    size_t before = resident_bytes(), after;
    unsigned char *b = mpool_calloc(p, 1, size);
    bool zero = true;

    if (b == NULL)
        bail("mpool_calloc(%zu): %s", size, strerror(errno));
    after = resident_bytes();
    if (check_rss)
        ok(after <= before + ((size_t)1 << 20),
           "calloc(%zu MiB) of fresh pages: resident grew by %zu KiB "
           "(<= 1 MiB)",
           size >> 20, (after > before ? after - before : 0) >> 10);
    else
        skip(1, "resident memory not measured here");
    for (size_t i = 0; i < size; i += 65536)
        zero &= b[i] == 0;
    ok(zero && b[size - 1] == 0, "it reads zero");
    /* used, freed, and calloc'ed again: the span kept for reuse is dirty,
     * and must be cleared */
    memset(b, 0xa5, size < ((size_t)64 << 20) ? size : ((size_t)64 << 20));
    mpool_free(p, b);
    b = mpool_calloc(p, 1, size < ((size_t)64 << 20) ? size
                                                    : ((size_t)64 << 20));
    if (b == NULL)
        bail("mpool_calloc again: %s", strerror(errno));
    zero = true;
    for (size_t i = 0; i < (size < ((size_t)64 << 20) ? size
                                                      : ((size_t)64 << 20));
         i += 4096)
        zero &= b[i] == 0;
    ok(zero, "a calloc of memory used before reads zero too");
    mpool_free(p, b);
    mpool_reclaim(NULL);
}

/* A large block in a buddy run (aligned past 64 bytes) grows in place
 * into the free pages after it: 3 pages are a run cut from a block of 4,
 * whose last page is free. */
static void
test_grow_aligned(mpool_t *p)
{
    size_t page = mpool_page_size();
    unsigned char *b = mpool_aligned_alloc(p, 128, 3 * page), *g;

    if (b == NULL)
        bail("mpool_aligned_alloc: %s", strerror(errno));
    memset(b, 3, 3 * page);
    g = mpool_realloc(p, b, 4 * page);
    if (tap_under_valgrind() || getenv("MPOOL_DEBUG") != NULL)
        skip(1, "realloc always moves here");
    else
        ok(g == b, "an aligned large block grows in place into a free page");
    ok(g != NULL && g[0] == 3 && g[3 * page - 1] == 3, "its contents stay");
    mpool_free(p, g);
}

/* A pool whose retain cap its empty slabs fill frees a large block's
 * memory at once (the span may stay, as address space only); the default
 * pool keeps it for reuse, resident.  Only where the backend can purge. */
static void
test_retain(void)
{
    mpool_options_t o = {.size = sizeof(o), .name = "large-retain",
                         .retain = 1};
    mpool_t *p = mpool_create(&o);
    mpool_system_stats_t s = {.size = sizeof(s)};
    size_t size = (size_t)12 << 20;
    char *b;

    mpool_reclaim(NULL);
    if (p == NULL || (b = mpool_alloc(p, size)) == NULL)
        bail("setting up: %s", strerror(errno));
    memset(b, 1, size);
    mpool_free(p, b);
    mpool_system_stats(&s);
    is_size(s.bytes_retained_dirty, 0,
            "a pool past its retain cap keeps no freed large block resident");
    b = mpool_alloc(NULL, size);
    if (b == NULL)
        bail("mpool_alloc: %s", strerror(errno));
    memset(b, 1, size);
    mpool_free(NULL, b);
    mpool_system_stats(&s);
    ok(s.bytes_retained_dirty >= size && s.spans_retained >= 1,
       "the default pool keeps it for reuse (%zu bytes resident)",
       s.bytes_retained_dirty);
    mpool_reclaim(NULL);
    mpool_system_stats(&s);
    ok(s.spans_retained == 0 && s.bytes_retained == 0,
       "mpool_reclaim gives it back");
    mpool_destroy(p);
}

int
main(void)
{
    bool k210 = tap_backend_is("k210");
    bool mmap_backend = tap_backend_is("mmap");
    /* valgrind keeps its own copy of what is resident; ASan its shadow */
    bool rss = !k210 && !tap_under_valgrind() &&
               resident_bytes() != 0;
    mpool_t *p = mpool_create(NULL);

    if (p == NULL)
        bail("mpool_create: %s", strerror(errno));
    plan(k210 ? 7 : 10);
    if (k210) {
        /* 8 MiB of memory: calloc 3 MiB; a buffer to 1 MiB */
        test_calloc(p, (size_t)3 << 20, false);
        test_grow(p, (size_t)64 << 10, (size_t)1 << 20, 32);
    } else {
        /* first, while every page is fresh */
        test_calloc(p, mmap_backend ? (size_t)1 << 30 : (size_t)256 << 20,
                    rss);
        /* the program: 64 KiB steps to 128 MiB (2047 reallocs);
         * under valgrind, where each one copies, to 8 MiB */
        test_grow(p, (size_t)64 << 10,
                  tap_under_valgrind() ? (size_t)8 << 20 : (size_t)128 << 20,
                  32);
        test_retain();
    }
    test_grow_aligned(p);
    mpool_destroy(p);
    return 0;
}
