/* SPDX-License-Identifier: MIT */
/*
 * t/k210/pool-t.c - pools of the k210 build on two harts at once (bare
 * metal, QEMU virt): a pool with a limit and one in a region; then on
 * both harts, blocks of 64-384 KiB and blocks aligned to 8-64 KiB; blocks
 * of 1 B-4 KiB from a shared pool and the default pool, filled, checked,
 * resized and freed; blocks allocated on one hart and freed by the other;
 * calloc, realloc and aligned_alloc; a pool run dry until ENOMEM and
 * destroyed whole; reclaim, and the memory is all there again.  And the
 * numbers: mpool_stats and mpool_walk on a class pool, a region pool and
 * the shared pool whose blocks the harts freed into their magazines, and
 * mpool_system_stats.
 */
#include "kernel.h"

#define CHURN_ROUNDS 20000u /* allocations per hart per pool */
#define CHURN_LIVE 128u     /* blocks a hart holds at once */
#define CROSS_BLOCKS 4000u  /* blocks each hart hands to the other */
#define LARGE_ROUNDS 100u   /* large blocks per hart */
#define DRY_SIZE 1000u      /* block size for the exhaustion */
#define LIMIT_BYTES (256u * 1024u)

typedef struct hart_result {
    unsigned churn_bad;    /* blocks changed, misaligned or too small */
    unsigned churn_failed; /* allocations that failed */
    unsigned cross_got;
    unsigned cross_bad;
    unsigned cross_failed;
    unsigned misc_bad;     /* calloc, realloc, aligned_alloc */
    unsigned large_bad;
    unsigned large_failed;
    size_t dry_blocks;     /* taken from the dry pool until NULL */
    int dry_errno;
    size_t reclaimed;
} hart_result_t;

static hart_result_t result[RV_NHARTS];
static rv_mbox_t mbox[RV_NHARTS]; /* mbox[h]: blocks for hart h to free */
static mpool_t *shared, *dry;

/* Sizes as a kernel asks for them: mostly small, some up to a page. */
static size_t
random_size(uint64_t *rng)
{
    uint64_t r = rv_rand(rng);

    if (r % 4 == 0)
        return 513 + (r >> 8) % (4096 - 512);
    return 1 + (r >> 8) % 512;
}

/* A block in use: its size in the first word (when it fits), then a
 * pattern seeded by its address. */
static bool
block_take(void *p, size_t size)
{
    bool good = p != NULL && (size <= 8 || (uintptr_t)p % 16 == 0) &&
                mpool_usable_size(p) >= size;

    if (p != NULL)
        rv_fill(p, size, (uintptr_t)p);
    return good;
}

static bool
block_good(const void *p, size_t size)
{
    return rv_check(p, size, (uintptr_t)p) == SIZE_MAX;
}

/* Churn on one pool: blocks of random sizes, each checked at its free;
 * now and then one is resized, keeping its contents. */
static void
churn(unsigned hart, mpool_t *pool, uint64_t seed)
{
    hart_result_t *r = &result[hart];
    struct { void *p; size_t size; } live[CHURN_LIVE] = {{0}};
    uint64_t rng = seed * (hart + 1);

    for (unsigned round = 0; round < CHURN_ROUNDS + CHURN_LIVE; round++) {
        unsigned i = (unsigned)(rv_rand(&rng) % CHURN_LIVE);

        if (round >= CHURN_ROUNDS)
            i = round - CHURN_ROUNDS;
        if (live[i].p != NULL && round < CHURN_ROUNDS &&
            rv_rand(&rng) % 8 == 0) {
            /* Resize: the old contents survive up to the smaller size. */
            size_t size = random_size(&rng);
            size_t keep = size < live[i].size ? size : live[i].size;
            void *q = mpool_realloc(pool, live[i].p, size);

            if (q == NULL) {
                r->churn_failed++;
                continue;
            }
            if (rv_check(q, keep, (uintptr_t)live[i].p) != SIZE_MAX)
                r->churn_bad++;
            live[i].p = q;
            live[i].size = size;
            r->churn_bad += !block_take(q, size);
            continue;
        }
        if (live[i].p != NULL) {
            r->churn_bad += !block_good(live[i].p, live[i].size);
            mpool_free(pool, live[i].p);
            live[i].p = NULL;
        }
        if (round >= CHURN_ROUNDS)
            continue;
        live[i].size = random_size(&rng);
        live[i].p = mpool_alloc(pool, live[i].size);
        if (live[i].p == NULL)
            r->churn_failed++;
        else
            r->churn_bad += !block_take(live[i].p, live[i].size);
    }
}

