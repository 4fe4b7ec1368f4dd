/* SPDX-License-Identifier: MIT */
/*
 * t/callout-oom-t.c - constructors that allocate, running out of memory.
 *
 * The rule (mpool_cache_create(3)): constructors, destructors and reclaim
 * callbacks may allocate from and free to any cache or pool but the
 * constructor's own cache; allocation inside a constructor never runs
 * reclaim while a library lock is held; the top-level call that failed
 * reclaims after dropping its locks and retries once.  A library that ran
 * reclaim from inside the constructor, under the constructor's cache's
 * lock, deadlocked: reclaim takes every cache's lock to shrink it.
 *
 * Parts, each in a child with a deadline (t/watchdog.h), so that a hang is
 * a failure that says where it hung:
 *
 *  1. "outer" (64-byte objects) whose constructor takes a 4000-byte object
 *     from "inner"; under RLIMIT_AS 256 MiB the program allocates from
 *     outer until it fails: every call returns, and the failing ones with
 *     NULL and ENOMEM.
 *  2. Constructors nested three deep: cache A's constructor takes an
 *     object of cache B, whose constructor takes a 3000-byte block of a
 *     pool; allocating from A until ENOMEM, under RLIMIT_AS 256 MiB and
 *     3. under fault injection's persistent mode (lib/page/fault.c: every
 *     request for segments fails from some point on, so nothing the
 *     library retries can absorb it).
 *
 * In each: the calls that fail end with NULL and ENOMEM, objects obtained
 * keep their contents, constructors that fail return non-zero and leave
 * nothing allocated (every successful construction is matched by one
 * destruction, every object a constructor took is given back by its
 * destructor), and after freeing everything, destroying the caches and
 * pool, and mpool_reclaim(NULL), the page level holds what it held at rest
 * (the census, as t/fault-t.c checks it).  Linked with the core for the
 * census and fault injection.
 *
 * The RLIMIT_AS parts are skipped under valgrind and AddressSanitizer (as
 * tap_skip_if_rlimit_as_unusable() does for whole programs).  The k210
 * backend asks no kernel for memory: there they run out of its RAM (8 MiB
 * in the host build) instead, with no limit to set.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include "page/page.h"
#include "mpool.h"
#include "tap/tap.h"
#include "rest.h"
#include "watchdog.h"

#define LIMIT_BYTES ((size_t)256 << 20)
#define DEADLINE_S 30
/* Calls made after the first failure: each must return too. */
#define CALLS_AFTER_FAILURE 64
/* Allocation stops here if nothing ever fails (a limit that did not work):
 * about 1 GiB of what the constructors take. */
#define MAX_OBJECTS 300000

static bool k210;

/* ------------------------------------------------------------------------
 * Running out of memory: RLIMIT_AS, fault injection, or k210's RAM
 * ------------------------------------------------------------------------ */

enum shortage { BY_RLIMIT, BY_FAULT };

static struct rlimit old_limit;

static bool
shortage_begin(enum shortage how)
{
    struct rlimit low;

    if (how == BY_FAULT) {
        atomic_store(&mp_fault_persist, true);
        atomic_store(&mp_fault_countdown, 1);
        return true;
    }
    if (k210)
        return true; /* its RAM is the limit */
    if (getrlimit(RLIMIT_AS, &old_limit) != 0)
        return false;
    low = old_limit;
    low.rlim_cur = tap_mapped_bytes() + LIMIT_BYTES;
    return setrlimit(RLIMIT_AS, &low) == 0;
}

static void
shortage_end(enum shortage how)
{
    if (how == BY_FAULT) {
        atomic_store(&mp_fault_countdown, 0);
        atomic_store(&mp_fault_persist, false);
    } else if (!k210 && setrlimit(RLIMIT_AS, &old_limit) != 0) {
        diag("cannot lift RLIMIT_AS again");
    }
}

static const char *
shortage_name(enum shortage how)
{
    if (how == BY_FAULT)
        return "fault injection (persistent)";
    return k210 ? "k210's 8 MiB of RAM" : "RLIMIT_AS 256 MiB";
}

