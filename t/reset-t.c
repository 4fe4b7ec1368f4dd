/* SPDX-License-Identifier: MIT */
/*
 * t/reset-t.c - mpool_reset: every block of a pool gone at once (blocks of
 * every class, large blocks, blocks cached in another thread's magazines),
 * the memory reusable, the pool's retain and limit respected afterwards,
 * region and single-threaded pools, a pool with children, bad inputs; and
 * in checking mode (MPOOL_DEBUG=1, in a child process as in
 * t/pool-misuse-t.c) a block freed after the reset that emptied its pool
 * is reported as a double free, a write through a stale pointer as a
 * modification after free.
 *
 * An internal test: it reads the pool's classes and its count of pages
 * held (pool/pool.h) to see what the reset left.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool/pool.h"
#include "pool/region.h"
#include "base/vg.h"
#include "tap/tap.h"

/* The largest class block allocated: 8 MiB of RAM on k210's host build. */
static size_t
class_cap(void)
{
    return tap_backend_is("k210") ? 64 * 1024 : 1024 * 1024;
}

static size_t
held(const mpool_t *p)
{
    return atomic_load(&p->taken);
}

/* Objects out of the pool's class slabs (in use or cached anywhere), and
 * objects cached in magazines, the depot or the quarantine. */
static size_t
objects_out(mpool_t *p, size_t *cached)
{
    size_t out = 0;

    *cached = 0;
    for (unsigned i = 0; i < MP_CLASSES; i++) {
        struct mpool_cache *c = atomic_load(&p->classes[i]);
        if (c != NULL) {
            out += c->objs_out;
            *cached += mp_magazine_cached(c);
        }
    }
    return out;
}

static mpool_t *
make(const char *name, size_t limit, size_t retain, unsigned flags)
{
    mpool_t *p = mpool_create(&(mpool_options_t){
        .size = sizeof(mpool_options_t),
        .name = name,
        .limit = limit,
        .retain = retain,
        .flags = flags});
    if (p == NULL)
        sysbail("mpool_create(%s)", name);
    return p;
}

/* ------------------------------------------------------------------------
 * Another thread's magazines
 * ------------------------------------------------------------------------ */

/* Whether mpool_alloc's direct table names each class's thread slot as
 * the class has it now (a reset may give a class a new one), and the null
 * slot where there is no class.  The entry for size s serves s's class. */
static bool
table_current(mpool_t *p)
{
    for (size_t size = 1; size <= POOL_FAST_MAX; size++) {
        size_t i = mp_pool_fast_slot(size);
        struct mpool_cache *c = p->classes[mp_size_class(size)];
        int16_t want = c != NULL && !(c->flags & (MP_CACHE_VG |
                                                  MPOOL_CACHE_DEBUG))
                           ? mp_tslot_fast_word(c)
                           : 0;

        if (p->fast[i] != want) {
            diag("size %zu: entry %zu is %d, its class's slot %d", size, i,
                 (int)p->fast[i], (int)want);
            return false;
        }
    }
    return true;
}

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate; /* 1: the helper has cached its blocks; 2: it may end */

/* Allocate 100 blocks of 48 bytes from the pool and free them again:
 * they stay in this thread's slot for the class.  Then wait, alive. */
static void *
cacher(void *arg)
{
    mpool_t *p = arg;
    void *b[100];

    for (int i = 0; i < 100; i++)
        b[i] = mpool_alloc(p, 48);
    for (int i = 0; i < 100; i++)
        mpool_free(p, b[i]);
    pthread_mutex_lock(&gate_lock);
    gate = 1;
    pthread_cond_broadcast(&gate_cond);
    while (gate != 2)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    /* the pool was reset meanwhile: this thread allocates from it again,
     * and must get blocks nobody else holds */
    for (int i = 0; i < 100; i++) {
        b[i] = mpool_alloc(p, 48);
        if (b[i] == NULL)
            return (void *)1;
        memset(b[i], 0x5c, 48);
    }
    for (int i = 0; i < 100; i++)
        mpool_free(p, b[i]);
    return NULL;
}

