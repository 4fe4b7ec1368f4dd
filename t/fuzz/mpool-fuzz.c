/* SPDX-License-Identifier: MIT */
/*
 * mpool-fuzz.c - a libFuzzer target over the whole public interface.
 *
 * Each input is a program: a stream of operations, each an opcode byte and
 * its argument bytes (read by next(); an input that runs out reads zeros
 * and stops).  The operations use every public call: object caches (with a
 * constructor that stamps each object, without one, zeroing, without
 * magazines, in checking mode), pools (the default one, pools made by
 * mpool_create with a limit, a retain size or MPOOL_SINGLE_THREADED, and a
 * region pool over a static buffer at an odd offset), page runs and
 * mpool_reclaim.  A shadow model of every live block is kept here, and
 * each call is checked against it (fail() aborts with what went wrong):
 *
 *   - no two live blocks overlap (a block counts as its usable size);
 *   - what was written to a block is still there when it is freed,
 *     reallocated or checked (every byte of small blocks, a sample of
 *     large ones), also after reclaim and after other pools are destroyed;
 *   - alignment: 8 or 16 as mpool_alloc documents, the alignment asked of
 *     mpool_aligned_alloc and of a cache, the page size for page runs;
 *   - mpool_usable_size() >= the size asked for; calloc'd and ZERO-cache
 *     blocks are zero; a constructed object carries its stamp when handed
 *     out, every destructor call sees a stamped object, and a destroyed
 *     cache has destructed every object it constructed;
 *   - mpool_cache_stats() agrees with the model: objects_in_use, allocs
 *     and frees are the model's counts; a cache with a constructor and no
 *     checking mode has objects_total objects constructed and not yet
 *     destructed (in checking mode, one per object in use); the slab
 *     counts are consistent with the object counts; a cache without
 *     magazines caches nothing;
 *   - mpool_reclaim(): the caches' reclaim callbacks run (the target's
 *     free the objects it marked as its own cache), and afterwards no cache
 *     has an empty slab or a cached object; the count is at least the
 *     pages of the empty slabs the caches had before the call; a second
 *     call right after the first, for everything or for the same pool,
 *     gives back nothing;
 *   - the documented errors: EBUSY from destroying a cache in use, EINVAL
 *     from bad alignments, wrong page counts and npages == 0, ENOMEM from
 *     calloc overflow, EEXIST from a cache name in use, EINVAL from a cache
 *     of size 0 or one that zero-fills and has a constructor; ENOMEM from a
 *     pool only where it has a limit or a region;
 *   - a region pool never writes outside its region (guard bytes around
 *     it), and every block lies inside the region.
 *
 * mpool_report() is run now and then (to /dev/null) for what the
 * sanitizers see in it.
 *
 * At the end of each input everything is freed and destroyed, so inputs do
 * not depend on each other.  The live blocks are bounded (MAX_LIVE, and
 * MAX_BYTES in all), so a long input cannot exhaust memory.
 *
 * Built two ways: with clang -fsanitize=fuzzer by `make fuzz`
 * (t/fuzz/Makefile.inc), and with t/fuzz/replay.c by `make check`, which
 * runs the committed corpus t/fuzz/corpus/ through it.  With
 * MPOOL_FUZZ_TRACE set in the environment each step is printed to stderr,
 * each operation with its offset in the input ("@OFFSET op N").
 * t/fuzz/gen-corpus.py writes the seed corpus and documents the byte code.
 *
 * Some state outlives an input: the default pool's free blocks, per-thread
 * magazines, the page level's free segments.  So a crash found while
 * fuzzing may need the inputs run before it (libFuzzer runs many in one
 * process); replay them in order: t/fuzz/replay A B CRASH.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LIVE 64                   /* blocks held at once */
#define MAX_BYTES ((size_t)48 << 20)  /* bytes held at once */
#define MAX_OPS 4096                  /* operations per input */
#define NPOOLS 4                      /* 0 default, 1-2 mpool_create, 3 region */
#define REGION_POOL 3
#define NCACHES 4
#define REGION_BYTES ((size_t)1 << 20)
#define GUARD 64                      /* guard bytes either side of a region */
#define SAMPLE 512                    /* bytes checked at each end of a block */

enum kind { K_NONE, K_POOL, K_CACHE, K_PAGES };

struct block {
    enum kind kind;
    int owner;     /* pool or cache slot */
    uint8_t *p;
    size_t size;   /* asked for */
    size_t span;   /* counted for overlap: usable size, object or run size */
    uint8_t seed;  /* what was written: pattern(seed, offset) */
    int spare;     /* a cache object the program holds as a cache of its
                      own: the cache's reclaim callback frees it */
};

