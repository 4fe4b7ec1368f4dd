/* SPDX-License-Identifier: MIT */
/*
 * t/oom-t.c - the kernel refusing memory.  A child process lowers its
 * address-space limit (RLIMIT_AS), allocates until the library says
 * ENOMEM, checks that nothing it holds was damaged and that freeing lets it
 * allocate again, then lifts the limit and checks that the library works
 * as before.  Each check is one bit of the child's exit status.
 *
 * Skipped under valgrind and AddressSanitizer, which need far more address
 * space than the limit leaves.
 *
 * The k210 backend asks no kernel for memory: its limit is the RAM it was
 * given (8 MiB in the host build), so the child allocates until that is
 * used up instead, and needs no resource limit (nor skips for valgrind).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mpool.h"
#include "tap/tap.h"

#define RUN_PAGES 64
#define MAX_RUNS 8192

static const char *const checks[] = {
    "allocation ends in NULL under a 256 MiB address-space limit",
    "... with errno ENOMEM",
    "the library's mappings grew no further than the limit",
    "every run allocated before the failure is intact",
    "after freeing half, allocation succeeds again",
    "after lifting the limit, a 256 MiB run can be allocated",
    "a huge run fails cleanly under the limit, then works without it",
};
enum { NCHECKS = sizeof(checks) / sizeof(checks[0]) };

static void *runs[MAX_RUNS];

/* The k210 backend: the same story within its 8 MiB, no limit to set. */
#define K210_RAM ((size_t)8 << 20)
#define K210_RUN_PAGES 16 /* a buddy run (k210's largest is 32 pages) */

static const char *const checks_k210[] = {
    "a run larger than the RAM fails cleanly: NULL, ENOMEM",
    "allocation ends in NULL once the 8 MiB of RAM are used",
    "... with errno ENOMEM",
    "the runs handed out add up to less than the 8 MiB",
    "every run allocated before the failure is intact",
    "after freeing half, allocation succeeds again",
    "after freeing everything and reclaiming, a 7 MiB run fits",
};
_Static_assert(sizeof(checks_k210) == sizeof(checks), "one bit per check");

static int
child_k210(void)
{
    size_t page = mpool_page_size(), run = K210_RUN_PAGES * page;
    int failed = 0, n = 0, err = 0;
    void *huge;

    errno = 0;
    huge = mpool_pages_alloc(K210_RAM / page);
    if (huge != NULL || errno != ENOMEM)
        failed |= 1 << 0;
    while (n < MAX_RUNS) {
        errno = 0;
        runs[n] = mpool_pages_alloc(K210_RUN_PAGES);
        if (runs[n] == NULL) {
            err = errno;
            break;
        }
        memset(runs[n], n & 0xff, run);
        n++;
    }
    if (n == MAX_RUNS)
        failed |= 1 << 1;
    if (err != ENOMEM)
        failed |= 1 << 2;
    /* ... and at least 70 % of it: a 256 KiB segment, its first page the
     * header, holds three 16-page runs (a run lies in a block aligned to
     * its size), 75 % of its bytes */
    if ((size_t)n * run >= K210_RAM || (size_t)n * run < K210_RAM / 10 * 7)
        failed |= 1 << 3;
    for (int i = 0; i < n; i++)
        for (size_t b = 0; b < run; b += 4093)
            if (((unsigned char *)runs[i])[b] != (i & 0xff)) {
                failed |= 1 << 4;
                break;
            }
    for (int i = 0; i < n; i += 2)
        mpool_pages_free(runs[i], K210_RUN_PAGES);
    for (int i = 0; i < n; i += 2)
        if ((runs[i] = mpool_pages_alloc(K210_RUN_PAGES)) == NULL)
            failed |= 1 << 5;
    for (int i = 0; i < n; i++)
        mpool_pages_free(runs[i], K210_RUN_PAGES);
    mpool_reclaim(NULL);
    huge = mpool_pages_alloc((7u << 20) / page);
    if (huge == NULL)
        failed |= 1 << 6;
    else {
        memset(huge, 1, 7u << 20);
        mpool_pages_free(huge, (7u << 20) / page);
    }
    return failed;
}

static int
child(void)
{
    size_t page = mpool_page_size();
    struct rlimit old, low;
    int failed = 0, n = 0, err = 0;
    size_t vm_start = tap_mapped_bytes();

    if (getrlimit(RLIMIT_AS, &old) != 0)
        return 0x7f;
    low = old;
    low.rlim_cur = vm_start + (256u << 20);
    if (setrlimit(RLIMIT_AS, &low) != 0)
        return 0x7f;

    /* A huge run larger than what is left fails. */
    void *huge = mpool_pages_alloc((512u << 20) / page);
    if (huge != NULL || errno != ENOMEM)
        failed |= 1 << 6;

    while (n < MAX_RUNS) {
        errno = 0;
        runs[n] = mpool_pages_alloc(RUN_PAGES);
        if (runs[n] == NULL) {
            err = errno;
            break;
        }
        memset(runs[n], n & 0xff, RUN_PAGES * page);
        n++;
    }
    if (n == MAX_RUNS)
        failed |= 1 << 0;
    if (err != ENOMEM)
        failed |= 1 << 1;
    if (tap_mapped_bytes() > low.rlim_cur)
        failed |= 1 << 2;
    for (int i = 0; i < n; i++)
        for (size_t b = 0; b < RUN_PAGES * page; b += 4093)
            if (((unsigned char *)runs[i])[b] != (i & 0xff)) {
                failed |= 1 << 3;
                break;
            }
    for (int i = 0; i < n; i += 2)
        mpool_pages_free(runs[i], RUN_PAGES);
    for (int i = 0; i < n; i += 2)
        if ((runs[i] = mpool_pages_alloc(RUN_PAGES)) == NULL)
            failed |= 1 << 4;
    for (int i = 0; i < n; i++)
        mpool_pages_free(runs[i], RUN_PAGES);

    if (setrlimit(RLIMIT_AS, &old) != 0)
        return 0x7f;
    huge = mpool_pages_alloc((256u << 20) / page);
    if (huge == NULL)
        failed |= 1 << 5;
    else {
        memset(huge, 1, 256u << 20);
        mpool_pages_free(huge, (256u << 20) / page);
    }
    huge = mpool_pages_alloc((512u << 20) / page);
    if (huge == NULL)
        failed |= 1 << 6;
    else
        mpool_pages_free(huge, (512u << 20) / page);
    return failed;
}

int
main(void)
{
    if (tap_backend_is("k210")) {
        plan(NCHECKS + 1);
        tap_child_checks(child_k210, checks_k210, NCHECKS);
        return tap_done();
    }
    tap_skip_if_rlimit_as_unusable();
    plan(NCHECKS + 1);
    tap_child_checks(child, checks, NCHECKS);
    return tap_done();
}
