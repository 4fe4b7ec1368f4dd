/* SPDX-License-Identifier: MIT */
/*
 * t/k210-t.c - the k210 backend on its host build (configured with
 * --with-backend=k210 only).
 *
 * In children, before anything else touches the library: every bad input
 * mpool_k210_init() refuses, with mpool_errno and errno, and that it takes
 * one range only; a range at an odd address and length, of which the
 * library uses the whole 256 KiB segments inside and never writes a byte
 * outside them; a fatal error reaching the kernel's hooks.
 *
 * Then in this process, over the host build's 8 MiB array: exhaustion
 * (every page allocated until ENOMEM; freed, the buddy lists join back to
 * maximal blocks covering every segment of the range, as the census
 * checks); reclaim's exact count without purge; one run of all the RAM;
 * where the backend places single segments and spans; spans allocated and
 * freed on threads at once; errno; hart ids; and how much of the 8 MiB a
 * program can use, written as diagnostics for doc/backends.md.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "page/page.h"
#include "mpool-k210.h"
#include "tap/tap.h"

#define HOST_SEGMENTS 32 /* host.c: 8 MiB */
#define MAX_PAGES (HOST_SEGMENTS * 64)

/* A range the children hand over; static storage, never touched by the
 * library unless a child gives it. */
#define RAM_BYTES ((size_t)3 << 20)
static _Alignas(4096) unsigned char ram[RAM_BYTES];

static void *pages[MAX_PAGES];

/* ------------------------------------------------------------------------
 * The kernel's hooks, replaced as a kernel replaces them.  A fatal error
 * must write its line through mpool_k210_write, then call mpool_k210_halt.
 * ------------------------------------------------------------------------ */

static _Atomic int hook_writes;
static int halt_returns; /* a kernel whose halt hook comes back */

void
mpool_k210_write(const char *msg, size_t len)
{
    hook_writes++;
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, msg, len);
        if (n <= 0)
            break;
        msg += n;
        len -= (size_t)n;
    }
}

void
mpool_k210_halt(void)
{
    if (!halt_returns)
        _exit(42);
}

/* Run fn in a child with its standard error in err; its wait status. */
struct fn_box {
    int (*fn)(void);
};

static int
call_fn(void *box)
{
    return ((struct fn_box *)box)->fn();
}

static int
run_child(int (*fn)(void), char *err, size_t cap)
{
    struct fn_box box = {fn};

    return tap_run_child(call_fn, &box, err, cap);
}

/* Run fn in a child: bit i of its exit status is check i failed. */
static void
child_checks(int (*fn)(void), const char *const *checks, int n)
{
    char err[2048];
    int status = run_child(fn, err, sizeof(err));

    if (!ok(WIFEXITED(status) && WEXITSTATUS(status) != 0x7f,
            "the child ran to the end")) {
        diag("status 0x%x, stderr: %s", status, err);
        skip(n, "the child did not finish");
        return;
    }
    for (int i = 0; i < n; i++)
        ok((WEXITSTATUS(status) & (1 << i)) == 0, "%s", checks[i]);
    if (err[0] != '\0')
        diag("the child's stderr: %s", err);
}

/* A failed call: -1, both the library's errno and the C library's. */
static bool
refused(int rc, int err)
{
    return rc == -1 && mpool_errno == err && errno == err;
}

/* ------------------------------------------------------------------------
 * Children: mpool_k210_init
 * ------------------------------------------------------------------------ */

static const char *const init_checks[] = {
    "mpool_k210_init(NULL, 1 MiB): -1, mpool_errno and errno EINVAL",
    "a length of 0: -1, EINVAL",
    "a range that wraps around the address space: -1, EINVAL",
    "a range holding no whole 256 KiB segment: -1, EINVAL",
    "a range past the bits of address the segment map covers: -1, EINVAL",
    "a range of 1025 segments (over 256 MiB): -1, EINVAL",
    "after those, a good range is taken (0, errno untouched), and a "
    "second call is refused: -1, EINVAL",
};

