/* SPDX-License-Identifier: MIT */
/*
 * t/cache-t.c - object caches through the public interface: every error
 * of mpool_cache_create/find/destroy/set_reclaim/stats/report, constructor
 * and destructor counts, a failing constructor, alignment, zero-filling,
 * caches without magazines, statistics, the report, reclaim giving
 * back every page of an emptied cache, and the depot's bound in bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpool.h"
#include "tap/tap.h"

struct counts {
    long ctor, dtor, fail_after; /* fail_after < 0: never fail */
};

/* How many times each address is constructed and not yet destructed:
 * never more than once, or the cache re-ran a constructor on a live
 * object. */
#define LIVE_SLOTS 65536
static const void *live_addr[LIVE_SLOTS];
static int live_count[LIVE_SLOTS];
static bool twice;

static int *
live_entry(const void *obj)
{
    size_t h = ((uintptr_t)obj >> 3) * 0x9e3779b97f4a7c15ull >> 48;

    while (live_addr[h] != NULL && live_addr[h] != obj)
        h = (h + 1) % LIVE_SLOTS;
    live_addr[h] = obj;
    return &live_count[h];
}

static int
counting_ctor(void *obj, void *arg)
{
    struct counts *c = arg;

    if (c->fail_after == 0)
        return -1;
    if (c->fail_after > 0)
        c->fail_after--;
    c->ctor++;
    if (++*live_entry(obj) > 1)
        twice = true;
    memset(obj, 0x5a, 24);
    ((long *)obj)[0] = 0x1234; /* the constructed state */
    return 0;
}

static void
counting_dtor(void *obj, void *arg)
{
    struct counts *c = arg;

    if (((long *)obj)[0] == 0x1234)
        c->dtor++;
    --*live_entry(obj);
}

static size_t reclaim_calls;
static void *held[64]; /* objects the program keeps "cached" itself */
static mpool_cache_t *held_cache;

static size_t
give_back(void *arg)
{
    size_t n = 0;

    (void)arg;
    reclaim_calls++;
    for (int i = 0; i < 64; i++)
        if (held[i] != NULL) {
            mpool_cache_free(held_cache, held[i]);
            held[i] = NULL;
            n++;
        }
    return n;
}

