/* SPDX-License-Identifier: MIT */
/*
 * t/walk-t.c - mpool_walk(): every live block exactly once with its usable
 * size, and never a free one, wherever it waits: this thread's magazine,
 * the depot, another live thread's magazine, the slabs, the quarantine of
 * checking mode, a region's free lists; large blocks; the early stop and
 * its value; a callback that uses another pool; bad input.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpool.h"
#include "tap/tap.h"
#include "remote-free.h"

static bool k210;

#define NBLOCKS 6000

/* The blocks a walk should see: sorted addresses, and whether seen. */
struct expect {
    void *block[NBLOCKS + 16];
    size_t n;
    unsigned char seen[NBLOCKS + 16];
    size_t calls, strangers, twice, bad_usable;
    mpool_t *other; /* allocated from in the callback, if set */
    size_t other_ok;
    mpool_t *self;  /* its statistics read in the callback, if set */
    size_t self_ok;
};

static int
by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a;
    uintptr_t y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

static int
visit(void *block, size_t usable, void *arg)
{
    struct expect *e = arg;
    void **hit = bsearch(&block, e->block, e->n, sizeof(void *), by_address);

    e->calls++;
    if (hit == NULL) {
        e->strangers++;
        return 0;
    }
    if (e->seen[hit - e->block]++)
        e->twice++;
    if (usable != mpool_usable_size(block))
        e->bad_usable++;
    if (e->other != NULL) {
        /* no lock held: another pool may be used */
        void *x = mpool_alloc(e->other, 64);
        e->other_ok += x != NULL;
        mpool_free(e->other, x);
    }
    if (e->self != NULL) {
        mpool_stats_t st = {.size = sizeof(st)};
        e->self_ok += mpool_stats(e->self, &st) == 0 &&
                      st.blocks_in_use == e->n;
    }
    return 0;
}

static void
expect_reset(struct expect *e)
{
    qsort(e->block, e->n, sizeof(void *), by_address);
    memset(e->seen, 0, sizeof(e->seen));
    e->calls = e->strangers = e->twice = e->bad_usable = e->other_ok = 0;
    e->self_ok = 0;
}

static void
check_walk(const char *what, mpool_t *p, struct expect *e)
{
    size_t missed = 0;
    int rc;

    expect_reset(e);
    rc = mpool_walk(p, visit, e);
    for (size_t i = 0; i < e->n; i++)
        missed += !e->seen[i];
    ok(rc == 0 && e->calls == e->n && missed == 0 && e->twice == 0 &&
           e->strangers == 0,
       "%s: %zu live blocks each seen once (calls %zu, missed %zu, twice "
       "%zu, free ones seen %zu)",
       what, e->n, e->calls, missed, e->twice, e->strangers);
    is_size(e->bad_usable, 0, "%s: with their usable sizes", what);
}

static void
test_class_pool(const char *what, mpool_t *p, bool threads)
{
    static struct expect e;
    static void *all[NBLOCKS], *theirs[NBLOCKS];
    remote_free_t r;
    size_t ntheirs = 0;

    e.n = 0;
    e.other = NULL;
    check_walk(what, p, &e); /* empty */
    for (size_t i = 0; i < NBLOCKS; i++) {
        /* most small (slabs full of them, magazines and the depot
         * overflowing), some of each class up to 100 KB */
        size_t size = i % 7 != 0 ? 16 + i % 64
                                 : (i * 37) % (k210 ? 4000 : 100000);
        if ((all[i] = mpool_alloc(p, size)) == NULL)
            bail("mpool_alloc(%zu)", size);
    }
    /* page runs: above the classes (9 MiB; 1 MiB on k210's 8 MiB) or
     * aligned past 64 */
    for (size_t i = 0; i < 3; i++) {
        void *b = i == 0 && !k210 ? mpool_alloc(p, 9u << 20)
                                  : mpool_aligned_alloc(p, 4096, 5000);
        if (b == NULL)
            bail("large block");
        e.block[e.n++] = b;
    }
    /* every third freed here (magazine, then depot, then slabs) */
    for (size_t i = 0; i < NBLOCKS; i++)
        if (i % 3 == 0)
            mpool_free(p, all[i]);
        else if (threads && i % 3 == 1)
            theirs[ntheirs++] = all[i];
        else
            e.block[e.n++] = all[i];
    if (threads)
        remote_free_start(&r, p, theirs, ntheirs);
    check_walk(what, p, &e);
    if (threads) {
        remote_free_finish(&r);
        check_walk("after the other thread's exit", p, &e);
    }

    e.other = mpool_create(NULL);
    expect_reset(&e);
    ok(mpool_walk(p, visit, &e) == 0 && e.other_ok == e.n,
       "%s: the callback allocated from another pool each time", what);
    mpool_destroy(e.other);
    e.other = NULL;
    e.self = p;
    expect_reset(&e);
    ok(mpool_walk(p, visit, &e) == 0 && e.self_ok == e.n,
       "%s: the callback read the walked pool's statistics each time, "
       "%zu blocks in use", what, e.n);
    e.self = NULL;

    for (size_t i = 0; i < e.n; i++)
        mpool_free(p, e.block[i]);
    e.n = 0;
    check_walk("all freed", p, &e);
}

