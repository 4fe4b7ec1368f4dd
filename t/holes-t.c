/* SPDX-License-Identifier: MIT */
/*
 * t/holes-t.c - mpool_reclaim() gives back the pages of partly used slabs
 * that hold free objects only (cache/slab.c, "Holes"): exactly those
 * pages, counted in what it returns, no longer resident; the objects still
 * out keep their contents; the free objects are handed out again before
 * any new slab is made, their pages counted as holding memory again; the
 * statistics, mpool_walk(), mpool_reset() and the page level's census
 * agree all along.  A cache with a constructor, and checking mode, keep
 * their free objects' contents: no holes there.  A backend that cannot
 * purge (k210) makes none.  Threads that allocate, write, check and free
 * while another reclaims over and over (in a child with a deadline,
 * t/watchdog.h) never see a block handed out twice or changed under
 * them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "cache/cache.h"
#include "mpool.h"
#include "tap/tap.h"
#include "watchdog.h"

/* Objects of 640 bytes have slabs of 3 pages, the descriptor apart
 * (slab.c's layout rule; checked below): a page may hold free objects
 * only while another page of the slab holds one still out. */
#define OBJ 640
#define N 3000

static void *obj[N];
static bool keep[N];
static size_t nkept;
static bool purging; /* the backend can purge, and no checking mode */

static unsigned char
pattern(size_t i)
{
    return (unsigned char)(i * 7 + 1);
}

static char *
run_of(const mp_slab_t *s)
{
    return mp_unhide(s->run_h);
}

/* The pages of s's run that [o, o + len) overlaps, as a mask. */
static uint64_t
pages_of(const mp_slab_t *s, const char *o, size_t len)
{
    size_t first = (size_t)(o - run_of(s)) / MP_PAGE_SIZE;
    size_t last = (size_t)(o + len - 1 - run_of(s)) / MP_PAGE_SIZE;
    uint64_t m = 0;

    for (size_t p = first; p <= last; p++)
        m |= (uint64_t)1 << p;
    return m;
}

/* Keep the objects that lie wholly in the first page of their slab, free
 * the others. */
static void
free_all_but_first_pages(void (*release)(void *, void *), void *owner,
                         size_t stride)
{
    nkept = 0;
    for (size_t i = 0; i < N; i++) {
        mp_slab_t *s = mp_slab_of(obj[i]);
        keep[i] = pages_of(s, obj[i], stride) == 1;
        nkept += keep[i];
        if (!keep[i])
            release(owner, obj[i]);
    }
}

static bool
is_kept(const void *o)
{
    for (size_t j = 0; j < N; j++)
        if (keep[j] && obj[j] == o)
            return true;
    return false;
}

/* The slabs the objects lie in, each once. */
static size_t
slabs_of(mp_slab_t **out)
{
    size_t k = 0;

    for (size_t i = 0; i < N; i++) {
        mp_slab_t *s = mp_slab_of(obj[i]);
        size_t j = 0;
        while (j < k && out[j] != s)
            j++;
        if (j == k)
            out[k++] = s;
    }
    return k;
}

/* The pages of s that should become holes (objects lie on them, all
 * carved and free, and not the descriptor's page), and how many objects
 * lie on them. */
static uint64_t
expected_holes(const struct mpool_cache *c, const mp_slab_t *s,
               size_t *objects)
{
    uint64_t touched = 0, busy = c->desc_on_slab ? 1 : 0, holes;
    char *objs = mp_slab_objs(s);

    for (size_t i = 0; i < c->objs_per_slab; i++) {
        uint64_t m = pages_of(s, objs + i * c->stride, c->stride);
        touched |= m;
        if (i >= s->carved || is_kept(objs + i * c->stride))
            busy |= m;
    }
    holes = touched & ~busy;
    *objects = 0;
    for (size_t i = 0; i < s->carved; i++)
        *objects += (pages_of(s, objs + i * c->stride, c->stride) & holes) != 0;
    return holes;
}