static void
test_errors(void)
{
    mpool_cache_t *a, *b;
    char long_name[MPOOL_CACHE_NAME_MAX + 2];

    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';

#define CREATE_FAILS(err, what, ...)                                       \
    do {                                                                   \
        errno = 0;                                                         \
        ok(mpool_cache_create(__VA_ARGS__) == NULL && errno == (err),      \
           "create with %s: NULL, errno %s", what, #err);                  \
    } while (0)
    CREATE_FAILS(EINVAL, "a NULL name", NULL, 32, 0, NULL, NULL, NULL, 0);
    CREATE_FAILS(EINVAL, "an empty name", "", 32, 0, NULL, NULL, NULL, 0);
    CREATE_FAILS(EINVAL, "a 32-byte name", long_name, 32, 0, NULL, NULL, NULL,
                 0);
    CREATE_FAILS(EINVAL, "size 0", "s0", 0, 0, NULL, NULL, NULL, 0);
    CREATE_FAILS(EINVAL, "align 24", "a24", 32, 24, NULL, NULL, NULL, 0);
    CREATE_FAILS(EINVAL, "align larger than a page", "abig", 32,
                 mpool_page_size() * 2, NULL, NULL, NULL, 0);
    CREATE_FAILS(EINVAL, "an unknown flag", "flag", 32, 0, NULL, NULL, NULL,
                 0x100);
    CREATE_FAILS(EINVAL, "ZERO and a constructor", "zc", 32, 0,
                 counting_ctor, NULL, NULL, MPOOL_CACHE_ZERO);
    CREATE_FAILS(ENOMEM, "size SIZE_MAX", "huge", SIZE_MAX, 0, NULL, NULL,
                 NULL, 0);

    long_name[MPOOL_CACHE_NAME_MAX] = '\0';
    a = mpool_cache_create(long_name, 32, 0, NULL, NULL, NULL, 0);
    ok(a != NULL, "a %d-byte name is accepted", MPOOL_CACHE_NAME_MAX);
    mpool_cache_destroy(a);

    a = mpool_cache_create("dup", 32, 0, NULL, NULL, NULL, 0);
    ok(a != NULL, "create \"dup\"");
    CREATE_FAILS(EEXIST, "a live cache's name", "dup", 64, 0, NULL, NULL,
                 NULL, 0);
    is_ptr(mpool_cache_find("dup"), a, "mpool_cache_find finds it");
    errno = 0;
    ok(mpool_cache_find("nobody") == NULL && errno == ENOENT,
       "find of an unknown name: NULL, ENOENT");
    errno = 0;
    ok(mpool_cache_find(NULL) == NULL && errno == EINVAL,
       "find of NULL: NULL, EINVAL");
    is_int(mpool_cache_destroy(a), 0, "destroy it");
    errno = 0;
    ok(mpool_cache_find("dup") == NULL && errno == ENOENT,
       "a destroyed cache is not found");
    b = mpool_cache_create("dup", 64, 0, NULL, NULL, NULL, 0);
    ok(b != NULL, "its name can be used again");
    mpool_cache_destroy(b);

    errno = 0;
    ok(mpool_cache_destroy(NULL) == -1 && errno == EINVAL,
       "destroy of NULL: -1, EINVAL");
    errno = 0;
    ok(mpool_cache_set_reclaim(NULL, give_back) == -1 && errno == EINVAL,
       "set_reclaim on NULL: -1, EINVAL");
}

static void
test_ctor_dtor(void)
{
    struct counts n = {0, 0, -1};
    mpool_cache_t *c;
    void *objs[1000];
    bool state_kept = true;

    c = mpool_cache_create("ctor", 40, 0, counting_ctor, counting_dtor, &n,
                           0);
    if (c == NULL)
        bail("create ctor cache");
    for (int i = 0; i < 1000; i++)
        if ((objs[i] = mpool_cache_alloc(c)) == NULL)
            bail("alloc");
    ok(n.ctor >= 1000 && n.ctor <= 1000 + 32,
       "1000 new objects: 1000 constructor calls, plus at most a "
       "magazine carved ahead (%ld)",
       n.ctor);
    long constructed = n.ctor;
    for (int i = 0; i < 1000; i++)
        mpool_cache_free(c, objs[i]);
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 1000; i++) {
            objs[i] = mpool_cache_alloc(c);
            state_kept &= objs[i] != NULL && ((long *)objs[i])[0] == 0x1234;
        }
        for (int i = 0; i < 1000; i++)
            mpool_cache_free(c, objs[i]);
    }
    ok(!twice && n.ctor <= constructed + 128,
       "5 more rounds of alloc/free construct no object twice (%ld "
       "constructed: the rest of the slabs, carved lazily)",
       n.ctor);
    ok(state_kept, "a freed object keeps its constructed state");
    is_int(n.dtor, 0, "and no destructor has run");
    is_int(mpool_cache_destroy(c), 0, "destroy");
    is_int(n.dtor, n.ctor, "destroy destructs every constructed object");

    /* A constructor that fails. */
    n = (struct counts){0, 0, 10};
    c = mpool_cache_create("ctorfail", 40, 0, counting_ctor, counting_dtor,
                           &n, MPOOL_CACHE_NOMAGAZINE);
    for (int i = 0; i < 10; i++)
        objs[i] = mpool_cache_alloc(c);
    errno = 0;
    ok(mpool_cache_alloc(c) == NULL && errno == ENOMEM,
       "a failing constructor fails the allocation: NULL, ENOMEM");
    n.fail_after = -1;
    objs[10] = mpool_cache_alloc(c);
    ok(objs[10] != NULL, "the cache works once the constructor does");
    for (int i = 0; i <= 10; i++)
        mpool_cache_free(c, objs[i]);
    mpool_cache_destroy(c);
    is_int(n.dtor, n.ctor, "every constructed object destructed (%ld)",
           n.ctor);
}

