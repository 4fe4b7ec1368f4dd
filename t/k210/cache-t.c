/* SPDX-License-Identifier: MIT */
/*
 * t/k210/cache-t.c - object caches of the k210 build on two harts at once
 * (bare metal, QEMU virt): a cache of each hart's own, a shared cache with
 * a constructor whose objects go from one hart to the other, a zeroing
 * cache, and a cache run dry by both harts until ENOMEM; then statistics,
 * destruction and reclaim.
 */
#include "kernel.h"

#define CHURN_ROUNDS 20000u /* allocations per hart per cache */
#define CHURN_LIVE 256u     /* objects a hart holds at once */
#define CROSS_OBJECTS 4000u /* objects each hart hands to the other */
#define ZERO_ROUNDS 5000u
#define OWN_SIZE 200u
#define SHARED_SIZE 48u
#define ZERO_SIZE 100u
#define BIG_SIZE 2000u
#define CTOR_MAGIC 0x63746f72ull /* "ctor" */

typedef struct hart_result {
    unsigned own_create_failed;
    unsigned own_bad;       /* objects whose contents changed */
    unsigned own_failed;    /* allocations that failed */
    int own_destroy;        /* mpool_cache_destroy's result */
    unsigned shared_bad;    /* not constructed, misaligned or changed */
    unsigned shared_failed;
    unsigned cross_got;
    unsigned cross_bad;
    unsigned zero_dirty;    /* zero-cache objects that were not zero */
    unsigned zero_failed;
    size_t big_objects;     /* taken from the big cache until NULL */
    int big_errno;
    void *big_list;
    unsigned big_bad;       /* the other hart's objects that changed */
    size_t reclaimed;
} hart_result_t;

static hart_result_t result[RV_NHARTS];
static rv_mbox_t mbox[RV_NHARTS]; /* mbox[h]: objects for hart h to free */
static mpool_cache_t *shared, *zero, *big;
static atomic_ulong ctor_calls, dtor_calls;

static int
shared_ctor(void *obj, void *arg)
{
    (void)arg;
    *(uint64_t *)obj = CTOR_MAGIC;
    atomic_fetch_add_explicit(&ctor_calls, 1, memory_order_relaxed);
    return 0;
}

static void
shared_dtor(void *obj, void *arg)
{
    (void)arg;
    if (*(uint64_t *)obj == CTOR_MAGIC)
        atomic_fetch_add_explicit(&dtor_calls, 1, memory_order_relaxed);
}

/* An object of the shared cache in use: the constructor's word, then a
 * pattern seeded by its address. */
static bool
shared_take(uint64_t *obj)
{
    bool good = obj != NULL && (uintptr_t)obj % 16 == 0 &&
                obj[0] == CTOR_MAGIC;

    if (obj != NULL)
        rv_fill(obj + 1, SHARED_SIZE - 8, (uintptr_t)obj);
    return good;
}

/* Check it and put it back in its constructed state. */
static bool
shared_give(uint64_t *obj)
{
    bool good = obj[0] == CTOR_MAGIC &&
                rv_check(obj + 1, SHARED_SIZE - 8, (uintptr_t)obj) == SIZE_MAX;

    mpool_cache_free(shared, obj);
    return good;
}

/* A cache of the hart's own: objects filled, checked, freed. */
static void
own_cache(unsigned hart)
{
    hart_result_t *r = &result[hart];
    char name[] = "hart?";
    struct { void *p; uint64_t seed; } live[CHURN_LIVE] = {{0}};
    uint64_t rng = 0x9e3779b97f4a7c15ull * (hart + 1);
    size_t size = OWN_SIZE + 8 * hart;
    mpool_cache_t *c;

    name[4] = (char)('0' + hart);
    c = mpool_cache_create(name, size, 0, NULL, NULL, NULL, 0);
    if (c == NULL) {
        r->own_create_failed = 1;
        return;
    }
    for (unsigned round = 0; round < CHURN_ROUNDS + CHURN_LIVE; round++) {
        unsigned i = (unsigned)(rv_rand(&rng) % CHURN_LIVE);

        if (round >= CHURN_ROUNDS)
            i = round - CHURN_ROUNDS;
        if (live[i].p != NULL) {
            if (rv_check(live[i].p, size, live[i].seed) != SIZE_MAX)
                r->own_bad++;
            mpool_cache_free(c, live[i].p);
            live[i].p = NULL;
        }
        if (round >= CHURN_ROUNDS)
            continue;
        live[i].seed = rv_rand(&rng);
        live[i].p = mpool_cache_alloc(c);
        if (live[i].p == NULL)
            r->own_failed++;
        else
            rv_fill(live[i].p, size, live[i].seed);
    }
    r->own_destroy = mpool_cache_destroy(c);
}

