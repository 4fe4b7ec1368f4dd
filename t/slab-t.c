/* SPDX-License-Identifier: MIT */
/*
 * t/slab-t.c - the slab layer's layout and policies, from the inside: the
 * unusable tail of every slab is at most 1/8 of it, descriptors sit in the
 * slab exactly for objects under 1/8 page, colours step through the spare
 * tail, allocation takes from the fullest partial slab, a batch carves at
 * most one new slab, and memory held
 * per live byte stays within the 12.5 % rule in steady state.
 */
#include <stdio.h>
#include <string.h>

#include "cache/cache.h"
#include "tap/tap.h"

static const size_t sizes[] = {
    8, 16, 24, 32, 40, 48, 64, 96, 100, 128, 192, 256, 384, 500, 511, 512,
    513, 600, 1000, 1024, 2000, 2048, 3000, 4096, 5000, 8192, 10000, 16384,
    30000, 65536, 100000, 1u << 20, 3u << 20,
};
enum { NSIZES = sizeof(sizes) / sizeof(sizes[0]) };

static void
test_layout(void)
{
    static const size_t aligns[] = {0, 8, 64, 4096};
    bool tail_ok = true, desc_ok = true, colour_ok = true, fits = true;
    bool desc_first = true;
    char name[32];

    for (size_t a = 0; a < 4; a++)
        for (size_t i = 0; i < NSIZES; i++) {
            struct mpool_cache *c;
            size_t bytes, desc, tail;

            snprintf(name, sizeof(name), "lay%zu-%zu", a, sizes[i]);
            c = mpool_cache_create(name, sizes[i], aligns[a], NULL, NULL,
                                   NULL, 0);
            if (c == NULL)
                bail("create %s", name);
            bytes = c->slab_pages * MP_PAGE_SIZE;
            desc = c->desc_on_slab ? sizeof(mp_slab_t) : 0;
            fits &= c->objs_per_slab >= 1 &&
                    desc + c->objs_per_slab * c->stride <= bytes;
            tail = bytes - desc - c->objs_per_slab * c->stride;
            if (tail * 8 > bytes && c->objs_per_slab > 1) {
                tail_ok = false;
                diag("size %zu align %zu: tail %zu of %zu", sizes[i],
                     aligns[a], tail, bytes);
            }
            if (c->slab_pages <= MP_BUDDY_MAX_PAGES)
                desc_ok &= c->desc_on_slab == (sizes[i] < MP_PAGE_SIZE / 8 &&
                                               aligns[a] <= 64);
            if (c->desc_on_slab) {
                /* at the slab's start, the objects after it, aligned */
                char *o = mpool_cache_alloc(c);
                mp_slab_t *s = o != NULL ? mp_slab_of(o) : NULL;
                size_t al = aligns[a] != 0 ? aligns[a] : 8;
                desc_first &= s != NULL &&
                              ((uintptr_t)s & (MP_PAGE_SIZE - 1)) == 0 &&
                              o >= (char *)s + sizeof(mp_slab_t) &&
                              (uintptr_t)o % al == 0;
                mpool_cache_free(c, o);
            }
            colour_ok &= c->colour_max <= tail &&
                         c->colour_max % c->colour_step == 0;
            mpool_cache_destroy(c);
        }
    ok(fits, "every layout fits its slab, 33 sizes x 4 alignments");
    ok(tail_ok, "every slab's unusable tail is at most 1/8 of the slab");
    ok(desc_ok, "the descriptor is in the slab exactly for objects under "
                "1/8 page aligned to 64 bytes or less");
    ok(desc_first, "there it is the slab's first bytes, before the first "
                   "object, which keeps its alignment");
    ok(colour_ok, "colours stay within the spare tail, in cache-line steps");
}

