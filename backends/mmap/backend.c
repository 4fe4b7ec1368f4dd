/* SPDX-License-Identifier: MIT */
/*
 * backends/mmap/backend.c - segments from anonymous mmap(2), kept in a small
 * pool so that steady-state allocation makes no system call.
 *
 *     mmap(batch * 4 MiB + 4 MiB - page)        one system call
 *     |--head--|=seg=|=seg=|=seg=| ... |=seg=|--tail--|
 *      munmap                                 munmap    trims: at most two
 *                 ^ 4 MiB aligned
 *
 * A request for one segment is served from the pool; an empty pool is
 * refilled with a batch of fresh segments from one mapping (4, then 8, 16
 * and at most 32 segments: the more a program has needed, the more it is
 * likely to need).  Pooled segments were never touched, so they hold no
 * physical memory, only address space.  A request for several contiguous
 * segments (a run larger than a segment) is mapped on its own, and freeing
 * any segment unmaps it: the core keeps its free segments itself and only
 * gives one back when it means it (reclaim, or the end of a huge run).
 *
 * Failure: if the kernel refuses a mapping the call returns ENOMEM and
 * nothing is left mapped.  The over-map-and-trim scheme never loops.
 *
 * Locking: one mutex protects the pool and the counters.  It is taken only
 * on the slow path of the core (a new segment), never per allocation.
 */
#include <errno.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"

#define MMAP_POOL_CAPACITY 32 /* the largest batch: 128 MiB of address space */
#define MMAP_BATCH_FIRST 4

static struct {
    mp_lock_t lock;
    void *pool[MMAP_POOL_CAPACITY]; /* ready segments, lowest address last */
    size_t pooled;
    size_t next_batch;
    mp_backend_counters_t counters;
} mmap_state = {
    .lock = MP_LOCK_INITIALIZER,
    .next_batch = MMAP_BATCH_FIRST,
};

/* ------------------------------------------------------------------------
 * The lock's slow paths (the fast paths are in backend-inline.h).
 * ------------------------------------------------------------------------ */

#define LOCK_SPINS 100