static int
child_init(void)
{
    uintptr_t seg = MP_SEGMENT_SIZE;
    unsigned char *aligned = (unsigned char *)(((uintptr_t)ram + seg - 1) &
                                               ~(seg - 1));
    int failed = 0;

    errno = 0;
    if (!refused(mpool_k210_init(NULL, 1u << 20), EINVAL))
        failed |= 1 << 0;
    errno = 0;
    if (!refused(mpool_k210_init(ram, 0), EINVAL))
        failed |= 1 << 1;
    errno = 0;
    if (!refused(mpool_k210_init((void *)(UINTPTR_MAX - 4095), 8192),
                 EINVAL))
        failed |= 1 << 2;
    /* a whole segment's length, but not aligned: no segment inside */
    errno = 0;
    if (!refused(mpool_k210_init(aligned + 4096, seg), EINVAL) ||
        !refused(mpool_k210_init(aligned, seg - 1), EINVAL))
        failed |= 1 << 3;
    errno = 0;
    if (!refused(mpool_k210_init((void *)((uintptr_t)1 << MP_ADDRESS_BITS),
                                 4 * seg),
                 EINVAL) ||
        !refused(mpool_k210_init((void *)(((uintptr_t)1 << MP_ADDRESS_BITS) -
                                          seg),
                                 2 * seg),
                 EINVAL))
        failed |= 1 << 4;
    /* (the library only records the range: it need not exist) */
    errno = 0;
    if (!refused(mpool_k210_init(aligned, 1025 * seg), EINVAL))
        failed |= 1 << 5;
    errno = 1234;
    *mpool_errno_location() = 4321;
    if (mpool_k210_init(ram, RAM_BYTES) != 0 || errno != 1234 ||
        mpool_errno != 4321)
        failed |= 1 << 6;
    errno = 0;
    if (!refused(mpool_k210_init(ram, RAM_BYTES), EINVAL))
        failed |= 1 << 6;
    return failed;
}

/* ------------------------------------------------------------------------
 * Children: a range at an odd address
 * ------------------------------------------------------------------------ */

static const char *const odd_checks[] = {
    "a range at an odd address and length: the library keeps exactly the "
    "whole 256 KiB segments inside it",
    "every page of them can be allocated, one at a time, then ENOMEM",
    "every page handed out lies in those segments",
    "not one byte of the range outside them was written",
    "pages of a range handed over by a kernel are not called zero",
    "freed and reclaimed, every segment goes back to the range",
};

static int
child_odd_range(void)
{
    unsigned char *start = ram + 3 * 4096 + 5;
    size_t len = ((size_t)2 << 20) + 12345;
    uintptr_t first, last;
    void *base;
    size_t nseg, n = 0, want;
    bool is_zero, called_zero = false;
    mp_backend_counters_t counters;
    int failed = 0;

    memset(ram, 0xa5, sizeof(ram));
    first = ((uintptr_t)start + MP_SEGMENT_MASK) & ~(uintptr_t)MP_SEGMENT_MASK;
    last = ((uintptr_t)start + len) & ~(uintptr_t)MP_SEGMENT_MASK;
    if (mpool_k210_init(start, len) != 0)
        return 0x7f;
    mp_k210_range(&base, &nseg);
    if ((uintptr_t)base != first || nseg != (last - first) / MP_SEGMENT_SIZE ||
        nseg < 7)
        failed |= 1 << 0;
    want = nseg * MP_SEGMENT_USABLE_PAGES;
    while (n < MAX_PAGES && (pages[n] = mp_pages_alloc(1, &is_zero)) != NULL) {
        called_zero |= is_zero;
        memset(pages[n], 0x5a, MP_PAGE_SIZE);
        n++;
    }
    if (n != want || errno != ENOMEM || mpool_errno != ENOMEM)
        failed |= 1 << 1;
    for (size_t i = 0; i < n; i++)
        if ((uintptr_t)pages[i] < first ||
            (uintptr_t)pages[i] + MP_PAGE_SIZE > last)
            failed |= 1 << 2;
    for (size_t i = 0; i < sizeof(ram); i++)
        if (((uintptr_t)(ram + i) < first || (uintptr_t)(ram + i) >= last) &&
            ram[i] != 0xa5) {
            failed |= 1 << 3;
            break;
        }
    if (called_zero)
        failed |= 1 << 4;
    for (size_t i = 0; i < n; i++)
        mpool_pages_free(pages[i], 1);
    mpool_reclaim(NULL);
    mp_backend_counters(&counters);
    if (counters.segments_out != 0)
        failed |= 1 << 5;
    return failed;
}

