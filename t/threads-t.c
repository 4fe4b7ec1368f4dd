/* SPDX-License-Identifier: MIT */
/*
 * t/threads-t.c - several threads allocating and freeing runs at once,
 * some runs handed to another thread to check and free, every run's
 * contents verified before it is freed.  Ends with mpool_reclaim() racing
 * the last frees of the other threads.
 *
 * The k210 host build has 8 MiB: each thread keeps 16 runs live instead of
 * 64, 32 wait in transit instead of 256, and a large run is one of the
 * largest a buddy block holds (17 to 32 pages) instead of 600 to 1300
 * pages.  A run over 32 pages needs a whole free 256 KiB segment, and
 * four threads' small runs, spread over the 32 segments, seldom leave one:
 * t/k210-t runs such runs on threads by themselves.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "mpool.h"
#include "tap/tap.h"

#define THREADS 4
#define OPS 20000
#define LIVE 64
#define SLOTS 256

struct run {
    uint64_t *p;
    size_t npages;
};

static size_t page;
static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;
static struct run exchange[SLOTS]; /* runs in transit between threads */
static _Atomic unsigned long failures, handed_over, alloc_failures;
static size_t live_max = LIVE, slots = SLOTS;
static bool k210;

static uint64_t
next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The stamp of each page is its own address and the run's length. */
static void
stamp(struct run r)
{
    for (size_t i = 0; i < r.npages; i++) {
        uint64_t *w = (uint64_t *)((char *)r.p + i * page);
        w[0] = (uint64_t)(uintptr_t)w;
        w[page / 8 - 1] = r.npages;
    }
}

static void
check_and_free(struct run r)
{
    for (size_t i = 0; i < r.npages; i++) {
        uint64_t *w = (uint64_t *)((char *)r.p + i * page);
        if (w[0] != (uint64_t)(uintptr_t)w || w[page / 8 - 1] != r.npages)
            failures++;
    }
    if (mpool_pages_free(r.p, r.npages) != 0)
        failures++;
}

static void *
worker(void *arg)
{
    uint64_t seed = 0x1234567ull * ((uintptr_t)arg + 1);
    struct run live[LIVE];
    size_t nlive = 0;

    for (int op = 0; op < OPS; op++) {
        uint64_t r = next(&seed);

        if (nlive < live_max && (nlive == 0 || r % 100 < 52)) {
            struct run run;
            if (r % 97 != 0)
                run.npages = 1 + r % 16;
            else
                run.npages = k210 ? 17 + r % 16 : 600 + r % 700;
            run.p = mpool_pages_alloc(run.npages);
            if (run.p == NULL) {
                alloc_failures++;
                continue;
            }
            stamp(run);
            live[nlive++] = run;
        } else {
            size_t i = (size_t)(r >> 8) % nlive;
            struct run run = live[i];
            live[i] = live[--nlive];
            if (r % 4 == 0) {
                /* swap it with whatever waits in a random slot */
                size_t slot = (size_t)(r >> 20) % slots;
                pthread_mutex_lock(&exchange_lock);
                struct run other = exchange[slot];
                exchange[slot] = run;
                pthread_mutex_unlock(&exchange_lock);
                handed_over++;
                if (other.p != NULL)
                    check_and_free(other);
            } else {
                check_and_free(run);
            }
        }
    }
    while (nlive > 0)
        check_and_free(live[--nlive]);
    return NULL;
}

int
main(void)
{
    pthread_t threads[THREADS];

    tap_skip_if_break_capped(); /* sbrk under valgrind */
    plan(4);
    page = mpool_page_size();
    if ((k210 = tap_backend_is("k210"))) {
        live_max = LIVE / 4;
        slots = SLOTS / 8;
    }
    for (uintptr_t i = 0; i < THREADS; i++)
        if (pthread_create(&threads[i], NULL, worker, (void *)i) != 0)
            sysbail("pthread_create");
    for (int i = 0; i < 50; i++)
        mpool_reclaim(NULL); /* races the workers on purpose */
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < SLOTS; i++)
        if (exchange[i].p != NULL)
            check_and_free(exchange[i]);

    is_int((long long)alloc_failures, 0, "no allocation failed");
    is_int((long long)failures, 0,
           "%d threads x %d operations: every run intact, every free "
           "accepted",
           THREADS, OPS);
    ok(handed_over > 1000, "runs crossed threads (%lu)",
       (unsigned long)handed_over);
    ok(mpool_reclaim(NULL) > 0, "reclaim afterwards gives pages back");
    return tap_done();
}
