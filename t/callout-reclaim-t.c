/* SPDX-License-Identifier: MIT */
/*
 * t/callout-reclaim-t.c - a reclaim callback that calls back into the
 * library.
 *
 * The rule (mpool_cache_create(3)): reclaim callbacks run with no library
 * lock held, and may free objects of their own cache and allocate from
 * others.  The callback here does both: it takes a record from another
 * cache ("log"), then frees the objects of its own cache ("spare") that the
 * program keeps in a spare list.  It is called
 *
 *  (a) by mpool_reclaim(NULL), with memory to spare: the callback ran, its
 *      allocation from the other cache succeeded, it freed every spare, and
 *      the spares' room is allocated again;
 *  (b) by an allocation that ran out of memory, under fault injection's
 *      persistent mode (lib/page/fault.c: every request for segments fails
 *      from some point on): the allocation runs the callback and then
 *      succeeds from what it freed, as many times as there were spares; the
 *      callback's own allocation may fail, but only with NULL and ENOMEM.
 *
 *  (c) the same rule for destructors: a destructor that allocates from
 *      another cache, run by reclaim (the one an allocation out of memory
 *      starts, then mpool_reclaim(NULL)) while every request for memory
 *      fails: its allocation ends in NULL and ENOMEM (it must not start a
 *      reclaim of its own), and every destructor runs.
 *
 * A library that ran the callbacks under its registry lock deadlocked in
 * (b): the callback's allocation found no memory either and ran reclaim,
 * which takes that lock; one that ran destructors under it deadlocked in
 * (c) the same way.  Each part runs in a child with a deadline
 * (t/watchdog.h).  Linked with the core, for fault injection.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "page/page.h"
#include "mpool.h"
#include "tap/tap.h"
#include "watchdog.h"

#define DEADLINE_S 30
#define OBJ_SIZE 256
#define LOG_SIZE 96
#define NSPARE 16
/* Allocation stops here if it never fails (it does: fault injection). */
#define MAX_OBJECTS 1000000

struct obj {
    struct obj *next;
    uint64_t stamp;
};

static mpool_cache_t *spare_cache, *log_cache;
static struct obj *spares[NSPARE];
static void *logs[64];
static int nlogs;
static int callback_runs, callback_depth, callback_max_depth;
static int log_failures, log_bad_errno;
static size_t spares_freed;

static size_t
give_back(void *arg)
{
    size_t n = 0;
    void *rec;

    (void)arg;
    callback_runs++;
    if (callback_depth++ > 0) {
        /* The library ran reclaim from inside this callback (through the
         * allocation below): nothing to do here but note it. */
        if (callback_depth > callback_max_depth)
            callback_max_depth = callback_depth;
        callback_depth--;
        return 0;
    }
    watch_phase("in the reclaim callback: allocating from \"log\"");
    errno = 0;
    rec = mpool_cache_alloc(log_cache);
    if (rec == NULL) {
        log_failures++;
        if (errno != ENOMEM)
            log_bad_errno++;
    } else if (nlogs < (int)(sizeof logs / sizeof logs[0])) {
        memset(rec, 0x10, LOG_SIZE);
        logs[nlogs++] = rec;
    } else {
        mpool_cache_free(log_cache, rec);
    }
    watch_phase("in the reclaim callback: freeing the spares");
    for (int i = 0; i < NSPARE; i++)
        if (spares[i] != NULL) {
            mpool_cache_free(spare_cache, spares[i]);
            spares[i] = NULL;
            n++;
        }
    spares_freed += n;
    callback_depth--;
    watch_phase("after the reclaim callback");
    return n;
}

static bool
setup(void)
{
    spare_cache = mpool_cache_create("callout spare", OBJ_SIZE, 0, NULL,
                                     NULL, NULL, 0);
    log_cache = mpool_cache_create("callout log", LOG_SIZE, 0, NULL, NULL,
                                   NULL, 0);
    if (spare_cache == NULL || log_cache == NULL)
        return false;
    for (int i = 0; i < NSPARE; i++)
        if ((spares[i] = mpool_cache_alloc(spare_cache)) == NULL)
            return false;
    return true;
}

/* ------------------------------------------------------------------------
 * (a) mpool_reclaim(NULL)
 * ------------------------------------------------------------------------ */

static const char *const reclaim_checks[] = {
    "mpool_reclaim(NULL) ran the callback once",
    "the callback's allocation from another cache succeeded",
    "the callback freed every spare",
    "the spares' room is allocated again",
    "both caches destroy once everything is freed",
};
enum { RECLAIM_NCHECKS = sizeof reclaim_checks / sizeof reclaim_checks[0] };