/* Blocks of the shared pool allocated here and freed by the other hart;
 * the size travels in the block's first word. */
static void
cross(unsigned hart)
{
    hart_result_t *r = &result[hart];
    rv_mbox_t *out = &mbox[1 - hart], *in = &mbox[hart];
    uint64_t rng = 0x853c49e6748fea9bull * (hart + 1);
    unsigned sent = 0;
    uint64_t *pending = NULL, *b;
    uint64_t deadline = rv_deadline();

    while (sent < CROSS_BLOCKS || r->cross_got < CROSS_BLOCKS) {
        rv_check_deadline(deadline, "blocks from one hart to the other");
        if (sent < CROSS_BLOCKS) {
            if (pending == NULL) {
                size_t size = 8 + random_size(&rng);
                pending = mpool_alloc(shared, size);
                if (pending == NULL) {
                    r->cross_failed++;
                    pending = RV_MBOX_FAILED;
                } else {
                    pending[0] = size;
                    rv_fill(pending + 1, size - 8, (uintptr_t)pending);
                }
            }
            if (rv_mbox_put(out, pending)) {
                pending = NULL;
                sent++;
            }
        }
        b = rv_mbox_get(in);
        if (b == RV_MBOX_FAILED) {
            r->cross_got++;
        } else if (b != NULL) {
            size_t size = b[0];
            r->cross_got++;
            if (size < 8 || mpool_usable_size(b) < size ||
                rv_check(b + 1, size - 8, (uintptr_t)b) != SIZE_MAX)
                r->cross_bad++;
            mpool_free(shared, b);
        }
    }
}

/* calloc after a dirty free, aligned_alloc, growing realloc. */
static void
misc(unsigned hart)
{
    hart_result_t *r = &result[hart];

    for (unsigned round = 0; round < 200; round++) {
        size_t size = 16 + 97 * round;
        unsigned char *p = mpool_alloc(shared, size);
        unsigned char *z;
        void *a;
        size_t align = (size_t)1 << (4 + round % 9); /* 16 B .. 4 KiB */

        if (p == NULL) {
            r->misc_bad++;
            continue;
        }
        rv_fill(p, size, round);
        mpool_free(shared, p);
        z = mpool_calloc(shared, size, 1);
        if (z == NULL)
            r->misc_bad++;
        else {
            for (size_t i = 0; i < size; i++)
                r->misc_bad += z[i] != 0;
            rv_fill(z, size, round);
            z = mpool_realloc(shared, z, 3 * size);
            if (z == NULL || rv_check(z, size, round) != SIZE_MAX)
                r->misc_bad++;
            mpool_free(shared, z);
        }
        a = mpool_aligned_alloc(shared, align, 100 + round);
        if (a == NULL || (uintptr_t)a % align != 0)
            r->misc_bad++;
        mpool_free(shared, a);
    }
}

/* Large blocks, 64 KiB .. 384 KiB (slabs of whole segments), and blocks
 * aligned to 8 .. 64 KiB, one at a time on each hart.  This runs first:
 * later, the library's own metadata (the pools' class caches and each
 * hart's magazine stacks, some 70 pages) lies scattered over most of the
 * 30 segments, and a block that needs two free segments in a row may find
 * none (see doc/backends.md). */
static void
large(unsigned hart)
{
    hart_result_t *r = &result[hart];

    for (unsigned round = 0; round < LARGE_ROUNDS; round++) {
        size_t size = 65536 + (size_t)round * 32749 % (320u * 1024);
        size_t align = (size_t)1 << (13 + round % 4);
        void *p = mpool_alloc(shared, size);

        if (p == NULL) {
            r->large_failed++;
        } else {
            rv_fill(p, size, round);
            r->large_bad += rv_check(p, size, round) != SIZE_MAX ||
                            mpool_usable_size(p) < size;
            mpool_free(shared, p);
        }
        p = mpool_aligned_alloc(shared, align, 100 + round);
        if (p == NULL)
            r->large_failed++;
        else
            r->large_bad += (uintptr_t)p % align != 0;
        mpool_free(shared, p);
    }
}

