/* SPDX-License-Identifier: MIT */
/*
 * t/remote-free.h - a thread that frees blocks of a pool and then stays
 * alive until told to go, for the tests of what a pool reports while
 * another thread's magazines hold its freed blocks (stats-t, walk-t):
 *
 *   remote_free_start(&r, pool, block, n)   returns once the thread has
 *                                           freed block[0 .. n)
 *   ... look at the pool ...
 *   remote_free_finish(&r)                  lets it exit, joins it
 */
#ifndef T_REMOTE_FREE_H
#define T_REMOTE_FREE_H

#include <pthread.h>

#include "mpool.h"
#include "tap/tap.h"

typedef struct remote_free {
    mpool_t *pool;
    void **block;
    size_t n;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stage; /* 0 freeing, 1 freed, 2 told to exit */
} remote_free_t;

static void
remote_free_set_stage(remote_free_t *r, int stage)
{
    pthread_mutex_lock(&r->lock);
    r->stage = stage;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void
remote_free_wait_stage(remote_free_t *r, int stage)
{
    pthread_mutex_lock(&r->lock);
    while (r->stage != stage)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
}

static void *
remote_free_thread(void *arg)
{
    remote_free_t *r = arg;

    for (size_t i = 0; i < r->n; i++)
        mpool_free(r->pool, r->block[i]);
    remote_free_set_stage(r, 1);
    remote_free_wait_stage(r, 2);
    return NULL;
}

static void
remote_free_start(remote_free_t *r, mpool_t *pool, void **block, size_t n)
{
    r->pool = pool;
    r->block = block;
    r->n = n;
    r->stage = 0;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, remote_free_thread, r) != 0)
        bail("pthread_create");
    remote_free_wait_stage(r, 1);
}

static void
remote_free_finish(remote_free_t *r)
{
    remote_free_set_stage(r, 2);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
}

#endif