/* Whether the pages of mask in run are all resident (want) or all not. */
static bool
resident_as(char *run, size_t npages, uint64_t mask, bool want)
{
    unsigned char vec[MP_RUN_HOLES_MAX];

    if (mincore(run, npages * MP_PAGE_SIZE, vec) != 0)
        return false;
    for (size_t p = 0; p < npages; p++)
        if (((mask >> p) & 1) && (bool)(vec[p] & 1) != want)
            return false;
    return true;
}

static bool
kept_intact(size_t size)
{
    for (size_t i = 0; i < N; i++)
        if (keep[i])
            for (size_t b = 0; b < size; b++)
                if (((unsigned char *)obj[i])[b] != pattern(i))
                    return false;
    return true;
}

static void
cache_release(void *cache, void *o)
{
    mpool_cache_free(cache, o);
}

/* An object cache without magazines: every free reaches its slab, so what
 * reclaim should purge is known before the call. */
static void
test_cache(void)
{
    mpool_cache_t *cache = mpool_cache_create(
        "holes", OBJ, 0, NULL, NULL, NULL, MPOOL_CACHE_NOMAGAZINE);
    struct mpool_cache *c = (struct mpool_cache *)cache;
    mpool_cache_stats_t st = {.size = sizeof(st)};
    static mp_slab_t *slabs[N];
    static uint64_t want[N];
    static void *again[N];
    size_t nslabs, want_pages = 0, want_objects = 0, total_before;
    size_t got, holes_before, pages_before;
    bool marked = true, gone = true, filled = true, disjoint = true;
    mp_arena_census_t census;

    if (cache == NULL)
        bail("mpool_cache_create failed");
    if (purging)
        ok(c->slab_pages == 3 && !c->desc_on_slab,
           "640-byte objects: slabs of 3 pages, the descriptor apart (%zu)",
           c->slab_pages);
    else
        skip(1, "checking mode's layout, or no purge");
    for (size_t i = 0; i < N; i++) {
        if ((obj[i] = mpool_cache_alloc(cache)) == NULL)
            bail("mpool_cache_alloc failed");
        memset(obj[i], pattern(i), OBJ);
    }
    free_all_but_first_pages(cache_release, cache, c->stride);
    nslabs = slabs_of(slabs);
    for (size_t k = 0; k < nslabs; k++) {
        size_t objects;
        want[k] = expected_holes(c, slabs[k], &objects);
        want_pages += (size_t)__builtin_popcountll(want[k]);
        want_objects += objects;
    }
    diag("%d objects, %zu kept, %zu slabs, %zu pages of free objects only",
         N, nkept, nslabs, want_pages);
    if (purging)
        ok(want_pages >= nslabs, "the pattern leaves whole pages free");
    mpool_cache_stats(cache, &st);
    total_before = st.objects_total;
    pages_before = st.pages;

    holes_before = atomic_load(&mp_reclaim_hole_pages);
    got = mpool_reclaim(NULL);
    if (!purging) {
        is_size(atomic_load(&mp_reclaim_hole_pages) - holes_before, 0,
                "no holes where they cannot be made");
        ok(kept_intact(OBJ), "the objects out keep their contents");
    } else {
        is_size(atomic_load(&mp_reclaim_hole_pages) - holes_before,
                want_pages, "reclaim purges exactly the pages of free "
                            "objects only");
        ok(got >= want_pages, "and counts them (%zu >= %zu)", got,
           want_pages);
        for (size_t k = 0; k < nslabs; k++) {
            uint64_t h = mp_pages_holes_within(run_of(slabs[k]),
                                               c->slab_pages, false);
            marked &= h == want[k];
            gone &= resident_as(run_of(slabs[k]), c->slab_pages, want[k],
                                false);
        }
        ok(marked, "the page level has each hole as holding no memory");
        ok(gone, "no hole is resident");
        ok(kept_intact(OBJ), "the objects out keep their contents");
        mpool_cache_stats(cache, &st);
        is_size(st.objects_total, total_before - want_objects,
                "statistics: the objects in holes are not counted held");
        is_size(st.pages, pages_before, "the slabs stay the cache's");
    }
    mp_census(&census); /* panics on a breach of the page level's rules */
    ok(census.run_pages > 0, "the page level's census agrees after the purge");

    /* Everything freed is handed out again before a new slab is made. */
    for (size_t i = 0; i < N - nkept; i++) {
        if ((again[i] = mpool_cache_alloc(cache)) == NULL)
            bail("mpool_cache_alloc failed after the purge");
        memset(again[i], 0xa5, OBJ);
        disjoint &= !is_kept(again[i]);
    }
    ok(disjoint, "no object handed out twice");
    ok(kept_intact(OBJ), "the objects out kept their contents");
    mpool_cache_stats(cache, &st);
    is_size(st.pages, pages_before, "the holes were filled, no slab made");
    ok(c->objs_holed == 0 && st.objects_total >= total_before,
       "every object counted again (%zu, %zu before the purge)",
       st.objects_total, total_before);
    for (size_t k = 0; k < nslabs; k++) {
        filled &= mp_pages_holes_within(run_of(slabs[k]), c->slab_pages,
                                        false) == 0;
        filled &= slabs[k]->holed == 0;
    }
    ok(filled, "no hole left, the pages holding memory again");
    mp_census(&census);
    ok(census.run_pages > 0, "the page level's census agrees after the refill");

    for (size_t i = 0; i < N - nkept; i++)
        mpool_cache_free(cache, again[i]);
    mpool_reclaim(NULL); /* holes again, then the slabs go with them */
    for (size_t i = 0; i < N; i++)
        if (keep[i])
            mpool_cache_free(cache, obj[i]);
    mpool_reclaim(NULL);
    mp_census(&census);
    if (purging)
        is_size(census.free_committed, 0,
                "slabs with holes given back: no free page counted as "
                "holding memory");
    else
        ok(census.run_pages > 0, "the census agrees once the slabs are back");
    is_int(mpool_cache_destroy(cache), 0, "the cache is destroyed");
}