struct cache_slot {
    mpool_cache_t *c;
    int id;
    size_t size, align;
    unsigned flags;
    int ctor;          /* has a constructor */
    size_t live;       /* objects the model holds */
    long constructed;  /* constructor calls that succeeded ... */
    long destructed;   /* ... and destructor calls */
    int fail_ctor;     /* the next constructor calls to fail */
    long ctor_failures; /* constructor calls failed so far */
    uint64_t allocs;   /* mpool_cache_alloc() successes ... */
    uint64_t frees;    /* ... and mpool_cache_free() calls, as stats count */
    int reclaim_cb;    /* a reclaim callback is installed */
    long reclaim_calls; /* times it ran */
};

struct pool_slot {
    mpool_t *p;
    int may_fail;      /* a limit or a region: ENOMEM is allowed */
};

static struct block live[MAX_LIVE];
static size_t live_bytes;
static struct cache_slot caches[NCACHES];
static struct pool_slot pools[NPOOLS];
static _Alignas(4096) uint8_t region_buf[REGION_BYTES + 2 * GUARD];
static uint8_t *region_base;
static size_t region_size;
static size_t page_size;

static int tracing;   /* MPOOL_FUZZ_TRACE set: each step on stderr */
static int debug_env; /* MPOOL_DEBUG=1: every cache is in checking mode */
static FILE *devnull; /* where mpool_report() writes */
static const uint8_t *in, *in_start;
static size_t in_left;

static void fail(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("mpool-fuzz: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
trace(const char *fmt, ...)
{
    va_list ap;

    if (!tracing)
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The next input byte; 0 once the input is used up. */
static uint8_t
next(void)
{
    if (in_left == 0)
        return 0;
    in_left--;
    return *in++;
}

static uint16_t
next16(void)
{
    uint16_t v = next();
    return (uint16_t)(v | next() << 8);
}

/* A size, mostly small: the classes a program uses most, then the larger
 * classes, then page runs, then past the largest class (8 MiB). */
static size_t
next_size(void)
{
    uint8_t r = next();
    uint16_t v = next16();

    if (r < 160)
        return v % 257;
    if (r < 220)
        return v % 16385;
    if (r < 248)
        return (size_t)v * 16 + next() % 16;
    if (r < 254)
        return ((size_t)v << 7) % ((size_t)9 << 20);
    return ((size_t)8 << 20) + v; /* just past the largest class */
}

static uint8_t
pattern(uint8_t seed, size_t i)
{
    return (uint8_t)(seed + i * 13 + (i >> 9));
}

/* The offsets of a block of n bytes that are written and checked: all of
 * them up to 2 * SAMPLE bytes, else SAMPLE at each end and every 16381st
 * byte between (touching every page of a large block costs more page
 * faults than the rest of the target together).  for (i = 0; i < n; i = step(n, i)) */
static size_t
step(size_t n, size_t i)
{
    size_t nx = i + 1;

    if (n > 2 * SAMPLE && i >= SAMPLE && nx < n - SAMPLE) {
        nx = i + 16381;
        if (nx > n - SAMPLE)
            nx = n - SAMPLE;
    }
    return nx;
}

static void
fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i = step(n, i))
        p[i] = pattern(seed, i);
}

/* Check the first `keep` bytes of what fill(p, n, seed) wrote. */
static void
check_prefix(const uint8_t *p, size_t n, size_t keep, uint8_t seed,
             const char *what)
{
    for (size_t i = 0; i < n && i < keep; i = step(n, i))
        if (p[i] != pattern(seed, i))
            fail("%s: block %p of %zu bytes: byte %zu is %#x, not %#x", what,
                 (const void *)p, n, i, p[i], pattern(seed, i));
}

static void
check_fill(const uint8_t *p, size_t n, uint8_t seed, const char *what)
{
    check_prefix(p, n, n, seed, what);
}

static void
check_zero(const uint8_t *p, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i = step(n, i))
        if (p[i] != 0)
            fail("%s: block %p of %zu bytes: byte %zu is %#x, not 0", what,
                 (const void *)p, n, i, p[i]);
}

/* ------------------------------------------------------------------------
 * Constructed objects: a cache's constructor stamps the object (the
 * offsets step() visits) with its cache's byte; an object goes back
 * stamped (restored before free).
 * ------------------------------------------------------------------------ */

static uint8_t
stamp_byte(const struct cache_slot *cs)
{
    return (uint8_t)(0xc0 + cs->id);
}

static int
ctor(void *obj, void *arg)
{
    struct cache_slot *cs = arg;

    if (((uintptr_t)obj & (cs->align - 1)) != 0)
        fail("ctor: object %p of cache %d misaligned for %zu", obj, cs->id,
             cs->align);
    if (cs->fail_ctor > 0) {
        cs->fail_ctor--;
        cs->ctor_failures++;
        return 1;
    }
    for (size_t i = 0; i < cs->size; i = step(cs->size, i))
        ((uint8_t *)obj)[i] = stamp_byte(cs);
    cs->constructed++;
    return 0;
}

static void
check_stamp(const struct cache_slot *cs, const uint8_t *obj, const char *what)
{
    for (size_t i = 0; i < cs->size; i = step(cs->size, i))
        if (obj[i] != stamp_byte(cs))
            fail("%s: object %p of cache %d: byte %zu is %#x, not the "
                 "constructor's %#x",
                 what, (const void *)obj, cs->id, i, obj[i], stamp_byte(cs));
}

