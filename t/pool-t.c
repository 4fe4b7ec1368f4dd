/* SPDX-License-Identifier: MIT */
/*
 * t/pool-t.c - pools: every size-class boundary, usable sizes, alignments
 * 1 B .. 2 MiB, realloc across classes, calloc and size overflow, size 0,
 * limits, retention (and the two empty slabs of one block it keeps; the
 * default pool gives the others back unpurged, for reuse, bounded),
 * the default pool, threads sharing a pool, and destroy giving every page
 * back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "mpool.h"
#include "tap/tap.h"

/* The k210 backend's host build has 8 MiB of RAM, where the OS backends
 * have as much as the machine: there, sizes stop where the RAM does. */
static bool k210;
#define K210_MAX_BLOCK ((size_t)1 << 20)

static void
test_classes(mpool_t *p)
{
    bool usable_ok = true, waste_ok = true, written = true;
    size_t worst_size = 0, max = k210 ? K210_MAX_BLOCK : (9u << 20);
    double worst = 0;

    /* every size up to 4 KiB, then every 61st up to 9 MiB (k210: 1 MiB) */
    for (size_t size = 0; size <= max;
         size += size < 4096 ? 1 : (size < (1u << 20) ? 61 : 4093)) {
        unsigned char *b = mpool_alloc(p, size);
        size_t u;
        if (b == NULL)
            bail("mpool_alloc(%zu)", size);
        u = mpool_usable_size(b);
        usable_ok &= u >= size && (size <= 8 || ((uintptr_t)b & 15) == 0);
        if (size > 128 && size <= (8u << 20) && (double)(u - size) / u > worst) {
            worst = (double)(u - size) / u;
            worst_size = size;
        }
        if (size > 128 && size <= (8u << 20))
            waste_ok &= (u - size) * 8 <= u;
        if (size > 0) {
            b[size - 1] = 2;
            b[0] = 1;
            written &= b[0] == 1 && b[size - 1] == (size == 1 ? 1 : 2);
        }
        mpool_free(p, b);
    }
    ok(usable_ok, "usable size >= requested and 16-byte alignment, sizes 0 "
                  ".. %zu MiB", max >> 20);
    ok(waste_ok, "above 128 B the class wastes at most 12.5%% (worst %.1f%% "
                 "at %zu B)",
       100 * worst, worst_size);
    ok(written, "first and last bytes of every block are writable");
}

static void
test_alignment(mpool_t *p)
{
    bool aligned = true;
    /* Up to 2 MiB, and half a segment on k210 (its 256 KiB segments), a
     * block lies in the first segment of its run; past that, in a later
     * segment of a span of its own (test_wide_alignment). */
    size_t max = k210 ? (128u << 10) : (2u << 20);

    for (size_t a = 1; a <= max; a *= 2) {
        size_t sizes[] = {1, a > 1 ? a - 1 : 1, a, a + 1, 3 * a};
        void *b[5];
        for (int i = 0; i < 5; i++) {
            b[i] = mpool_aligned_alloc(p, a, sizes[i]);
            aligned &= b[i] != NULL && ((uintptr_t)b[i] & (a - 1)) == 0 &&
                       mpool_usable_size(b[i]) >= sizes[i];
            if (b[i] != NULL)
                memset(b[i], 0x5a, sizes[i]);
        }
        for (int i = 0; i < 5; i++)
            mpool_free(p, b[i]);
    }
    ok(aligned, "alignments 1 B .. %zu KiB x sizes 1, a-1, a, a+1, 3a: "
                "aligned, usable, writable, freeable", max >> 10);
    errno = 0;
    ok(mpool_aligned_alloc(p, 24, 100) == NULL && errno == EINVAL,
       "alignment 24: NULL, EINVAL");
    errno = 0;
    ok(mpool_aligned_alloc(p, 0, 100) == NULL && errno == EINVAL,
       "alignment 0: NULL, EINVAL");
    errno = 0;
    ok(mpool_aligned_alloc(p, (SIZE_MAX >> 1) + 1, 100) == NULL &&
           errno == ENOMEM,
       "alignment 2^%zu (a power of two no run can hold): NULL, ENOMEM",
       sizeof(size_t) * 8 - 1);
}

/* Alignments past half a segment, as glibc's memalign serves them: the
 * block starts in a later segment of its span, which mpool_free and
 * mpool_usable_size find all the same. */