static void
test_colour(void)
{
    struct mpool_cache *c = mpool_cache_create("colour", 1000, 0, NULL, NULL,
                                               NULL, MPOOL_CACHE_NOMAGAZINE);
    void *objs[64];
    mp_slab_t *seen[64];
    size_t nseen = 0, distinct = 0;
    bool stepped = true;

    for (int i = 0; i < 64; i++) {
        mp_slab_t *s;
        objs[i] = mpool_cache_alloc(c);
        s = mp_slab_of(objs[i]);
        if (nseen == 0 || seen[nseen - 1] != s)
            seen[nseen++] = s;
    }
    for (size_t k = 0; k < nseen; k++) {
        size_t want = (k * c->colour_step) % (c->colour_max + c->colour_step);
        stepped &= seen[k]->colour == want;
        distinct += k == 0 || seen[k]->colour != seen[0]->colour;
    }
    ok(c->colour_max > 0 && stepped,
       "successive slabs start their objects a cache line further in, "
       "wrapping (colour max %zu)",
       c->colour_max);
    ok(distinct > 1, "so the first objects of slabs differ in offset");
    for (int i = 0; i < 64; i++)
        mpool_cache_free(c, objs[i]);
    mpool_cache_destroy(c);
}

static void
test_fullest_first(void)
{
    struct mpool_cache *c = mpool_cache_create("fullest", 256, 0, NULL, NULL,
                                               NULL, MPOOL_CACHE_NOMAGAZINE);
    size_t per = 0, n;
    void *objs[400] = {0};
    mp_slab_t *full_one, *empty_one, *got;

    per = c->objs_per_slab;
    n = 4 * per;
    for (size_t i = 0; i < n; i++)
        objs[i] = mpool_cache_alloc(c);
    if (per < 8 || n > 400)
        bail("unexpected layout: %zu per slab", per);
    /* slab of objs[0]: free one object; slab of objs[2*per]: free all but
     * one.  The next allocation must come from the first (the fullest). */
    full_one = mp_slab_of(objs[0]);
    empty_one = mp_slab_of(objs[2 * per]);
    for (size_t i = 0; i < n; i++) {
        mp_slab_t *s = mp_slab_of(objs[i]);
        if ((s == full_one && i == 0) ||
            (s == empty_one && objs[i] != objs[2 * per])) {
            mpool_cache_free(c, objs[i]);
            objs[i] = NULL;
        }
    }
    got = mp_slab_of(objs[0] = mpool_cache_alloc(c));
    ok(got == full_one, "allocation takes from the fullest partial slab");
    for (size_t i = 0; i < n; i++)
        mpool_cache_free(c, objs[i]);
    ok(c->nslabs[MP_SLAB_ON_FULL] == 0 && c->partial_mask == 0 &&
           c->nslabs[MP_SLAB_ON_EMPTY] >= 4,
       "after freeing everything all %zu slabs are empty",
       c->nslabs[MP_SLAB_ON_EMPTY]);
    mpool_cache_destroy(c);
}

/* A batch (a thread stack's refill) takes the free objects of partly used
 * and empty slabs, and makes at most one new slab, only where no empty one
 * served: objects carved beyond the one asked for would sit in a stack,
 * pages no other class can use. */
static size_t
slabs_in(const struct mpool_cache *c)
{
    size_t n = 0;

    for (unsigned list = 0; list <= MP_SLAB_ON_EMPTY; list++)
        n += c->nslabs[list];
    return n;
}

