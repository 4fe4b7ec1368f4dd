/* SPDX-License-Identifier: MIT */
/*
 * t/region-t.c - pools over a caller's memory (TLSF): exhaustion, no byte
 * written outside the region (guard bytes around it checked), free blocks
 * joined back into one after fragmenting patterns, realloc in place,
 * alignment, bad arguments, and two threads sharing a region pool.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "pool/pool.h"
#include "pool/region.h"
#include "tap/tap.h"

#define GUARD 4096
#define REGION (1u << 20)

static unsigned char arena_mem[GUARD + REGION + GUARD];
static unsigned char *const region = arena_mem + GUARD;

static bool
guards_intact(void)
{
    for (size_t i = 0; i < GUARD; i++)
        if (arena_mem[i] != 0xa5 || region[REGION + i] != 0xa5)
            return false;
    return true;
}

static void
census(mpool_t *p, size_t *blocks, size_t *largest, size_t *used)
{
    mp_region_census(mp_pool_region(p), blocks, largest, used);
}

static uint64_t rng = 88172645463325252ull;

static uint64_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

struct live {
    unsigned char *p;
    size_t n;
    unsigned char stamp;
};

static bool
fill_check(struct live *l, bool check)
{
    for (size_t i = 0; i < l->n; i++) {
        if (check && l->p[i] != l->stamp)
            return false;
        if (!check)
            l->p[i] = l->stamp;
    }
    return true;
}

static mpool_t *shared;
static _Atomic unsigned long thread_bad;

static void *
worker(void *arg)
{
    struct live live[64];
    size_t n = 0;
    uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 7;

    for (int op = 0; op < 20000; op++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        if (n < 64 && (n == 0 || s % 2)) {
            live[n].n = 1 + (s >> 20) % 2000;
            live[n].p = mpool_alloc(shared, live[n].n);
            if (live[n].p == NULL)
                continue; /* the region may be full for a moment */
            live[n].stamp = (unsigned char)(s >> 8);
            fill_check(&live[n], false);
            n++;
        } else {
            size_t i = (s >> 33) % n;
            if (!fill_check(&live[i], true))
                thread_bad++;
            mpool_free(shared, live[i].p);
            live[i] = live[--n];
        }
    }
    while (n > 0) {
        n--;
        if (!fill_check(&live[n], true))
            thread_bad++;
        mpool_free(shared, live[n].p);
    }
    return NULL;
}

