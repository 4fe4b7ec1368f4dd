/* SPDX-License-Identifier: MIT */
/*
 * bench/larson.c - a server-like load after Larson and Krishnan ("Memory
 * allocation for long-running server applications", ISMM 1998): every
 * thread keeps a set of live blocks of random sizes and replaces them at
 * random, and some blocks change hands, so that a thread frees blocks
 * another thread allocated.  It measures what a server's allocator spends
 * on its hot path when threads share work: throughput, and how it scales
 * with threads (bench/suite runs 1 and 2; more with THREADS=...).
 *
 *   larson THREADS SECONDS [HANDOFF [SLOTS [MIN MAX]]]
 *
 * Each thread holds SLOTS blocks (5000) of MIN .. MAX bytes (8 .. 1000, as
 * mimalloc-bench runs it).  A step frees a random slot's block, allocates
 * a new one and writes its first and last byte.  Every HANDOFF-th step
 * (64; 0: none) then swaps the new block with a slot of a shared exchange: the
 * block left there, most likely by another thread, takes its place, and
 * this thread frees it later.  The original hands a thread's whole set to
 * a successor thread instead, which with mimalloc-bench's parameters
 * makes about 1 % of the frees remote (5000 blocks inherited, 500 000
 * steps); the exchange gives a steady share of the same order
 * (bench/prodcons.c is the workload where every free is remote).  Each
 * hand-over moves cache lines between CPUs (the exchange slot, the block,
 * the allocator's remote-free list): with HANDOFF 0 the threads share
 * nothing, and only the allocator's own sharing limits the scaling.
 *
 * An operation is one step: an allocation and a free.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"

#define EXCHANGE 4096
#define MAX_THREADS 256

static size_t slots = 5000, min_size = 8, max_size = 1000;
static unsigned long handoff = 64;
static _Atomic(void *) exchange[EXCHANGE];
static _Atomic int stop;

struct worker {
    pthread_t thread;
    uint64_t rng;
    unsigned long steps;
    void **slot;
} __attribute__((aligned(64)));

static void *
new_block(uint64_t *rng)
{
    size_t size = bench_rand_range(rng, min_size, max_size);
    char *p = bench_check(bench_alloc(size));

    p[0] = 1;
    p[size - 1] = 1;
    return p;
}

static void *
work(void *arg)
{
    struct worker *w = arg;
    unsigned long steps = 0, until_handoff = handoff;

    for (size_t i = 0; i < slots; i++)
        w->slot[i] = new_block(&w->rng);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int k = 0; k < 64; k++) {
            uint64_t r = bench_rand(&w->rng);
            size_t i = (uint32_t)(r >> 8) % (uint32_t)slots;

            bench_free(w->slot[i]);
            w->slot[i] = new_block(&w->rng);
            /* with handoff 0 the count wraps: no hand-over in 2^64 steps */
            if (--until_handoff == 0) {
                until_handoff = handoff;
                w->slot[i] = atomic_exchange_explicit(
                    &exchange[(r >> 40) % EXCHANGE], w->slot[i],
                    memory_order_acq_rel);
            }
        }
        steps += 64;
    }
    w->steps = steps;
    return NULL;
}

int
main(int argc, char **argv)
{
    static struct worker w[MAX_THREADS];
    int threads;
    double seconds, start, end;
    unsigned long steps = 0;

    if (argc < 3) {
        fprintf(stderr,
                "usage: %s THREADS SECONDS [HANDOFF [SLOTS [MIN MAX]]]\n",
                argv[0]);
        return 2;
    }
    threads = atoi(argv[1]);
    seconds = atof(argv[2]);
    if (argc > 3)
        handoff = strtoul(argv[3], NULL, 10);
    if (argc > 4)
        slots = (size_t)atol(argv[4]);
    if (argc > 6) {
        min_size = (size_t)atol(argv[5]);
        max_size = (size_t)atol(argv[6]);
    }
    if (threads < 1 || threads > MAX_THREADS || slots < 1 ||
        slots > UINT32_MAX || min_size < 1 || max_size < min_size)
        return 2;
    bench_api_init();
    for (int t = 0; t < threads; t++) {
        w[t].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
        w[t].slot = bench_scratch(slots * sizeof(void *));
    }
    /* The time includes filling the slots: a fraction of a percent. */
    start = bench_now();
    for (int t = 0; t < threads; t++)
        pthread_create(&w[t].thread, NULL, work, &w[t]);
    bench_sleep(seconds);
    atomic_store(&stop, 1);
    for (int t = 0; t < threads; t++) {
        pthread_join(w[t].thread, NULL);
        steps += w[t].steps;
    }
    end = bench_now();
    bench_report((double)steps, end - start);
    printf(" threads=%d handoff=%lu\n", threads, handoff);
    /* Free everything, so that a broken free shows here as a crash. */
    for (int t = 0; t < threads; t++)
        for (size_t i = 0; i < slots; i++)
            bench_free(w[t].slot[i]);
    for (size_t i = 0; i < EXCHANGE; i++)
        bench_free(atomic_load(&exchange[i]));
    return 0;
}
