/* SPDX-License-Identifier: MIT */
/*
 * backends/mmap/backend-inline.h - the mmap backend's geometry and its
 * hottest primitives, inlined into the core (see lib/backend.h).
 *
 * Segments are 4 MiB, aligned to 4 MiB, so that the segment header of any
 * address the library handed out is `addr & ~(4 MiB - 1)`.  Pages are 4 KiB;
 * a build for a machine with larger pages sets MP_PAGE_SHIFT in CPPFLAGS.
 */
#ifndef MP_BACKEND_INLINE_H
#define MP_BACKEND_INLINE_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>

#ifndef MP_PAGE_SHIFT
#define MP_PAGE_SHIFT 12 /* 4 KiB */
#endif
#define MP_SEGMENT_SHIFT 22 /* 4 MiB */
#define MP_ADDRESS_BITS 48  /* user space on x86-64, AArch64, RV64 Sv48 */
#define MP_ARENAS_MAX 64

/* A pthread mutex: threads that find it taken sleep instead of spinning,
 * which matters when a lock holder is descheduled on a busy machine. */
typedef pthread_mutex_t mp_lock_t;

static inline void
mp_lock_init(mp_lock_t *lock)
{
    pthread_mutex_init(lock, NULL);
}

static inline void
mp_lock_acquire(mp_lock_t *lock)
{
    pthread_mutex_lock(lock);
}

static inline int
mp_lock_try_acquire(mp_lock_t *lock)
{
    return pthread_mutex_trylock(lock) == 0;
}

static inline void
mp_lock_release(mp_lock_t *lock)
{
    pthread_mutex_unlock(lock);
}

/* glibc answers sched_getcpu() from the rseq area or the vDSO: no system
 * call on the machines we support. */
static inline unsigned
mp_backend_cpu_id(void)
{
    int cpu = sched_getcpu();
    return cpu < 0 ? 0u : (unsigned)cpu;
}

static inline void
mp_set_errno(int e)
{
    errno = e;
}

#endif /* MP_BACKEND_INLINE_H */