static int
walk_count(void *block, size_t usable, void *arg)
{
    struct {
        size_t seen, strangers;
    } *w = arg;

    (void)usable;
    if (is_kept(block))
        w->seen++;
    else
        w->strangers++;
    return 0;
}

static void
pool_release(void *pool, void *o)
{
    mpool_free(pool, o);
}

/* A pool's class, with its magazines: the same through mpool_reclaim(pool),
 * with mpool_walk() and mpool_reset() over the holes. */
static void
test_pool(void)
{
    mpool_t *pool = mpool_create(NULL);
    struct {
        size_t seen, strangers;
    } w = {0, 0};
    size_t holes_before, got, stride;
    mpool_stats_t st = {.size = sizeof(st)}, after = {.size = sizeof(st)};
    mp_arena_census_t census;
    bool fresh = true;

    if (pool == NULL)
        bail("mpool_create failed");
    for (size_t i = 0; i < N; i++) {
        if ((obj[i] = mpool_alloc(pool, OBJ)) == NULL)
            bail("mpool_alloc failed");
        memset(obj[i], pattern(i), OBJ);
    }
    stride = mp_slab_of(obj[0])->cache->stride;
    free_all_but_first_pages(pool_release, pool, stride);
    mpool_stats(pool, &st);
    holes_before = atomic_load(&mp_reclaim_hole_pages);
    got = mpool_reclaim(pool);
    if (purging)
        ok(atomic_load(&mp_reclaim_hole_pages) > holes_before &&
               got >= atomic_load(&mp_reclaim_hole_pages) - holes_before,
           "a pool's reclaim purges its classes' holes and counts them");
    else
        is_size(atomic_load(&mp_reclaim_hole_pages) - holes_before, 0,
                "no holes where they cannot be made");
    ok(kept_intact(OBJ), "the blocks out keep their contents");
    mpool_stats(pool, &after);
    is_size(after.bytes_in_use, st.bytes_in_use,
            "bytes in use unchanged by the purge");
    is_int(mpool_walk(pool, walk_count, &w), 0, "mpool_walk over holes");
    ok(w.seen == nkept && w.strangers == 0,
       "it sees the blocks out and nothing in a hole (%zu of %zu, %zu "
       "others)",
       w.seen, nkept, w.strangers);

    is_int(mpool_reset(pool), 0, "mpool_reset over slabs with holes");
    for (size_t i = 0; i < N; i++) {
        unsigned char *p = mpool_alloc(pool, OBJ);
        if (p == NULL)
            bail("mpool_alloc failed after the reset");
        memset(p, 0x5a, OBJ);
        fresh &= p[0] == 0x5a && p[OBJ - 1] == 0x5a;
    }
    ok(fresh, "every block is usable again after the reset");
    mp_census(&census);
    ok(census.run_pages > 0, "the page level's census agrees after the reset");
    mpool_destroy(pool);
}

