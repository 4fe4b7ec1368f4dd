/* SPDX-License-Identifier: MIT */
/*
 * t/child-t.c - child pools (mpool_options_t.parent): destroying or
 * resetting a pool destroys its children first, depth first, through a
 * deep and wide tree, and every page they held goes back; a child
 * destroyed alone leaves its parent and siblings; children of region and
 * single-threaded pools; the default pool as a parent; many threads
 * creating and destroying children of one parent at once; bad parents,
 * and options of 0.1's size, which have no parent field.
 *
 * An internal test: it asks the pool layer whether a pool is live
 * (mp_pool_valid), how many children it has (mp_pool_children, what
 * mpool_stats_t.children reports) and the page level how many pages are
 * in runs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool.h"
#include "tap/tap.h"

static mpool_t *
child_of(mpool_t *parent, const char *name, unsigned flags)
{
    return mpool_create(&(mpool_options_t){.size = sizeof(mpool_options_t),
                                           .name = name,
                                           .flags = flags,
                                           .parent = parent});
}

/* A tree under root: a chain `depth` deep, each link with `wide` leaves,
 * every pool holding a small block, a block of a larger class and, every
 * fourth, a page run.  The pools are stored in all[], root first.  The
 * k210 backend's host build has 8 MiB: a smaller tree there. */
enum { DEPTH_MAX = 40, WIDE = 3, TREE_MAX = 1 + DEPTH_MAX * (WIDE + 1) };
static int tree_depth = DEPTH_MAX;
static size_t tree_size = TREE_MAX;

static size_t
tree_fill(mpool_t *p, size_t i)
{
    size_t page = mpool_page_size();

    if (mpool_alloc(p, 24) == NULL || mpool_alloc(p, 3000) == NULL ||
        (i % 4 == 0 && mpool_aligned_alloc(p, page, 2 * page) == NULL))
        bail("allocating in pool %zu", i);
    return 1;
}

static void
tree_build(mpool_t *root, mpool_t **all)
{
    mpool_t *link = root;
    size_t n = 0;

    all[n] = root;
    tree_fill(root, n++);
    for (int d = 0; d < tree_depth; d++) {
        mpool_t *next = child_of(link, "link", 0);
        if (next == NULL)
            sysbail("child at depth %d", d + 1);
        all[n] = next;
        tree_fill(next, n++);
        for (int w = 0; w < WIDE; w++) {
            mpool_t *leaf = child_of(link, "leaf", 0);
            if (leaf == NULL)
                sysbail("leaf at depth %d", d + 1);
            all[n] = leaf;
            tree_fill(leaf, n++);
        }
        link = next;
    }
}

static size_t
live_count(mpool_t **all, size_t from, size_t to)
{
    size_t live = 0;

    for (size_t i = from; i < to; i++)
        live += mp_pool_valid(all[i]);
    return live;
}

/* Pages in runs once everything free has been given back. */
static size_t
pages_settled(void)
{
    mpool_reclaim(NULL);
    return mp_pages_in_runs();
}

static void
test_tree(void)
{
    mpool_t *all[TREE_MAX];
    mpool_t *root;
    size_t base, grown;

    if (tap_backend_is("k210")) {
        tree_depth = 8;
        tree_size = 1 + (size_t)tree_depth * (WIDE + 1);
    }
    /* once to warm the internal caches, whose slabs stay */
    root = mpool_create(NULL);
    tree_build(root, all);
    mpool_destroy(root);
    base = pages_settled();

    root = mpool_create(NULL);
    if (root == NULL)
        sysbail("root");
    tree_build(root, all);
    grown = mp_pages_in_runs();
    is_size(live_count(all, 0, tree_size), tree_size,
            "a tree of %zu pools, %d deep", tree_size, tree_depth + 1);
    is_size(mp_pool_children(root), WIDE + 1, "the root has %d children",
            WIDE + 1);
    ok(grown > base, "they hold pages (%zu in runs, %zu before)", grown,
       base);

    is_int(mpool_reset(root), 0, "mpool_reset of the root");
    is_size(live_count(all, 1, tree_size), 0, "every descendant destroyed");
    ok(mp_pool_valid(root) && mp_pool_children(root) == 0,
       "the root lives, with no child");
    mpool_destroy(root);
    is_size(pages_settled(), base,
            "destroy and reclaim: every page back (%zu in runs)", base);

    root = mpool_create(NULL);
    tree_build(root, all);
    mpool_destroy(root);
    is_size(live_count(all, 0, tree_size), 0,
            "mpool_destroy of the root destroys all %zu pools", tree_size);
    is_size(pages_settled(), base, "and every page comes back");
}