/* Holes: single pages taken before memory runs out and freed, every other
 * one, after the first allocation fails.  A page whose neighbours are still
 * held joins no free buddy, so each hole is room for a one-page slab of
 * the top cache (64-byte objects) and for nothing larger: the next
 * allocation from the top cache carves a slab there, and its constructor
 * then finds no memory for what it takes (a larger slab).  Without them
 * the top cache's own slab tends to be the request that fails, where no
 * lock is held, and the constructors' failures go untested. */
#define NHOLES 32

static void *holes[NHOLES];

static void
holes_make(void)
{
    for (int i = 0; i < NHOLES; i++)
        holes[i] = mpool_pages_alloc(1);
}

static void
holes_open(void)
{
    for (int i = 0; i < NHOLES; i += 2) {
        (void)mpool_pages_free(holes[i], 1);
        holes[i] = NULL;
    }
}

static void
holes_free(void)
{
    for (int i = 0; i < NHOLES; i++) {
        (void)mpool_pages_free(holes[i], 1);
        holes[i] = NULL;
    }
}

/* ------------------------------------------------------------------------
 * Part 1: outer's constructor allocates from inner
 * ------------------------------------------------------------------------ */

#define OUTER_SIZE 64
#define INNER_SIZE 4000
#define OUTER_MAGIC 0x6f75746572ull
#define INNER_KEY 0x9e3779b97f4a7c15ull

struct outer {
    uint64_t magic;     /* set by the constructor */
    unsigned char *inner; /* taken by the constructor */
    struct outer *next; /* the program's list of objects it holds */
    uint64_t stamp;     /* the program's */
};
_Static_assert(sizeof(struct outer) <= OUTER_SIZE, "fits the cache");

static mpool_cache_t *outer_cache, *inner_cache;
static long outer_ctor_ok, outer_ctor_failed, outer_dtor_ran;

/* Both ends of an inner object say whose it is. */
static void
inner_mark(unsigned char *p)
{
    uint64_t v = (uint64_t)(uintptr_t)p ^ INNER_KEY;

    memcpy(p, &v, 8);
    memcpy(p + INNER_SIZE - 8, &v, 8);
}

static bool
inner_intact(const unsigned char *p)
{
    uint64_t v = (uint64_t)(uintptr_t)p ^ INNER_KEY, a, b;

    memcpy(&a, p, 8);
    memcpy(&b, p + INNER_SIZE - 8, 8);
    return a == v && b == v;
}

static int
outer_ctor(void *obj, void *arg)
{
    struct outer *o = obj;

    (void)arg;
    o->inner = mpool_cache_alloc(inner_cache);
    if (o->inner == NULL) {
        outer_ctor_failed++;
        return -1; /* nothing taken */
    }
    inner_mark(o->inner);
    o->magic = OUTER_MAGIC;
    outer_ctor_ok++;
    return 0;
}

static void
outer_dtor(void *obj, void *arg)
{
    struct outer *o = obj;

    (void)arg;
    mpool_cache_free(inner_cache, o->inner);
    o->inner = NULL;
    outer_dtor_ran++;
}

static const char *const outer_checks[] = {
    "allocation from outer ends in NULL",
    "every call that failed set errno ENOMEM",
    "every call after the first failure returned too",
    "every object obtained kept its contents and its inner object",
    "constructions and destructions balance",
    "both caches destroy, and the page level is back at rest",
};
enum { OUTER_NCHECKS = sizeof outer_checks / sizeof outer_checks[0] };