static int
ctor_mark(void *o, void *arg)
{
    (void)arg;
    memset(o, 0x3c, OBJ);
    return 0;
}

/* A constructor's objects keep their state while free, and checking
 * mode's keep their poison and state words: no holes in either. */
static void
test_no_holes(const char *name, mpool_ctor_fn *ctor, unsigned flags)
{
    mpool_cache_t *cache = mpool_cache_create(
        name, OBJ, 0, ctor, NULL, NULL, flags | MPOOL_CACHE_NOMAGAZINE);
    size_t holes_before;
    bool constructed = true;

    if (cache == NULL)
        bail("mpool_cache_create failed");
    for (size_t i = 0; i < N; i++)
        if ((obj[i] = mpool_cache_alloc(cache)) == NULL)
            bail("mpool_cache_alloc failed");
    free_all_but_first_pages(cache_release, cache,
                             ((struct mpool_cache *)cache)->stride);
    holes_before = atomic_load(&mp_reclaim_hole_pages);
    mpool_reclaim(NULL);
    is_size(atomic_load(&mp_reclaim_hole_pages) - holes_before, 0,
            "%s: no holes", name);
    for (size_t i = 0; i < N; i++)
        if (!keep[i]) {
            unsigned char *p = mpool_cache_alloc(cache);
            if (p == NULL)
                bail("mpool_cache_alloc failed");
            if (ctor != NULL)
                constructed &= p[0] == 0x3c && p[OBJ - 1] == 0x3c;
            obj[i] = p;
        }
    if (ctor != NULL)
        ok(constructed, "%s: free objects kept their constructed state",
           name);
    for (size_t i = 0; i < N; i++)
        mpool_cache_free(cache, obj[i]);
    is_int(mpool_cache_destroy(cache), 0, "%s: destroyed", name);
}

/* Racing: each thread keeps RACE_LIVE blocks of a pool's class, replaces
 * one at random at each step, stamps every word of a new block with its
 * owner and slot, and checks the stamp before it frees. */
#define RACE_THREADS 3
#define RACE_LIVE 400
#define RACE_STEPS 200000

static mpool_t *race_pool;
static atomic_bool race_stop;
static atomic_ulong race_bad, race_failed, race_rounds;

static uint64_t
stamp(unsigned t, size_t slot)
{
    return ((uint64_t)t << 32 | slot) * 0x9e3779b97f4a7c15ull | 1;
}

static void *
race_worker(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    uint64_t *live[RACE_LIVE] = {0}, rng = t * 0x2545f4914f6cdd1dull + 7;

    for (unsigned long step = 0; step < RACE_STEPS || !atomic_load(&race_stop);
         step++) {
        size_t slot;

        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        slot = (size_t)(rng % RACE_LIVE);
        if (live[slot] != NULL) {
            for (size_t w = 0; w < OBJ / 8; w++)
                if (live[slot][w] != stamp(t, slot))
                    atomic_fetch_add(&race_bad, 1);
            mpool_free(race_pool, live[slot]);
            live[slot] = NULL;
        }
        /* a quarter of the steps only free: the classes' slabs empty
         * out in part, which is where holes come from */
        if ((rng >> 40) % 4 == 0)
            continue;
        if ((live[slot] = mpool_alloc(race_pool, OBJ)) == NULL) {
            atomic_fetch_add(&race_failed, 1);
            continue;
        }
        for (size_t w = 0; w < OBJ / 8; w++)
            live[slot][w] = stamp(t, slot);
        if (step >= RACE_STEPS * 4)
            break; /* the reclaimer is slow: stop all the same */
    }
    for (size_t i = 0; i < RACE_LIVE; i++)
        mpool_free(race_pool, live[i]);
    return NULL;
}

