/* SPDX-License-Identifier: MIT */
/*
 * fork.c - fork() in a program whose threads allocate.
 *
 * fork() copies the whole address space but only the calling thread.  A
 * lock another thread held at that moment would stay taken in the child
 * for ever, and a child of a multi-threaded parent could then not
 * allocate.  So, registered once with pthread_atfork() when the library
 * initialises (hosted builds only; bare metal has no fork):
 *
 *   prepare  take every lock of the library, in the lock order of
 *            doc/design.md, so that no other thread is inside;
 *   parent   release them all;
 *   child    make them all new (the one thread holds them all), then empty
 *            the thread tables of the threads that do not exist in the
 *            child into the depots, so their cached objects can be reused.
 *
 * Parent and child release in the reverse order of prepare, so that each
 * list (the caches of the registry, the pools) is still locked while its
 * members' locks are released.
 */
#include <pthread.h>

#include "cache/cache.h"

static bool fork_locked; /* prepare took the locks */

static void
fork_step(enum mp_fork_phase phase, unsigned step)
{
    switch (step) {
    case 0:
        mp_fork_registry(phase);
        break;
    case 1:
        mp_fork_pools(phase);
        break;
    case 2:
        mp_fork_cache_locks(phase);
        break;
    case 3:
        mp_fork_tcache(phase);
        break;
    case 4:
        mp_fork_depots_internal(phase);
        break;
    case 5:
        for (unsigned i = 0; i < MP_ARENAS_MAX; i++)
            mp_fork_lock(&mp_arenas[i].lock, phase);
        break;
    case 6:
        mp_fork_lock(mp_backend_fork_lock(), phase);
        break;
    }
}
#define FORK_STEPS 7

static void
fork_prepare(void)
{
    if (atomic_load_explicit(&mp_init_state, memory_order_acquire) != 2)
        return;
    for (unsigned step = 0; step < FORK_STEPS; step++)
        fork_step(MP_FORK_PREPARE, step);
    fork_locked = true;
}

static void
fork_after(enum mp_fork_phase phase)
{
    if (!fork_locked)
        return;
    fork_locked = false;
    for (unsigned step = FORK_STEPS; step-- > 0;)
        fork_step(phase, step);
}

static void
fork_parent(void)
{
    fork_after(MP_FORK_PARENT);
}

static void
fork_child(void)
{
    bool was_locked = fork_locked;

    fork_after(MP_FORK_CHILD);
    if (was_locked)
        mp_tcache_fork_child();
}

void
mp_fork_register(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}