static void
test_alone(void)
{
    mpool_t *p = mpool_create(NULL);
    mpool_t *a = child_of(p, "a", 0), *b = child_of(p, "b", 0);
    mpool_t *ga = child_of(a, "ga", 0);
    char *kept;

    if (p == NULL || a == NULL || b == NULL || ga == NULL)
        sysbail("pools");
    kept = mpool_alloc(b, 100);
    if (kept == NULL || mpool_alloc(a, 100) == NULL)
        bail("alloc");
    memset(kept, 'b', 100);
    is_size(mp_pool_children(p), 2, "two children");
    mpool_destroy(a);
    ok(!mp_pool_valid(a) && !mp_pool_valid(ga),
       "a child destroyed alone goes, with its own child");
    is_size(mp_pool_children(p), 1, "its parent has one child left");
    ok(mp_pool_valid(b) && kept[0] == 'b' && kept[99] == 'b',
       "its sibling and its blocks are untouched");
    mpool_destroy(ga = child_of(b, "gb", 0));
    is_size(mp_pool_children(b), 0, "a grandchild destroyed alone");
    mpool_destroy(p);
    ok(!mp_pool_valid(p) && !mp_pool_valid(b), "then the parent, and b");
}

static unsigned char region_mem[64 * 1024];

static void
test_kinds(void)
{
    mpool_t *r = mpool_create(&(mpool_options_t){
        .size = sizeof(mpool_options_t), .name = "region",
        .region = region_mem, .region_size = sizeof(region_mem)});
    mpool_t *s = mpool_create(&(mpool_options_t){
        .size = sizeof(mpool_options_t), .name = "single",
        .flags = MPOOL_SINGLE_THREADED});
    mpool_t *rc, *rc2, *sc, *sc2;

    if (r == NULL || s == NULL)
        sysbail("parents");
    rc = child_of(r, "of region", 0);
    rc2 = child_of(r, "of region, single", MPOOL_SINGLE_THREADED);
    sc = child_of(s, "of single", 0);
    sc2 = child_of(s, "of single, single", MPOOL_SINGLE_THREADED);
    ok(rc != NULL && rc2 != NULL && sc != NULL && sc2 != NULL,
       "children of a region pool and of a single-threaded pool");
    if (mpool_alloc(rc, 100) == NULL || mpool_alloc(sc2, 5000) == NULL ||
        mpool_alloc(r, 100) == NULL)
        bail("alloc");
    is_int(mpool_reset(r), 0, "mpool_reset of the region pool");
    ok(!mp_pool_valid(rc) && !mp_pool_valid(rc2), "destroys its children");
    mpool_destroy(s);
    ok(!mp_pool_valid(sc) && !mp_pool_valid(sc2),
       "mpool_destroy of the single-threaded pool destroys its children");
    rc = child_of(r, "of region again", 0);
    ok(rc != NULL && mp_pool_children(r) == 1, "a new child after reset");
    mpool_destroy(r);
    ok(!mp_pool_valid(rc), "and the region pool's destroy takes it");
}

static void
test_default_parent(void)
{
    mpool_t *d = mpool_default();
    size_t had = mp_pool_children(d);
    mpool_t *c = child_of(d, "of default", 0);

    ok(c != NULL && mp_pool_children(d) == had + 1,
       "the default pool may be a parent");
    errno = 0;
    ok(mpool_reset(d) == -1 && errno == EINVAL && mp_pool_valid(c),
       "mpool_reset(default) fails with EINVAL and leaves its children");
    mpool_destroy(c);
    is_size(mp_pool_children(d), had, "a child of it destroyed alone");
}