/* ------------------------------------------------------------------------
 * Children: a fatal error reaches the hooks
 * ------------------------------------------------------------------------ */

static int
child_panic(void)
{
    mpool_cache_t *c = mpool_cache_create("victim", 64, 0, NULL, NULL, NULL,
                                          MPOOL_CACHE_DEBUG);
    int on_stack;

    if (c == NULL)
        return 3;
    mpool_cache_free(c, &on_stack); /* not from any cache: fatal */
    return 4;
}

static void
test_hooks(void)
{
    char err[1024];
    int status = run_child(child_panic, err, sizeof(err));

    ok(WIFEXITED(status) && WEXITSTATUS(status) == 42 &&
           strstr(err, "libmpool: mpool_cache_free: pointer not from any "
                       "cache") != NULL,
       "a fatal error writes its line through mpool_k210_write, then "
       "calls mpool_k210_halt");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 42)
        diag("status 0x%x, stderr: %s", status, err);
    halt_returns = 1; /* the children inherit it */
    status = run_child(child_panic, err, sizeof(err));
    halt_returns = 0;
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
           strstr(err, "pointer not from any cache") != NULL,
       "when the kernel's halt hook returns, the library stops all the "
       "same (the host build: abort)");
}

/* ------------------------------------------------------------------------
 * This process: the host build's array
 * ------------------------------------------------------------------------ */

static void
stamp(void *p, size_t i)
{
    ((uint64_t *)p)[0] = (uint64_t)(uintptr_t)p ^ i;
    ((uint64_t *)p)[MP_PAGE_SIZE / 8 - 1] = i;
}

static bool
stamped(const void *p, size_t i)
{
    return ((const uint64_t *)p)[0] == ((uint64_t)(uintptr_t)p ^ i) &&
           ((const uint64_t *)p)[MP_PAGE_SIZE / 8 - 1] == i;
}

/* The census is one maximally joined block set per segment, n segments. */
static bool
maximally_joined(const mp_arena_census_t *c, size_t n)
{
    for (unsigned k = 0; k < MP_ORDERS; k++) {
        size_t want = ((MP_SEGMENT_USABLE_PAGES >> k) & 1) ? n : 0;
        if (c->free_blocks[k] != want) {
            diag("order %u: %zu free blocks, want %zu", k, c->free_blocks[k],
                 want);
            return false;
        }
    }
    return c->segments == n && c->run_pages == 0 && c->huge_spans == 0 &&
           c->free_pages == n * MP_SEGMENT_USABLE_PAGES;
}

/* Every segment the arenas hold is one of the range's, each once. */
static bool
arenas_hold_whole_range(char *base, size_t nseg)
{
    bool seen[HOST_SEGMENTS] = {false};
    size_t held = 0;

    for (unsigned a = 0; a < mp_narenas; a++)
        for (mp_segment_t *s = mp_arenas[a].segments; s != NULL;
             s = s->next) {
            size_t i = (size_t)((char *)s - base) / MP_SEGMENT_SIZE;
            if ((char *)s < base || i >= nseg || seen[i] ||
                (char *)s != base + i * MP_SEGMENT_SIZE)
                return false;
            seen[i] = true;
            held++;
        }
    return held == nseg;
}