static size_t stop_calls;

static int
stop_after_five(void *block, size_t usable, void *arg)
{
    (void)block;
    (void)usable;
    (void)arg;
    return ++stop_calls == 5 ? 42 : 0;
}

static void
test_stop(void)
{
    mpool_t *p = mpool_create(NULL);
    void *b[20];

    for (int i = 0; i < 20; i++)
        b[i] = mpool_alloc(p, 100 * (size_t)i);
    stop_calls = 0;
    is_int(mpool_walk(p, stop_after_five, NULL), 42,
           "a callback's non-zero return stops the walk and is returned");
    is_size(stop_calls, 5, "after exactly five calls");
    for (int i = 0; i < 20; i++)
        mpool_free(p, b[i]);
    mpool_destroy(p);
}

static void
test_region(void)
{
    static _Alignas(16) unsigned char region[1 << 20];
    static struct expect e;
    mpool_options_t opt = {.size = sizeof(opt), .region = region,
                           .region_size = sizeof(region)};
    mpool_t *p = mpool_create(&opt);
    void *b[2000];

    if (p == NULL)
        bail("mpool_create region");
    e.n = 0;
    check_walk("empty region pool", p, &e);
    for (size_t i = 0; i < 2000; i++)
        if ((b[i] = mpool_alloc(p, 1 + i % 300)) == NULL)
            bail("region alloc");
    for (size_t i = 0; i < 2000; i++)
        if (i % 4 == 1 || i % 4 == 2)
            mpool_free(p, b[i]); /* neighbours joined on free */
        else
            e.block[e.n++] = b[i];
    check_walk("region pool", p, &e);
    stop_calls = 0;
    is_int(mpool_walk(p, stop_after_five, NULL), 42,
           "region pool: the early stop");
    mpool_destroy(p);
}

static void
test_debug(void)
{
    static struct expect e;
    mpool_t *p;
    void *b[300];
    int was = mpool_set_debug(1);

    p = mpool_create(NULL);
    mpool_set_debug(was);
    if (p == NULL)
        bail("mpool_create");
    e.n = 0;
    for (size_t i = 0; i < 300; i++)
        if ((b[i] = mpool_alloc(p, 10 + i)) == NULL)
            bail("mpool_alloc");
    for (size_t i = 0; i < 300; i++)
        if (i % 2 == 0)
            mpool_free(p, b[i]); /* the latest wait in the quarantine */
        else
            e.block[e.n++] = b[i];
    check_walk("checking mode (quarantine, trimmed usable sizes)", p, &e);
    for (size_t i = 0; i < e.n; i++)
        mpool_free(p, e.block[i]);
    mpool_destroy(p);
}

static void
test_bad_input(void)
{
    static uint64_t not_a_pool[64];
    mpool_t *p = mpool_create(NULL), *dead = mpool_create(NULL);
    void *b = mpool_alloc(p, 10);

    mpool_destroy(dead);
    errno = 0;
    ok(mpool_walk(NULL, stop_after_five, NULL) == -1 && errno == EINVAL,
       "NULL pool: EINVAL");
    errno = 0;
    ok(mpool_walk(p, NULL, NULL) == -1 && errno == EINVAL,
       "NULL callback: EINVAL");
    errno = 0;
    ok(mpool_walk((mpool_t *)not_a_pool, stop_after_five, NULL) == -1 &&
           errno == EINVAL,
       "not a pool: EINVAL");
    errno = 0;
    ok(mpool_walk(dead, stop_after_five, NULL) == -1 && errno == EINVAL,
       "a destroyed pool: EINVAL");
    ok(mpool_usable_size(b) >= 10, "the pool's block is untouched");
    mpool_free(p, b);
    mpool_destroy(p);
}

int
main(void)
{
    mpool_options_t st = {.size = sizeof(st),
                          .flags = MPOOL_SINGLE_THREADED};
    mpool_t *p;

    k210 = tap_backend_is("k210");
    plan_lazy();
    p = mpool_create(NULL);
    test_class_pool("class pool", p, true);
    mpool_destroy(p);
    p = mpool_create(&st);
    test_class_pool("single-threaded pool", p, false);
    mpool_destroy(p);
    test_class_pool("default pool", mpool_default(), true);
    test_stop();
    test_region();
    test_debug();
    test_bad_input();
    return tap_done();
}
