/* SPDX-License-Identifier: MIT */
/*
 * t/memcheck-prog.c - small programs, one per argument, that t/memcheck-t.sh
 * runs under valgrind's memcheck: each misuse must be reported as memcheck
 * reports it for malloc, and the correct program ("clean"), which uses
 * every function of the interface, must get no report at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpool.h"

static volatile char sink;
static void *keep;
static char region[1 << 20];

static void
die(const char *what)
{
    fprintf(stderr, "memcheck-prog: %s\n", what);
    exit(2);
}

#define check(cond)                                                        \
    do {                                                                   \
        if (!(cond))                                                       \
            die("check failed: " #cond);                                   \
    } while (0)

static void
leak(mpool_cache_t *c)
{
    char *o = mpool_cache_alloc(c);

    if (o == NULL)
        die("mpool_cache_alloc");
    memset(o, 2, 64); /* and the pointer is dropped */
}

static int
ctor(void *obj, void *arg)
{
    (void)arg;
    memset(obj, 0x5a, 48);
    return 0;
}

static void
dtor(void *obj, void *arg)
{
    (void)arg;
    check(((unsigned char *)obj)[0] == 0x5a);
}

/* Every function, used correctly: memcheck must stay silent. */
static void
clean(mpool_cache_t *c, mpool_t *pool)
{
    mpool_cache_t *cc = mpool_cache_create("memcheck-ctor", 48, 0, ctor, dtor,
                                           NULL, 0);
    mpool_cache_stats_t st = {.size = sizeof st};
    mpool_options_t ro = {.size = sizeof ro, .name = "region",
                          .region = region, .region_size = sizeof region};
    mpool_t *rp;
    char *a, *r, *r2, *o;
    void *pg;

    o = mpool_cache_alloc(c);
    memset(o, 1, 64);
    mpool_cache_free(c, o);
    o = mpool_cache_alloc(cc); /* constructed: defined */
    check(!(o[47] != 0x5a));
    mpool_cache_free(cc, o);
    o = mpool_cache_alloc(cc);
    check(!(mpool_cache_find("memcheck-ctor") != cc ||
        mpool_cache_set_reclaim(cc, NULL) != 0 || mpool_cache_stats(c, &st)));

    a = mpool_alloc(pool, 100);
    memset(a, 1, 100);
    a = mpool_realloc(pool, a, 5000);
    check(!(a[99] != 1));
    memset(a, 2, 5000);
    a = mpool_realloc(pool, a, 10);
    check(!(a[9] != 2 || mpool_usable_size(a) < 10));
    mpool_free(pool, a);
    a = mpool_calloc(pool, 10, 10);
    check(!(a[50] != 0));
    mpool_free(pool, a);
    a = mpool_aligned_alloc(pool, 4096, 100);
    memset(a, 1, 100);
    mpool_free(pool, a);
    a = mpool_aligned_alloc(pool, 64, 100);
    memset(a, 1, 100);
    mpool_free(pool, a);
    a = mpool_alloc(pool, 10 << 20);
    memset(a, 1, 10 << 20);
    a = mpool_realloc(pool, a, 12 << 20);
    check(!(a[(10 << 20) - 1] != 1));
    mpool_free(pool, a);
    keep = mpool_alloc(pool, 77); /* freed by mpool_destroy */
    memset(keep, 3, 77);
    keep = mpool_alloc(pool, 9 << 20);

    rp = mpool_create(&ro);
    r = mpool_alloc(rp, 100);
    memset(r, 1, 100);
    r = mpool_realloc(rp, r, 300);
    check(!(r[50] != 1));
    r2 = mpool_aligned_alloc(rp, 256, 1000);
    memset(r2, 1, 1000);
    mpool_free(rp, r);
    mpool_free(rp, r2);
    for (int i = 0; i < 1000; i++) {
        char *x = mpool_alloc(rp, (size_t)i * 7 % 500 + 1);
        x[0] = 1;
        if (i % 3)
            mpool_free(rp, x);
    }
    mpool_destroy(rp); /* with live blocks */
    memset(region, 0, sizeof region);

    /* reset: blocks of classes, a large one, a region's, a child's */
    {
        mpool_options_t co = {.size = sizeof co, .name = "child",
                              .parent = pool};
        mpool_t *child = mpool_create(&co);
        char *cb = mpool_alloc(child, 50);
        memset(cb, 4, 50);
        a = mpool_alloc(pool, 60);
        memset(a, 4, 60);
        r = mpool_alloc(pool, 9 << 20);
        memset(r, 4, 100);
        check(mpool_reset(pool) == 0); /* child destroyed, blocks freed */
        a = mpool_alloc(pool, 60); /* the same slab again */
        memset(a, 5, 60);
        check(!(a[59] != 5));
        rp = mpool_create(&ro);
        r = mpool_alloc(rp, 100);
        memset(r, 1, 100);
        check(mpool_reset(rp) == 0);
        r = mpool_alloc(rp, 100);
        memset(r, 2, 100);
        check(!(r[99] != 2));
        mpool_destroy(rp);
        memset(region, 0, sizeof region);
    }

    pg = mpool_pages_alloc(3);
    memset(pg, 1, 3 * mpool_page_size());
    mpool_pages_free(pg, 3);
    a = mpool_alloc(mpool_default(), 30);
    memset(a, 1, 30);
    mpool_free(NULL, a);
    mpool_reclaim(NULL);
    mpool_reclaim(pool);
    mpool_report(stdout);
    mpool_report_fd(1);
    check(mpool_cache_destroy(cc) == -1); /* an object is out: EBUSY */
    mpool_cache_free(cc, o);
    check(mpool_cache_destroy(cc) == 0);
}