static void
test_alignment(void)
{
    static const size_t sizes[] = {1, 8, 24, 100, 1000, 5000};
    bool aligned = true;
    char name[32];

    for (size_t align = 8; align <= 4096; align *= 2)
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            mpool_cache_t *c;
            void *objs[50];
            snprintf(name, sizeof(name), "al%zu-%zu", align, sizes[i]);
            c = mpool_cache_create(name, sizes[i], align, NULL, NULL, NULL,
                                   0);
            if (c == NULL)
                bail("create %s", name);
            for (int k = 0; k < 50; k++) {
                objs[k] = mpool_cache_alloc(c);
                aligned &= objs[k] != NULL &&
                           ((uintptr_t)objs[k] & (align - 1)) == 0;
                if (objs[k] != NULL)
                    memset(objs[k], 0xab, sizes[i]);
            }
            for (int k = 0; k < 50; k++)
                mpool_cache_free(c, objs[k]);
            if (mpool_cache_destroy(c) != 0)
                aligned = false;
        }
    ok(aligned, "every object aligned, for align 8 .. 4096 and sizes 1 .. "
                "5000");
}

static void
test_flags(void)
{
    mpool_cache_t *z = mpool_cache_create("zero", 200, 0, NULL, NULL, NULL,
                                          MPOOL_CACHE_ZERO);
    mpool_cache_t *nm = mpool_cache_create("nomag", 64, 0, NULL, NULL, NULL,
                                           MPOOL_CACHE_NOMAGAZINE);
    mpool_cache_stats_t st = {.size = sizeof(st)};
    bool zero = true;
    void *p[100];

    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++) {
            unsigned char *o = mpool_cache_alloc(z);
            for (int b = 0; b < 200; b++)
                zero &= o[b] == 0;
            memset(o, 0xff, 200);
            p[i] = o;
        }
        for (int i = 0; i < 100; i++)
            mpool_cache_free(z, p[i]);
    }
    ok(zero, "MPOOL_CACHE_ZERO: objects are zero, also when reused");
    mpool_cache_stats(nm, &st);
    is_int(st.mode, MPOOL_MAGAZINE_NONE, "NOMAGAZINE: no magazines");
    for (int i = 0; i < 100; i++)
        p[i] = mpool_cache_alloc(nm);
    for (int i = 0; i < 100; i++)
        mpool_cache_free(nm, p[i]);
    mpool_cache_stats(nm, &st);
    ok(st.magazine_hits == 0 && st.magazine_misses == 200,
       "NOMAGAZINE: 200 calls, all to the slabs");
    mpool_cache_destroy(z);
    mpool_cache_destroy(nm);
}

static void
test_destroy_busy(void)
{
    mpool_cache_t *c = mpool_cache_create("busy", 64, 0, NULL, NULL, NULL, 0);
    void *p = mpool_cache_alloc(c);
    void *q;

    strcpy(p, "still here");
    errno = 0;
    ok(mpool_cache_destroy(c) == -1 && errno == EBUSY,
       "destroy with an object allocated: -1, EBUSY");
    is_string(p, "still here", "the object is intact");
    q = mpool_cache_alloc(c);
    ok(q != NULL, "the cache still works");
    mpool_cache_free(c, q);
    mpool_cache_free(c, NULL);
    {
        void *r = mpool_cache_alloc(c), *t = mpool_cache_alloc(c);
        ok(r != NULL && t != NULL && r != t,
           "freeing NULL did nothing: the next objects are real");
        mpool_cache_free(c, r);
        mpool_cache_free(c, t);
    }
    ok(mpool_cache_find("busy") == c, "and keeps its name");
    mpool_cache_free(c, p);
    is_int(mpool_cache_destroy(c), 0, "once it is freed, destroy works");
}