static void
test_everything_gone(void)
{
    mpool_t *p = make("everything", 0, 0, 0);
    size_t cap = class_cap(), n = 0, nclass, cached, out, before, kept;
    size_t page = mpool_page_size();
    void *blocks[MP_CLASSES + 2];
    pthread_t t;
    void *ret;
    bool distinct = true;

    gate = 0;
    if (pthread_create(&t, NULL, cacher, p) != 0)
        bail("pthread_create");
    pthread_mutex_lock(&gate_lock);
    while (gate != 1)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);

    for (unsigned i = 0; i < MP_CLASSES && mp_class_size(i) <= cap; i++) {
        blocks[n] = mpool_alloc(p, mp_class_size(i));
        if (blocks[n] == NULL)
            bail("alloc of class %u", i);
        memset(blocks[n++], 0xa1, mp_class_size(i));
    }
    nclass = n;
    blocks[n++] = mpool_aligned_alloc(p, page, 3 * page + 100);
    if (!tap_backend_is("k210"))
        blocks[n++] = mpool_alloc(p, MP_CLASS_LARGEST + 1);
    if (blocks[n - 1] == NULL)
        bail("large alloc");
    out = objects_out(p, &cached);
    ok(out >= nclass && p->large != NULL,
       "before: %zu blocks out of the slabs (%zu classes), and large blocks",
       out, nclass);
    if (cached >= 100)
        ok(true, "of them %zu cached (the other thread's magazine)", cached);
    else /* valgrind: no magazines, nor a thread-exit hook */
        skip(1, "the other thread caches nothing here (%zu)", cached);
    before = held(p);

    ok(table_current(p), "before: mpool_alloc's table names each class's "
                         "thread slot");
    is_int(mpool_reset(p), 0, "mpool_reset: 0");
    ok(table_current(p), "after: it names each class's slot as it is now "
                         "(a new one where another thread held objects)");
    out = objects_out(p, &cached);
    is_size(out, 0, "after: no object out of any class's slabs");
    is_size(cached, 0, "none cached in any thread's magazine or the depot");
    ok(p->large == NULL, "no large block left");
    kept = held(p);
    ok(kept > 0 && kept < before,
       "retain 0: the slabs stay (%zu bytes held), the large runs went "
       "(%zu before)", kept, before);

    /* the same blocks again come from the slabs kept */
    n = 0;
    for (unsigned i = 0; i < MP_CLASSES && mp_class_size(i) <= cap; i++) {
        blocks[n] = mpool_alloc(p, mp_class_size(i));
        if (blocks[n] == NULL)
            bail("alloc of class %u after reset", i);
        memset(blocks[n++], 0xb2, mp_class_size(i));
    }
    is_size(held(p), kept, "allocating them again takes no new page");
    {
        /* free's and mpool_free's fast path reads the class's fixed slot
         * from the page: a kept slab must name the slot as it is now */
        bool words_ok = true;
        for (size_t i = 0; i < nclass; i++) {
            const mp_page_t *pg = mp_buddy_page_fast(blocks[i]);
            if (pg == NULL || pg->group != p ||
                mp_page_fast_word(pg) != mp_tslot_fast_word(pg->sub_owner))
                words_ok = false;
        }
        ok(words_ok, "the slabs kept name each class's fixed slot as it is "
                     "now");
    }
    /* the other thread allocates too, meanwhile nothing of ours moves */
    pthread_mutex_lock(&gate_lock);
    gate = 2;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    pthread_join(t, &ret);
    ok(ret == NULL, "the other thread allocates from the reset pool");
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < mp_class_size((unsigned)i); j++)
            if (((unsigned char *)blocks[i])[j] != 0xb2) {
                distinct = false;
                break;
            }
    ok(distinct, "no block handed out twice (contents intact)");
    ok(mpool_reclaim(p) > 0 || tap_backend_is("k210"),
       "mpool_reclaim gives the slabs kept back");
    mpool_destroy(p);
}

