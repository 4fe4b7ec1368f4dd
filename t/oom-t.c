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
    tap_skip_if_rlimit_as_unusable();
    plan(NCHECKS + 1);
    tap_child_checks(child, checks, NCHECKS);
    return tap_done();
}
