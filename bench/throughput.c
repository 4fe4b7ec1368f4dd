/* SPDX-License-Identifier: MIT */
/*
 * bench/throughput.c - allocation throughput with threads.
 *
 *   throughput cache|malloc private|handoff THREADS SECONDS [SIZE]
 *
 * private: every thread allocates a batch of 64 objects, writes a byte of
 *          each, frees them, and again.
 * handoff: threads in pairs; one allocates and passes objects through a
 *          single-producer ring to the other, which frees them (objects
 *          freed by a thread that did not allocate them).
 *
 * Prints one line: operations (allocations + frees) per second, summed
 * over threads.  Time, so run it on a quiet machine and take the median of
 * several runs; bench/run does.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpool.h"

#define BATCH 64
#define RING 4096

static mpool_cache_t *cache;
static size_t size = 64;
static _Atomic int stop;

struct ring {
    _Atomic size_t head, tail;
    void *slot[RING];
    _Atomic unsigned long ops;
} __attribute__((aligned(64)));

static void *
obj_alloc(void)
{
    return cache != NULL ? mpool_cache_alloc(cache) : malloc(size);
}

static void
obj_free(void *p)
{
    if (cache != NULL)
        mpool_cache_free(cache, p);
    else
        free(p);
}

static void *
private_loop(void *arg)
{
    _Atomic unsigned long *ops = arg;
    void *batch[BATCH];
    unsigned long n = 0;

    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int i = 0; i < BATCH; i++) {
            batch[i] = obj_alloc();
            *(volatile char *)batch[i] = (char)i;
        }
        for (int i = 0; i < BATCH; i++)
            obj_free(batch[i]);
        n += 2 * BATCH;
    }
    atomic_store(ops, n);
    return NULL;
}

static void *
producer(void *arg)
{
    struct ring *r = arg;
    unsigned long n = 0;

    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        if (head - atomic_load_explicit(&r->tail, memory_order_acquire) ==
            RING)
            continue;
        r->slot[head % RING] = obj_alloc();
        *(volatile char *)r->slot[head % RING] = 1;
        atomic_store_explicit(&r->head, head + 1, memory_order_release);
        n++;
    }
    atomic_fetch_add(&r->ops, n);
    return NULL;
}

static void *
consumer(void *arg)
{
    struct ring *r = arg;
    unsigned long n = 0;

    for (;;) {
        size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        if (tail == atomic_load_explicit(&r->head, memory_order_acquire)) {
            if (atomic_load_explicit(&stop, memory_order_acquire))
                break;
            continue;
        }
        obj_free(r->slot[tail % RING]);
        atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
        n++;
    }
    atomic_fetch_add(&r->ops, n);
    return NULL;
}

int
main(int argc, char **argv)
{
    int threads;
    double seconds;
    pthread_t t[64];
    _Atomic unsigned long ops[64] = {0};
    struct ring *rings = NULL;
    struct timespec start, end;
    unsigned long total = 0;

    if (argc < 5) {
        fprintf(stderr, "usage: %s cache|malloc private|handoff THREADS "
                        "SECONDS [SIZE]\n", argv[0]);
        return 2;
    }
    threads = atoi(argv[3]);
    seconds = atof(argv[4]);
    if (argc > 5)
        size = (size_t)atol(argv[5]);
    if (threads < 1 || threads > 64)
        return 2;
    if (strcmp(argv[1], "cache") == 0 &&
        (cache = mpool_cache_create("bench", size, 0, NULL, NULL, NULL, 0)) ==
            NULL) {
        perror("mpool_cache_create");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (strcmp(argv[2], "private") == 0) {
        for (int i = 0; i < threads; i++)
            pthread_create(&t[i], NULL, private_loop, &ops[i]);
    } else {
        int pairs = threads < 2 ? 1 : threads / 2;
        rings = aligned_alloc(64, sizeof(*rings) * (size_t)pairs);
        memset(rings, 0, sizeof(*rings) * (size_t)pairs);
        for (int i = 0; i < pairs; i++) {
            pthread_create(&t[2 * i], NULL, producer, &rings[i]);
            pthread_create(&t[2 * i + 1], NULL, consumer, &rings[i]);
        }
        threads = 2 * pairs;
    }
    {
        struct timespec d = {(time_t)seconds,
                             (long)((seconds - (double)(time_t)seconds) * 1e9)};
        nanosleep(&d, NULL);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    if (rings != NULL) {
        for (int i = 0; i < threads / 2; i++)
            total += rings[i].ops;
    } else {
        for (int i = 0; i < threads; i++)
            total += ops[i];
    }
    printf("%.0f\n", (double)total / ((double)(end.tv_sec - start.tv_sec) +
                                      (double)(end.tv_nsec - start.tv_nsec) /
                                          1e9));
    return 0;
}