static void
reclaim_child(void *arg)
{
    struct obj *again[NSPARE];
    bool all = true;

    (void)arg;
    watch_phase("setting up");
    if (!setup()) {
        diag("cannot set up");
        return;
    }
    mpool_cache_set_reclaim(spare_cache, give_back);
    watch_phase("mpool_reclaim(NULL)");
    (void)mpool_reclaim(NULL);
    watch_check(0, callback_runs == 1);
    watch_check(1, nlogs == 1 && log_failures == 0);
    watch_check(2, spares_freed == NSPARE);
    watch_phase("allocating the spares' room again");
    for (int i = 0; i < NSPARE; i++) {
        again[i] = mpool_cache_alloc(spare_cache);
        if (again[i] == NULL)
            all = false;
        else
            again[i]->stamp = (uint64_t)i;
    }
    for (int i = 0; i < NSPARE; i++)
        if (again[i] != NULL && again[i]->stamp != (uint64_t)i)
            all = false;
    watch_check(3, all);
    watch_phase("freeing and destroying");
    mpool_cache_set_reclaim(spare_cache, NULL);
    for (int i = 0; i < NSPARE; i++)
        mpool_cache_free(spare_cache, again[i]);
    for (int i = 0; i < nlogs; i++)
        mpool_cache_free(log_cache, logs[i]);
    watch_check(4, mpool_cache_destroy(spare_cache) == 0 &&
                       mpool_cache_destroy(log_cache) == 0);
}

/* ------------------------------------------------------------------------
 * (b) an allocation that ran out of memory
 * ------------------------------------------------------------------------ */

static const char *const oom_checks[] = {
    "allocation ends in NULL with ENOMEM (no callback yet)",
    "with the callback, the next allocation runs it and succeeds",
    "the callback freed every spare",
    "the callback's own allocation succeeded or failed with ENOMEM",
    "as many allocations as there were spares succeed in all",
    "every object obtained kept its contents",
    "with memory again, the cache allocates, and both caches destroy",
};
enum { OOM_NCHECKS = sizeof oom_checks / sizeof oom_checks[0] };

static void
oom_child(void *arg)
{
    struct obj *list = NULL, *o;
    long n = 0, reused = 0;
    int err = 0;
    bool intact = true, good = true;

    (void)arg;
    watch_phase("setting up");
    if (!setup()) {
        diag("cannot set up");
        return;
    }
    /* Memory runs out: allocate until the library says so, with no
     * callback installed. */
    atomic_store(&mp_fault_persist, true);
    atomic_store(&mp_fault_countdown, 1);
    while (n < MAX_OBJECTS) {
        watch_phase("filling: mpool_cache_alloc call %ld", n + 1);
        errno = 0;
        if ((o = mpool_cache_alloc(spare_cache)) == NULL) {
            err = errno;
            break;
        }
        o->stamp = (uint64_t)n++;
        o->next = list;
        list = o;
    }
    diag("%ld objects before the first failure", n);
    watch_check(0, n < MAX_OBJECTS && err == ENOMEM);

    /* Now the callback: the allocation that finds no memory runs it. */
    mpool_cache_set_reclaim(spare_cache, give_back);
    for (int i = 0; i < NSPARE; i++) {
        watch_phase("allocation %d after installing the callback", i + 1);
        errno = 0;
        o = mpool_cache_alloc(spare_cache);
        if (i == 0)
            watch_check(1, o != NULL && callback_runs >= 1);
        if (o == NULL) {
            if (errno != ENOMEM)
                diag("failed with errno %d, not ENOMEM", errno);
            break;
        }
        reused++;
        o->stamp = (uint64_t)n++;
        o->next = list;
        list = o;
    }
    if (callback_max_depth > 1)
        diag("the library ran reclaim, and the callback, from inside the "
             "callback (depth %d)", callback_max_depth);
    diag("callback ran %d times; its allocation failed %d times; %ld of %d "
         "allocations after it succeeded",
         callback_runs, log_failures, reused, NSPARE);
    watch_check(2, spares_freed == NSPARE);
    watch_check(3, log_bad_errno == 0);
    watch_check(4, reused == NSPARE);
    atomic_store(&mp_fault_countdown, 0);
    atomic_store(&mp_fault_persist, false);

    watch_phase("checking and freeing the objects");
    for (long i = n - 1; list != NULL; i--) {
        o = list;
        list = o->next;
        if (o->stamp != (uint64_t)i)
            intact = false;
        mpool_cache_free(spare_cache, o);
    }
    watch_check(5, intact);
    watch_phase("allocating with memory again");
    mpool_cache_set_reclaim(spare_cache, NULL);
    for (int i = 0; i < 100; i++) {
        if ((o = mpool_cache_alloc(spare_cache)) == NULL) {
            good = false;
            break;
        }
        o->next = list;
        list = o;
    }
    while ((o = list) != NULL) {
        list = o->next;
        mpool_cache_free(spare_cache, o);
    }
    for (int i = 0; i < NSPARE; i++)
        mpool_cache_free(spare_cache, spares[i]);
    for (int i = 0; i < nlogs; i++)
        mpool_cache_free(log_cache, logs[i]);
    watch_phase("destroying the caches");
    watch_check(6, good && mpool_cache_destroy(spare_cache) == 0 &&
                       mpool_cache_destroy(log_cache) == 0);
}

