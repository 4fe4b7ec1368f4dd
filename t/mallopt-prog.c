/* SPDX-License-Identifier: MIT */
/*
 * t/mallopt-prog.c - a program that knows nothing of libmpool: it calls
 * mallopt(M_TRIM_THRESHOLD, 1 MiB) as a glibc program would, around two
 * rounds of 20 MB of malloc'd blocks freed.  t/mallopt-preload-t.sh runs
 * it with libmpool-malloc preloaded; mpool_reclaim, found with dlsym,
 * then tells how much of the freed memory the default pool kept:
 * "rc=R before=PAGES after=PAGES".  Exit 3 when libmpool is not there.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#define BLOCKS 20000

static void *blocks[BLOCKS];

static int
churn(void)
{
    for (size_t i = 0; i < BLOCKS; i++)
        if ((blocks[i] = malloc(1000)) == NULL)
            return -1;
    for (size_t i = 0; i < BLOCKS; i++)
        free(blocks[i]);
    return 0;
}

int
main(void)
{
    size_t (*reclaim)(void *) =
        (size_t (*)(void *))dlsym(RTLD_DEFAULT, "mpool_reclaim");
    size_t before, after;
    int rc;

    if (reclaim == NULL)
        return 3;
    reclaim(NULL);
    if (churn() != 0)
        return 2;
    before = reclaim(NULL);
    rc = mallopt(M_TRIM_THRESHOLD, 1 << 20);
    if (churn() != 0)
        return 2;
    after = reclaim(NULL);
    printf("rc=%d before=%zu after=%zu\n", rc, before, after);
    return 0;
}