int
main(void)
{
    mpool_options_t o = {.size = sizeof(o), .name = "region",
                         .region = region, .region_size = REGION};
    static struct live live[4000];
    size_t blocks, largest0, largest, used, n = 0;
    bool inside = true, aligned = true, intact = true;
    mpool_t *p;

    plan_lazy();
    memset(arena_mem, 0xa5, sizeof(arena_mem));
    errno = 0;
    ok(mpool_create(&(mpool_options_t){.size = sizeof(o), .region = region,
                                       .region_size = 24}) == NULL &&
           errno == EINVAL,
       "a region too small for one block: NULL, EINVAL");
    p = mpool_create(&o);
    if (p == NULL)
        bail("mpool_create over a region");
    census(p, &blocks, &largest0, &used);
    ok(blocks == 1 && largest0 > REGION - 64,
       "a new region is one free block of %zu bytes", largest0);

    /* Exhaustion. */
    while (n < 4000) {
        live[n].n = 1 + next() % 600;
        live[n].p = mpool_alloc(p, live[n].n);
        if (live[n].p == NULL)
            break;
        inside &= live[n].p >= region &&
                  live[n].p + live[n].n <= region + REGION;
        aligned &= ((uintptr_t)live[n].p & 15) == 0;
        live[n].stamp = (unsigned char)n;
        fill_check(&live[n], false);
        n++;
    }
    ok(n > 1000 && n < 4000 && errno == ENOMEM,
       "allocation until the region is full ends in NULL, ENOMEM (%zu "
       "blocks)",
       n);
    ok(inside, "every block lies inside the region");
    ok(aligned, "every block is 16-byte aligned");
    ok(guards_intact(), "not a byte outside the region was written");

    /* Free every other block, then the rest: joined back into one. */
    for (size_t i = 0; i < n; i += 2)
        intact &= fill_check(&live[i], true);
    for (size_t i = 0; i < n; i += 2)
        mpool_free(p, live[i].p);
    census(p, &blocks, &largest, &used);
    ok(blocks > n / 4, "freeing every other block leaves %zu holes",
       blocks);
    for (size_t i = 1; i < n; i += 2) {
        intact &= fill_check(&live[i], true);
        mpool_free(p, live[i].p);
    }
    ok(intact, "every block kept its contents until freed");
    census(p, &blocks, &largest, &used);
    ok(blocks == 1 && largest == largest0 && used == 0,
       "freeing the rest joins everything back into one free block");

    /* A random workload. */
    n = 0;
    intact = true;
    for (int op = 0; op < 100000; op++) {
        if (n < 4000 && (n == 0 || next() % 100 < 52)) {
            live[n].n = 1 + next() % (next() % 20 == 0 ? 20000 : 300);
            live[n].p = mpool_alloc(p, live[n].n);
            if (live[n].p == NULL)
                continue;
            live[n].stamp = (unsigned char)op;
            fill_check(&live[n], false);
            n++;
        } else {
            size_t i = next() % n;
            if ((next() & 7) == 0) {
                size_t grow = live[i].n + next() % 3000;
                unsigned char *q = mpool_realloc(p, live[i].p, grow);
                if (q != NULL) {
                    intact &= fill_check(&(struct live){q, live[i].n,
                                                        live[i].stamp},
                                         true);
                    live[i].p = q;
                    live[i].n = grow;
                    fill_check(&live[i], false);
                }
                continue;
            }
            intact &= fill_check(&live[i], true);
            mpool_free(p, live[i].p);
            live[i] = live[--n];
        }
    }
    ok(intact, "100000 random operations with realloc: every block intact");
    ok(guards_intact(), "and nothing written outside the region");
    while (n > 0)
        mpool_free(p, live[--n].p);
    census(p, &blocks, &largest, &used);
    ok(blocks == 1 && largest == largest0,
       "after freeing all, one free block again");

    /* realloc in place, alignment. */
    {
        unsigned char *a = mpool_alloc(p, 100);
        unsigned char *r;
        memset(a, 7, 100);
        r = mpool_realloc(p, a, 5000);
        if (tap_under_memcheck_requests())
            ok(r != NULL && r[99] == 7, "realloc grows, keeping the contents "
                                         "(under memcheck it always moves)");
        else
            ok(r == a && r[99] == 7, "realloc grows in place into free space");
        r = mpool_realloc(p, r, 50);
        ok(r == a && r[49] == 7, "realloc shrinks in place");
        ok(mpool_usable_size(r) >= 50 && mpool_usable_size(r) < 100,
           "usable size follows the shrink (%zu)", mpool_usable_size(r));
        mpool_free(p, r);
        /* a region laid over a class block of another pool: its blocks'
         * usable size is the region's, not the class's */
        {
            mpool_t *outer = mpool_create(NULL);
            void *mem = mpool_alloc(outer, 65536);
            mpool_t *in = mpool_create(&(mpool_options_t){
                .size = sizeof(mpool_options_t), .region = mem,
                .region_size = 65536});
            void *b = in != NULL ? mpool_alloc(in, 100) : NULL;
            ok(b != NULL && mpool_usable_size(b) >= 100 &&
                   mpool_usable_size(b) < 1000,
               "a region over another pool's block: usable size %zu is the "
               "region block's", b != NULL ? mpool_usable_size(b) : 0);
            mpool_free(in, b);
            mpool_destroy(in);
            mpool_destroy(outer);
        }
        for (size_t al = 32; al <= 65536; al *= 2) {
            void *x = mpool_aligned_alloc(p, al, 300);
            aligned &= x != NULL && ((uintptr_t)x & (al - 1)) == 0;
            mpool_free(p, x);
        }
        ok(aligned, "aligned blocks in the region, 32 B .. 64 KiB");
        census(p, &blocks, &largest, &used);
        ok(blocks == 1 && largest == largest0,
           "and the alignment gaps were joined back");
    }

    /* Two threads. */
    {
        pthread_t t[2];
        shared = p;
        for (uintptr_t i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, worker, (void *)(i + 1));
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        is_int((long long)thread_bad, 0,
               "two threads sharing a region pool: every block intact");
        census(p, &blocks, &largest, &used);
        ok(blocks == 1 && largest == largest0 && guards_intact(),
           "one free block and untouched guards afterwards");
    }
    mpool_destroy(p);
    ok(guards_intact(), "destroy leaves the caller's memory alone");
    return tap_done();
}
