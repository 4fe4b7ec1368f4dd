/* SPDX-License-Identifier: MIT */
/*
 * backends/hosted/hosted-inline.h - the inline primitives every backend
 * that runs under Linux and glibc shares (mmap, sbrk): the futex lock, the
 * CPU id, the thread's cache table and errno.  A hosted backend's
 * backend-inline.h defines its geometry and includes this file; what is
 * here does not depend on where the segments come from.  The slow paths
 * are in hosted.c, which every hosted backend's Makefile.inc compiles in.
 */
#ifndef MP_HOSTED_INLINE_H
#define MP_HOSTED_INLINE_H

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>

#include "tcell.h"

/* A futex lock (Drepper, "Futexes Are Tricky", mutex 2): taking and
 * releasing it uncontended is one atomic instruction each, and a thread
 * that finds it taken spins briefly, then sleeps in the kernel instead of
 * burning the CPU its holder may need.  state: 0 free, 1 taken, 2 taken
 * with sleepers.  Slow paths live in hosted.c. */
typedef struct mp_lock {
    _Atomic unsigned state;
} mp_lock_t;
#define MP_LOCK_INITIALIZER {0}

void mp_lock_acquire_slow(mp_lock_t *lock)
    __attribute__((visibility("hidden")));
void mp_lock_wake(mp_lock_t *lock) __attribute__((visibility("hidden")));

static inline void
mp_lock_init(mp_lock_t *lock)
{
    atomic_init(&lock->state, 0);
}

static inline void
mp_lock_acquire(mp_lock_t *lock)
{
    unsigned free_state = 0;

    if (__builtin_expect(atomic_compare_exchange_strong_explicit(
                             &lock->state, &free_state, 1,
                             memory_order_acquire, memory_order_relaxed),
                         1))
        return;
    mp_lock_acquire_slow(lock);
}

static inline void
mp_lock_release(mp_lock_t *lock)
{
    if (__builtin_expect(atomic_exchange_explicit(&lock->state, 0,
                                                  memory_order_release) == 2,
                         0))
        mp_lock_wake(lock);
}

/* glibc answers sched_getcpu() from the rseq area or the vDSO: no system
 * call on the machines we support. */
static inline unsigned
mp_backend_cpu_id(void)
{
    int cpu = sched_getcpu();
    return cpu < 0 ? 0u : (unsigned)cpu;
}

/* Storage for the core's per-thread records (checking builds' lock
 * record): initial-exec, like the table below. */
#define MP_THREAD_LOCAL __thread __attribute__((tls_model("initial-exec")))

/* The calling thread's cell (backend.h).  Initial-exec TLS: its address
 * is the thread pointer plus a constant, where the default model for a
 * shared library would call __tls_get_addr on every access. */
extern __thread mp_tcell_t mp_tls_cell
    __attribute__((tls_model("initial-exec"), visibility("hidden")));

static inline mp_tcell_t *
mp_backend_tcell(void)
{
    return mp_tcell_tls(&mp_tls_cell);
}

static inline void
mp_set_errno(int e)
{
    errno = e;
}

#endif /* MP_HOSTED_INLINE_H */