/* Both harts on the shared cache at once. */
static void
shared_churn(unsigned hart)
{
    hart_result_t *r = &result[hart];
    uint64_t *live[CHURN_LIVE] = {0};
    uint64_t rng = 0x2545f4914f6cdd1dull * (hart + 1);

    for (unsigned round = 0; round < CHURN_ROUNDS + CHURN_LIVE; round++) {
        unsigned i = (unsigned)(rv_rand(&rng) % CHURN_LIVE);

        if (round >= CHURN_ROUNDS)
            i = round - CHURN_ROUNDS;
        if (live[i] != NULL) {
            r->shared_bad += !shared_give(live[i]);
            live[i] = NULL;
        }
        if (round >= CHURN_ROUNDS)
            continue;
        live[i] = mpool_cache_alloc(shared);
        if (live[i] == NULL)
            r->shared_failed++;
        else
            r->shared_bad += !shared_take(live[i]);
    }
}

/* Objects of the shared cache allocated here and freed by the other. */
static void
shared_cross(unsigned hart)
{
    hart_result_t *r = &result[hart];
    rv_mbox_t *out = &mbox[1 - hart], *in = &mbox[hart];
    unsigned sent = 0;
    uint64_t *pending = NULL, *obj;
    uint64_t deadline = rv_deadline();

    while (sent < CROSS_OBJECTS || r->cross_got < CROSS_OBJECTS) {
        rv_check_deadline(deadline, "objects from one hart to the other");
        if (sent < CROSS_OBJECTS) {
            if (pending == NULL) {
                pending = mpool_cache_alloc(shared);
                if (pending == NULL) {
                    r->shared_failed++;
                    pending = RV_MBOX_FAILED;
                } else {
                    r->shared_bad += !shared_take(pending);
                }
            }
            if (rv_mbox_put(out, pending)) {
                pending = NULL;
                sent++;
            }
        }
        obj = rv_mbox_get(in);
        if (obj == RV_MBOX_FAILED) {
            r->cross_got++;
        } else if (obj != NULL) {
            r->cross_got++;
            r->cross_bad += !shared_give(obj);
        }
    }
}

/* A zeroing cache: every object comes out zero, however it went back. */
static void
zero_churn(unsigned hart)
{
    hart_result_t *r = &result[hart];

    for (unsigned round = 0; round < ZERO_ROUNDS; round++) {
        unsigned char *a = mpool_cache_alloc(zero);
        unsigned char *b = mpool_cache_alloc(zero);

        if (a == NULL || b == NULL) {
            r->zero_failed++;
            mpool_cache_free(zero, a);
            mpool_cache_free(zero, b);
            continue;
        }
        for (unsigned i = 0; i < ZERO_SIZE; i++)
            r->zero_dirty += (a[i] | b[i]) != 0;
        rv_fill(a, ZERO_SIZE, round);
        rv_fill(b, ZERO_SIZE, round + hart);
        mpool_cache_free(zero, b);
        mpool_cache_free(zero, a);
    }
}

/* Both harts take objects of BIG_SIZE bytes until the library says
 * ENOMEM; each object is marked with its address and linked. */
static void
big_exhaust(unsigned hart)
{
    hart_result_t *r = &result[hart];
    uint64_t *obj, *list = NULL;

    for (;;) {
        mpool_errno = 0;
        obj = mpool_cache_alloc(big);
        if (obj == NULL)
            break;
        obj[0] = (uintptr_t)list;
        rv_fill(obj + 1, BIG_SIZE - 8, (uintptr_t)obj);
        list = obj;
        r->big_objects++;
    }
    r->big_errno = mpool_errno;
    r->big_list = list;
}

/* Check and free the other hart's big objects. */
static void
big_free_other(unsigned hart)
{
    uint64_t *obj = result[1 - hart].big_list, *next;

    for (; obj != NULL; obj = next) {
        next = (uint64_t *)(uintptr_t)obj[0];
        if (rv_check(obj + 1, BIG_SIZE - 8, (uintptr_t)obj) != SIZE_MAX)
            result[hart].big_bad++;
        mpool_cache_free(big, obj);
    }
}