static void
outer_child(void *arg)
{
    enum shortage how = *(enum shortage *)arg;
    struct outer *list = NULL, *o;
    struct rest base;
    long n = 0, failures = 0, after = 0;
    bool errno_ok = true, intact = true;

    /* Once through with memory to spare: what the library keeps for
     * itself (its internal caches) is made, and that is the rest. */
    watch_phase("warming up");
    for (int round = 0; round < 2; round++) {
        inner_cache = mpool_cache_create("callout inner", INNER_SIZE, 0,
                                         NULL, NULL, NULL, 0);
        outer_cache = mpool_cache_create("callout outer", OUTER_SIZE, 0,
                                         outer_ctor, outer_dtor, NULL, 0);
        if (inner_cache == NULL || outer_cache == NULL) {
            diag("cannot create the caches");
            return;
        }
        if (round == 1)
            break;
        for (int i = 0; i < 100; i++) {
            if ((o = mpool_cache_alloc(outer_cache)) == NULL) {
                diag("cannot allocate with memory to spare");
                return;
            }
            o->next = list;
            list = o;
        }
        while ((o = list) != NULL) {
            list = o->next;
            mpool_cache_free(outer_cache, o);
        }
        if (mpool_cache_destroy(outer_cache) != 0 ||
            mpool_cache_destroy(inner_cache) != 0) {
            diag("cannot destroy the caches");
            return;
        }
        (void)mpool_reclaim(NULL);
        rest_of(&base);
        outer_ctor_ok = outer_ctor_failed = outer_dtor_ran = 0;
    }
    holes_make();
    if (!shortage_begin(how)) {
        diag("cannot set the limit");
        return;
    }
    while (n < MAX_OBJECTS && after < CALLS_AFTER_FAILURE) {
        watch_phase("mpool_cache_alloc(outer) call %ld (%ld failed so far)",
                    n + failures + 1, failures);
        errno = 0;
        o = mpool_cache_alloc(outer_cache);
        if (failures > 0)
            after++;
        if (o == NULL) {
            if (errno != ENOMEM && errno_ok) {
                diag("mpool_cache_alloc(outer) failed with errno %d", errno);
                errno_ok = false;
            }
            if (failures++ == 0)
                holes_open();
            continue;
        }
        o->stamp = (uint64_t)n++;
        o->next = list;
        list = o;
    }
    shortage_end(how);
    diag("%s: %ld objects, %ld calls failed; %ld constructions, %ld "
         "failed", shortage_name(how), n, failures, outer_ctor_ok,
         outer_ctor_failed);
    watch_check(0, failures > 0);
    watch_check(1, failures > 0 && errno_ok);
    watch_check(2, after == CALLS_AFTER_FAILURE);

    watch_phase("checking and freeing the objects");
    for (long i = n - 1; list != NULL; i--) {
        o = list;
        list = o->next;
        if (o->magic != OUTER_MAGIC || o->stamp != (uint64_t)i ||
            o->inner == NULL || !inner_intact(o->inner))
            intact = false;
        mpool_cache_free(outer_cache, o);
    }
    watch_check(3, intact);
    watch_phase("destroying the caches");
    bool destroyed = mpool_cache_destroy(outer_cache) == 0 &&
                     mpool_cache_destroy(inner_cache) == 0;
    if (outer_ctor_ok != outer_dtor_ran)
        diag("%ld constructed, %ld destroyed", outer_ctor_ok, outer_dtor_ran);
    watch_check(4, outer_ctor_ok == outer_dtor_ran);
    holes_free();
    watch_phase("mpool_reclaim(NULL) after destroying the caches");
    (void)mpool_reclaim(NULL);
    watch_check(5, destroyed &&
                       same_rest(&base, "after outer and inner"));
}

/* ------------------------------------------------------------------------
 * Parts 2 and 3: A's constructor allocates from B, B's from a pool
 * ------------------------------------------------------------------------ */

#define A_SIZE 64
#define B_SIZE 512
#define BLOCK_SIZE 3000
#define A_MAGIC 0x41414141ull
#define B_MAGIC 0x42424242ull

struct b_obj {
    uint64_t magic;
    unsigned char *block; /* BLOCK_SIZE bytes of the pool */
    uint64_t seq;         /* fills the block */
};

struct a_obj {
    uint64_t magic;
    struct b_obj *b;
    struct a_obj *next;
    uint64_t stamp;
};
_Static_assert(sizeof(struct a_obj) <= A_SIZE, "fits the cache");

static mpool_cache_t *cache_a, *cache_b;
static mpool_t *pool;
static long a_made, a_unmade, b_made, b_unmade, blocks_live, a_failed,
    b_failed;
static uint64_t next_seq;

static void
block_fill(unsigned char *p, uint64_t seq)
{
    for (size_t i = 0; i + 8 <= BLOCK_SIZE; i += 8) {
        uint64_t v = seq * INNER_KEY ^ i;
        memcpy(p + i, &v, 8);
    }
}