static void
test_wide_alignment(mpool_t *p)
{
    const size_t aligns[] = {k210 ? (256u << 10) : (4u << 20),
                             k210 ? (512u << 10) : (64u << 20)};
    bool good = true;

    for (int i = 0; i < 2; i++) {
        size_t a = aligns[i];
        size_t sizes[] = {100, a + 1};
        for (int j = 0; j < 2; j++) {
            unsigned char *b = mpool_aligned_alloc(p, a, sizes[j]);
            good &= b != NULL && ((uintptr_t)b & (a - 1)) == 0 &&
                    mpool_usable_size(b) >= sizes[j];
            if (b == NULL)
                continue;
            b[0] = 1;
            b[sizes[j] - 1] = 2;
            good &= b[0] == 1 && b[sizes[j] - 1] == 2;
            mpool_free(p, b);
        }
    }
    ok(good, "alignments %zu and %zu KiB, sizes 100 and a + 1: aligned, "
             "usable, writable, freeable",
       aligns[0] >> 10, aligns[1] >> 10);
}

static void
test_edges(mpool_t *p)
{
    void *a, *b, *r;

    errno = 0;
    ok(mpool_alloc(p, SIZE_MAX) == NULL && errno == ENOMEM,
       "SIZE_MAX bytes: NULL, ENOMEM");
    errno = 0;
    ok(mpool_alloc(p, SIZE_MAX - 4096) == NULL && errno == ENOMEM,
       "SIZE_MAX - 4096 bytes: NULL, ENOMEM");
    errno = 0;
    ok(mpool_calloc(p, SIZE_MAX / 2, 3) == NULL && errno == ENOMEM,
       "calloc whose product overflows: NULL, ENOMEM");
    a = mpool_alloc(p, 0);
    b = mpool_alloc(p, 0);
    ok(a != NULL && b != NULL && a != b, "size 0 gives unique blocks");
    mpool_free(p, a);
    mpool_free(p, b);
    mpool_free(p, NULL);
    is_size(mpool_usable_size(NULL), 0, "usable size of NULL is 0");
    {
        unsigned char *z = mpool_calloc(p, 1000, 7);
        bool zero = z != NULL;
        for (int i = 0; zero && i < 7000; i++)
            zero = z[i] == 0;
        ok(zero, "calloc gives zeros");
        memset(z, 0xff, 7000);
        mpool_free(p, z);
        z = mpool_calloc(p, 1000, 7);
        zero = z != NULL;
        for (int i = 0; zero && i < 7000; i++)
            zero = z[i] == 0;
        ok(zero, "... also when the block was used before");
        mpool_free(p, z);
    }

    /* realloc across classes, up to 16 MiB (k210: 1 MiB) and back */
    {
        unsigned char *q = mpool_alloc(p, 16);
        bool kept = true;
        size_t size = 16, max = k210 ? K210_MAX_BLOCK : (16u << 20);
        for (int i = 0; i < 16; i++)
            q[i] = (unsigned char)i;
        while (size < max) {
            size_t next = size * 2 + 3;
            q = mpool_realloc(p, q, next);
            if (q == NULL)
                bail("realloc to %zu", next);
            for (int i = 0; i < 16; i++)
                kept &= q[i] == (unsigned char)i;
            q[next - 1] = 0xee;
            size = next;
        }
        while (size > 16) {
            size /= 3;
            q = mpool_realloc(p, q, size);
            for (int i = 0; i < 16 && i < (int)size; i++)
                kept &= q[i] == (unsigned char)i;
        }
        ok(kept, "realloc from 16 B to %zu MiB and back keeps the contents",
           max >> 20);
        r = mpool_realloc(p, q, 5);
        ok(r == q || mpool_usable_size(r) >= 5, "shrinking within a class");
        q = r;
        r = mpool_realloc(p, q, mpool_usable_size(q));
        if (tap_under_memcheck_requests())
            skip(1, "under memcheck realloc always moves the block");
        else
            ok(r == q, "realloc to the block's usable size stays in place");
        q = r;
        /* growth by realloc leaves headroom; shrinks to half stay put */
        if (tap_under_memcheck_requests() || getenv("MPOOL_DEBUG") != NULL) {
            skip(3, "under memcheck or checking, realloc always moves");
        } else {
            unsigned char *g = mpool_alloc(p, 200), *h;
            size_t room;

            g[199] = 0x5a;
            h = mpool_realloc(p, g, 260); /* class 288: moves */
            room = mpool_usable_size(h);
            ok(h != NULL && h[199] == 0x5a && room >= 260 + 260 / 4 &&
                   mpool_realloc(p, h, room) == h,
               "a block that realloc grows out of its class gets a quarter "
               "more (%zu for 260), and grows into it in place", room);
            g = mpool_alloc(p, 1000); /* class 1024 */
            ok(mpool_realloc(p, g, 520) == g,
               "shrinking a block to half its class or more stays in place");
            h = mpool_realloc(p, g, 100);
            ok(h != NULL && h != g && mpool_usable_size(h) < 512,
               "shrinking it below half moves it to a smaller class");
            mpool_free(p, h);
        }
        errno = 0;
        ok(mpool_realloc(p, q, SIZE_MAX) == NULL && errno == ENOMEM &&
               q[0] == 0,
           "realloc to SIZE_MAX: NULL, ENOMEM, the block untouched");
        mpool_free(p, q);
    }
}