/* ------------------------------------------------------------------------
 * (c) a destructor that allocates, run by reclaim with no memory
 * ------------------------------------------------------------------------ */

#define NDTOR 8 /* of OBJ_SIZE: one slab */

static mpool_cache_t *dtor_log_cache;
static int dtor_runs, dtor_alloc_ok, dtor_alloc_enomem, dtor_alloc_other;

static void
dtor_allocating(void *obj, void *arg)
{
    void *rec;

    (void)obj;
    (void)arg;
    dtor_runs++;
    watch_phase("in destructor %d: allocating from \"dtor log\"", dtor_runs);
    errno = 0;
    rec = mpool_cache_alloc(dtor_log_cache);
    if (rec != NULL) {
        dtor_alloc_ok++;
        mpool_cache_free(dtor_log_cache, rec);
    } else if (errno == ENOMEM) {
        dtor_alloc_enomem++;
    } else {
        dtor_alloc_other++;
    }
}

static const char *const dtor_checks[] = {
    "filling ends in NULL with ENOMEM",
    "reclaim (the filling's own, or mpool_reclaim) ran every destructor",
    "each destructor's allocation succeeded or failed with ENOMEM",
    "with memory again, the caches destroy",
};
enum { DTOR_NCHECKS = sizeof dtor_checks / sizeof dtor_checks[0] };

static void
dtor_child(void *arg)
{
    mpool_cache_t *objs, *filler;
    void *obj[NDTOR];
    struct obj *list = NULL, *o;
    long n = 0;
    int err = 0;

    (void)arg;
    watch_phase("setting up");
    dtor_log_cache = mpool_cache_create("dtor log", LOG_SIZE, 0, NULL, NULL,
                                        NULL, 0);
    /* no magazines: freed objects go straight back to their slab, which
     * reclaim can then give back with no memory to spare (a magazine's
     * flush to the depot would need some) */
    objs = mpool_cache_create("dtor objs", OBJ_SIZE, 0, NULL,
                              dtor_allocating, NULL, MPOOL_CACHE_NOMAGAZINE);
    filler = mpool_cache_create("dtor filler", OBJ_SIZE, 0, NULL, NULL,
                                NULL, 0);
    if (dtor_log_cache == NULL || objs == NULL || filler == NULL) {
        diag("cannot set up");
        return;
    }
    for (int i = 0; i < NDTOR; i++)
        if ((obj[i] = mpool_cache_alloc(objs)) == NULL) {
            diag("cannot set up");
            return;
        }
    for (int i = 0; i < NDTOR; i++)
        mpool_cache_free(objs, obj[i]);

    /* Memory runs out: the free pages go to the filler. */
    atomic_store(&mp_fault_persist, true);
    atomic_store(&mp_fault_countdown, 1);
    while (n < MAX_OBJECTS) {
        watch_phase("filling: mpool_cache_alloc call %ld", n + 1);
        errno = 0;
        if ((o = mpool_cache_alloc(filler)) == NULL) {
            err = errno;
            break;
        }
        n++;
        o->next = list;
        list = o;
    }
    watch_check(0, n < MAX_OBJECTS && err == ENOMEM);

    watch_phase("mpool_reclaim(NULL), destructors allocating");
    (void)mpool_reclaim(NULL);
    diag("%d destructors: %d allocations succeeded, %d failed with ENOMEM",
         dtor_runs, dtor_alloc_ok, dtor_alloc_enomem);
    watch_check(1, dtor_runs == NDTOR);
    watch_check(2, dtor_alloc_other == 0 &&
                       dtor_alloc_ok + dtor_alloc_enomem == NDTOR);
    atomic_store(&mp_fault_countdown, 0);
    atomic_store(&mp_fault_persist, false);

    watch_phase("freeing and destroying");
    while ((o = list) != NULL) {
        list = o->next;
        mpool_cache_free(filler, o);
    }
    watch_check(3, mpool_cache_destroy(filler) == 0 &&
                       mpool_cache_destroy(objs) == 0 &&
                       mpool_cache_destroy(dtor_log_cache) == 0);
}

int
main(void)
{
    unsigned deadline = watch_deadline(DEADLINE_S);

    tap_skip_if_break_capped(); /* sbrk under valgrind */
    plan_lazy();
    watch_run("called by mpool_reclaim", reclaim_child, NULL, deadline,
              reclaim_checks, RECLAIM_NCHECKS);
    watch_run("called by an allocation out of memory", oom_child, NULL,
              deadline, oom_checks, OOM_NCHECKS);
    watch_run("a destructor allocating during reclaim, out of memory",
              dtor_child, NULL, deadline, dtor_checks, DTOR_NCHECKS);
    return tap_done();
}