/* A thread that used the library once and then idles: it never tidies its
 * table, so slot indices retired meanwhile are never free again. */
static void *
idler(void *arg)
{
    (void)arg;
    mpool_free(NULL, mpool_alloc(NULL, 32));
    pthread_mutex_lock(&gate_lock);
    gate = 1;
    pthread_cond_broadcast(&gate_cond);
    while (gate != 2)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    return NULL;
}

static void
test_many_resets(void)
{
    mpool_t *p = make("many", 0, 0, 0);
    struct mpool_cache *c;
    pthread_t t;
    bool fast;

    gate = 0;
    if (pthread_create(&t, NULL, idler, NULL) != 0)
        bail("pthread_create");
    pthread_mutex_lock(&gate_lock);
    while (gate != 1)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    mpool_free(p, mpool_alloc(p, 100));
    c = p->classes[mp_size_class(100)];
    fast = c->fast_offset != MP_TSLOT_NONE;
    for (int i = 0; i < 2 * MP_TSLOT_MAX && i < 20000; i++) {
        void *b = mpool_alloc(p, 100);
        mpool_free(p, b);
        if (mpool_reset(p) != 0)
            bail("mpool_reset");
    }
    if (!fast)
        skip(1, "the class has no magazines here (valgrind)");
    else
        ok(c->fast_offset != MP_TSLOT_NONE,
           "%d resets of a pool one thread uses, another thread idle: its "
           "class keeps its magazines (no slot index used up)",
           2 * MP_TSLOT_MAX < 20000 ? 2 * MP_TSLOT_MAX : 20000);
    pthread_mutex_lock(&gate_lock);
    gate = 2;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    pthread_join(t, NULL);
    mpool_destroy(p);
}

/* Reclaim of every pool, from another thread, while pools are reset: it
 * passes a pool by while it is reset, and never pushes a drained object
 * back into a slab the reset has just emptied (a report and abort). */
static _Atomic bool reclaim_stop;

static void *
reclaimer(void *arg)
{
    size_t *rounds = arg;

    while (!atomic_load(&reclaim_stop)) {
        mpool_reclaim(NULL);
        (*rounds)++;
    }
    return NULL;
}

static void
test_reset_while_reclaiming(void)
{
    mpool_t *p = make("reclaimed", 0, 0, 0);
    size_t rounds = 0, cached;
    void *b[500];
    pthread_t t;
    int resets = 0;

    atomic_store(&reclaim_stop, false);
    if (pthread_create(&t, NULL, reclaimer, &rounds) != 0)
        bail("pthread_create");
    for (int i = 0; i < 300; i++) {
        for (int j = 0; j < 500; j++)
            if ((b[j] = mpool_alloc(p, (size_t)(j % 50) * 16 + 1)) == NULL)
                bail("alloc");
        for (int j = 0; j < 500; j += 2)
            mpool_free(p, b[j]); /* into magazines and depots */
        resets += mpool_reset(p) == 0;
    }
    atomic_store(&reclaim_stop, true);
    pthread_join(t, NULL);
    is_int(resets, 300, "300 resets while another thread reclaimed all "
                        "pools %zu times", rounds);
    is_size(objects_out(p, &cached), 0, "and the pool is empty after them");
    mpool_destroy(p);
}

/* ------------------------------------------------------------------------
 * retain, limit
 * ------------------------------------------------------------------------ */