static void
test_limit(void)
{
    mpool_options_t o = {.size = sizeof(o), .name = "limited",
                         .limit = 1u << 20};
    mpool_options_t bad = {.size = 4};
    mpool_t *p;
    void *b[4096];
    int n = 0;

    errno = 0;
    ok(mpool_create(&bad) == NULL && errno == EINVAL,
       "options with a too-small .size: NULL, EINVAL");
    p = mpool_create(&o);
    if (p == NULL)
        bail("mpool_create");
    while (n < 4096 && (b[n] = mpool_alloc(p, 1000)) != NULL)
        n++;
    ok(n > 100 && n < 1100 && errno == ENOMEM,
       "a 1 MiB limit stops 1000-byte allocations after %d, with ENOMEM", n);
    errno = 0;
    ok(mpool_alloc(p, 2u << 20) == NULL && errno == ENOMEM,
       "a large block past the limit: NULL, ENOMEM");
    for (int i = 0; i < n; i++)
        mpool_free(p, b[i]);
    mpool_reclaim(p);
    ok((b[0] = mpool_alloc(p, 512u << 10)) != NULL,
       "after freeing and reclaiming, a 512 KiB block fits");
    mpool_free(p, b[0]);
    /* no realloc headroom under a limit: growth gets the class asked for */
    if (tap_under_memcheck_requests() || getenv("MPOOL_DEBUG") != NULL) {
        skip(1, "under memcheck or checking, realloc always moves");
    } else {
        void *g = mpool_alloc(p, 200), *h = mpool_realloc(p, g, 260);
        ok(h != NULL && mpool_usable_size(h) == 288,
           "a pool with a limit: realloc to 260 gets the class of 260 (%zu)",
           h != NULL ? mpool_usable_size(h) : 0);
        mpool_free(p, h);
    }
    mpool_destroy(p);
}

static void
test_retain(void)
{
    enum { N = 80000 };
    mpool_options_t o = {.size = sizeof(o), .name = "capped",
                         .retain = 64u << 10};
    mpool_t *capped = mpool_create(&o), *plain = mpool_create(NULL);
    static void *b[N];
    size_t full, after_capped, after_plain;

    mpool_reclaim(NULL);
    for (int i = 0; i < N; i++) {
        b[i] = mpool_alloc(capped, 256);
        memset(b[i], 3, 256);
    }
    full = tap_resident_bytes();
    for (int i = 0; i < N; i++)
        mpool_free(capped, b[i]);
    after_capped = tap_resident_bytes();
    diag("retain 64 KiB: resident %zu KiB with 20 MB of blocks, %zu KiB "
         "after freeing them, with no reclaim",
         full / 1024, after_capped / 1024);
    if (tap_under_valgrind())
        skip(1, "resident memory under valgrind is valgrind's own");
    else if (tap_under_tsan())
        skip(1, "resident memory: ThreadSanitizer's shadow and bookkeeping "
                "count in it");
    else
        ok(full > after_capped && full - after_capped >= (size_t)N * 256 / 10 * 8,
           "a pool with a 64 KiB retention cap gives 80%% of freed memory "
           "back as it is freed");
    for (int i = 0; i < N; i++) {
        b[i] = mpool_alloc(plain, 256);
        memset(b[i], 3, 256);
    }
    full = tap_resident_bytes();
    for (int i = 0; i < N; i++)
        mpool_free(plain, b[i]);
    after_plain = tap_resident_bytes();
    ok(after_plain + (size_t)N * 256 / 2 > full,
       "without a cap the freed memory is kept for reuse until reclaim");
    mpool_destroy(capped);
    mpool_destroy(plain);
}