/* The walk's callback: each block must be one of live[], seen once. */
#define STATS_BLOCKS 300u
static void *stats_live[STATS_BLOCKS + 2];
static unsigned char stats_seen[STATS_BLOCKS + 2];
static size_t stats_nlive, walk_calls, walk_bytes, walk_bad;

static int
walk_check(void *block, size_t usable, void *arg)
{
    size_t i = 0;

    (void)arg;
    walk_calls++;
    walk_bytes += usable;
    while (i < stats_nlive && stats_live[i] != block)
        i++;
    if (i == stats_nlive || stats_seen[i]++ != 0 ||
        usable != mpool_usable_size(block))
        walk_bad++;
    return 0;
}

static bool
walk_agrees(mpool_t *pool, const mpool_stats_t *st)
{
    for (size_t i = 0; i < stats_nlive; i++)
        stats_seen[i] = 0;
    walk_calls = walk_bytes = walk_bad = 0;
    return mpool_walk(pool, walk_check, NULL) == 0 &&
           walk_calls == stats_nlive && walk_bad == 0 &&
           walk_calls == st->blocks_in_use && walk_bytes == st->bytes_in_use;
}

/* mpool_stats and mpool_walk on one hart: a class pool with blocks of
 * 1 B .. 4 KiB and two page runs, then half of them freed. */
static void
stats_class_pool(void)
{
    mpool_t *pool = mpool_create(NULL);
    mpool_stats_t st = {.size = sizeof(st)};
    size_t bytes = 0, kept = 0;
    bool exact;

    if (pool == NULL)
        bail("mpool_create");
    stats_nlive = 0;
    for (unsigned i = 0; i < STATS_BLOCKS + 2; i++) {
        void *b = i < STATS_BLOCKS ? mpool_alloc(pool, 1 + i * 13)
                                   : mpool_aligned_alloc(pool, 8192, 5000);
        if (b == NULL)
            bail("mpool_alloc for the stats");
        stats_live[stats_nlive++] = b;
        bytes += mpool_usable_size(b);
    }
    exact = mpool_stats(pool, &st) == 0 &&
            st.blocks_in_use == STATS_BLOCKS + 2 && st.bytes_in_use == bytes &&
            st.large_blocks == 2 && st.bytes_in_use <= st.bytes_held &&
            st.bytes_free <= st.bytes_held - st.bytes_in_use &&
            st.bytes_held <= st.bytes_held_peak;
    ok(exact && walk_agrees(pool, &st),
       "mpool_stats: %zu blocks, %zu bytes in use of %zu held; mpool_walk "
       "saw each once", st.blocks_in_use, st.bytes_in_use, st.bytes_held);
    for (size_t i = 0; i < stats_nlive; i++)
        if (i % 2 == 0)
            mpool_free(pool, stats_live[i]); /* into the magazine */
        else
            stats_live[kept++] = stats_live[i];
    stats_nlive = kept;
    bytes = 0;
    for (size_t i = 0; i < kept; i++)
        bytes += mpool_usable_size(stats_live[i]);
    ok(mpool_stats(pool, &st) == 0 && st.blocks_in_use == kept &&
           st.bytes_in_use == bytes && walk_agrees(pool, &st),
       "half freed (in the magazine): %zu blocks, %zu bytes, walked alike",
       st.blocks_in_use, st.bytes_in_use);
    mpool_destroy(pool);
}

/* Both harts take DRY_SIZE-byte blocks from the dry pool until ENOMEM. */
static void
dry_run(unsigned hart)
{
    hart_result_t *r = &result[hart];
    void *p;

    for (;;) {
        mpool_errno = 0;
        p = mpool_alloc(dry, DRY_SIZE);
        if (p == NULL)
            break;
        rv_fill(p, DRY_SIZE, (uintptr_t)p);
        r->dry_blocks++;
    }
    r->dry_errno = mpool_errno;
}

/* The phases, on both harts at once; hart 0 reports.  After each phase
 * each hart gives back what it caches itself: on bare metal no other hart
 * can (there is no membarrier to flush a hart's magazines from outside),
 * and on 8 MiB what two harts keep in magazines for two pools adds up to
 * megabytes (doc/backends.md). */