static void
test_retain(void)
{
    size_t retain = 64 * 1024, small = 1000;
    size_t count = tap_backend_is("k210") ? 500 : 2000;
    mpool_t *p = make("retain", 0, retain, 0);
    mpool_t *q = make("retain0", 0, 0, 0);
    void **b = calloc(count, sizeof(void *));

    if (b == NULL)
        bail("calloc");
    for (size_t i = 0; i < count; i++) {
        b[i] = mpool_alloc(p, small);
        if (mpool_alloc(q, small) == NULL || b[i] == NULL)
            bail("alloc");
    }
    mpool_free(p, b[0]);
    ok(held(p) > 4 * retain, "retain %zu: %zu bytes held with %zu blocks",
       retain, held(p), count);
    is_int(mpool_reset(p), 0, "mpool_reset");
    ok(held(p) <= retain, "after reset: %zu bytes held, at most retain",
       held(p));
    ok(held(p) > 0, "and some slabs are kept warm");
    is_int(mpool_reset(q), 0, "mpool_reset, retain 0");
    ok(held(q) >= count * small, "retain 0: every slab kept (%zu bytes)",
       held(q));
    mpool_reclaim(q);
    is_size(held(q), 0, "until mpool_reclaim gives them all back");
    free(b);
    mpool_destroy(p);
    mpool_destroy(q);
}

/* Blocks of size until ENOMEM: class blocks, or page runs of their own
 * (page-aligned) with large. */
static size_t
fill_to_limit(mpool_t *p, size_t size, bool large)
{
    size_t n = 0;

    errno = 0;
    while ((large ? mpool_aligned_alloc(p, mpool_page_size(), size)
                  : mpool_alloc(p, size)) != NULL)
        n++;
    return errno == ENOMEM ? n : 0;
}

static void
test_limit(void)
{
    size_t limit = 512 * 1024;
    mpool_t *p = make("limit", limit, 0, 0);
    size_t first, second, large_first;

    first = fill_to_limit(p, 1000, false);
    ok(first > 100, "limit %zu: %zu blocks of 1000 bytes, then ENOMEM",
       limit, first);
    is_int(mpool_reset(p), 0, "mpool_reset");
    second = fill_to_limit(p, 1000, false);
    is_size(second, first, "after reset as many blocks again, then ENOMEM");
    is_int(mpool_reset(p), 0, "mpool_reset");
    mpool_reclaim(p);
    large_first = fill_to_limit(p, 12 * mpool_page_size(), true);
    ok(large_first >= 5, "%zu large blocks of 12 pages, then ENOMEM",
       large_first);
    is_int(mpool_reset(p), 0, "mpool_reset of large blocks");
    is_size(fill_to_limit(p, 12 * mpool_page_size(), true), large_first,
            "as many large blocks after it");
    mpool_destroy(p);
}

/* ------------------------------------------------------------------------
 * Region, single-threaded, children
 * ------------------------------------------------------------------------ */

static unsigned char region_mem[256 * 1024];

static void
test_region(void)
{
    mpool_t *p = mpool_create(&(mpool_options_t){
        .size = sizeof(mpool_options_t), .name = "region",
        .region = region_mem, .region_size = sizeof(region_mem)});
    size_t blocks, largest, used, largest0, n = 0;
    void *big;

    if (p == NULL)
        sysbail("mpool_create(region)");
    mp_region_census(mp_pool_region(p), &blocks, &largest0, &used);
    while (mpool_alloc(p, 700) != NULL)
        n++;
    ok(n > 300, "region: %zu blocks until full", n);
    is_int(mpool_reset(p), 0, "mpool_reset of a region pool");
    mp_region_census(mp_pool_region(p), &blocks, &largest, &used);
    ok(blocks == 1 && largest == largest0 && used == 0,
       "one free block, the whole region, again");
    /* TLSF rounds a request up to its list's boundary (1/16 of it) */
    big = mpool_alloc(p, largest0 / 16 * 15 - 64);
    ok(big != NULL, "a block of nearly the whole region fits");
    mpool_free(p, big);
    mpool_destroy(p);
}