/* A pool with a retain cap keeps at most two empty slabs of one block
 * with no magazines (the classes above 64 KiB) however far below the cap
 * it is: of 16 blocks of 100 KiB freed, a pool with a 4 MiB cap keeps
 * one or two in empty slabs (at least one, for a buffer freed and
 * allocated again); the rest go back as they are freed.  A pool without
 * a cap keeps all of them for their class until reclaim. */
static void
test_retain_one_block(void)
{
    enum { N = 16, SIZE = 100 << 10 };
    mpool_options_t o = {.size = sizeof(o), .name = "capped",
                         .retain = 4u << 20};
    mpool_t *pools[2] = {mpool_create(&o), mpool_create(NULL)};
    mpool_stats_t st[2];
    void *b[N];

    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < N; i++) {
            if ((b[i] = mpool_alloc(pools[k], SIZE)) == NULL)
                bail("mpool_alloc(%d) failed at %d", SIZE, i);
            memset(b[i], 3, SIZE);
        }
        for (int i = 0; i < N; i++)
            mpool_free(pools[k], b[i]);
        st[k] = (mpool_stats_t){.size = sizeof(st[k])};
        mpool_stats(pools[k], &st[k]);
    }
    ok(st[0].bytes_empty >= SIZE && st[0].bytes_empty <= 2 * (SIZE + 8192) &&
           st[0].bytes_free == st[0].bytes_empty,
       "retain 4 MiB: of 16 freed blocks of 100 KiB at most two stay, in "
       "empty slabs (%zu bytes empty, %zu free)",
       st[0].bytes_empty, st[0].bytes_free);
    ok(st[1].bytes_empty >= (size_t)N * SIZE,
       "without a cap they all stay, empty, for their class (%zu bytes "
       "empty)", st[1].bytes_empty);
    mpool_destroy(pools[0]);
    mpool_destroy(pools[1]);
}

static long
minor_faults(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        bail("getrusage");
    return ru.ru_minflt;
}

static mpool_system_stats_t
system_stats(void)
{
    mpool_system_stats_t s = {.size = sizeof(s)};

    if (mpool_system_stats(&s) != 0)
        bail("mpool_system_stats");
    return s;
}

/* n blocks of size from pool into b, each written through with byte */
static void
alloc_written(mpool_t *pool, void **b, int n, size_t size, int byte)
{
    for (int i = 0; i < n; i++) {
        if ((b[i] = mpool_alloc(pool, size)) == NULL)
            bail("mpool_alloc(%zu)", size);
        memset(b[i], byte, size);
    }
}

/* The default pool, under its own cap (not one the program set), gives a
 * slab of one block of 1 MiB or more past the two it keeps back to the
 * page level unpurged: its pages still hold memory, and a block of
 * another class reuses them without faulting them in again
 * (bench/large-buffers with buffers of 1-2 MiB).  The page level bounds
 * such free pages (MP_DIRTY_FREE_BYTES, 16 MiB over all arenas): past it
 * they are purged.  Seen in the committed bytes mpool_system_stats()
 * counts, and in the page faults of writing blocks of another class:
 * purged, the 1.25 MiB blocks would fault all their 1280 pages in anew;
 * reused, about half as many or none (the buddy system's blocks of the
 * freed runs do not all fit them). */