static void
test_exhaustion(char *base, size_t nseg)
{
    mp_arena_census_t c;
    mp_backend_counters_t counters;
    size_t n = 0, all = nseg * MP_SEGMENT_USABLE_PAGES, got;
    bool inside = true, intact = true;
    int err, lib_err;

    /* While mp_reclaim_active is set, arenas keep their empty segments
     * (page.c), so that the census below sees every segment of the range
     * joined back; mpool_reclaim gives them back after. */
    atomic_fetch_add(&mp_reclaim_active, 1);
    errno = 0;
    while (n < MAX_PAGES && (pages[n] = mpool_pages_alloc(1)) != NULL) {
        inside &= (char *)pages[n] >= base &&
                  (char *)pages[n] + MP_PAGE_SIZE <= base + nseg *
                                                               MP_SEGMENT_SIZE;
        stamp(pages[n], n);
        n++;
    }
    err = errno;
    lib_err = mpool_errno;
    is_size(n, all,
            "every page of the %zu segments can be allocated, one at a time "
            "(%zu pages: the first page of each is its header)",
            nseg, all);
    ok(err == ENOMEM && lib_err == ENOMEM,
       "the next allocation fails cleanly: NULL, errno and mpool_errno "
       "ENOMEM");
    ok(inside, "every page lies in the range");
    mp_census(&c);
    ok(c.free_pages == 0 && c.run_pages == all && c.segments == nseg,
       "the census: %zu segments, every page in a run, none free",
       c.segments);
    for (size_t i = 0; i < n; i++) {
        intact &= stamped(pages[i], i);
        mpool_pages_free(pages[i], 1);
    }
    ok(intact, "every page kept its stamp until it was freed");
    mp_census(&c);
    ok(maximally_joined(&c, nseg),
       "freed, the buddy lists join back to maximal blocks in all %zu "
       "segments: %zu free pages",
       nseg, c.free_pages);
    ok(arenas_hold_whole_range(base, nseg),
       "... and those segments cover the whole range, each once");
    atomic_fetch_sub(&mp_reclaim_active, 1);

    got = mpool_reclaim(NULL);
    mp_census(&c);
    mp_backend_counters(&counters);
    is_size(got, nseg * MP_SEGMENT_FIRST_PAGE,
            "mpool_reclaim counts the header pages of the segments it gives "
            "back (their other pages were free already), purging nothing");
    ok(c.segments == 0 && counters.segments_out == 0,
       "every segment is back in the range");
    is_size(mpool_reclaim(NULL), 0, "a second reclaim finds nothing");
}

/* Without purge, reclaim counts the pages it takes out of use: the slabs
 * the caches give back to the buddy lists, and the headers of the segments
 * it returns to the range; the census before and after says the same. */
static void
test_reclaim_count(void)
{
    enum { N = 20000 };
    static void *objs[N];
    mpool_cache_t *c = mpool_cache_create("counted", 200, 0, NULL, NULL,
                                          NULL, 0);
    mpool_t *p = mpool_create(NULL);
    mp_arena_census_t before, after;
    size_t got, want, held;

    for (int i = 0; i < N; i++)
        if ((objs[i] = i % 2 ? mpool_cache_alloc(c)
                             : mpool_alloc(p, 100 + (size_t)i % 900)) == NULL)
            bail("allocation %d failed", i);
    for (int i = 0; i < N; i += 2)
        mpool_free(p, objs[i]);
    for (int i = 1; i < N; i += 4) /* half the cache's objects stay */
        mpool_cache_free(c, objs[i]);
    mp_census(&before);
    got = mpool_reclaim(NULL);
    mp_census(&after);
    want = before.run_pages - after.run_pages +
           (before.segments - after.segments) * MP_SEGMENT_FIRST_PAGE;
    ok(got == want && got > 0,
       "reclaim of a cache and a pool freed in part counts the %zu pages "
       "that left runs and the %zu headers of segments given back (%zu)",
       before.run_pages - after.run_pages, before.segments - after.segments,
       got);
    held = after.run_pages;
    for (int i = 3; i < N; i += 4)
        mpool_cache_free(c, objs[i]);
    mpool_destroy(p);
    mpool_cache_destroy(c);
    got = mpool_reclaim(NULL);
    mp_census(&after);
    ok(after.run_pages < held && got > 0,
       "the rest freed, destroyed and reclaimed: %zu pages still in runs "
       "(the library's own), %zu counted", after.run_pages, got);
}

/* One run of all the RAM; and again after freeing pages, whose segments
 * the arena keeps two of (page.c) and gives up for the run (huge.c). */
static void
test_whole_range(char *base, size_t nseg)
{
    size_t all = nseg * MP_SEGMENT_PAGES - MP_HUGE_FIRST_PAGE, n = 0;
    char *run;
    mp_arena_census_t c;

    run = mpool_pages_alloc(all);
    ok(run == base + MP_HUGE_FIRST_PAGE * MP_PAGE_SIZE,
       "one run of all the RAM but its header page (%zu pages) fits", all);
    if (run != NULL) {
        memset(run, 0x33, all * MP_PAGE_SIZE);
        errno = 0;
        ok(mpool_pages_alloc(1) == NULL && errno == ENOMEM,
           "then not one page more: NULL, ENOMEM");
        mpool_pages_free(run, all);
    } else {
        skip(1, "no run");
    }
    errno = 0;
    ok(mpool_pages_alloc(all + 1) == NULL && errno == ENOMEM,
       "a run one page longer fails: NULL, ENOMEM");

    while (n < MAX_PAGES && (pages[n] = mpool_pages_alloc(1)) != NULL)
        n++;
    for (size_t i = 0; i < n; i++)
        mpool_pages_free(pages[i], 1);
    mp_census(&c);
    ok(c.segments == 2, "pages all freed: the arena keeps two empty "
                        "segments (%zu)", c.segments);
    run = mpool_pages_alloc(all);
    ok(run != NULL, "a run of all the RAM fits then too, without "
                    "mpool_reclaim: the arena gives its spare segments up");
    mpool_pages_free(run, all);
    mp_census(&c);
    is_size(c.segments, 0, "and keeps none");
}