static bool
block_intact(const unsigned char *p, uint64_t seq)
{
    for (size_t i = 0; i + 8 <= BLOCK_SIZE; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v != (seq * INNER_KEY ^ i))
            return false;
    }
    return true;
}

static int
b_ctor(void *obj, void *arg)
{
    struct b_obj *b = obj;

    (void)arg;
    b->block = mpool_alloc(pool, BLOCK_SIZE);
    if (b->block == NULL) {
        b_failed++;
        return -1;
    }
    blocks_live++;
    b->seq = next_seq++;
    block_fill(b->block, b->seq);
    b->magic = B_MAGIC;
    b_made++;
    return 0;
}

static void
b_dtor(void *obj, void *arg)
{
    struct b_obj *b = obj;

    (void)arg;
    mpool_free(pool, b->block);
    b->block = NULL;
    blocks_live--;
    b_unmade++;
}

static int
a_ctor(void *obj, void *arg)
{
    struct a_obj *a = obj;

    (void)arg;
    a->b = mpool_cache_alloc(cache_b);
    if (a->b == NULL) {
        a_failed++;
        return -1;
    }
    a->magic = A_MAGIC;
    a_made++;
    return 0;
}

static void
a_dtor(void *obj, void *arg)
{
    struct a_obj *a = obj;

    (void)arg;
    mpool_cache_free(cache_b, a->b);
    a->b = NULL;
    a_unmade++;
}

static bool
a_intact(const struct a_obj *a)
{
    return a->magic == A_MAGIC && a->b != NULL && a->b->magic == B_MAGIC &&
           a->b->block != NULL && block_intact(a->b->block, a->b->seq);
}

static bool
nested_setup(void)
{
    a_made = a_unmade = b_made = b_unmade = blocks_live = 0;
    a_failed = b_failed = 0;
    pool = mpool_create(NULL);
    cache_b = mpool_cache_create("callout B", B_SIZE, 0, b_ctor, b_dtor,
                                 NULL, 0);
    cache_a = mpool_cache_create("callout A", A_SIZE, 0, a_ctor, a_dtor,
                                 NULL, 0);
    return pool != NULL && cache_a != NULL && cache_b != NULL;
}

/* Destroy A (its destructors free the B objects), then B (its destructors
 * free the pool blocks), then the pool; whether all went as it should. */
static bool
nested_teardown(void)
{
    bool good = true;

    if (mpool_cache_destroy(cache_a) != 0) {
        diag("mpool_cache_destroy(A) failed: errno %d", errno);
        good = false;
    }
    if (mpool_cache_destroy(cache_b) != 0) {
        diag("mpool_cache_destroy(B) failed: errno %d", errno);
        good = false;
    }
    if (blocks_live != 0) {
        diag("%ld pool blocks still held by B's objects", blocks_live);
        good = false;
    }
    mpool_destroy(pool);
    return good;
}

static const char *const nested_checks[] = {
    "allocation from A ends in NULL",
    "every call that failed set errno ENOMEM",
    "every call after the first failure returned too",
    "every object obtained kept its contents, down to the pool block",
    "constructions and destructions balance in A and in B",
    "the destructors gave back every object and block the constructors took",
    "after destroying A, B and the pool and reclaiming, every page is back",
};
enum { NESTED_NCHECKS = sizeof nested_checks / sizeof nested_checks[0] };