static void
test_batch_carves_one_slab(void)
{
    struct mpool_cache *c = mpool_cache_create(
        "batch", 1000, 0, NULL, NULL, NULL, MPOOL_CACHE_NOMAGAZINE);
    void *first[64], *second[64], *third[64];
    size_t per, ask, got;

    if (c == NULL)
        bail("create");
    per = c->objs_per_slab;
    ask = per + 3;
    if (2 + per > 64)
        bail("unexpected layout: %zu per slab", per);
    got = mp_slab_alloc(c, first, ask);
    ok(got == per && slabs_in(c) == 1,
       "a batch of %zu from an empty cache: one new slab's %zu objects "
       "(%zu taken, %zu slabs)", ask, per, got, slabs_in(c));
    mpool_cache_free(c, first[0]);
    mpool_cache_free(c, first[1]);
    got = mp_slab_alloc(c, second, ask);
    ok(got == 2 + per && slabs_in(c) == 2,
       "the next takes the 2 free objects, then one new slab's and no more "
       "(%zu taken, %zu slabs)", got, slabs_in(c));
    got = mp_slab_alloc(c, third, ask);
    ok(got == per && slabs_in(c) == 3,
       "with none free, one new slab again (%zu taken, %zu slabs)", got,
       slabs_in(c));
    for (size_t i = 0; i < per; i++)
        mpool_cache_free(c, third[i]);
    got = mp_slab_alloc(c, third, ask);
    ok(got == per && slabs_in(c) == 3,
       "an empty slab served: its %zu objects and no new slab (%zu "
       "taken, %zu slabs)", per, got, slabs_in(c));
    for (size_t i = 2; i < per; i++)
        mpool_cache_free(c, first[i]);
    for (size_t i = 0; i < 2 + per; i++)
        mpool_cache_free(c, second[i]);
    for (size_t i = 0; i < per; i++)
        mpool_cache_free(c, third[i]);
    is_int(mpool_cache_destroy(c), 0, "every object back: destroyed");
}

static void
test_memory(void)
{
    bool ok_all = true;
    char name[32];
    double worst = 0;
    size_t worst_size = 0;

    /* 4 MiB of objects and 64 more of each size; 2 MiB and 8 more in the
     * k210 host build's 8 MiB */
    bool k210 = tap_backend_is("k210");
    size_t bytes = k210 ? (2u << 20) : (4u << 20), extra = k210 ? 8 : 64;

    for (size_t i = 0; i < NSIZES && sizes[i] <= 65536; i++) {
        mpool_cache_stats_t st = {.size = sizeof(st)};
        size_t n = bytes / sizes[i] + extra;
        static void *objs[600000];
        struct mpool_cache *c;
        double ratio;

        snprintf(name, sizeof(name), "mem%zu", sizes[i]);
        c = mpool_cache_create(name, sizes[i], 0, NULL, NULL, NULL, 0);
        for (size_t k = 0; k < n; k++)
            if ((objs[k] = mpool_cache_alloc(c)) == NULL)
                bail("alloc");
        mpool_cache_stats(c, &st);
        ratio = (double)(st.pages * MP_PAGE_SIZE) / (double)(n * sizes[i]);
        if (ratio > worst) {
            worst = ratio;
            worst_size = sizes[i];
        }
        ok_all &= ratio <= 1.125 + 0.02;
        for (size_t k = 0; k < n; k++)
            mpool_cache_free(c, objs[k]);
        mpool_cache_destroy(c);
    }
    ok(ok_all, "pages held per live byte <= 1.145 for sizes 8 B .. 64 KiB "
               "(worst %.3f at %zu B)",
       worst, worst_size);
    diag("pages per live byte: worst %.3f at %zu bytes", worst, worst_size);
}

/* The library's own caches, as reports list them: each name once (a
 * backend with fewer magazine rounds has sizes that coincide, and lays out
 * only the first of them). */
static void
test_internal_names(void)
{
    size_t n = 0, twice = 0;

    mpool_cache_destroy(mpool_cache_create("boot", 8, 0, NULL, NULL, NULL,
                                           0)); /* the library set up */
    for (unsigned i = 0; i < MP_INTERNAL_CACHES; i++) {
        if (mp_internal_caches[i] == NULL)
            continue;
        n++;
        for (unsigned j = 0; j < i; j++)
            if (mp_internal_caches[j] != NULL &&
                strcmp(mp_internal_caches[j]->name,
                       mp_internal_caches[i]->name) == 0)
                twice++;
    }
    ok(n >= 5 && twice == 0,
       "the library's %zu caches have a name each (%zu repeated)", n, twice);
}

int
main(void)
{
    tap_skip_if_break_capped(); /* sbrk under valgrind */
    plan_lazy();
    test_layout();
    test_colour();
    test_fullest_first();
    test_batch_carves_one_slab();
    test_memory();
    test_internal_names();
    return tap_done();
}