static void
dtor(void *obj, void *arg)
{
    struct cache_slot *cs = arg;

    check_stamp(cs, obj, "dtor");
    cs->destructed++;
}

/* ------------------------------------------------------------------------
 * The model
 * ------------------------------------------------------------------------ */

static int
free_slot(void)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i].kind == K_NONE)
            return i;
    return -1;
}

/* A live block chosen by the input, or -1 if there is none. */
static int
pick_live(void)
{
    uint8_t r = next();

    for (int k = 0; k < MAX_LIVE; k++) {
        int i = (r + k) % MAX_LIVE;
        if (live[i].kind != K_NONE)
            return i;
    }
    return -1;
}

static void
check_align(const void *p, size_t align, const char *what)
{
    if (((uintptr_t)p & (align - 1)) != 0)
        fail("%s: %p is not aligned to %zu", what, p, align);
}

/* Record a new block in slot i after checking it overlaps no live one. */
static void
add_block(int i, enum kind kind, int owner, void *p, size_t size, size_t span,
          const char *what)
{
    uint8_t *b = p;
    struct block *n = &live[i];

    if (span == 0)
        span = 1;
    for (int j = 0; j < MAX_LIVE; j++) {
        const struct block *o = &live[j];
        if (o->kind == K_NONE || j == i)
            continue;
        if (b < o->p + o->span && o->p < b + span)
            fail("%s: new block [%p, +%zu) overlaps live block [%p, +%zu)",
                 what, p, span, (void *)o->p, o->span);
    }
    if (owner == REGION_POOL && kind == K_POOL &&
        (b < region_base || b + span > region_base + region_size))
        fail("%s: block [%p, +%zu) is outside the region [%p, +%zu)", what,
             p, span, (void *)region_base, region_size);
    n->kind = kind;
    n->owner = owner;
    n->p = b;
    n->size = size;
    n->span = span;
    n->seed = next();
    n->spare = 0;
    trace("[%d] %s: pool/cache %d: %p size %zu span %zu", i, what, owner, p,
          size, span);
    fill(b, size, n->seed);
    live_bytes += size;
}

static void free_block(int i);

static void
drop_block(int i)
{
    live_bytes -= live[i].size;
    live[i].kind = K_NONE;
}

static int
room_for(size_t size)
{
    return live_bytes + size <= MAX_BYTES;
}

/* After a NULL from a pool: ENOMEM, and only where a pool may fail. */
static void
pool_null(int pi, size_t size, const char *what)
{
    trace("%s(pool %d, %zu) = NULL, errno %d", what, pi, size, errno);
    if (errno != ENOMEM)
        fail("%s(pool %d, %zu): NULL with errno %d, not ENOMEM", what, pi,
             size, errno);
    if (!pools[pi].may_fail)
        fail("%s(pool %d, %zu): ENOMEM from a pool with no limit", what, pi,
             size);
}

/* ------------------------------------------------------------------------
 * Pools
 * ------------------------------------------------------------------------ */

static void
region_guard_check(void)
{
    for (size_t i = 0; i < GUARD; i++)
        if (region_base[-1 - (ptrdiff_t)i] != 0xa5 ||
            region_base[region_size + i] != 0xa5)
            fail("region pool wrote outside its region [%p, +%zu)",
                 (void *)region_base, region_size);
}

static void
pool_destroy_slot(int pi)
{
    if (pools[pi].p == NULL || pi == 0)
        return;
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i].kind == K_POOL && live[i].owner == pi) {
            check_fill(live[i].p, live[i].size, live[i].seed,
                       "before mpool_destroy");
            drop_block(i);
        }
    trace("mpool_destroy(pool %d)", pi);
    mpool_destroy(pools[pi].p);
    pools[pi].p = NULL;
    if (pi == REGION_POOL)
        region_guard_check();
}

static void
pool_create_slot(int pi)
{
    mpool_options_t o;
    uint8_t f = next();
    char name[16];

    pool_destroy_slot(pi);
    memset(&o, 0, sizeof(o));
    o.size = sizeof(o);
    snprintf(name, sizeof(name), "fuzz-pool-%d", pi);
    o.name = (f & 1) ? name : NULL;
    if (f & 2)
        o.limit = (size_t)(next() + 1) << 16; /* 64 KiB .. 16 MiB */
    if (f & 4)
        o.retain = (size_t)next() << 12;
    if (f & 8)
        o.flags |= MPOOL_SINGLE_THREADED;
    if (pi == REGION_POOL) {
        size_t off = next() % 16;
        /* 0 .. 1 MiB - 16: very small regions are refused with EINVAL */
        region_size = ((size_t)next16() << 4) % (REGION_BYTES - 16);
        region_base = region_buf + GUARD + off;
        memset(region_buf, 0xa5, sizeof(region_buf));
        o.region = region_base;
        o.region_size = region_size;
    }
    pools[pi].p = mpool_create(&o);
    trace("mpool_create(pool %d, flags %#x, limit %zu, retain %zu, "
          "region %zu) = %p",
          pi, o.flags, o.limit, o.retain, o.region_size, (void *)pools[pi].p);
    pools[pi].may_fail = o.limit != 0 || pi == REGION_POOL;
    if (pools[pi].p == NULL) {
        if (pi == REGION_POOL && errno == EINVAL && region_size < 4096)
            return; /* too small for one block */
        fail("mpool_create(flags %#x, limit %zu, retain %zu, region %zu): "
             "NULL, errno %d",
             o.flags, o.limit, o.retain, o.region_size, errno);
    }
}

