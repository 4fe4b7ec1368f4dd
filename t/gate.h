/* SPDX-License-Identifier: MIT */
/*
 * t/gate.h - a gate between a test's threads: one thread opens it to a
 * step, others wait until it has reached that step.  For the tests that
 * hold a thread still at a known point (t/tcache-t.c, t/fixed-slots-t.c):
 * no timing, only the order of events.
 */
#ifndef MPOOL_T_GATE_H
#define MPOOL_T_GATE_H

#include <pthread.h>

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int step;
};

#define GATE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0}

static inline void
gate_open(struct gate *g, int step)
{
    pthread_mutex_lock(&g->lock);
    g->step = step;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static inline void
gate_wait(struct gate *g, int step)
{
    pthread_mutex_lock(&g->lock);
    while (g->step < step)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

#endif /* MPOOL_T_GATE_H */
