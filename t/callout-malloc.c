/* SPDX-License-Identifier: MIT */
/*
 * t/callout-malloc.c - a program run by t/callout-malloc-t.sh with
 * libmpool-malloc preloaded: a cache whose constructor calls malloc(3),
 * which is then the library's own, allocating under RLIMIT_AS 256 MiB
 * until it fails.
 *
 * The rule (mpool_cache_create(3)) lets a constructor allocate from any
 * cache or pool, malloc's default pool included; a library that ran
 * reclaim from inside the constructor, under its cache's lock, deadlocked
 * here the first time malloc found no memory.  This program must end with
 * a NULL from mpool_cache_alloc and errno ENOMEM, every object intact, and
 * exit 0; t/callout-malloc-t.sh runs it under timeout(1), so a hang is a
 * failure.  It prints nothing until the limit is lifted (stdio would call
 * malloc).  Exit status: 0 passed, 1 a check failed, 2 could not set up.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "mpool.h"

#define BUF_SIZE 4000
#define CALLS_AFTER_FAILURE 64
#define MAX_OBJECTS 300000 /* about 1 GiB of buffers: no limit worked */

struct obj {
    unsigned char *buf; /* malloc'd by the constructor */
    struct obj *next;
    uint64_t stamp;
};

static long ctor_ok, ctor_failed, dtor_ran;

static int
ctor(void *obj, void *arg)
{
    struct obj *o = obj;

    (void)arg;
    if ((o->buf = malloc(BUF_SIZE)) == NULL) {
        ctor_failed++;
        return -1;
    }
    memset(o->buf, (int)((uintptr_t)o->buf >> 4) & 0xff, BUF_SIZE);
    ctor_ok++;
    return 0;
}

static void
dtor(void *obj, void *arg)
{
    struct obj *o = obj;

    (void)arg;
    free(o->buf);
    dtor_ran++;
}

static unsigned long
mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;

    if (f != NULL) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return pages * 4096ul;
}

int
main(void)
{
    struct rlimit old, low;
    mpool_cache_t *cache;
    struct obj *list = NULL, *o;
    long n = 0, failures = 0, after = 0, bad_errno = 0, damaged = 0;
    int fail = 0;

    cache = mpool_cache_create("callout malloc", sizeof(struct obj), 0, ctor,
                               dtor, NULL, 0);
    if (cache == NULL || getrlimit(RLIMIT_AS, &old) != 0) {
        perror("setting up");
        return 2;
    }
    low = old;
    low.rlim_cur = mapped_bytes() + (256ul << 20);
    if (setrlimit(RLIMIT_AS, &low) != 0) {
        perror("setrlimit");
        return 2;
    }
    while (n < MAX_OBJECTS && after < CALLS_AFTER_FAILURE) {
        errno = 0;
        o = mpool_cache_alloc(cache);
        if (failures > 0)
            after++;
        if (o == NULL) {
            if (errno != ENOMEM)
                bad_errno++;
            failures++;
            continue;
        }
        o->stamp = (uint64_t)n++;
        o->next = list;
        list = o;
    }
    if (setrlimit(RLIMIT_AS, &old) != 0) {
        perror("setrlimit (lifting)");
        return 2;
    }
    printf("%ld objects; %ld calls failed, %ld not with ENOMEM; %ld "
           "constructions, %ld failed\n",
           n, failures, bad_errno, ctor_ok, ctor_failed);
    if (failures == 0) {
        printf("allocation never failed\n");
        fail = 1;
    }
    if (bad_errno != 0) {
        printf("a failed call did not set ENOMEM\n");
        fail = 1;
    }
    for (long i = n - 1; (o = list) != NULL; i--) {
        list = o->next;
        if (o->stamp != (uint64_t)i || o->buf == NULL ||
            o->buf[0] != (((uintptr_t)o->buf >> 4) & 0xff) ||
            o->buf[BUF_SIZE - 1] != (((uintptr_t)o->buf >> 4) & 0xff))
            damaged++;
        mpool_cache_free(cache, o);
    }
    if (damaged != 0) {
        printf("%ld objects damaged\n", damaged);
        fail = 1;
    }
    if (mpool_cache_destroy(cache) != 0 || ctor_ok != dtor_ran) {
        printf("destroy: %ld constructed, %ld destroyed\n", ctor_ok,
               dtor_ran);
        fail = 1;
    }
    return fail;
}