static void
test_stats_report_reclaim(void)
{
    enum { N = 100000 };
    static void *objs[N];
    /* 25 MB of objects; 5 MB in the 8 MiB of the k210 host build */
    const int n = tap_backend_is("k210") ? N / 5 : N;
    mpool_cache_stats_t st = {.size = sizeof(st)};
    mpool_cache_stats_t small = {.size = 8};
    mpool_cache_t *c = mpool_cache_create("stats", 256, 0, NULL, NULL, NULL,
                                          0);
    size_t rss_full, rss_after, pages;
    char buf[8192];
    FILE *f;
    int fds[2];

    errno = 0;
    ok(mpool_cache_stats(c, &small) == -1 && errno == EINVAL,
       "stats with a too-small .size: -1, EINVAL");
    errno = 0;
    ok(mpool_cache_stats(NULL, &st) == -1 && errno == EINVAL,
       "stats of NULL: -1, EINVAL");

    for (int i = 0; i < n; i++) {
        objs[i] = mpool_cache_alloc(c);
        if (objs[i] == NULL)
            bail("mpool_cache_alloc failed at %d of %d", i, n);
        memset(objs[i], i & 0xff, 256);
    }
    mpool_cache_stats(c, &st);
    is_size(st.objects_in_use, (size_t)n, "stats: %d objects in use", n);
    is_size(st.allocs, (size_t)n, "stats: %d allocations", n);
    is_size(st.object_size, 256, "stats: object size 256");
    ok(st.slab_size * 7 <= st.objects_per_slab * st.stride * 8,
       "stats: the slab's unusable tail is at most 1/8 of it");
    if (tap_under_memcheck_requests()) {
        /* under memcheck every call goes to the slabs (libmpool(7)) */
        is_int(st.mode, MPOOL_MAGAZINE_NONE, "under memcheck: no magazines");
        is_int((int)st.magazine_hits, 0, "under memcheck: no magazine hits");
    } else {
        ok(st.magazine_hits > (uint64_t)n * 9 / 10,
           "most allocations were magazine hits (%llu of %d)",
           (unsigned long long)st.magazine_hits, n);
        is_int(st.mode, MPOOL_MAGAZINE_PER_THREAD, "per-thread magazines");
    }

#if defined(MPOOL_HAVE_REPORT)
    f = tmpfile();
    ok(mpool_report(f) == 0, "mpool_report to a file");
    rewind(f);
    buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
    ok(strstr(buf, "\nstats ") != NULL && strstr(buf, "mpool_slab") != NULL,
       "the report has a line for the cache and the library's own");
    fclose(f);
    errno = 0;
    ok(mpool_report(NULL) == -1 && errno == EINVAL,
       "mpool_report(NULL): -1, EINVAL");
    if (pipe(fds) == 0) {
        close(fds[0]);
        errno = 0;
        ok(mpool_report_fd(fds[0]) == -1 && errno == EBADF,
           "mpool_report_fd on a closed descriptor: -1, EBADF");
        close(fds[1]);
    }
#else
    (void)buf;
    (void)f;
    (void)fds;
    skip(4, "mpool_report and mpool_report_fd: the k210 build has no "
            "stdio and no file descriptors");
#endif

    rss_full = tap_resident_bytes();
    for (int i = 0; i < n; i++)
        mpool_cache_free(c, objs[i]);
    mpool_cache_stats(c, &st);
    is_size(st.objects_in_use, 0, "all freed: none in use");
    is_size(st.frees, (size_t)n, "stats: %d frees", n);
    pages = mpool_reclaim(NULL);
    rss_after = tap_resident_bytes();
    mpool_cache_stats(c, &st);
    is_size(st.pages, 0, "after reclaim the emptied cache holds no page");
    ok(pages >= (size_t)n * 256 / mpool_page_size(),
       "reclaim counts at least the %zu pages of objects (%zu)",
       (size_t)n * 256 / mpool_page_size(), pages);
    if (tap_backend_is("k210"))
        skip(1, "resident memory: the k210 backend has no OS to give pages "
                "back to");
    else if (tap_under_tsan())
        skip(1, "resident memory: ThreadSanitizer's shadow and bookkeeping "
                "count in it");
    else
        ok(rss_full > rss_after &&
               rss_full - rss_after >= (size_t)n * 256 / 10 * 9,
           "resident memory drops by at least 90%% of the objects' bytes "
           "(%zu KiB)",
           (rss_full - rss_after) / 1024);
    mpool_cache_destroy(c);

    /* The reclaim callback. */
    held_cache = mpool_cache_create("held", 128, 0, NULL, NULL, NULL, 0);
    for (int i = 0; i < 64; i++)
        held[i] = mpool_cache_alloc(held_cache);
    ok(mpool_cache_set_reclaim(held_cache, give_back) == 0,
       "install a reclaim callback");
    mpool_reclaim(NULL);
    ok(reclaim_calls == 1 && held[0] == NULL && held[63] == NULL,
       "mpool_reclaim runs it, and it frees what it held");
    is_int(mpool_cache_destroy(held_cache), 0,
           "so the cache can be destroyed");
}

