/* SPDX-License-Identifier: MIT */
/*
 * t/fork-t.c - fork() from a program whose other threads are allocating
 * and freeing all the time (fork.c): the child can allocate from every
 * kind of memory (a pool, a cache, the default pool, pages), reclaim, and
 * exit cleanly, and the parent goes on.  A child that deadlocks on a lock
 * taken by a thread that does not exist in it is killed by an alarm and
 * counts as a failure.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpool.h"
#include "tap/tap.h"

#define WORKERS 3
#define FORKS 40 /* 8 under valgrind, where each fork is slow */

static mpool_t *pool;
static mpool_cache_t *cache;
static atomic_int running = 1;
static atomic_long work_done;

static void *
worker(void *arg)
{
    uintptr_t seed = (uintptr_t)arg * 2654435761u;
    void *mine[64] = {0};

    while (atomic_load(&running)) {
        for (int i = 0; i < 64; i++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            size_t size = 8 + (seed >> 33) % 3000;
            mpool_free(pool, mine[i]);
            mine[i] = mpool_alloc(pool, size);
            if (mine[i] != NULL)
                memset(mine[i], (int)i, size < 64 ? size : 64);
            void *o = mpool_cache_alloc(cache);
            mpool_cache_free(cache, o);
            void *d = mpool_alloc(NULL, size);
            mpool_free(NULL, d);
        }
        if ((seed >> 40) % 16 == 0)
            mpool_reclaim(NULL);
        atomic_fetch_add(&work_done, 1);
    }
    for (int i = 0; i < 64; i++)
        mpool_free(pool, mine[i]);
    return NULL;
}

/* The child: every kind of allocation, then exit 0 if all went well. */
static int
child(void)
{
    void *p[100], *o, *pages;
    int ok = 1;

    alarm(20); /* a deadlock fails the test instead of hanging it */
    for (int i = 0; i < 100; i++) {
        p[i] = mpool_alloc(pool, 16 + (size_t)i * 40);
        ok &= p[i] != NULL;
        if (p[i] != NULL)
            memset(p[i], 0x77, 16);
    }
    o = mpool_cache_alloc(cache);
    pages = mpool_pages_alloc(2);
    ok &= o != NULL && pages != NULL;
    mpool_cache_free(cache, o);
    mpool_pages_free(pages, 2);
    for (int i = 0; i < 100; i++)
        mpool_free(pool, p[i]);
    mpool_reclaim(NULL);
    {
        mpool_t *fresh = mpool_create(NULL);
        void *q = mpool_alloc(fresh, 1000);
        ok &= q != NULL;
        mpool_destroy(fresh);
    }
    return ok ? 0 : 1;
}

int
main(void)
{
    pthread_t t[WORKERS];
    int children_ok = 0, parent_ok = 1;
    int forks = tap_under_valgrind() ? 8 : FORKS;

    plan(3);
    pool = mpool_create(NULL);
    cache = mpool_cache_create("fork-t", 200, 0, NULL, NULL, NULL, 0);
    if (pool == NULL || cache == NULL)
        bail("create");
    for (uintptr_t i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    for (int f = 0; f < forks; f++) {
        int status, report[2];
        char verdict;
        pid_t pid;

        while (atomic_load(&work_done) < (long)(f + 1) * 2)
            usleep(100);
        fflush(stdout);
        if (pipe(report) != 0)
            sysbail("pipe");
        pid = fork();
        if (pid < 0)
            sysbail("fork");
        if (pid == 0) {
            char mine = child() == 0 ? 'y' : 'n';
            ssize_t w = write(report[1], &mine, 1);
            _exit(w == 1 && mine == 'y' ? 0 : 1);
        }
        close(report[1]);
        if (read(report[0], &verdict, 1) != 1)
            verdict = '?';
        close(report[0]);
        /* the verdict comes through the pipe: under valgrind the child's
         * exit status is memcheck's, which counts the blocks of threads
         * that do not exist in the child as leaked */
        if (waitpid(pid, &status, 0) == pid && verdict == 'y' &&
            (tap_under_valgrind() ||
             (WIFEXITED(status) && WEXITSTATUS(status) == 0)))
            children_ok++;
        else
            diag("child %d: verdict %c, status %#x", f, verdict, status);
        void *x = mpool_alloc(pool, 100);
        parent_ok &= x != NULL;
        mpool_free(pool, x);
    }
    atomic_store(&running, 0);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    is_int(children_ok, forks,
           "%d children forked while %d threads allocate: each allocates "
           "from a pool, a cache, pages and a new pool, and exits cleanly",
           forks, WORKERS);
    ok(parent_ok, "the parent allocates after every fork");
    ok(mpool_cache_destroy(cache) == 0, "and its cache is whole afterwards");
    mpool_destroy(pool);
    return 0;
}
