/* SPDX-License-Identifier: MIT */
/*
 * t/pages-t.c - the public page interface: mpool_page_size(),
 * mpool_pages_alloc() and mpool_pages_free(), on good input and bad, and
 * mpool_reclaim()'s argument check.  Links the installed shared library.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpool.h"
#include "tap/tap.h"

static void
fill(void *p, size_t len, unsigned seed)
{
    unsigned char *c = p;

    for (size_t i = 0; i < len; i += 512)
        c[i] = (unsigned char)(seed + i / 512);
    c[len - 1] = (unsigned char)seed;
}

static bool
intact(const void *p, size_t len, unsigned seed)
{
    const unsigned char *c = p;

    for (size_t i = 0; i < len; i += 512)
        if (c[i] != (unsigned char)(seed + i / 512))
            return false;
    return c[len - 1] == (unsigned char)seed;
}

int
main(void)
{
    /* Around the buddy system's largest block (512 pages with mmap's
     * 4 MiB segments) and the segment (1024), then a span of several; the
     * same points for k210's 256 KiB segments (32 and 64 pages), whose
     * 8 MiB of RAM would not hold the first list. */
    static const size_t counts_os[] = {1, 2, 3, 7, 8, 100, 511, 512,
                                       513, 1000, 1024, 1025, 3000};
    static const size_t counts_k210[] = {1, 2, 3, 7, 8, 20, 31, 32,
                                         33, 62, 64, 65, 190};
    enum { NCOUNTS = sizeof(counts_os) / sizeof(counts_os[0]) };
    _Static_assert(sizeof(counts_k210) == sizeof(counts_os), "same points");
    const size_t *counts = tap_backend_is("k210") ? counts_k210 : counts_os;
    size_t page = mpool_page_size();
    void *runs[NCOUNTS];
    bool all_aligned = true, all_intact = true;
    int stack_object = 0;
    uint64_t not_a_pool[64] = {0};
    void *p;

    tap_skip_if_break_capped(); /* sbrk under valgrind */
    plan_lazy();

    ok(page >= 4096 && (page & (page - 1)) == 0,
       "mpool_page_size() is a power of two, at least 4096 (%zu)", page);

    /* Good input: every length, around the buddy and segment limits. */
    for (size_t i = 0; i < NCOUNTS; i++) {
        runs[i] = mpool_pages_alloc(counts[i]);
        if (runs[i] == NULL)
            bail("mpool_pages_alloc(%zu) failed", counts[i]);
        all_aligned &= ((uintptr_t)runs[i] % page) == 0;
        fill(runs[i], counts[i] * page, (unsigned)i);
    }
    ok(all_aligned, "runs of 1 to %zu pages are page-aligned",
       counts[NCOUNTS - 1]);
    for (size_t i = 0; i < NCOUNTS; i++)
        all_intact &= intact(runs[i], counts[i] * page, (unsigned)i);
    ok(all_intact, "every run keeps its contents while the others are used");

    /* Bad input, which must change nothing. */
    errno = 0;
    is_ptr(mpool_pages_alloc(0), NULL, "0 pages gives NULL");
    is_int(errno, EINVAL, "... with EINVAL");
    errno = 0;
    is_ptr(mpool_pages_alloc(SIZE_MAX), NULL, "SIZE_MAX pages gives NULL");
    is_int(errno, ENOMEM, "... with ENOMEM");
    errno = 0;
    is_ptr(mpool_pages_alloc(SIZE_MAX / page + 1), NULL,
           "a count whose byte size overflows gives NULL");
    is_int(errno, ENOMEM, "... with ENOMEM");
    errno = 0;
    is_ptr(mpool_pages_alloc((size_t)1 << 40), NULL,
           "2^40 pages (4 PiB) gives NULL");
    is_int(errno, ENOMEM, "... with ENOMEM");

    errno = 0;
    is_int(mpool_pages_free(NULL, 1), 0, "freeing NULL does nothing");
    is_int(errno, 0, "... and leaves errno alone");
    errno = 0;
    is_int(mpool_pages_free((char *)runs[3] + 8, 7), -1,
           "a misaligned address is refused");
    is_int(errno, EINVAL, "... with EINVAL");
    errno = 0;
    is_int(mpool_pages_free(&stack_object, 1), -1,
           "a stack address is refused");
    is_int(errno, EINVAL, "... with EINVAL");
    p = malloc(3 * page);
    errno = 0;
    is_int(mpool_pages_free(
               (void *)(((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1)),
               1),
           -1, "a page inside a malloc() block is refused");
    is_int(errno, EINVAL, "... with EINVAL");
    free(p);
    errno = 0;
    is_int(mpool_pages_free((char *)runs[5] + page, counts[5] - 1), -1,
           "a page inside a run is refused");
    is_int(errno, EINVAL, "... with EINVAL");
    errno = 0;
    is_int(mpool_pages_free(runs[5], counts[5] - 1), -1,
           "a run freed with the wrong length is refused");
    is_int(errno, EINVAL, "... with EINVAL");
    errno = 0;
    is_int(mpool_pages_free(runs[9], counts[9] - 1), -1,
           "a huge run freed with the wrong length is refused");
    is_int(errno, EINVAL, "... with EINVAL");
    errno = 0;
    is_int(mpool_pages_free((char *)runs[12] + page, counts[12] - 1), -1,
           "the second page of a huge run is refused");
    is_int(errno, EINVAL, "... with EINVAL");

    all_intact = true;
    for (size_t i = 0; i < NCOUNTS; i++)
        all_intact &= intact(runs[i], counts[i] * page, (unsigned)i);
    ok(all_intact, "the refused calls damaged no run");

    /* Free everything; then a double free is refused. */
    errno = 0;
    bool freed = true;
    for (size_t i = 0; i < NCOUNTS; i++)
        freed &= mpool_pages_free(runs[i], counts[i]) == 0;
    ok(freed, "every run frees with its length");
    is_int(errno, 0, "successful calls leave errno alone");
    errno = 0;
    is_int(mpool_pages_free(runs[0], 1), -1, "a double free is refused");
    is_int(errno, EINVAL, "... with EINVAL");
    errno = 0;
    is_int(mpool_pages_free(runs[12], counts[12]), -1,
           "a double free of a huge run is refused");
    is_int(errno, EINVAL, "... with EINVAL");

    errno = 0;
    is_size(mpool_reclaim((mpool_t *)not_a_pool), 0,
            "mpool_reclaim() of something not a pool reclaims nothing");
    is_int(errno, EINVAL, "... with EINVAL");

    /* The library still works after all that. */
    p = mpool_pages_alloc(4);
    ok(p != NULL, "allocation works after the bad calls");
    if (p != NULL) {
        fill(p, 4 * page, 77);
        ok(intact(p, 4 * page, 77) && mpool_pages_free(p, 4) == 0,
           "... and the run is usable and frees");
    }
    ok(mpool_reclaim(NULL) > 0, "mpool_reclaim(NULL) gives pages back");
    return tap_done();
}