static int
pick_pool(void)
{
    int pi = next() % NPOOLS;

    if (pools[pi].p == NULL)
        pool_create_slot(pi);
    return pools[pi].p != NULL ? pi : -1;
}

/* The alignment mpool_alloc promises for a block of this size. */
static size_t
natural_align(size_t size)
{
    return size > 8 ? 16 : 8;
}

static void
op_pool_alloc(int how)
{
    int pi = pick_pool(), i = free_slot();
    size_t size = next_size(), n = 1, align = 0;
    const char *what = "mpool_alloc";
    uint8_t *p;

    if (pi < 0 || i < 0)
        return;
    if (how == 1) {
        what = "mpool_calloc";
        n = 1 + next() % 8;
        size /= n;
    } else if (how == 2) {
        what = "mpool_aligned_alloc";
        align = (size_t)1 << (next() % 22); /* 1 .. 2 MiB */
    }
    if (!room_for(size * n))
        return;
    errno = 0;
    if (how == 1)
        p = mpool_calloc(pools[pi].p, n, size);
    else if (how == 2)
        p = mpool_aligned_alloc(pools[pi].p, align, size);
    else
        p = mpool_alloc(pools[pi].p, size);
    size *= n;
    if (p == NULL) {
        pool_null(pi, size, what);
        return;
    }
    if (mpool_usable_size(p) < size)
        fail("%s(%zu): usable size %zu", what, size, mpool_usable_size(p));
    check_align(p, natural_align(size), what);
    if (align != 0)
        check_align(p, align, what);
    if (how == 1)
        check_zero(p, size, what);
    add_block(i, K_POOL, pi, p, size, mpool_usable_size(p), what);
}

static void
op_pool_realloc(void)
{
    int i = pick_live();
    size_t size = next_size();
    struct block *b;
    uint8_t *p;
    size_t keep;

    if (i < 0 || live[i].kind != K_POOL)
        return;
    b = &live[i];
    if (size > b->size && !room_for(size - b->size))
        return;
    check_fill(b->p, b->size, b->seed, "before mpool_realloc");
    errno = 0;
    p = mpool_realloc(pools[b->owner].p, b->p, size);
    trace("[%d] mpool_realloc(pool %d, %p of %zu, %zu) = %p", i, b->owner,
          (void *)b->p, b->size, size, (void *)p);
    if (p == NULL) {
        pool_null(b->owner, size, "mpool_realloc");
        check_fill(b->p, b->size, b->seed, "after a failed mpool_realloc");
        return;
    }
    keep = b->size < size ? b->size : size;
    check_prefix(p, b->size, keep, b->seed, "mpool_realloc");
    if (mpool_usable_size(p) < size)
        fail("mpool_realloc(%zu): usable size %zu", size,
             mpool_usable_size(p));
    check_align(p, natural_align(size), "mpool_realloc");
    drop_block(i);
    add_block(i, K_POOL, b->owner, p, size, mpool_usable_size(p),
              "mpool_realloc");
}

static void cache_create_errors(void);

/* Alignments mpool_aligned_alloc refuses: 0 and not a power of two (any
 * power of two is taken, past 2 MiB as a page run of its own). */
static void
op_bad_align(void)
{
    size_t bad[] = {0, 3, 24, 48, (size_t)5 << 20, SIZE_MAX};
    int pi = pick_pool();
    size_t a = bad[next() % (sizeof(bad) / sizeof(bad[0]))];

    if (pi < 0)
        return;
    errno = 0;
    if (mpool_aligned_alloc(pools[pi].p, a, 16) != NULL || errno != EINVAL)
        fail("mpool_aligned_alloc(%zu): not EINVAL (errno %d)", a, errno);
    errno = 0;
    if (mpool_calloc(pools[pi].p, SIZE_MAX / 2, 3) != NULL ||
        errno != ENOMEM)
        fail("mpool_calloc overflow: not ENOMEM (errno %d)", errno);
    cache_create_errors();
}

/* ------------------------------------------------------------------------
 * Caches
 * ------------------------------------------------------------------------ */

static void
cache_stats_get(const struct cache_slot *cs, mpool_cache_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    st->size = sizeof(*st);
    if (mpool_cache_stats(cs->c, st) != 0)
        fail("mpool_cache_stats(cache %d): errno %d", cs->id, errno);
}

