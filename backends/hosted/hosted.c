/* SPDX-License-Identifier: MIT */
/*
 * backends/hosted/hosted.c - the part of a Linux backend that does not
 * depend on where segments come from, shared by mmap and sbrk so that
 * neither repeats it: the futex lock's slow paths, the thread-exit hook
 * (a pthread key), the barrier on every thread (membarrier), yielding,
 * error output and abort, the configuration, and madvise purging.
 *
 * Everything here keeps the caller's errno, as backend.h requires.
 */
#include <errno.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hosted.h"

/* ------------------------------------------------------------------------
 * The lock's slow paths (the fast paths are in hosted-inline.h).
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
 * Threads: the cell (thread-exit.c has the exit hook).
 * ------------------------------------------------------------------------ */

__thread mp_tcell_t mp_tls_cell = { .tcache = &mp_tcache_empty };


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
 * Configuration and purging
 * ------------------------------------------------------------------------ */

int
mp_hosted_config(mp_backend_config_t *cfg)
{
    long page = sysconf(_SC_PAGESIZE);
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);

    if (page <= 0 || MP_PAGE_SIZE % (size_t)page != 0)
        return EINVAL; /* built for a smaller page than this machine's */
    cfg->os_page_size = (size_t)page;
    cfg->ncpu = ncpu > 0 ? (unsigned)ncpu : 1u;
    cfg->can_purge = true;
    cfg->purge_zeroes = true; /* MADV_DONTNEED on private anonymous memory */
    cfg->can_protect = true;
    return 0;
}

/* Guard pages (lib/page/guard.c): mprotect, on mmap'd memory and on the
 * program break's alike. */
int
mp_backend_protect(void *addr, size_t len, bool accessible)
{
    int saved_errno = errno;
    int rc = mprotect(addr, len,
                      accessible ? PROT_READ | PROT_WRITE : PROT_NONE) == 0
                 ? 0
                 : errno;

    errno = saved_errno;
    return rc;
}

/* Transparent huge pages: Linux's are 2 MiB on x86-64 and on arm64 with
 * 4 KiB pages, the machines the hosted backends are built for. */
#define HOSTED_HUGE_PAGE ((size_t)2 << 20)
_Static_assert(MP_SEGMENT_SIZE % HOSTED_HUGE_PAGE == 0,
               "segments hold whole huge pages");

static _Atomic bool hosted_thp; /* MPOOL_OPTIONS's "thp" */

int
mp_backend_huge_pages(bool on, size_t *huge_page_size)
{
#ifdef MADV_HUGEPAGE
    atomic_store_explicit(&hosted_thp, on, memory_order_relaxed);
    *huge_page_size = HOSTED_HUGE_PAGE;
    return 0;
#else
    (void)on;
    (void)huge_page_size;
    return ENOTSUP;
#endif
}

void
mp_hosted_advise_huge(void *addr, size_t len)
{
#ifdef MADV_HUGEPAGE
    int saved_errno = errno;
    uintptr_t start = ((uintptr_t)addr + HOSTED_HUGE_PAGE - 1) &
                      ~(uintptr_t)(HOSTED_HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)addr + len) & ~(uintptr_t)(HOSTED_HUGE_PAGE - 1);

    if (!atomic_load_explicit(&hosted_thp, memory_order_relaxed) ||
        start >= end)
        return;
    (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
    errno = saved_errno;
#else
    (void)addr;
    (void)len;
#endif
}

int
mp_hosted_purge(void *addr, size_t len)
{
    int saved_errno = errno;
    int rc = madvise(addr, len, MADV_DONTNEED) == 0 ? 0 : errno;

    errno = saved_errno;
    return rc;
}

/* ------------------------------------------------------------------------
 * Diagnostics
 * ------------------------------------------------------------------------ */

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