static void *
default_one_block_reuse(void *arg)
{
    enum { N = 6, BIG_N = 40 };
    size_t size = (size_t)3 << 19, other = (size_t)5 << 18; /* 1.5, 1.25 */
    mpool_t *d = mpool_default();
    mpool_system_stats_t s0, s1, s3;
    long faults;
    mpool_stats_t st = {.size = sizeof(st)};
    void *b[BIG_N];

    tap_stay_on_this_cpu();
    mpool_reclaim(NULL);
    s0 = system_stats();
    alloc_written(d, b, N, size, 3);
    for (int i = 0; i < N; i++)
        mpool_free(d, b[i]);
    s1 = system_stats();
    mpool_stats(d, &st);
    ok(st.bytes_empty <= 2 * (size + 8192) &&
           s1.bytes_committed >= s0.bytes_committed + (N - 3) * size,
       "the default pool keeps two empty slabs of 1.5 MiB and gives the "
       "other 4 back unpurged (%zu bytes empty, %zu more committed)",
       st.bytes_empty, s1.bytes_committed - s0.bytes_committed);
    faults = minor_faults();
    alloc_written(d, b, N - 2, other, 4);
    faults = minor_faults() - faults;
    if (tap_under_valgrind() || tap_under_asan() || tap_under_tsan())
        skip(1, "valgrind's or a sanitizer's shadow memory faults in with "
                "the blocks");
    else
        ok(faults >= 0 && (size_t)faults < (N - 2) * other / 4096 / 4 * 3,
           "4 blocks of 1.25 MiB mostly reuse those pages (%ld page faults "
           "writing %zu pages)",
           faults, (N - 2) * other / 4096);
    for (int i = 0; i < N - 2; i++)
        mpool_free(d, b[i]);
    alloc_written(d, b, BIG_N, size, 5);
    for (int i = 0; i < BIG_N; i++)
        mpool_free(d, b[i]);
    s3 = system_stats();
    ok(s3.bytes_committed - s3.bytes_in_use <=
           ((size_t)16 << 20) + 2 * (size + 8192) + ((size_t)4 << 20),
       "of 60 MiB of such blocks freed, at most the page level's 16 MiB, "
       "the two slabs kept and 4 MiB of other pages still hold memory "
       "(%zu MiB)",
       (s3.bytes_committed - s3.bytes_in_use) >> 20);
    mpool_reclaim(NULL);
    return arg;
}

/* In a thread of its own, kept on one CPU: what a free leaves for reuse
 * is in the arena of the CPU it ran on. */
static void
test_default_one_block_reuse(void)
{
    pthread_t t;

    if (pthread_create(&t, NULL, default_one_block_reuse, NULL) != 0)
        bail("pthread_create");
    pthread_join(t, NULL);
}

/* k210: how many pages could be allocated now, one at a time (and freed
 * again at once).  A fixed RAM's free memory, where the OS backends look at
 * resident memory instead. */
static size_t
free_pages_k210(void)
{
    static void *pages[4096];
    size_t n = 0;

    while (n < 4096 && (pages[n] = mpool_pages_alloc(1)) != NULL)
        n++;
    for (size_t i = 0; i < n; i++)
        mpool_pages_free(pages[i], 1);
    return n;
}

/* The pages a pool holds, in use or not, by mpool_stats. */
static size_t
pool_held_pages(mpool_t *p)
{
    mpool_stats_t st = {.size = sizeof(st)};

    if (mpool_stats(p, &st) != 0)
        bail("mpool_stats");
    return st.bytes_held / mpool_page_size();
}

/* test_retain within the k210 host build's 8 MiB: 4 MB of blocks, and what
 * the pools hold, and the RAM left free after reclaim, measured instead of
 * resident memory. */