static void
race_child(void *arg)
{
    pthread_t th[RACE_THREADS];
    mp_arena_census_t census;
    size_t holes_before = atomic_load(&mp_reclaim_hole_pages), made;

    (void)arg;
    watch_phase("setting up");
    if ((race_pool = mpool_create(NULL)) == NULL)
        _exit(1);
    /* holes to begin with, which the threads fill while reclaim makes
     * more; the blocks kept stay out to the end */
    for (size_t i = 0; i < N; i++) {
        if ((obj[i] = mpool_alloc(race_pool, OBJ)) == NULL)
            _exit(1);
        memset(obj[i], pattern(i), OBJ);
    }
    free_all_but_first_pages(pool_release, race_pool,
                             mp_slab_of(obj[0])->cache->stride);
    (void)mpool_reclaim(race_pool);
    made = atomic_load(&mp_reclaim_hole_pages) - holes_before;
    watch_check(3, purging ? made > 0 : made == 0);
    for (unsigned t = 0; t < RACE_THREADS; t++)
        if (pthread_create(&th[t], NULL, race_worker,
                           (void *)(uintptr_t)t) != 0)
            _exit(1);
    for (int r = 0; r < 200; r++) {
        watch_phase("mpool_reclaim round %d, racing the threads", r);
        (void)mpool_reclaim(r % 2 ? NULL : race_pool);
        atomic_fetch_add(&race_rounds, 1);
    }
    atomic_store(&race_stop, true);
    watch_phase("joining the threads");
    for (unsigned t = 0; t < RACE_THREADS; t++)
        pthread_join(th[t], NULL);
    watch_check(0, atomic_load(&race_bad) == 0);
    watch_check(1, atomic_load(&race_failed) == 0);
    diag("%zu hole pages made in %lu rounds",
         atomic_load(&mp_reclaim_hole_pages) - holes_before,
         atomic_load(&race_rounds));
    watch_phase("the census");
    mp_census(&census); /* panics (the child dies) on a breach */
    watch_check(2, census.run_pages > 0);
    watch_check(4, kept_intact(OBJ));
    mpool_destroy(race_pool);
}

static void
test_race(void)
{
    static const char *const checks[] = {
        "no block changed under its owner, none handed out twice",
        "no allocation failed",
        "the page level's census agrees afterwards",
        "holes made before the threads start (none without purge)",
        "the blocks kept throughout keep their contents",
    };

    watch_run("3 threads racing mpool_reclaim's holes", race_child, NULL,
              watch_deadline(120), checks, 5);
}

int
main(void)
{
    mpool_cache_t *probe;
    mpool_cache_stats_t st = {.size = sizeof(st)};

    plan_lazy();
    if ((probe = mpool_cache_create("probe", OBJ, 0, NULL, NULL, NULL, 0)) ==
        NULL)
        bail("mpool_cache_create failed");
    mpool_cache_stats(probe, &st);
    mpool_cache_destroy(probe);
    /* checking mode (MPOOL_DEBUG=1) keeps free objects' contents too */
    purging = mp_config.can_purge && !(st.flags & MPOOL_CACHE_DEBUG);
    diag("holes: %s", purging ? "made" : "not made (no purge, or checking)");
    test_cache();
    test_pool();
    test_no_holes("holes-ctor", ctor_mark, 0);
    test_no_holes("holes-checking", NULL, MPOOL_CACHE_DEBUG);
    test_race();
    return tap_done();
}