static void
both(unsigned hart)
{
    rv_barrier("own caches");
    own_cache(hart);
    rv_barrier("own caches done");
    if (hart == 0)
        for (unsigned h = 0; h < RV_NHARTS; h++)
            ok(!result[h].own_create_failed && result[h].own_bad == 0 &&
               result[h].own_failed == 0 && result[h].own_destroy == 0,
               "hart %u: own cache of %u-byte objects, %u allocations "
               "filled, checked, freed, cache destroyed (%u changed, %u "
               "failed, destroy %d)", h, OWN_SIZE + 8 * h, CHURN_ROUNDS,
               result[h].own_bad, result[h].own_failed,
               result[h].own_destroy);

    rv_barrier("shared cache");
    shared_churn(hart);
    rv_barrier("shared cache cross");
    shared_cross(hart);
    rv_barrier("shared cache done");
    if (hart == 0)
        for (unsigned h = 0; h < RV_NHARTS; h++) {
            ok(result[h].shared_bad == 0 && result[h].shared_failed == 0,
               "hart %u: shared cache, objects constructed, 16-byte "
               "aligned and intact (%u bad, %u failed)", h,
               result[h].shared_bad, result[h].shared_failed);
            ok(result[h].cross_got == CROSS_OBJECTS &&
               result[h].cross_bad == 0,
               "hart %u freed the %u objects hart %u allocated, intact "
               "(%u received, %u changed)", h, CROSS_OBJECTS, 1 - h,
               result[h].cross_got, result[h].cross_bad);
        }

    rv_barrier("zero cache");
    zero_churn(hart);
    rv_barrier("zero cache done");
    if (hart == 0)
        for (unsigned h = 0; h < RV_NHARTS; h++)
            ok(result[h].zero_dirty == 0 && result[h].zero_failed == 0,
               "hart %u: %u pairs from a zeroing cache came out zero (%u "
               "dirty bytes, %u failed)", h, ZERO_ROUNDS,
               result[h].zero_dirty, result[h].zero_failed);

    rv_barrier("exhaustion");
    big_exhaust(hart);
    rv_barrier("exhaustion done");
    if (hart == 0)
        for (unsigned h = 0; h < RV_NHARTS; h++)
            ok(result[h].big_errno == ENOMEM,
               "hart %u took %zu objects of %u bytes until NULL with "
               "ENOMEM (errno %d)", h, result[h].big_objects, BIG_SIZE,
               result[h].big_errno);
    if (hart == 0) {
        size_t len = (size_t)(__ram_end - __free_start);
        size_t total = result[0].big_objects + result[1].big_objects;

        ok(total * BIG_SIZE >= len / 4 * 3,
           "together they took %zu KiB, at least 3/4 of the %zu KiB",
           total * BIG_SIZE / 1024, len / 1024);
    }
    rv_barrier("exhaustion reported");
    big_free_other(hart);
    /* Each hart empties its own magazines. */
    result[hart].reclaimed = mpool_reclaim(NULL);
}

void
test_main(void)
{
    size_t len = (size_t)(__ram_end - __free_start);
    mpool_cache_stats_t st = {.size = sizeof(st)};
    size_t reclaimed;

    plan(23);
    is_u((unsigned long)mpool_k210_init(__free_start, len), 0,
         "mpool_k210_init(%p, %zu KiB) succeeds", (void *)__free_start,
         len / 1024);
    shared = mpool_cache_create("shared", SHARED_SIZE, 16, shared_ctor,
                                shared_dtor, NULL, 0);
    zero = mpool_cache_create("zero", ZERO_SIZE, 0, NULL, NULL, NULL,
                              MPOOL_CACHE_ZERO);
    big = mpool_cache_create("big", BIG_SIZE, 0, NULL, NULL, NULL, 0);
    ok(shared != NULL && zero != NULL && big != NULL,
       "three shared caches created");
    if (shared == NULL || zero == NULL || big == NULL)
        bail("cannot go on without the caches");

    rv_release_secondary();
    both(0);
    rv_wait_secondary("freeing hart 0's objects");

    ok(result[0].big_bad == 0 && result[1].big_bad == 0,
       "each hart freed the other's %u-byte objects, intact (%u + %u "
       "changed)", BIG_SIZE, result[0].big_bad, result[1].big_bad);
    ok(mpool_cache_stats(big, &st) == 0 && st.objects_in_use == 0,
       "the big cache has no object in use (%zu)", st.objects_in_use);
    ok(mpool_cache_stats(shared, &st) == 0 && st.objects_in_use == 0 &&
       st.allocs == st.frees &&
       st.allocs >= 2 * (CHURN_ROUNDS + CROSS_OBJECTS),
       "shared cache statistics: %llu allocations, %llu frees, %zu in use",
       (unsigned long long)st.allocs, (unsigned long long)st.frees,
       st.objects_in_use);
    is_u((unsigned long)mpool_cache_destroy(big), 0,
         "the big cache is destroyed");
    is_u((unsigned long)mpool_cache_destroy(zero), 0,
         "the zeroing cache is destroyed");
    is_u((unsigned long)mpool_cache_destroy(shared), 0,
         "the shared cache is destroyed");
    ok(atomic_load(&dtor_calls) == atomic_load(&ctor_calls) &&
       atomic_load(&ctor_calls) > 0,
       "the destructor ran once for each constructed object (%lu, %lu)",
       (unsigned long)atomic_load(&ctor_calls),
       (unsigned long)atomic_load(&dtor_calls));
    mpool_errno = 0;
    ok(mpool_cache_find("shared") == NULL && mpool_errno == ENOENT,
       "a destroyed cache is not found (ENOENT)");
    reclaimed = mpool_reclaim(NULL);
    ok(result[0].reclaimed + result[1].reclaimed + reclaimed > 0,
       "mpool_reclaim gave back %zu + %zu pages on the harts, then %zu",
       result[0].reclaimed, result[1].reclaimed, reclaimed);
    is_u(mpool_reclaim(NULL), 0, "a second mpool_reclaim finds nothing");
}

void
test_secondary(unsigned hart)
{
    both(hart);
}