static void
test_retain_k210(void)
{
    enum { N = 16000 };
    mpool_options_t o = {.size = sizeof(o), .name = "capped",
                         .retain = 64u << 10};
    mpool_t *capped = mpool_create(&o), *plain = mpool_create(NULL);
    static void *b[N];
    size_t blocks = (size_t)N * 256 / mpool_page_size(), start, now, held;

    mpool_reclaim(NULL);
    start = free_pages_k210();
    for (int i = 0; i < N; i++) {
        if ((b[i] = mpool_alloc(capped, 256)) == NULL)
            bail("mpool_alloc(capped, 256) failed at %d", i);
        memset(b[i], 3, 256);
    }
    for (int i = 0; i < N; i++)
        mpool_free(capped, b[i]);
    /* what the pools hold, by their statistics: probing the free RAM by
     * allocating pages until none is left would make the library give
     * back what pools hold (an allocation that finds no memory does) */
    held = pool_held_pages(capped);
    diag("retain 64 KiB: %zu pages free at start, the pool holds %zu after "
         "allocating and freeing %zu pages of blocks, with no reclaim",
         start, held, blocks);
    ok(held <= blocks / 10 * 2,
       "a pool with a 64 KiB retention cap gives 80%% of freed memory "
       "back as it is freed (it holds %zu pages of %zu)", held, blocks);
    for (int i = 0; i < N; i++) {
        if ((b[i] = mpool_alloc(plain, 256)) == NULL)
            bail("mpool_alloc(plain, 256) failed at %d", i);
        memset(b[i], 3, 256);
    }
    for (int i = 0; i < N; i++)
        mpool_free(plain, b[i]);
    held = pool_held_pages(plain);
    ok(held > blocks / 2,
       "without a cap the freed memory is kept for reuse until reclaim "
       "(the pool holds %zu pages of %zu)", held, blocks);
    mpool_reclaim(plain);
    now = free_pages_k210();
    ok(now + blocks / 10 * 2 >= start,
       "... and mpool_reclaim of the pool gives it back (%zu pages free)",
       now);
    mpool_destroy(capped);
    mpool_destroy(plain);
}

static _Atomic int reclaimer_stop;

static void *
reclaimer(void *arg)
{
    unsigned long *count = arg;

    while (!reclaimer_stop) {
        mpool_reclaim(NULL);
        (*count)++;
    }
    return NULL;
}

/* A single-threaded pool, worked by this thread while another reclaims. */
static void
test_single_threaded(void)
{
    mpool_options_t o = {.size = sizeof(o), .name = "solo",
                         .flags = MPOOL_SINGLE_THREADED};
    mpool_options_t bad = {.size = sizeof(bad), .flags = 0x80};
    static struct { uint64_t *p; size_t n; } live[512];
    uint64_t seed = 12345;
    unsigned long reclaims = 0;
    size_t n = 0;
    bool intact = true;
    pthread_t t;
    mpool_t *p;

    errno = 0;
    ok(mpool_create(&bad) == NULL && errno == EINVAL,
       "an unknown pool flag: NULL, EINVAL");
    p = mpool_create(&o);
    ok(p != NULL, "a single-threaded pool");
    pthread_create(&t, NULL, reclaimer, &reclaims);
    for (int op = 0; op < 300000; op++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        if (n < 512 && (n == 0 || (seed >> 33) % 2)) {
            size_t words = 2 + (seed >> 40) % 300;
            uint64_t *b = mpool_alloc(p, words * 8);
            if (b == NULL) {
                intact = false;
                continue;
            }
            b[0] = (uintptr_t)b;
            b[words - 1] = words;
            live[n].p = b;
            live[n++].n = words;
        } else {
            size_t i = (seed >> 20) % n;
            intact &= live[i].p[0] == (uintptr_t)live[i].p &&
                      live[i].p[live[i].n - 1] == live[i].n;
            mpool_free(p, live[i].p);
            live[i] = live[--n];
        }
    }
    reclaimer_stop = 1;
    pthread_join(t, NULL);
    ok(intact, "300000 operations while another thread ran %lu reclaims: "
               "every block intact",
       reclaims);
    while (n > 0) {
        n--;
        mpool_free(p, live[n].p);
    }
    ok(mpool_reclaim(p) > 0,
       "after freeing everything, its own thread reclaims its pages");
    mpool_destroy(p);
}

#define THREADS 4
static mpool_t *shared;
static _Atomic unsigned long bad_blocks;

static void *
worker(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 7919 + 1;
    struct { uint64_t *p; size_t n; } live[128];
    size_t nlive = 0;

    /* one block in 50 up to 320 KB (k210: 32 KB, its RAM being 8 MiB) */
    size_t big_words = k210 ? 4000 : 40000;

    for (int op = 0; op < 50000; op++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        if (nlive < 128 && (nlive == 0 || (seed >> 33) % 2)) {
            size_t words = 2 + (seed >> 40) % (seed % 50 == 0 ? big_words : 100);
            uint64_t *p = mpool_alloc(shared, words * 8);
            if (p == NULL) {
                bad_blocks++;
                continue;
            }
            p[0] = (uintptr_t)p;
            p[words - 1] = words;
            live[nlive].p = p;
            live[nlive++].n = words;
        } else {
            size_t i = (seed >> 20) % nlive;
            if (live[i].p[0] != (uintptr_t)live[i].p ||
                live[i].p[live[i].n - 1] != live[i].n)
                bad_blocks++;
            mpool_free(shared, live[i].p);
            live[i] = live[--nlive];
        }
    }
    while (nlive > 0) {
        nlive--;
        mpool_free(shared, live[nlive].p);
    }
    return NULL;
}