static void
test_single_threaded(void)
{
    mpool_t *p = make("single", 0, 0, MPOOL_SINGLE_THREADED);
    size_t cached;

    for (int i = 0; i < 1000; i++)
        if (mpool_alloc(p, (size_t)(i % 300) + 1) == NULL)
            bail("alloc");
    mpool_free(p, mpool_alloc(p, 24)); /* one in the magazine */
    is_int(mpool_reset(p), 0, "mpool_reset of a single-threaded pool");
    is_size(objects_out(p, &cached), 0, "no object out");
    is_size(cached, 0, "none cached");
    ok(mpool_alloc(p, 24) != NULL, "and it allocates again");
    mpool_destroy(p);
}

static void
test_children(void)
{
    mpool_t *p = make("parent", 0, 0, 0);
    mpool_t *c1, *c2, *g;

    c1 = mpool_create(&(mpool_options_t){.size = sizeof(mpool_options_t),
                                         .name = "c1", .parent = p});
    c2 = mpool_create(&(mpool_options_t){.size = sizeof(mpool_options_t),
                                         .name = "c2", .parent = p});
    g = mpool_create(&(mpool_options_t){.size = sizeof(mpool_options_t),
                                        .name = "g", .parent = c1});
    if (c1 == NULL || c2 == NULL || g == NULL)
        sysbail("children");
    if (mpool_alloc(c1, 100) == NULL || mpool_alloc(g, 100000) == NULL ||
        mpool_alloc(p, 10) == NULL)
        bail("alloc");
    is_size(mp_pool_children(p), 2, "two children");
    is_int(mpool_reset(p), 0, "mpool_reset of a parent");
    is_size(mp_pool_children(p), 0, "its children are gone");
    ok(!mp_pool_valid(c1) && !mp_pool_valid(c2) && !mp_pool_valid(g),
       "each of them, and the grandchild, destroyed");
    c1 = mpool_create(&(mpool_options_t){.size = sizeof(mpool_options_t),
                                         .name = "c1 again", .parent = p});
    ok(c1 != NULL && mp_pool_children(p) == 1,
       "the reset pool takes new children");
    mpool_destroy(p);
}

/* ------------------------------------------------------------------------
 * Bad inputs
 * ------------------------------------------------------------------------ */

static void
test_bad(void)
{
    mpool_t *p = make("bad", 0, 0, 0), *dead = make("dead", 0, 0, 0);
    char *keep = mpool_alloc(p, 64);
    int local;
    mpool_cache_t *cache = mpool_cache_create("reset-t", 64, 0, NULL, NULL,
                                              NULL, 0);

    if (keep == NULL || cache == NULL)
        bail("setup");
    memset(keep, 'k', 64);
    mpool_destroy(dead);
    errno = 0;
    ok(mpool_reset(NULL) == -1 && errno == EINVAL, "NULL: -1, EINVAL");
    errno = 0;
    ok(mpool_reset(mpool_default()) == -1 && errno == EINVAL,
       "the default pool: -1, EINVAL");
    errno = 0;
    ok(mpool_reset((mpool_t *)&local) == -1 && errno == EINVAL,
       "a stack address: -1, EINVAL");
    errno = 0;
    ok(mpool_reset((mpool_t *)cache) == -1 && errno == EINVAL,
       "a cache: -1, EINVAL");
    errno = 0;
    ok(mpool_reset(dead) == -1 && errno == EINVAL,
       "a destroyed pool: -1, EINVAL");
    errno = 0;
    ok(mpool_reset((mpool_t *)keep) == -1 && errno == EINVAL,
       "a block: -1, EINVAL");
    ok(keep[0] == 'k' && keep[63] == 'k' && mpool_usable_size(keep) >= 64,
       "nothing allocated was lost");
    errno = 0;
    is_int(mpool_reset(p), 0, "a good pool: 0");
    is_int(errno, 0, "errno left alone");
    mpool_cache_destroy(cache);
    mpool_destroy(p);
}

/* ------------------------------------------------------------------------
 * Checking mode, in children
 * ------------------------------------------------------------------------ */