int
main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "clean";
    mpool_cache_t *c = mpool_cache_create("memcheck", 64, 0, NULL, NULL, NULL,
                                          0);
    mpool_t *pool = mpool_create(NULL);
    char *o;

    if (c == NULL || pool == NULL)
        die("create");
    if (strcmp(what, "cache-use-after-free") == 0) {
        o = mpool_cache_alloc(c);
        memset(o, 1, 64);
        mpool_cache_free(c, o);
        sink = o[8];
    } else if (strcmp(what, "pool-use-after-free") == 0) {
        o = mpool_alloc(pool, 40);
        memset(o, 1, 40);
        mpool_free(pool, o);
        sink = o[8];
    } else if (strcmp(what, "pool-overrun") == 0) {
        o = mpool_alloc(pool, 40);
        memset(o, 1, 40);
        sink = o[40];
        mpool_free(pool, o);
    } else if (strcmp(what, "pool-uninitialised") == 0) {
        o = mpool_alloc(pool, 40);
        if (o[3] == 7)
            puts("seven");
        mpool_free(pool, o);
    } else if (strcmp(what, "pool-reset-use") == 0) {
        o = mpool_alloc(pool, 40);
        memset(o, 1, 40);
        mpool_reset(pool);
        /* o never reached mpool_reset, so a compiler may take the value
         * of the memset from o, which mpool_alloc's malloc attribute says
         * nothing else aliases (clang does): read it through a volatile
         * pointer */
        sink = ((volatile char *)o)[8];
    } else if (strcmp(what, "region-reset-use") == 0) {
        mpool_t *rp = mpool_create(&(mpool_options_t){
            .size = sizeof(mpool_options_t), .region = region,
            .region_size = sizeof region});
        o = mpool_alloc(rp, 40);
        memset(o, 1, 40);
        mpool_reset(rp);
        /* past the free block's links, which are open; volatile as above */
        sink = ((volatile char *)o)[30];
        mpool_destroy(rp);
    } else if (strcmp(what, "cache-leak") == 0) {
        leak(c);
        mpool_destroy(pool);
        return 0; /* the cache is not destroyed: the object leaks */
    } else if (strcmp(what, "cache-double-free") == 0) {
        o = mpool_cache_alloc(c);
        mpool_cache_free(c, o);
        mpool_cache_free(c, o);
    } else if (strcmp(what, "clean") == 0) {
        clean(c, pool);
    } else {
        die("unknown case");
    }
    mpool_destroy(pool);
    mpool_cache_destroy(c);
    return 0;
}