/* The statistics of a cache against the model, and against each other. */
static void
cache_stats_check(const struct cache_slot *cs)
{
    mpool_cache_stats_t st;
    size_t out, slabs, per;
    long built = cs->constructed - cs->destructed;

    cache_stats_get(cs, &st);
    if (st.objects_in_use != cs->live)
        fail("cache %d: objects_in_use %zu, the model holds %zu", cs->id,
             st.objects_in_use, cs->live);
    if (st.object_size != cs->size || st.stride < cs->size ||
        (cs->align != 0 && st.align < cs->align) || st.flags != cs->flags)
        fail("cache %d: stats object_size %zu stride %zu align %zu flags "
             "%#x; created %zu, %zu, %#x",
             cs->id, st.object_size, st.stride, st.align, st.flags, cs->size,
             cs->align, cs->flags);
    if (st.allocs != cs->allocs || st.frees != cs->frees)
        fail("cache %d: stats count %llu allocs and %llu frees, the model "
             "%llu and %llu",
             cs->id, (unsigned long long)st.allocs,
             (unsigned long long)st.frees, (unsigned long long)cs->allocs,
             (unsigned long long)cs->frees);

    /* Objects out of the slabs are in use or cached; a full slab has all
     * of its objects out, a partial one some but not all. */
    out = st.objects_in_use + st.objects_cached;
    slabs = st.slabs_full + st.slabs_partial + st.slabs_empty;
    per = st.objects_per_slab;
    if (per == 0 || st.slab_size < per * st.stride ||
        st.pages * page_size != slabs * st.slab_size ||
        out < st.slabs_full * per + st.slabs_partial ||
        out > st.slabs_full * per + st.slabs_partial * (per - 1) ||
        st.objects_total < out || st.objects_total > slabs * per ||
        st.objects_total < st.slabs_full * per)
        fail("cache %d: stats disagree: %zu in use, %zu cached, %zu "
             "carved; slabs %zu full, %zu partial, %zu empty of %zu "
             "objects (%zu bytes, stride %zu), %zu pages",
             cs->id, st.objects_in_use, st.objects_cached, st.objects_total,
             st.slabs_full, st.slabs_partial, st.slabs_empty, per,
             st.slab_size, st.stride, st.pages);
    if ((cs->flags & (MPOOL_CACHE_NOMAGAZINE | MPOOL_CACHE_DEBUG)) != 0 &&
        st.mode != MPOOL_MAGAZINE_NONE)
        fail("cache %d (flags %#x): magazine mode %u", cs->id, cs->flags,
             st.mode);
    if ((cs->flags & (MPOOL_CACHE_NOMAGAZINE | MPOOL_CACHE_DEBUG)) ==
            MPOOL_CACHE_NOMAGAZINE &&
        st.objects_cached != 0)
        fail("cache %d has no magazines but %zu objects cached", cs->id,
             st.objects_cached);
    /* Constructed when carved, destructed when the slab goes; in checking
     * mode also destructed at free and constructed again at reuse. */
    if (cs->ctor && !(cs->flags & MPOOL_CACHE_DEBUG) &&
        built != (long)st.objects_total)
        fail("cache %d: %ld objects constructed and not destructed, %zu "
             "carved",
             cs->id, built, st.objects_total);
    if (cs->ctor && (cs->flags & MPOOL_CACHE_DEBUG) && built != (long)cs->live)
        fail("cache %d (checking mode): %ld objects constructed and not "
             "destructed, %zu in use",
             cs->id, built, cs->live);
}

static void
cache_create_slot(struct cache_slot *cs)
{
    uint8_t f = next();
    char name[32];
    size_t size = next16();

    switch (f >> 6) {
    case 0: size = 1 + size % 64; break;
    case 1: size = 1 + size % 512; break;
    case 2: size = 1 + size % 8192; break;
    default: size = 1 + (size_t)size * 4; break; /* up to 256 KiB */
    }
    cs->size = size;
    cs->align = (f & 8) ? (size_t)1 << (next() % 13) : 0; /* to 4 KiB */
    cs->ctor = (f & 1) != 0;
    cs->flags = 0;
    if ((f & 2) && !cs->ctor)
        cs->flags |= MPOOL_CACHE_ZERO;
    if (f & 4)
        cs->flags |= MPOOL_CACHE_NOMAGAZINE;
    if (f & 16)
        cs->flags |= MPOOL_CACHE_DEBUG;
    cs->live = 0;
    cs->constructed = cs->destructed = 0;
    cs->fail_ctor = 0;
    cs->allocs = cs->frees = 0;
    cs->reclaim_cb = 0;
    snprintf(name, sizeof(name), "fuzz-cache-%d", cs->id);
    cs->c = mpool_cache_create(name, size, cs->align, cs->ctor ? ctor : NULL,
                               cs->ctor ? dtor : NULL, cs, cs->flags);
    if (cs->c == NULL)
        fail("mpool_cache_create(%zu, align %zu, flags %#x): errno %d", size,
             cs->align, cs->flags, errno);
    if (debug_env)
        cs->flags |= MPOOL_CACHE_DEBUG;
    if (mpool_cache_find(name) != cs->c)
        fail("mpool_cache_find(%s) is not the cache just made", name);
    trace("mpool_cache_create(cache %d, %zu, align %zu, ctor %d, flags %#x)",
          cs->id, size, cs->align, cs->ctor, cs->flags);
    if (cs->align == 0)
        cs->align = size % 16 == 0 ? 16 : 8;
    cache_stats_check(cs);
}