/* The depot keeps at most MP_DEPOT_BYTES_MAX (1 MiB) of free objects a
 * cache beyond its two magazines, as well as at most 512 objects: a
 * thread that frees 600 blocks of 16 KiB leaves its stack (2 x 4 rounds),
 * 64 in the depot and a magazine's slack cached, the rest in the slabs;
 * small objects still fill the depot to 512. */
static void
test_depot_bound(void)
{
    enum { N = 600 };
    static void *b[N];
    static const size_t sizes[] = {16384, 64};
    /* 9.6 MB would not fit in the k210 host build's 8 MiB: 3.2 there */
    const int count[] = {tap_backend_is("k210") ? N / 3 : N, N};
    size_t cached[2] = {0, 0};

    for (int k = 0; k < 2; k++) {
        mpool_cache_t *c = mpool_cache_create("depot-bound", sizes[k], 0,
                                              NULL, NULL, NULL, 0);
        mpool_cache_stats_t st = {.size = sizeof(st)};

        if (c == NULL)
            bail("mpool_cache_create(%zu) failed", sizes[k]);
        for (int i = 0; i < count[k]; i++)
            if ((b[i] = mpool_cache_alloc(c)) == NULL)
                bail("mpool_cache_alloc failed at %d", i);
        for (int i = 0; i < count[k]; i++)
            mpool_cache_free(c, b[i]);
        mpool_cache_stats(c, &st);
        if (st.mode == MPOOL_MAGAZINE_NONE) {
            mpool_cache_destroy(c);
            skip(2, "no magazines (memcheck): no depot");
            return;
        }
        cached[k] = st.objects_cached;
        mpool_cache_destroy(c);
    }
    ok(cached[0] <= 2 * 4 + 64 + 4,
       "%d blocks of 16 KiB freed: at most 1 MiB of them in the depot "
       "(%zu cached)", count[0], cached[0]);
    ok(cached[1] >= 512,
       "600 blocks of 64 bytes freed: the depot still keeps 512 (%zu "
       "cached)", cached[1]);
}

int
main(void)
{
    tap_skip_if_break_capped(); /* sbrk under valgrind */
    plan_lazy();
    test_errors();
    test_ctor_dtor();
    test_alignment();
    test_flags();
    test_destroy_busy();
    test_stats_report_reclaim();
    test_depot_bound();
    return tap_done();
}