static mpool_t *
victim(size_t retain)
{
    mpool_t *p = mpool_create(&(mpool_options_t){
        .size = sizeof(mpool_options_t), .name = "victim", .retain = retain});
    if (p == NULL)
        exit(3);
    return p;
}

static char *
must(void *p)
{
    if (p == NULL)
        exit(3);
    return p;
}

static void
case_stale_free(void)
{
    mpool_t *p = victim(0);
    void *b = must(mpool_alloc(p, 40));
    mpool_reset(p);
    mpool_free(p, b);
}

static void
case_stale_free_large(void)
{
    mpool_t *p = victim(0);
    size_t page = mpool_page_size();
    void *b = must(mpool_aligned_alloc(p, page, 3 * page));
    mpool_reset(p);
    mpool_free(p, b);
}

static void
case_stale_write(void)
{
    mpool_t *p = victim(0);
    char *b = must(mpool_alloc(p, 40));
    mpool_reset(p);
    ((volatile char *)b)[3] = 'x'; /* not a dead store to the compiler */
    for (int i = 0; i < 1000; i++) /* until the block comes out again */
        must(mpool_alloc(p, 40));
}

static void
case_stale_free_region(void)
{
    static unsigned char mem[64 * 1024];
    mpool_t *p = mpool_create(&(mpool_options_t){
        .size = sizeof(mpool_options_t), .name = "victim",
        .region = mem, .region_size = sizeof(mem)});
    void *b = must(p != NULL ? mpool_alloc(p, 100) : NULL);
    must(mpool_alloc(p, 200));
    mpool_reset(p);
    mpool_free(p, b);
}

static const struct misuse {
    const char *name;
    void (*run)(void);
    const char *message;
} cases[] = {
    {"stale-free", case_stale_free, "double free"},
    {"stale-free-large", case_stale_free_large, "double free"},
    {"stale-write", case_stale_write, "object modified after it was freed"},
    {"stale-free-region", case_stale_free_region,
     "pointer is not a live block of the region"},
};
enum { NCASES = sizeof(cases) / sizeof(cases[0]) };

static int
exec_case(void *arg)
{
    char *const *argv = arg;

    setenv("MPOOL_DEBUG", "1", 1);
    execv("/proc/self/exe", argv);
    return 4;
}

static void
check_case(const struct misuse *m)
{
    char *argv[] = {"reset-t", (char *)m->name, NULL};
    char err[1024];
    int status = tap_run_child(exec_case, argv, err, sizeof(err));

    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
           strstr(err, m->message) != NULL && strstr(err, " 0x") != NULL &&
           strstr(err, "\"victim") != NULL,
       "checking mode, %s: aborts saying \"%s\", the address and the pool",
       m->name, m->message);
    if (!WIFSIGNALED(status) || strstr(err, m->message) == NULL)
        diag("status %d, stderr: %s", status, err);
}

int
main(int argc, char **argv)
{
    if (argc == 2) {
        for (int i = 0; i < NCASES; i++)
            if (strcmp(argv[1], cases[i].name) == 0) {
                /* the core is linked statically here, without the
                 * constructor that reads MPOOL_DEBUG (hosted/options.c),
                 * and k210 has no environment: set it as it would */
                const char *debug = getenv("MPOOL_DEBUG");
                if (debug != NULL && strcmp(debug, "1") == 0)
                    mpool_set_debug(1);
                cases[i].run();
                return 0; /* not stopped: the check failed */
            }
        return 2;
    }
    plan_lazy();
    test_bad();
    test_everything_gone();
    test_many_resets();
    test_reset_while_reclaiming();
    test_retain();
    test_limit();
    test_region();
    test_single_threaded();
    test_children();
    if (tap_under_valgrind() || mp_vg_active)
        skip(NCASES, "the children abort on purpose; valgrind would report "
                     "it (t/memcheck-t.sh checks what memcheck sees)");
    else
        for (int i = 0; i < NCASES; i++)
            check_case(&cases[i]);
    return tap_done();
}