/* What mpool_cache_create refuses, leaving the live caches alone. */
static void
cache_create_errors(void)
{
    char name[32];

    errno = 0;
    if (mpool_cache_create("fuzz-cache-bad", 0, 0, NULL, NULL, NULL, 0) !=
            NULL ||
        errno != EINVAL)
        fail("mpool_cache_create(size 0): not EINVAL (errno %d)", errno);
    errno = 0;
    if (mpool_cache_create("fuzz-cache-bad", 64, 0, ctor, dtor, &caches[0],
                           MPOOL_CACHE_ZERO) != NULL ||
        errno != EINVAL)
        fail("mpool_cache_create(ZERO with a constructor): not EINVAL "
             "(errno %d)",
             errno);
    for (int c = 0; c < NCACHES; c++) {
        if (caches[c].c == NULL)
            continue;
        snprintf(name, sizeof(name), "fuzz-cache-%d", c);
        errno = 0;
        if (mpool_cache_create(name, 8, 0, NULL, NULL, NULL, 0) != NULL ||
            errno != EEXIST)
            fail("mpool_cache_create(%s, a name in use): not EEXIST "
                 "(errno %d)",
                 name, errno);
        cache_stats_check(&caches[c]);
        break;
    }
}

static void
cache_destroy_slot(struct cache_slot *cs)
{
    int rc;

    if (cs->c == NULL)
        return;
    cache_stats_check(cs);
    errno = 0;
    rc = mpool_cache_destroy(cs->c);
    trace("mpool_cache_destroy(cache %d) = %d", cs->id, rc);
    if (cs->live != 0) {
        if (rc != -1 || errno != EBUSY)
            fail("mpool_cache_destroy(cache %d with %zu live): %d, errno %d",
                 cs->id, cs->live, rc, errno);
        cache_stats_check(cs); /* left intact */
        return;
    }
    if (rc != 0)
        fail("mpool_cache_destroy(cache %d, empty): %d, errno %d", cs->id, rc,
             errno);
    if (cs->constructed != cs->destructed)
        fail("cache %d destroyed: %ld objects constructed, %ld destructed",
             cs->id, cs->constructed, cs->destructed);
    cs->c = NULL;
}

static struct cache_slot *
pick_cache(void)
{
    struct cache_slot *cs = &caches[next() % NCACHES];

    if (cs->c == NULL)
        cache_create_slot(cs);
    return cs;
}

static void
op_cache_alloc(void)
{
    struct cache_slot *cs = pick_cache();
    int i = free_slot();
    long failures = cs->ctor_failures;
    uint8_t *p;

    if (i < 0 || !room_for(cs->size))
        return;
    errno = 0;
    p = mpool_cache_alloc(cs->c);
    if (p == NULL) {
        /* only a failing constructor may fail it */
        if (errno == ENOMEM && cs->ctor_failures > failures)
            return;
        fail("mpool_cache_alloc(cache %d): NULL, errno %d", cs->id, errno);
    }
    check_align(p, cs->align, "mpool_cache_alloc");
    if (cs->ctor)
        check_stamp(cs, p, "mpool_cache_alloc");
    if (cs->flags & MPOOL_CACHE_ZERO)
        check_zero(p, cs->size, "mpool_cache_alloc (MPOOL_CACHE_ZERO)");
    cs->live++;
    cs->allocs++;
    add_block(i, K_CACHE, cs->id, p, cs->size, cs->size,
              "mpool_cache_alloc");
    /* one object in four is the program's own cache of them */
    live[i].spare = (live[i].seed & 3) == 0;
}

/* ------------------------------------------------------------------------
 * Page runs
 * ------------------------------------------------------------------------ */

static void
op_pages_alloc(void)
{
    int i = free_slot();
    uint8_t r = next();
    size_t n = r < 200 ? 1 + r % 16 : 1 + next16() % 2048; /* to 8 MiB */
    uint8_t *p;

    if (i < 0 || !room_for(n * page_size))
        return;
    errno = 0;
    p = mpool_pages_alloc(n);
    if (p == NULL)
        fail("mpool_pages_alloc(%zu): NULL, errno %d", n, errno);
    check_align(p, page_size, "mpool_pages_alloc");
    add_block(i, K_PAGES, 0, p, n * page_size, n * page_size,
              "mpool_pages_alloc");
}