static void
nested_child(void *arg)
{
    enum shortage how = *(enum shortage *)arg;
    struct a_obj *list = NULL, *a;
    struct rest base;
    long n = 0, failures = 0, after = 0;
    bool errno_ok = true, intact = true, good;

    /* Once through with memory to spare: what the library keeps for
     * itself (its internal caches) is made, and that is the rest. */
    watch_phase("warming up");
    if (!nested_setup()) {
        diag("cannot create the caches and the pool");
        return;
    }
    for (int i = 0; i < 100; i++) {
        a = mpool_cache_alloc(cache_a);
        if (a == NULL) {
            diag("cannot allocate with memory to spare");
            return;
        }
        a->next = list;
        list = a;
    }
    while ((a = list) != NULL) {
        list = a->next;
        mpool_cache_free(cache_a, a);
    }
    (void)nested_teardown();
    (void)mpool_reclaim(NULL);
    rest_of(&base);

    watch_phase("creating the caches and the pool");
    if (!nested_setup()) {
        diag("cannot create the caches and the pool");
        return;
    }
    holes_make();
    if (!shortage_begin(how)) {
        diag("cannot set the limit");
        return;
    }
    while (n < MAX_OBJECTS && after < CALLS_AFTER_FAILURE) {
        watch_phase("mpool_cache_alloc(A) call %ld (%ld failed so far)",
                    n + failures + 1, failures);
        errno = 0;
        a = mpool_cache_alloc(cache_a);
        if (failures > 0)
            after++;
        if (a == NULL) {
            if (errno != ENOMEM && errno_ok) {
                diag("mpool_cache_alloc(A) failed with errno %d", errno);
                errno_ok = false;
            }
            if (failures++ == 0)
                holes_open();
            continue;
        }
        a->stamp = (uint64_t)n++;
        a->next = list;
        list = a;
    }
    shortage_end(how);
    diag("%s: %ld objects, %ld calls failed; constructors: A %ld made, %ld "
         "failed; B %ld made, %ld failed",
         shortage_name(how), n, failures, a_made, a_failed, b_made,
         b_failed);
    watch_check(0, failures > 0);
    watch_check(1, failures > 0 && errno_ok);
    watch_check(2, after == CALLS_AFTER_FAILURE);

    watch_phase("checking and freeing the objects");
    for (long i = n - 1; list != NULL; i--) {
        a = list;
        list = a->next;
        if (a->stamp != (uint64_t)i || !a_intact(a))
            intact = false;
        mpool_cache_free(cache_a, a);
    }
    watch_check(3, intact);
    watch_phase("destroying A, B and the pool");
    good = nested_teardown();
    if (a_made != a_unmade || b_made != b_unmade)
        diag("A: %ld constructed, %ld destroyed; B: %ld, %ld", a_made,
             a_unmade, b_made, b_unmade);
    watch_check(4, a_made == a_unmade && b_made == b_unmade);
    watch_check(5, good);
    holes_free();
    watch_phase("mpool_reclaim(NULL) after the teardown");
    (void)mpool_reclaim(NULL);
    watch_check(6, same_rest(&base, "after A, B and the pool"));
}

int
main(void)
{
    static enum shortage by_rlimit = BY_RLIMIT, by_fault = BY_FAULT;
    bool rlimit_unusable;
    unsigned deadline = watch_deadline(DEADLINE_S);

    k210 = tap_backend_is("k210");
    /* what tap_skip_if_rlimit_as_unusable() skips a whole program for */
    rlimit_unusable = !k210 && (tap_under_valgrind() || tap_under_asan());
    tap_skip_if_break_capped(); /* sbrk under valgrind */
    plan_lazy();

    if (rlimit_unusable) {
        const char *why = tap_under_valgrind()
                              ? "valgrind needs more address space than "
                                "RLIMIT_AS 256 MiB allows"
                              : "AddressSanitizer reserves more address "
                                "space than RLIMIT_AS 256 MiB allows";
        watch_skip("outer/inner, RLIMIT_AS", OUTER_NCHECKS, why);
        watch_skip("A/B/pool, RLIMIT_AS", NESTED_NCHECKS, why);
    } else {
        watch_run(k210 ? "outer/inner, out of RAM" : "outer/inner, RLIMIT_AS",
                  outer_child, &by_rlimit, deadline, outer_checks,
                  OUTER_NCHECKS);
        watch_run(k210 ? "A/B/pool, out of RAM" : "A/B/pool, RLIMIT_AS",
                  nested_child, &by_rlimit, deadline, nested_checks,
                  NESTED_NCHECKS);
    }
    watch_run("outer/inner, fault injection", outer_child, &by_fault,
              deadline, outer_checks, OUTER_NCHECKS);
    watch_run("A/B/pool, fault injection", nested_child, &by_fault, deadline,
              nested_checks, NESTED_NCHECKS);
    return tap_done();
}