static void
test_bad_parents(void)
{
    mpool_t *dead = mpool_create(NULL), *p = mpool_create(NULL);
    char *block = p != NULL ? mpool_alloc(p, 64) : NULL;
    mpool_cache_t *cache = mpool_cache_create("child-t", 64, 0, NULL, NULL,
                                              NULL, 0);
    mpool_options_t old;
    mpool_t *q;
    int local;

    if (dead == NULL || block == NULL || cache == NULL)
        bail("setup");
    memset(block, 'k', 64);
    mpool_destroy(dead);
    errno = 0;
    ok(child_of(dead, "x", 0) == NULL && errno == EINVAL,
       "a destroyed parent: NULL, EINVAL");
    errno = 0;
    ok(child_of((mpool_t *)&local, "x", 0) == NULL && errno == EINVAL,
       "a stack address: NULL, EINVAL");
    errno = 0;
    ok(child_of((mpool_t *)cache, "x", 0) == NULL && errno == EINVAL,
       "a cache: NULL, EINVAL");
    errno = 0;
    ok(child_of((mpool_t *)block, "x", 0) == NULL && errno == EINVAL,
       "a block: NULL, EINVAL");
    ok(block[0] == 'k' && block[63] == 'k' && mp_pool_children(p) == 0,
       "nothing allocated lost, no child counted");
    /* a program built against 0.1: .size ends before .parent */
    memset(&old, 0, sizeof(old));
    old.size = MP_OPTIONS_SIZE_0_1;
    old.parent = (mpool_t *)&local; /* not the caller's: never read */
    errno = 0;
    q = mpool_create(&old);
    ok(q != NULL && errno == 0 && q->parent == NULL,
       "options of 0.1's size: a pool with no parent");
    mpool_destroy(q);
    mpool_cache_destroy(cache);
    mpool_destroy(p);
}

/* ------------------------------------------------------------------------
 * Threads
 * ------------------------------------------------------------------------ */

enum { THREADS = 8, ROUNDS = 300, KEEP = 5 };

static mpool_t *shared_parent;

static void *
family_worker(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    mpool_t *kept[KEEP];

    for (int i = 0; i < ROUNDS; i++) {
        mpool_t *c = child_of(shared_parent, "worker", 0);
        mpool_t *g;
        if (c == NULL)
            return (void *)1;
        if (mpool_alloc(c, (size_t)(i % 200) + 1) == NULL)
            return (void *)2;
        g = child_of(c, "worker's", i % 2 ? MPOOL_SINGLE_THREADED : 0);
        if (g == NULL || mpool_alloc(g, 64) == NULL)
            return (void *)3;
        if (i % 3 == 0)
            mpool_destroy(g); /* alone */
        if (i % 5 == 0)
            mpool_reset(c);
        mpool_destroy(c);
    }
    /* some left for the parent's destroy */
    for (int i = 0; i < KEEP; i++)
        if ((kept[i] = child_of(shared_parent, "kept", 0)) == NULL ||
            mpool_alloc(kept[i], 100 + id) == NULL)
            return (void *)4;
    return NULL;
}

static void
test_threads(void)
{
    pthread_t t[THREADS];
    bool all_ok = true;

    shared_parent = mpool_create(NULL);
    if (shared_parent == NULL)
        sysbail("parent");
    for (uintptr_t i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, family_worker, (void *)i) != 0)
            bail("pthread_create");
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        all_ok = all_ok && ret == NULL;
    }
    ok(all_ok, "%d threads created and destroyed %d children each of one "
       "parent", THREADS, ROUNDS);
    is_size(mp_pool_children(shared_parent), (size_t)THREADS * KEEP,
            "the parent counts the %d kept", THREADS * KEEP);
    is_int(mpool_reset(shared_parent), 0, "reset destroys them");
    is_size(mp_pool_children(shared_parent), 0, "none left");
    mpool_destroy(shared_parent);
}

int
main(void)
{
    plan_lazy();
    test_tree();
    test_alone();
    test_kinds();
    test_default_parent();
    test_bad_parents();
    test_threads();
    return tap_done();
}
