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
 *   prepare  take every lock of the library, walking the lock table
 *            (base/lock.h) class by class, so that no other thread is
 *            inside;
 *   parent   release them all;
 *   child    make them all new (the one thread holds them all), then empty
 *            the thread tables of the threads that do not exist in the
 *            child into the depots, so their cached objects can be reused.
 *
 * Parent and child release in the reverse order of prepare, so that each
 * list (the caches of the registry, the pools) is still locked while its
 * members' locks are released.
 *
 * The C library's stream locks come before ours.  getline() reallocs
 * while it holds its stream's lock, and fflush(NULL) holds the list of
 * streams while it waits for each stream; glibc's fork takes that list
 * (_IO_list_lock) only after every prepare handler has run.  Were our
 * locks taken first, a fork would wait for the list while holding them,
 * the flush for the stream, and the getline in realloc for our lock.  So
 * prepare first takes the list itself: a recursive lock, which glibc's
 * fork then takes a second time.  In the parent glibc releases its count
 * before the parent handlers run, and fork_parent releases ours after the
 * library's locks; in the child glibc makes the list lock new before the
 * child handlers run, so fork_child leaves it alone.  glibc does both only
 * when the process has more than one thread, as __libc_single_threaded
 * says, which is why the list is taken only with that variable, and only
 * where the C library has the lock (a weak reference; musl has neither).
 * This is the order glibc's own malloc has: its locks after the list.
 *
 * In a single-threaded process (__libc_single_threaded) no other thread
 * can hold a lock, and fork may be called from a signal handler that
 * interrupted malloc or another fork's handlers: prepare then takes
 * nothing and records nothing, so parent and child do nothing either, as
 * glibc's fork skips its own locking there.  A child of such a fork may
 * use only async-signal-safe functions.  Without the variable (an older C
 * library) every fork takes the locks.
 */
#include "config.h"

#include <pthread.h>
#ifdef HAVE_LIBC_SINGLE_THREADED
#include <sys/single_threaded.h>
#endif

#include "top.h"

/* glibc's lock on its list of streams (recursive); absent elsewhere. */
extern void _IO_list_lock(void) __attribute__((weak));
extern void _IO_list_unlock(void) __attribute__((weak));

static bool fork_locked; /* prepare took the locks */
static bool fork_stdio;  /* and the list of streams before them */

/* Every lock of class cls, in every layer that has one. */
static void
fork_class(enum mp_lock_class cls, enum mp_fork_phase phase)
{
    mp_caches_fork(cls, phase);
    mp_pools_fork(cls, phase);
    if (cls == MP_LOCK_ARENA)
        for (unsigned i = 0; i < MP_ARENAS_MAX; i++)
            mp_mutex_fork(&mp_arenas[i].lock, phase);
}

/* The backend's lock, a leaf taken last (base/lock.h). */
static void
fork_backend(enum mp_fork_phase phase)
{
    mp_lock_t *lock = mp_backend_fork_lock();

    if (phase == MP_FORK_PREPARE)
        mp_lock_acquire(lock);
    else if (phase == MP_FORK_PARENT)
        mp_lock_release(lock);
    else
        mp_lock_init(lock);
}

/* step 0 .. MP_LOCK_NCLASSES - 1: the classes of the lock table in rank
 * order; the last step: the backend's lock. */
static void
fork_step(enum mp_fork_phase phase, unsigned step)
{
    if (step < MP_LOCK_NCLASSES)
        fork_class((enum mp_lock_class)step, phase);
    else
        fork_backend(phase);
}
#define FORK_STEPS (MP_LOCK_NCLASSES + 1)

/* The C library says that the calling thread is the only one. */
static bool
fork_single_threaded(void)
{
#ifdef HAVE_LIBC_SINGLE_THREADED
    return __libc_single_threaded != 0;
#else
    return false;
#endif
}

/* Take the list of streams, where the C library has one and will make it
 * new in the child: true if taken. */
static bool
fork_stdio_lock(void)
{
#ifdef HAVE_LIBC_SINGLE_THREADED
    if (_IO_list_lock != NULL && _IO_list_unlock != NULL) {
        _IO_list_lock();
        return true;
    }
#endif
    return false;
}

static void
fork_prepare(void)
{
    if (!mp_initialised())
        return;
    if (fork_single_threaded())
        return;
    fork_stdio = fork_stdio_lock();
    mp_lockcheck_walk_begin();
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
    mp_lockcheck_walk_end();
}

static void
fork_parent(void)
{
    bool stdio = fork_stdio;

    fork_stdio = false;
    fork_after(MP_FORK_PARENT);
    if (stdio)
        _IO_list_unlock(); /* the count prepare took; glibc's is gone */
}

static void
fork_child(void)
{
    bool was_locked = fork_locked;

    fork_stdio = false; /* glibc's fork has made the list lock new */
    fork_after(MP_FORK_CHILD);
    if (was_locked)
        mp_tcache_fork_child();
}

void
mp_fork_register(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}
