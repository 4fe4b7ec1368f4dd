/* SPDX-License-Identifier: MIT */
/*
 * bench/prodcons.c - producer and consumer: one thread allocates
 * messages, another frees them, through a queue.  A pipeline's stages or a
 * network stack do this; every block is freed by a thread that did not
 * allocate it, so the allocator's path for remote frees, and for getting
 * those blocks back to the allocating thread, is all that is measured.
 *
 *   prodcons PAIRS SECONDS [MIN MAX]
 *
 * PAIRS producer/consumer pairs (1: two threads), each with a
 * single-producer single-consumer ring of 1024 messages.  A message is
 * MIN .. MAX bytes (16 .. 512); the producer writes its first 16 bytes (a
 * header), the consumer reads them and frees the message.  A full or empty
 * ring is waited on by spinning, yielding the CPU now and then (a loaded
 * machine may not run both threads at once).
 *
 * An operation is one message: an allocation and a free.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "bench.h"

#define RING 1024
#define MAX_PAIRS 128

static size_t min_size = 16, max_size = 512;
static _Atomic int stop;

/* Called each time a thread finds the ring full or empty. */
static void
wait_a_little(unsigned *spins)
{
    if (++*spins % 128 == 0)
        sched_yield();
}

struct ring {
    _Atomic size_t head __attribute__((aligned(64))); /* producer's */
    _Atomic size_t tail __attribute__((aligned(64))); /* consumer's */
    void *slot[RING] __attribute__((aligned(64)));
    _Atomic int done; /* the producer has stopped */
    pthread_t producer, consumer;
    unsigned long messages; /* freed by the consumer */
};

static void *
produce(void *arg)
{
    struct ring *r = arg;
    uint64_t rng = 0x2545f4914f6cdd1dull ^ (uintptr_t)r;
    size_t head = 0, tail = 0;
    unsigned spins = 0;

    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        size_t size;
        char *m;

        if (head - tail == RING) { /* full, as far as we last saw */
            tail = atomic_load_explicit(&r->tail, memory_order_acquire);
            if (head - tail == RING)
                wait_a_little(&spins);
            continue;
        }
        size = bench_rand_range(&rng, min_size, max_size);
        m = bench_check(bench_alloc(size));
        memset(m, (int)size, size < 16 ? size : 16);
        r->slot[head % RING] = m;
        atomic_store_explicit(&r->head, ++head, memory_order_release);
    }
    atomic_store_explicit(&r->done, 1, memory_order_release);
    return NULL;
}

static void *
consume(void *arg)
{
    struct ring *r = arg;
    size_t head = 0, tail = 0;
    unsigned long sum = 0;
    unsigned spins = 0;

    for (;;) {
        if (tail == head) {
            head = atomic_load_explicit(&r->head, memory_order_acquire);
            if (tail == head) {
                /* empty; and once the producer is done, for good */
                if (atomic_load_explicit(&r->done, memory_order_acquire) &&
                    atomic_load_explicit(&r->head, memory_order_relaxed) ==
                        tail)
                    break;
                wait_a_little(&spins);
                continue;
            }
        }
        sum += *(volatile unsigned char *)r->slot[tail % RING];
        bench_free(r->slot[tail % RING]);
        atomic_store_explicit(&r->tail, ++tail, memory_order_release);
    }
    r->messages = tail;
    return (void *)(uintptr_t)sum;
}

int
main(int argc, char **argv)
{
    struct ring *rings;
    int pairs;
    double seconds, start, end;
    unsigned long messages = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: %s PAIRS SECONDS [MIN MAX]\n", argv[0]);
        return 2;
    }
    pairs = atoi(argv[1]);
    seconds = atof(argv[2]);
    if (argc > 4) {
        min_size = (size_t)atol(argv[3]);
        max_size = (size_t)atol(argv[4]);
    }
    if (pairs < 1 || pairs > MAX_PAIRS || min_size < 1 || max_size < min_size)
        return 2;
    bench_api_init();
    rings = bench_scratch(sizeof(*rings) * (size_t)pairs);
    start = bench_now();
    for (int i = 0; i < pairs; i++) {
        pthread_create(&rings[i].producer, NULL, produce, &rings[i]);
        pthread_create(&rings[i].consumer, NULL, consume, &rings[i]);
    }
    bench_sleep(seconds);
    atomic_store(&stop, 1);
    for (int i = 0; i < pairs; i++) {
        pthread_join(rings[i].producer, NULL);
        pthread_join(rings[i].consumer, NULL);
        messages += rings[i].messages;
    }
    end = bench_now();
    bench_report((double)messages, end - start);
    printf(" threads=%d\n", 2 * pairs);
    return 0;
}