static inline void
lock_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void
mp_lock_acquire_slow(mp_lock_t *lock)
{
    int saved_errno = errno;
    unsigned c;

    /* A short spin: most holders are about to release. */
    for (int i = 0; i < LOCK_SPINS; i++) {
        lock_cpu_relax();
        c = 0;
        if (atomic_load_explicit(&lock->state, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(&lock->state, &c, 1,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return;
    }
    /* Then sleep, marking the lock as having sleepers (2). */
    c = atomic_exchange_explicit(&lock->state, 2, memory_order_acquire);
    while (c != 0) {
        syscall(SYS_futex, &lock->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL,
                0);
        c = atomic_exchange_explicit(&lock->state, 2, memory_order_acquire);
    }
    errno = saved_errno;
}

void
mp_lock_wake(mp_lock_t *lock)
{
    int saved_errno = errno;

    syscall(SYS_futex, &lock->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    errno = saved_errno;
}

/* ------------------------------------------------------------------------
 * Threads: the cache table pointer, and a key whose destructor flushes the
 * table when the thread exits.
 * ------------------------------------------------------------------------ */

__thread void *mp_tls_tcache = &mp_tcache_empty;

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

/* ------------------------------------------------------------------------
 * A barrier on every thread: membarrier(2), registered on first use.
 * ------------------------------------------------------------------------ */

static pthread_once_t barrier_once = PTHREAD_ONCE_INIT;
static int barrier_error;

static void
barrier_register(void)
{
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

    if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
        barrier_error = ENOSYS;
    else if (syscall(SYS_membarrier,
                     MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0)
        barrier_error = errno;
}

int
mp_backend_barrier_all_threads(void)
{
    int saved_errno = errno;
    int rc;

    pthread_once(&barrier_once, barrier_register);
    rc = barrier_error;
    if (rc == 0 &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
        rc = errno;
    errno = saved_errno;
    return rc;
}

void
mp_backend_yield(void)
{
    sched_yield();
}

/* ------------------------------------------------------------------------
 * Segments
 * ------------------------------------------------------------------------ */

int
mp_backend_init(mp_backend_config_t *cfg)
{
    long page = sysconf(_SC_PAGESIZE);
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);

    if (page <= 0 || MP_PAGE_SIZE % (size_t)page != 0)
        return EINVAL; /* built for a smaller page than this machine's */
    cfg->os_page_size = (size_t)page;
    cfg->ncpu = ncpu > 0 ? (unsigned)ncpu : 1u;
    cfg->can_purge = true;
    cfg->purge_zeroes = true; /* MADV_DONTNEED on private anonymous memory */
    return 0;
}

/* Map `size` bytes aligned to a segment.  Caller holds the lock. */
static void *
mmap_aligned_locked(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t over = size + MP_SEGMENT_SIZE - page;
    char *raw, *aligned, *end;

    if (over < size)
        return NULL;
    mmap_state.counters.os_map_calls++;
    raw = mmap(NULL, over, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    aligned = (char *)(((uintptr_t)raw + MP_SEGMENT_MASK) & ~MP_SEGMENT_MASK);
    end = raw + over;
    if (aligned > raw) {
        mmap_state.counters.os_unmap_calls++;
        munmap(raw, (size_t)(aligned - raw));
    }
    if (end > aligned + size) {
        mmap_state.counters.os_unmap_calls++;
        munmap(aligned + size, (size_t)(end - (aligned + size)));
    }
    return aligned;
}

/* Refill the empty pool with one batch; returns one segment of it. */
static void *
mmap_refill_locked(void)
{
    size_t batch = mmap_state.next_batch;
    char *base;

    base = mmap_aligned_locked(batch * MP_SEGMENT_SIZE);
    if (base == NULL && batch > 1) {
        batch = 1; /* address space is tight: ask for just what is needed */
        base = mmap_aligned_locked(MP_SEGMENT_SIZE);
    }
    if (base == NULL)
        return NULL;
    for (size_t i = batch; i > 1; i--)
        mmap_state.pool[mmap_state.pooled++] =
            base + (i - 1) * MP_SEGMENT_SIZE;
    if (mmap_state.next_batch < MMAP_POOL_CAPACITY)
        mmap_state.next_batch *= 2;
    return base;
}

int
mp_backend_segments_alloc(size_t nsegments, void **addr, bool *is_zero)
{
    int saved_errno = errno;
    void *p;

    if (nsegments == 0 || nsegments > (SIZE_MAX >> MP_SEGMENT_SHIFT))
        return ENOMEM;
    mp_lock_acquire(&mmap_state.lock);
    if (nsegments == 1 && mmap_state.pooled > 0)
        p = mmap_state.pool[--mmap_state.pooled];
    else if (nsegments == 1)
        p = mmap_refill_locked();
    else
        p = mmap_aligned_locked(nsegments << MP_SEGMENT_SHIFT);
    if (p != NULL)
        mmap_state.counters.segments_out += nsegments;
    mp_lock_release(&mmap_state.lock);
    errno = saved_errno;
    if (p == NULL)
        return ENOMEM;
    *addr = p;
    *is_zero = true; /* fresh anonymous memory, never touched */
    return 0;
}

int
mp_backend_segments_free(void *addr, size_t nsegments)
{
    int saved_errno = errno;
    int rc;

    mp_lock_acquire(&mmap_state.lock);
    mmap_state.counters.os_unmap_calls++;
    rc = munmap(addr, nsegments << MP_SEGMENT_SHIFT) == 0 ? 0 : errno;
    if (rc == 0)
        mmap_state.counters.segments_out -= nsegments;
    mp_lock_release(&mmap_state.lock);
    errno = saved_errno;
    return rc;
}

int
mp_backend_purge(void *addr, size_t len)
{
    int saved_errno = errno;
    int rc = madvise(addr, len, MADV_DONTNEED) == 0 ? 0 : errno;

    mp_lock_acquire(&mmap_state.lock);
    mmap_state.counters.os_purge_calls++;
    mp_lock_release(&mmap_state.lock);
    errno = saved_errno;
    return rc;
}

size_t
mp_backend_release_cached(void)
{
    int saved_errno = errno;
    size_t released = 0;

    mp_lock_acquire(&mmap_state.lock);
    while (mmap_state.pooled > 0) {
        void *seg = mmap_state.pool[--mmap_state.pooled];
        mmap_state.counters.os_unmap_calls++;
        if (munmap(seg, MP_SEGMENT_SIZE) == 0)
            released++;
    }
    mmap_state.next_batch = MMAP_BATCH_FIRST;
    mp_lock_release(&mmap_state.lock);
    errno = saved_errno;
    return released;
}

void
mp_backend_counters(mp_backend_counters_t *out)
{
    mp_lock_acquire(&mmap_state.lock);
    *out = mmap_state.counters;
    out->segments_cached = mmap_state.pooled;
    mp_lock_release(&mmap_state.lock);
}

void
mp_backend_write_error(const char *msg, size_t len)
{
    int saved_errno = errno;

    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, msg, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        msg += n;
        len -= (size_t)n;
    }
    errno = saved_errno;
}

void
mp_backend_abort(void)
{
    abort();
}