static void
both(unsigned hart)
{
    rv_barrier("large");
    large(hart);
    (void)mpool_reclaim(NULL);
    rv_barrier("large done");
    if (hart == 0)
        for (unsigned h = 0; h < RV_NHARTS; h++)
            ok(result[h].large_bad == 0 && result[h].large_failed == 0,
               "hart %u: %u blocks of 64..384 KiB and %u aligned to "
               "8..64 KiB, filled, checked, freed (%u bad, %u failed)", h,
               LARGE_ROUNDS, LARGE_ROUNDS, result[h].large_bad,
               result[h].large_failed);

    rv_barrier("shared pool");
    churn(hart, shared, 0x9e3779b97f4a7c15ull);
    (void)mpool_reclaim(NULL);
    rv_barrier("default pool");
    churn(hart, mpool_default(), 0x2545f4914f6cdd1dull);
    (void)mpool_reclaim(NULL);
    rv_barrier("churn done");
    if (hart == 0)
        for (unsigned h = 0; h < RV_NHARTS; h++)
            ok(result[h].churn_bad == 0 && result[h].churn_failed == 0,
               "hart %u: %u blocks of 1 B..4 KiB each from a shared pool "
               "and the default pool, resized, checked, freed (%u bad, %u "
               "failed)", h, CHURN_ROUNDS, result[h].churn_bad,
               result[h].churn_failed);

    rv_barrier("cross");
    cross(hart);
    (void)mpool_reclaim(NULL);
    rv_barrier("cross done");
    if (hart == 0)
        for (unsigned h = 0; h < RV_NHARTS; h++)
            ok(result[h].cross_got == CROSS_BLOCKS &&
               result[h].cross_bad == 0 && result[1 - h].cross_failed == 0,
               "hart %u freed the %u blocks hart %u allocated, intact (%u "
               "received, %u changed, %u not allocated)", h, CROSS_BLOCKS,
               1 - h, result[h].cross_got, result[h].cross_bad,
               result[1 - h].cross_failed);

    rv_barrier("misc");
    misc(hart);
    rv_barrier("misc done");
    if (hart == 0) {
        mpool_stats_t st = {.size = sizeof(st)};

        for (unsigned h = 0; h < RV_NHARTS; h++)
            ok(result[h].misc_bad == 0,
               "hart %u: calloc zeroes, realloc keeps, aligned_alloc "
               "aligns to 16 B..4 KiB (%u bad)", h, result[h].misc_bad);
        /* both harts' magazines hold the shared pool's freed blocks */
        stats_nlive = 0;
        ok(mpool_stats(shared, &st) == 0 && st.blocks_in_use == 0 &&
               st.bytes_in_use == 0 && st.bytes_free > 0 &&
               walk_agrees(shared, &st),
           "the shared pool, its blocks freed into both harts' magazines: "
           "none in use, %zu bytes free, none walked", st.bytes_free);
    }
    rv_barrier("misc stats");

    (void)mpool_reclaim(NULL);
    rv_barrier("dry");
    dry_run(hart);
    rv_barrier("dry done");
    if (hart == 0) {
        for (unsigned h = 0; h < RV_NHARTS; h++)
            ok(result[h].dry_errno == ENOMEM,
               "hart %u took %zu blocks of %u bytes until NULL with ENOMEM "
               "(errno %d)", h, result[h].dry_blocks, DRY_SIZE,
               result[h].dry_errno);
        ok((result[0].dry_blocks + result[1].dry_blocks) * DRY_SIZE >=
               (size_t)(__ram_end - __free_start) / 4 * 3,
           "together they took %zu blocks, at least 3/4 of the RAM",
           result[0].dry_blocks + result[1].dry_blocks);
        mpool_destroy(dry);
    }
    rv_barrier("dry destroyed");
    result[hart].reclaimed = mpool_reclaim(NULL);
}