/* The page level refuses what it did not hand out, and leaves it alone. */
static void
op_pages_bad_free(void)
{
    int i = pick_live();
    size_t pages;
    int rc;

    errno = 0;
    if (mpool_pages_alloc(0) != NULL || errno != EINVAL)
        fail("mpool_pages_alloc(0): not EINVAL (errno %d)", errno);
    if (i < 0 || live[i].kind != K_PAGES)
        return;
    pages = live[i].size / page_size;
    errno = 0;
    rc = mpool_pages_free(live[i].p, pages + 1 + next() % 4);
    if (rc != -1 || errno != EINVAL)
        fail("mpool_pages_free(%p, a wrong count): %d, errno %d",
             (void *)live[i].p, rc, errno);
    if (pages > 1) {
        errno = 0;
        rc = mpool_pages_free(live[i].p + page_size, pages - 1);
        if (rc != -1 || errno != EINVAL)
            fail("mpool_pages_free(inside a run): %d, errno %d", rc, errno);
    }
    check_fill(live[i].p, live[i].size, live[i].seed,
               "after a refused mpool_pages_free");
}

/* ------------------------------------------------------------------------
 * Freeing, checking, reclaim
 * ------------------------------------------------------------------------ */

static void
free_block(int i)
{
    struct block *b = &live[i];

    if (b->kind == K_NONE)
        return;
    trace("[%d] free %p size %zu", i, (void *)b->p, b->size);
    check_fill(b->p, b->size, b->seed, "before free");
    switch (b->kind) {
    case K_POOL:
        if (mpool_usable_size(b->p) < b->size)
            fail("mpool_usable_size(%p) %zu < %zu", (void *)b->p,
                 mpool_usable_size(b->p), b->size);
        mpool_free(pools[b->owner].p, b->p);
        break;
    case K_CACHE: {
        struct cache_slot *cs = &caches[b->owner];
        if (cs->ctor) /* back constructed */
            for (size_t j = 0; j < cs->size; j = step(cs->size, j))
                b->p[j] = stamp_byte(cs);
        mpool_cache_free(cs->c, b->p);
        cs->live--;
        cs->frees++;
        break;
    }
    case K_PAGES:
        if (mpool_pages_free(b->p, b->size / page_size) != 0)
            fail("mpool_pages_free(%p, %zu): errno %d", (void *)b->p,
                 b->size / page_size, errno);
        break;
    case K_NONE:
        return;
    }
    drop_block(i);
}

static void
check_all(void)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i].kind != K_NONE)
            check_fill(live[i].p, live[i].size, live[i].seed, "check");
    for (int c = 0; c < NCACHES; c++)
        if (caches[c].c != NULL)
            cache_stats_check(&caches[c]);
    if (pools[REGION_POOL].p != NULL)
        region_guard_check();
}

/* A cache's reclaim callback: free the objects the program holds as a
 * cache of its own (spare), as a program would.  It runs in
 * mpool_reclaim(NULL), and in any allocation that ran out of memory (a
 * constructor's failure, a pool's limit), with the library's registry lock
 * held; it may free into any cache. */
static size_t
reclaim_cb(void *arg)
{
    struct cache_slot *cs = arg;
    size_t n = 0;

    cs->reclaim_calls++;
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i].kind == K_CACHE && live[i].owner == cs->id &&
            live[i].spare) {
            free_block(i);
            n++;
        }
    trace("reclaim callback of cache %d: freed %zu", cs->id, n);
    return n;
}

static void
op_set_reclaim(void)
{
    struct cache_slot *cs = pick_cache();

    cs->reclaim_cb = !cs->reclaim_cb;
    trace("mpool_cache_set_reclaim(cache %d, %s)", cs->id,
          cs->reclaim_cb ? "on" : "off");
    if (mpool_cache_set_reclaim(cs->c, cs->reclaim_cb ? reclaim_cb : NULL) !=
        0)
        fail("mpool_cache_set_reclaim(cache %d): errno %d", cs->id, errno);
}

/* Pages in the empty slabs of the target's caches: mpool_reclaim(NULL)
 * gives them back, and counts them. */
static size_t
empty_slab_pages(void)
{
    size_t n = 0;

    for (int c = 0; c < NCACHES; c++)
        if (caches[c].c != NULL) {
            mpool_cache_stats_t st;
            cache_stats_get(&caches[c], &st);
            n += st.slabs_empty * (st.slab_size / page_size);
        }
    return n;
}

/* After mpool_reclaim(NULL): no magazine or empty slab is left, and every
 * callback has run (calls[c]: its calls before) and freed its objects. */
static void
check_reclaimed(const long *calls)
{
    for (int c = 0; c < NCACHES; c++) {
        const struct cache_slot *cs = &caches[c];
        mpool_cache_stats_t st;

        if (cs->c == NULL)
            continue;
        cache_stats_get(cs, &st);
        if (st.slabs_empty != 0 || st.objects_cached != 0)
            fail("cache %d after mpool_reclaim(NULL): %zu empty slabs, %zu "
                 "objects cached",
                 cs->id, st.slabs_empty, st.objects_cached);
        if (!cs->reclaim_cb)
            continue;
        if (cs->reclaim_calls == calls[c])
            fail("cache %d: mpool_reclaim(NULL) did not call its reclaim "
                 "callback",
                 c);
        for (int i = 0; i < MAX_LIVE; i++)
            if (live[i].kind == K_CACHE && live[i].owner == c &&
                live[i].spare)
                fail("cache %d after mpool_reclaim(NULL): block [%d] is "
                     "still held, its reclaim callback freed it",
                     c, i);
    }
}