static void
test_threads_and_destroy(void)
{
    pthread_t t[THREADS];
    size_t rss_before, rss_full, rss_after, pages;
    /* 200 000 blocks and 20 MiB; k210: 8000 and 1 MiB, 4 MiB in all */
    int count = k210 ? 8000 : 200000;
    size_t large = k210 ? (1u << 20) : (20u << 20);
    void **keep;

    shared = mpool_create(&(mpool_options_t){.size = sizeof(mpool_options_t),
                                             .name = "shared"});
    for (uintptr_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    is_int((long long)bad_blocks, 0,
           "%d threads sharing a pool: every block intact", THREADS);

    /* Destroy with 200 000 live blocks: everything comes back.  (k210:
     * measured as the RAM free, in pages, not as resident memory.) */
    keep = malloc((size_t)count * sizeof(*keep));
    memset(keep, 0, (size_t)count * sizeof(*keep));
    mpool_reclaim(NULL);
    rss_before = k210 ? free_pages_k210() : tap_resident_bytes();
    for (int i = 0; i < count; i++) {
        keep[i] = mpool_alloc(shared, 16 + (size_t)(i % 97) * 8);
        if (keep[i] == NULL)
            bail("mpool_alloc failed at block %d", i);
        memset(keep[i], 1, 16);
    }
    keep[0] = mpool_alloc(shared, large); /* and a large block */
    if (keep[0] == NULL)
        bail("mpool_alloc of %zu bytes failed", large);
    memset(keep[0], 1, large);
    rss_full = k210 ? free_pages_k210() : tap_resident_bytes();
    mpool_destroy(shared);
    pages = mpool_reclaim(NULL);
    rss_after = k210 ? free_pages_k210() : tap_resident_bytes();
    if (k210) {
        diag("%zu pages free before, %zu with the blocks, %zu after destroy "
             "and reclaim (%zu pages)", rss_before, rss_full, rss_after,
             pages);
        ok(rss_full < rss_before &&
               rss_after + (rss_before - rss_full) / 20 >= rss_before,
           "destroying a pool with live blocks gives 95%% of its memory "
           "back");
        free(keep);
        return;
    }
    diag("resident %zu KiB before, %zu KiB with the blocks, %zu KiB after "
         "destroy and reclaim (%zu pages)",
         rss_before / 1024, rss_full / 1024, rss_after / 1024, pages);
    if (tap_under_valgrind())
        skip(1, "resident memory under valgrind is valgrind's own");
    else
    ok(rss_full > rss_before &&
           rss_after <= rss_before + (rss_full - rss_before) /
                                         (tap_under_asan() ? 5 : 20),
       "destroying a pool with live blocks gives %s of its memory back",
       tap_under_asan() ? "80% (ASan keeps its own)" : "95%");
    free(keep);
}

int
main(void)
{
    mpool_t *p;

    tap_skip_if_break_capped(); /* sbrk under valgrind */
    plan_lazy();
    k210 = tap_backend_is("k210");
    ok(mpool_default() != NULL, "there is a default pool");
    p = mpool_create(NULL);
    ok(p != NULL, "mpool_create(NULL) makes a pool with the defaults");
    test_classes(p);
    test_alignment(p);
    test_wide_alignment(p);
    test_edges(p);
    mpool_destroy(p);
    test_classes(NULL); /* the default pool, by NULL */
    mpool_destroy(mpool_default());
    mpool_destroy(NULL);
    {
        void *b = mpool_alloc(mpool_default(), 10);
        ok(b != NULL, "destroying the default pool or NULL does nothing");
        mpool_free(mpool_default(), b); /* memcheck counts it otherwise */
    }
    test_limit();
    if (k210)
        test_retain_k210();
    else
        test_retain();
    test_retain_one_block();
    if (!k210) /* no purging there: nothing is kept */
        test_default_one_block_reuse();
    test_single_threaded();
    test_threads_and_destroy();
    return tap_done();
}
