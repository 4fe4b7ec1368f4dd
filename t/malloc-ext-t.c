/* SPDX-License-Identifier: MIT */
/*
 * t/malloc-ext-t.c - libmpool-malloc where glibc's malloc goes beyond the
 * standard, linked in: memalign and aligned_alloc round an alignment up to
 * a power of two as glibc 2.36 does, alignments past 2 MiB (64 MiB) are
 * served, posix_memalign keeps POSIX's EINVAL, and malloc_trim gives free
 * memory back and says so.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpool.h"
#include "tap/tap.h"

/* Through volatile pointers, so the compiler keeps every call. */
static void *(*volatile do_memalign)(size_t, size_t) = memalign;
static void *(*volatile do_aligned_alloc)(size_t, size_t) = aligned_alloc;
static volatile size_t big_alignment = (size_t)64 << 20;

static bool
aligned_to(const void *p, size_t a)
{
    return p != NULL && ((uintptr_t)p & (a - 1)) == 0;
}

static void
test_alignment(void)
{
    void *p, *q;
    int e;

    p = do_memalign(48, 100);
    q = do_aligned_alloc(48, 100);
    ok(aligned_to(p, 64) && aligned_to(q, 64) &&
           mpool_usable_size(p) >= 100 && mpool_usable_size(q) >= 100,
       "memalign(48, 100) and aligned_alloc(48, 100): 64-aligned, as glibc");
    free(p);
    free(q);
    p = do_memalign(3, 10);
    q = do_memalign(0, 10);
    ok(aligned_to(p, 4) && q != NULL && mpool_usable_size(q) >= 10,
       "memalign(3) is memalign(4); memalign(0) is malloc");
    free(p);
    free(q);
    p = do_memalign(4097, 5000);
    ok(aligned_to(p, 8192) && mpool_usable_size(p) >= 5000,
       "memalign(4097, 5000): 8192-aligned");
    free(p);

    p = do_memalign(big_alignment, 100);
    q = do_aligned_alloc(big_alignment, big_alignment + 1);
    if (p != NULL && q != NULL) {
        memset(p, 1, 100);
        ((char *)q)[0] = 1;
        ((char *)q)[big_alignment] = 2;
    }
    ok(aligned_to(p, big_alignment) && aligned_to(q, big_alignment) &&
           mpool_usable_size(p) >= 100 &&
           mpool_usable_size(q) >= big_alignment + 1 &&
           ((char *)q)[big_alignment] == 2,
       "memalign and aligned_alloc of 64 MiB alignment: served, aligned, "
       "writable");
    free(p);
    free(q);
    p = NULL;
    e = posix_memalign(&p, big_alignment, 1000);
    ok(e == 0 && aligned_to(p, big_alignment),
       "posix_memalign of 64 MiB alignment: 0, aligned");
    free(p);
    p = do_memalign(big_alignment * 3, 100);
    ok(aligned_to(p, big_alignment * 4),
       "memalign(192 MiB) is 256 MiB-aligned");
    free(p);

    errno = 0;
    ok(do_memalign(SIZE_MAX / 2 + 2, 10) == NULL && errno == EINVAL,
       "memalign above SIZE_MAX / 2 + 1: NULL, EINVAL (no power of two)");
    errno = 0;
    ok(do_memalign(SIZE_MAX / 2 + 1, 10) == NULL && errno == ENOMEM,
       "memalign(2^63): NULL, ENOMEM");
    errno = 0;
    ok(do_memalign(64, SIZE_MAX - 100) == NULL && errno == ENOMEM,
       "memalign(64, SIZE_MAX - 100): NULL, ENOMEM");
    errno = 12345;
    p = NULL;
    ok(posix_memalign(&p, 48, 100) == EINVAL &&
           posix_memalign(&p, 0, 100) == EINVAL &&
           posix_memalign(&p, SIZE_MAX / 2 + 1, 100) == ENOMEM &&
           p == NULL && errno == 12345,
       "posix_memalign(48) and (0): EINVAL; 2^63: ENOMEM; errno "
       "untouched, nothing stored");
}

static void
test_trim(void)
{
    enum { N = 100000, SIZE = 1000 };
    static void *blocks[N];
    size_t rss_full, rss_after;
    int first, second;

    (void)malloc_trim(0); /* start from nothing to give back */
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(SIZE);
        if (blocks[i] == NULL)
            bail("malloc(%d) failed at %d", SIZE, i);
        memset(blocks[i], 0x5a, SIZE);
    }
    rss_full = tap_resident_bytes();
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    first = malloc_trim(0);
    second = malloc_trim(0);
    rss_after = tap_resident_bytes();
    is_int(first, 1, "malloc_trim(0) after freeing 100 MB: 1");
    ok(rss_full > rss_after &&
           rss_full - rss_after >= (size_t)N * SIZE / 10 * 8,
       "resident memory drops by at least 80%% of the 100 MB (%zu KiB)",
       rss_full > rss_after ? (rss_full - rss_after) / 1024 : 0);
    is_int(second, 0, "malloc_trim(0) again, with nothing to give: 0");
}

int
main(void)
{
    if (tap_under_asan())
        skip_all("AddressSanitizer's malloc takes the place of "
                 "libmpool-malloc's");
    if (tap_under_tsan())
        skip_all("ThreadSanitizer's malloc takes the place of "
                 "libmpool-malloc's");
    if (tap_under_valgrind())
        skip_all("valgrind's malloc takes the place of libmpool-malloc's");
    plan_lazy();
    test_alignment();
    test_trim();
    return tap_done();
}