static void
op_reclaim(void)
{
    uint8_t r = next();
    int pi = r & 1 ? r / 2 % NPOOLS : -1;
    mpool_t *pool = pi >= 0 ? pools[pi].p : NULL;
    size_t least = 0, got, again;
    long calls[NCACHES];

    if (pi >= 0 && pool == NULL) {
        check_all();
        return;
    }
    if (pi < 0)
        least = empty_slab_pages();
    for (int c = 0; c < NCACHES; c++)
        calls[c] = caches[c].reclaim_calls;
    got = mpool_reclaim(pool);
    trace("mpool_reclaim(%d) = %zu (at least %zu)", pi, got, least);
    if (got < least)
        fail("mpool_reclaim(NULL) gave back %zu pages; the caches' empty "
             "slabs alone had %zu",
             got, least);
    if (pi < 0)
        check_reclaimed(calls);
    /* nothing is left to give back, as no block was freed since */
    again = mpool_reclaim(pool);
    if (again != 0 && pi < 0)
        fail("mpool_reclaim(NULL) twice: the second gave back %zu pages",
             again);
    if (again != 0)
        fail("mpool_reclaim(pool %d) twice: the second gave back %zu pages",
             pi, again);
    check_all();
}

/* mpool_report() walks every cache and pool: for the sanitizers. */
static void
op_report(void)
{
#ifdef MPOOL_HAVE_REPORT
    if (devnull != NULL && mpool_report(devnull) != 0)
        fail("mpool_report: errno %d", errno);
#endif
    check_all();
}

static void
op_fail_ctor(void)
{
    struct cache_slot *cs = pick_cache();

    if (cs->ctor)
        cs->fail_ctor = 1 + next() % 4;
}

/* ------------------------------------------------------------------------
 * The entry point
 * ------------------------------------------------------------------------ */

static void
setup(void)
{
    if (page_size != 0)
        return;
    page_size = mpool_page_size();
    tracing = getenv("MPOOL_FUZZ_TRACE") != NULL;
    debug_env = getenv("MPOOL_DEBUG") != NULL &&
                strcmp(getenv("MPOOL_DEBUG"), "1") == 0;
    devnull = fopen("/dev/null", "w");
    if (page_size == 0 || (page_size & (page_size - 1)) != 0)
        fail("mpool_page_size() is %zu", page_size);
    for (int c = 0; c < NCACHES; c++)
        caches[c].id = c;
}

static void
teardown(void)
{
    for (int i = 0; i < MAX_LIVE; i++)
        free_block(i);
    for (int c = 0; c < NCACHES; c++) {
        caches[c].fail_ctor = 0;
        cache_destroy_slot(&caches[c]);
    }
    for (int pi = 1; pi < NPOOLS; pi++)
        pool_destroy_slot(pi);
    pools[0].p = NULL;
    if (live_bytes != 0)
        fail("%zu bytes left in the model", live_bytes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    trace("--- input of %zu bytes", size);
    in = in_start = data;
    in_left = size;
    pools[0].p = mpool_default();
    pools[0].may_fail = 0;
    for (int ops = 0; ops < MAX_OPS && in_left > 0; ops++) {
        size_t at = (size_t)(in - in_start);
        uint8_t op = next();
        trace("@%zu op %u (%#x)", at, op % 16, op);
        switch (op % 16) {
        case 0:
        case 1:
            op_pool_alloc(0);
            break;
        case 2:
            op_pool_alloc(1);
            break;
        case 3:
            op_pool_alloc(2);
            break;
        case 4:
            op_pool_realloc();
            break;
        case 5:
        case 6: {
            int i = pick_live();
            if (i >= 0)
                free_block(i);
            break;
        }
        case 7:
        case 8:
            op_cache_alloc();
            break;
        case 9:
            cache_destroy_slot(&caches[next() % NCACHES]);
            break;
        case 10: {
            int pi = 1 + next() % (NPOOLS - 1);
            if (pools[pi].p != NULL)
                pool_destroy_slot(pi);
            else
                pool_create_slot(pi);
            break;
        }
        case 11:
            op_pages_alloc();
            break;
        case 12:
            op_reclaim();
            break;
        case 13:
            if (op & 0x80)
                op_pages_bad_free();
            else
                op_bad_align();
            break;
        case 14:
            if (op & 0x80)
                op_set_reclaim();
            else
                op_fail_ctor();
            break;
        case 15:
            if (op & 0x80)
                op_report();
            else
                check_all();
            break;
        }
    }
    teardown();
    return 0;
}
