/* SPDX-License-Identifier: MIT */
/*
 * backends/hosted/thread-exit.c - mp_backend_thread_attach() for every
 * backend that runs in a process with POSIX threads (mmap, sbrk, and the
 * k210 backend's host build): a key whose destructor hands the thread's
 * cache table to the core (mp_tcache_thread_exit) when the thread exits.
 */
#include <errno.h>
#include <pthread.h>

#include "backend.h"

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;
static int thread_key_error;

static void
thread_key_create(void)
{
    thread_key_error = pthread_key_create(&thread_key, mp_tcache_thread_exit);
}

int
mp_backend_thread_attach(void *tcache)
{
    int saved_errno = errno;
    int rc;

    pthread_once(&thread_key_once, thread_key_create);
    rc = thread_key_error != 0 ? thread_key_error
                               : pthread_setspecific(thread_key, tcache);
    errno = saved_errno;
    return rc;
}