void
test_main(void)
{
    size_t len = (size_t)(__ram_end - __free_start);
    mpool_options_t limited = {.size = sizeof(limited),
                               .name = "limited", .limit = LIMIT_BYTES};
    mpool_options_t in_region = {.size = sizeof(in_region),
                                 .name = "region"};
    mpool_t *pool;
    size_t n = 0, dry_total, again;
    unsigned char *region;
    bool inside = true;
    void *p;

    plan(24);
    is_u((unsigned long)mpool_k210_init(__free_start, len), 0,
         "mpool_k210_init(%p, %zu KiB) succeeds", (void *)__free_start,
         len / 1024);

    /* A pool with a limit. */
    pool = mpool_create(&limited);
    while (pool != NULL && mpool_alloc(pool, 1000) != NULL)
        n++;
    ok(pool != NULL && mpool_errno == ENOMEM && n > 0 &&
       n * 1000 <= LIMIT_BYTES,
       "a pool limited to %u KiB gives %zu blocks of 1000 B, then ENOMEM",
       LIMIT_BYTES / 1024, n);
    mpool_destroy(pool);

    /* A pool in a region of 16 pages. */
    region = mpool_pages_alloc(16);
    in_region.region = region;
    in_region.region_size = 16 * 4096;
    pool = region != NULL ? mpool_create(&in_region) : NULL;
    n = 0;
    while (pool != NULL && (p = mpool_alloc(pool, 100)) != NULL) {
        inside &= (unsigned char *)p >= region &&
                  (unsigned char *)p + 100 <= region + 16 * 4096;
        n++;
    }
    ok(pool != NULL && inside && n > 0 && mpool_errno == ENOMEM,
       "a pool in a 64 KiB region carves all %zu blocks from it", n);
    {
        mpool_stats_t st = {.size = sizeof(st)};
        int stats_rc = mpool_stats(pool, &st), walk_rc;
        stats_nlive = 0; /* walk_check counts every block as a stranger */
        walk_calls = walk_bytes = 0;
        walk_rc = mpool_walk(pool, walk_check, NULL);
        ok(stats_rc == 0 && st.blocks_in_use == n &&
               st.bytes_held == 16 * 4096 && walk_rc == 0 &&
               walk_calls == n && walk_bytes == st.bytes_in_use,
           "the region pool: %zu blocks, %zu bytes in use, as walked",
           st.blocks_in_use, walk_bytes);
    }
    mpool_destroy(pool);
    is_u((unsigned long)mpool_pages_free(region, 16), 0,
         "the region is freed");
    stats_class_pool();
    {
        mpool_system_stats_t sys = {.size = sizeof(sys)};
        ok(mpool_system_stats(&sys) == 0 && sys.segments > 0 &&
               sys.bytes_committed <= sys.bytes_mapped &&
               sys.bytes_committed <= sys.bytes_committed_peak &&
               sys.pools >= 1 && sys.bytes_in_use <= sys.bytes_committed,
           "mpool_system_stats: %zu segments, %zu KiB mapped, %zu KiB "
           "committed (peak %zu KiB), %zu pools",
           sys.segments, sys.bytes_mapped / 1024, sys.bytes_committed / 1024,
           sys.bytes_committed_peak / 1024, sys.pools);
    }

    shared = mpool_create(NULL);
    dry = mpool_create(NULL);
    ok(shared != NULL && dry != NULL, "two shared pools created");
    if (shared == NULL || dry == NULL)
        bail("cannot go on without the pools");

    rv_release_secondary();
    both(0);
    rv_wait_secondary("the last reclaim");

    dry_total = result[0].dry_blocks + result[1].dry_blocks;
    mpool_destroy(shared);
    ok(result[0].reclaimed + result[1].reclaimed + mpool_reclaim(NULL) > 0,
       "mpool_reclaim gave back %zu + %zu pages on the harts, and more "
       "after the shared pool was destroyed", result[0].reclaimed,
       result[1].reclaimed);
    is_u(mpool_reclaim(NULL), 0, "a second mpool_reclaim finds nothing");

    /* Everything came back: one hart alone can fill as much again. */
    dry = mpool_create(NULL);
    again = 0;
    while (dry != NULL && mpool_alloc(dry, DRY_SIZE) != NULL)
        again++;
    ok(again >= dry_total - dry_total / 64,
       "after destroy and reclaim, one hart takes %zu blocks again (both "
       "took %zu)", again, dry_total);
    mpool_destroy(dry);
}

void
test_secondary(unsigned hart)
{
    both(hart);
}
