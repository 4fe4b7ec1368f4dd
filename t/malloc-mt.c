/* SPDX-License-Identifier: MIT */
/*
 * t/malloc-mt.c - a multi-threaded C program with cross-thread frees, for
 * t/malloc-programs-t.sh to run with and without libmpool-malloc
 * preloaded: producers malloc messages of many sizes and fill them,
 * consumers on other threads check and free them, with realloc and calloc
 * on the way.  It prints a checksum that does not depend on timing, so
 * both runs must print the same.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRODUCERS 3
#define MESSAGES 20000
#define QUEUE 256

struct msg {
    size_t len;
    unsigned seed;
    unsigned char *body;
};

static struct msg *queue[QUEUE];
static unsigned head, tail;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static unsigned long long sums[PRODUCERS];
static int bad;

static void
put(struct msg *m)
{
    pthread_mutex_lock(&lock);
    while (tail - head == QUEUE)
        pthread_cond_wait(&changed, &lock);
    queue[tail++ % QUEUE] = m;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static struct msg *
get(void)
{
    struct msg *m;

    pthread_mutex_lock(&lock);
    while (tail == head)
        pthread_cond_wait(&changed, &lock);
    m = queue[head++ % QUEUE];
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    return m;
}

static void *
producer(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;

    for (unsigned i = 0; i < MESSAGES; i++) {
        struct msg *m = calloc(1, sizeof(*m));
        unsigned seed = id * 1000003u + i;
        m->seed = seed;
        m->len = 1 + (seed * 2654435761u) % 3000;
        m->body = malloc(m->len / 2 + 1);
        m->body = realloc(m->body, m->len); /* grow it, as a builder would */
        for (size_t k = 0; k < m->len; k++)
            m->body[k] = (unsigned char)(seed + k);
        put(m);
    }
    put(NULL);
    return NULL;
}

static void *
consumer(void *arg)
{
    unsigned long long *sum = arg;
    struct msg *m;

    while ((m = get()) != NULL) {
        for (size_t k = 0; k < m->len; k++)
            if (m->body[k] != (unsigned char)(m->seed + k))
                __atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
        *sum += m->len * (m->seed % 7 + 1);
        free(m->body);
        free(m);
    }
    return NULL;
}

int
main(void)
{
    pthread_t p[PRODUCERS], c[PRODUCERS];
    unsigned long long total = 0;

    for (uintptr_t i = 0; i < PRODUCERS; i++) {
        pthread_create(&p[i], NULL, producer, (void *)i);
        pthread_create(&c[i], NULL, consumer, &sums[i]);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(p[i], NULL);
        pthread_join(c[i], NULL);
    }
    for (int i = 0; i < PRODUCERS; i++)
        total += sums[i];
    printf("messages %d checksum %llu %s\n", PRODUCERS * MESSAGES, total,
           bad ? "CORRUPT" : "intact");
    return bad;
}