/* Single segments (buddy systems) from the bottom, spans from the top. */
static void
test_placement(char *base, size_t nseg)
{
    void *page = mpool_pages_alloc(1);
    void *span2 = mpool_pages_alloc(100); /* 2 segments with its header */
    void *span1 = mpool_pages_alloc(40);  /* 1 segment: from the bottom */

    ok((char *)page >= base && (char *)page < base + MP_SEGMENT_SIZE,
       "the first buddy segment is the range's first");
    ok((char *)span2 == base + (nseg - 2) * MP_SEGMENT_SIZE +
                            MP_HUGE_FIRST_PAGE * MP_PAGE_SIZE,
       "a span of two segments comes from the top of the range");
    ok((char *)span1 == base + MP_SEGMENT_SIZE +
                            MP_HUGE_FIRST_PAGE * MP_PAGE_SIZE,
       "a span of one segment is a single segment: from the bottom");
    mpool_pages_free(page, 1);
    mpool_pages_free(span2, 100);
    mpool_pages_free(span1, 40);
    mpool_reclaim(NULL);
}

/* Threads allocating and freeing spans (runs over 32 pages) at once. */
#define SPAN_THREADS 3
#define SPAN_ROUNDS 3000
static _Atomic unsigned long span_failures, span_bad;
static unsigned thread_harts[SPAN_THREADS];

static void *
span_worker(void *arg)
{
    uintptr_t me = (uintptr_t)arg;
    uint64_t seed = 0x51ed2700 + me;

    thread_harts[me] = mpool_k210_hart_id();
    for (int r = 0; r < SPAN_ROUNDS; r++) {
        size_t n;
        char *p, *q;

        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        n = 33 + seed % 150; /* 1 to 3 segments */
        p = mpool_pages_alloc(n);
        q = mpool_pages_alloc(1 + seed % 8);
        if (p == NULL || q == NULL) {
            span_failures++;
            mpool_pages_free(p, n);
            mpool_pages_free(q, 1 + seed % 8);
            continue;
        }
        stamp(p, n);
        stamp(p + (n - 1) * MP_PAGE_SIZE, n + me);
        sched_yield();
        if (!stamped(p, n) || !stamped(p + (n - 1) * MP_PAGE_SIZE, n + me))
            span_bad++;
        if (mpool_pages_free(p, n) != 0 ||
            mpool_pages_free(q, 1 + seed % 8) != 0)
            span_bad++;
    }
    return NULL;
}

static void
test_threads(void)
{
    pthread_t t[SPAN_THREADS];
    mp_arena_census_t c;
    bool distinct = true;
    unsigned main_hart = mpool_k210_hart_id();

    for (uintptr_t i = 0; i < SPAN_THREADS; i++)
        if (pthread_create(&t[i], NULL, span_worker, (void *)i) != 0)
            sysbail("pthread_create");
    for (int i = 0; i < SPAN_THREADS; i++)
        pthread_join(t[i], NULL);
    is_int((long long)span_failures, 0,
           "%d threads allocating and freeing spans of 1 to 3 segments and "
           "small runs at once: no allocation failed", SPAN_THREADS);
    is_int((long long)span_bad, 0, "every span intact, every free accepted");
    mp_census(&c);
    ok(c.huge_spans == 0 && c.run_pages == 0,
       "afterwards no span and no run is left");
    for (int i = 0; i < SPAN_THREADS; i++) {
        distinct &= thread_harts[i] != main_hart;
        for (int j = 0; j < i; j++)
            distinct &= thread_harts[i] != thread_harts[j];
    }
    ok(distinct, "each thread is a hart of its own (ids %u, %u, %u; main "
                 "%u)", thread_harts[0], thread_harts[1], thread_harts[2],
       main_hart);
    mpool_reclaim(NULL);
}

