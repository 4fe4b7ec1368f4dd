/* SPDX-License-Identifier: MIT */
/*
 * t/malloc-ext-prog.c - a program that knows nothing of libmpool and asks
 * glibc's malloc extensions about 100 MB of 1000-byte blocks: how much
 * mallinfo2 says is in use while they live, what malloc_trim(0) returns
 * once they are freed, and how much resident memory that gives back.  Run
 * by t/malloc-ext-preload-t.sh with libmpool-malloc preloaded; it prints
 * "grew=<bytes> trim=<0|1> dropped=<bytes> info=<0|-1>".
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N = 100000, SIZE = 1000 };
static void *blocks[N];

static size_t
resident(void)
{
    unsigned long size = 0, pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &pages) != 2)
            pages = 0;
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

int
main(void)
{
    struct mallinfo2 before, live;
    size_t rss_live, rss_trimmed;
    int trim, info;
    FILE *devnull = fopen("/dev/null", "w");

    before = mallinfo2();
    for (int i = 0; i < N; i++) {
        if ((blocks[i] = malloc(SIZE)) == NULL)
            return 1;
        memset(blocks[i], 1, SIZE);
    }
    live = mallinfo2();
    rss_live = resident();
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    trim = malloc_trim(0);
    rss_trimmed = resident();
    info = devnull != NULL ? malloc_info(0, devnull) : -1;
    printf("grew=%zu trim=%d dropped=%zu info=%d\n",
           live.uordblks - before.uordblks, trim,
           rss_live > rss_trimmed ? rss_live - rss_trimmed : 0, info);
    return 0;
}