static void
test_errno(void)
{
    errno = 0;
    *mpool_errno_location() = 0;
    ok(mpool_pages_alloc(0) == NULL && errno == EINVAL &&
           mpool_errno == EINVAL,
       "a failed call sets mpool_errno and, in the host build, errno");
    errno = 77;
    *mpool_errno_location() = 78;
    {
        void *p = mpool_pages_alloc(1);
        ok(p != NULL && mpool_pages_free(p, 1) == 0 && errno == 77 &&
               mpool_errno == 78,
           "successful calls leave both as they were");
    }
    errno = 0;
    ok(refused(mpool_k210_init(ram, RAM_BYTES), EINVAL),
       "mpool_k210_init once the library has its memory: -1, EINVAL");
}

/* How much of the 8 MiB a program gets: pages, and objects of a cache and
 * a pool (written as diagnostics; doc/backends.md quotes them). */
static void
test_usable(size_t nseg)
{
    size_t total = nseg * MP_SEGMENT_SIZE, n = 0, objs = 0, blocks = 0;
    static void *o[200000];
    mpool_cache_t *c;
    mpool_t *p;

    mpool_reclaim(NULL);
    while (n < MAX_PAGES && (pages[n] = mpool_pages_alloc(1)) != NULL)
        n++;
    for (size_t i = 0; i < n; i++)
        mpool_pages_free(pages[i], 1);
    diag("usable: %zu pages of 4 KiB in %zu segments (%.1f%% of %zu KiB)", n,
         nseg, 100.0 * (double)(n * MP_PAGE_SIZE) / (double)total,
         total >> 10);

    mpool_reclaim(NULL);
    c = mpool_cache_create("usable", 64, 0, NULL, NULL, NULL, 0);
    while (objs < 200000 && (o[objs] = mpool_cache_alloc(c)) != NULL)
        objs++;
    diag("usable: %zu objects of 64 bytes from one cache (%.1f%%)", objs,
         100.0 * (double)(objs * 64) / (double)total);
    ok(objs * 64 > total / 10 * 9,
       "a cache of 64-byte objects gets over 90%% of the RAM (%zu objects)",
       objs);
    for (size_t i = 0; i < objs; i++)
        mpool_cache_free(c, o[i]);
    mpool_cache_destroy(c);

    mpool_reclaim(NULL);
    p = mpool_create(NULL);
    while (blocks < 200000 && (o[blocks] = mpool_alloc(p, 1000)) != NULL)
        blocks++;
    diag("usable: %zu blocks of 1000 bytes from one pool (%.1f%%)", blocks,
         100.0 * (double)(blocks * 1000) / (double)total);
    ok(blocks * 1000 > total / 10 * 8,
       "a pool of 1000-byte blocks gets over 80%% of the RAM (%zu blocks)",
       blocks);
    mpool_destroy(p);
    mpool_reclaim(NULL);
}

int
main(void)
{
    void *base;
    size_t nseg;

    plan_lazy();
    if (!tap_backend_is("k210"))
        skip_all("the library was configured with --with-backend=%s",
                 MPOOL_BACKEND_NAME);

    /* Children first: this process has not touched the library yet, so
     * each starts with a library that has no memory. */
    child_checks(child_init, init_checks,
                 sizeof(init_checks) / sizeof(init_checks[0]));
    child_checks(child_odd_range, odd_checks,
                 sizeof(odd_checks) / sizeof(odd_checks[0]));
    test_hooks();
    is_int(hook_writes, 0, "(nothing here wrote a diagnostic)");

    /* The host build's array, handed over by the library's first use. */
    if (mp_init() != 0)
        bail("library initialisation failed");
    mp_k210_range(&base, &nseg);
    is_size(nseg, HOST_SEGMENTS,
            "the host build's array holds 32 whole segments (8 MiB)");
    ok(((uintptr_t)base & MP_SEGMENT_MASK) == 0,
       "its first segment is aligned to 256 KiB");
    test_exhaustion(base, nseg);
    test_whole_range(base, nseg);
    test_placement(base, nseg);
    test_threads();
    test_errno();
    test_reclaim_count(); /* caches: the library's own pages stay after */
    test_usable(nseg);
    return tap_done();
}
