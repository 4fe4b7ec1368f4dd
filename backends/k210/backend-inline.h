/* SPDX-License-Identifier: MIT */
/*
 * backends/k210/backend-inline.h - the k210 backend's geometry and its
 * hottest primitives, inlined into the core (see lib/backend.h).
 *
 * One backend, two builds of the same code:
 *
 *   target  bare metal: a kernel on the Kendryte K210 (RV64GC, two harts,
 *           8 MiB of SRAM at 0x80000000), compiled freestanding.  No C
 *           library, no threads, no libc errno; a hart is a CPU, and a
 *           kernel hands the library its free RAM with mpool_k210_init().
 *   host    a process on an operating system, for the test suite: threads
 *           stand in for harts, a static 8 MiB array for the SRAM
 *           (backends/k210/host.c).
 *
 * The build is the target one when the compiler is freestanding
 * (-ffreestanding: __STDC_HOSTED__ == 0) or MPOOL_FREESTANDING is defined.
 *
 * Geometry: 4 KiB pages (the Sv39 page); 256 KiB segments, aligned to
 * 256 KiB, so that 8 MiB of SRAM is 32 segments where mmap's 4 MiB ones
 * would leave two.  A segment's header (its fields and 64 page entries)
 * takes its first page.  Segment addresses fit in 32 bits on the target
 * (SRAM at 0x80000000), which keeps the core's segment maps at 2 KiB each;
 * the host build needs 48 (its array lies wherever the loader puts it).
 */
#ifndef MP_BACKEND_INLINE_H
#define MP_BACKEND_INLINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcell.h"

#if defined(MPOOL_FREESTANDING) ||                                         \
    (defined(__STDC_HOSTED__) && __STDC_HOSTED__ == 0)
#define MP_K210_TARGET 1
#else
#define MP_K210_TARGET 0
#endif

/* Error numbers: <errno.h> where there is one (the host; picolibc), else
 * the values Linux, newlib and the BSDs share (the last two are Linux's). */
#if !MP_K210_TARGET
#include <errno.h>
#elif defined(__has_include)
#if __has_include(<errno.h>)
#include <errno.h>
#endif
#endif
#ifndef ENOENT
#define ENOENT 2
#endif
#ifndef EBADF
#define EBADF 9
#endif
#ifndef ENOMEM
#define ENOMEM 12
#endif
#ifndef EBUSY
#define EBUSY 16
#endif
#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef EINVAL
#define EINVAL 22
#endif
#ifndef ENOSYS
#define ENOSYS 38
#endif
#ifndef ENOTSUP
#define ENOTSUP 95
#endif

#define MP_PAGE_SHIFT 12    /* 4 KiB */
#define MP_SEGMENT_SHIFT 18 /* 256 KiB */
#if MP_K210_TARGET
#define MP_ADDRESS_BITS 32 /* SRAM at 0x80000000 .. 0x807fffff */
#else
#define MP_ADDRESS_BITS 48 /* user space on x86-64, AArch64, RV64 Sv48 */
#endif
#define MP_ARENAS_MAX 2
/* Caches that can have magazines at once (lib/cache/cache.h): 512 cost 8 KiB of
 * .bss, where the hosted default of 16384 would take 256 KiB of SRAM.  A
 * kernel has tens of caches; one past the 512th works, without magazines. */
#define MP_TSLOT_MAX 512
/* Magazines of 32 rounds: on 8 MiB, what harts hold in deeper ones runs
 * the machine out of memory (lib/cache/cache.h; the hosted default is 128). */
#define MP_MAGAZINE_ROUNDS_MAX 32

/* Harts the library serves: hart ids 0 .. MP_K210_HARTS - 1.  Two on the
 * K210; a kernel for a machine with more builds with -DMP_K210_HARTS=N. */
#ifndef MP_K210_HARTS
#define MP_K210_HARTS 2
#endif

/* The kernel's interface and hooks, mpool_k210_init() and the rest, from
 * the header installed with this backend (the hooks' weak defaults are in
 * backend.c for the target, host.c for the host). */
#include "mpool-k210.h"

/* Between the backend's files, and for t/k210-t. */
#define MP_K210_HIDDEN __attribute__((visibility("hidden")))
/* mpool_k210_init's work: 0 or EINVAL; zeroed says the range is known to
 * hold zero bytes (the host's static array). */
MP_K210_HIDDEN int mp_k210_init_range(void *base, size_t len, bool zeroed);
/* The first whole segment of the range and how many there are (NULL, 0
 * before a range was handed over). */
MP_K210_HIDDEN void mp_k210_range(void **base, size_t *nsegments);
/* Stop this hart for good: wfi on the target, abort() on the host. */
MP_K210_HIDDEN void mp_k210_park(void) __attribute__((noreturn));
#if !MP_K210_TARGET
/* Hand the static array over, unless the program gave a range first. */
MP_K210_HIDDEN void mp_k210_host_init(void);
#endif

/* A spinlock on a 32-bit atomic: the K210's lr.w/sc.w (8- and 16-bit
 * atomics would need libatomic, which bare metal does not have).  Taking
 * and releasing it uncontended is one atomic instruction each; the slow
 * path (backend.c) spins on plain loads until the lock looks free. */
typedef struct mp_lock {
    _Atomic uint32_t state; /* 0 free, 1 taken */
} mp_lock_t;
#define MP_LOCK_INITIALIZER {0}

void mp_lock_acquire_slow(mp_lock_t *lock)
    __attribute__((visibility("hidden")));

static inline void
mp_lock_init(mp_lock_t *lock)
{
    atomic_init(&lock->state, 0);
}

static inline void
mp_lock_acquire(mp_lock_t *lock)
{
    uint32_t free_state = 0;

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
    atomic_store_explicit(&lock->state, 0, memory_order_release);
}

/* The CPU is the hart: the kernel's hook (mhartid by default). */
static inline unsigned
mp_backend_cpu_id(void)
{
    return mpool_k210_hart_id();
}

struct mp_tcache;
extern struct mp_tcache mp_tcache_empty __attribute__((visibility("hidden")));

#if MP_K210_TARGET
/* Each hart's cell (backend.h), indexed by hart id.  A hart uses its cell
 * without a lock, so it must not be switched to another context in the
 * middle of a library call (see doc/backends.md).  A hart id out of range
 * gets a cell of its own whose table is always the empty one: every call
 * goes to the slow path, which stops the program naming the hart
 * (mp_k210_bad_hart, when the core would set up a table). */
extern mp_tcell_t mp_k210_cells[MP_K210_HARTS + 1]
    __attribute__((visibility("hidden")));
void mp_k210_bad_hart(unsigned hart)
    __attribute__((noreturn, visibility("hidden")));

static inline mp_tcell_t *
mp_backend_tcell(void)
{
    unsigned hart = mpool_k210_hart_id();

    return &mp_k210_cells[__builtin_expect(hart < MP_K210_HARTS, 1)
                              ? hart
                              : MP_K210_HARTS];
}

static inline void
mp_set_errno(int e)
{
    *mpool_errno_location() = e;
}
#else
/* Per-thread records of the core (checking builds): threads stand in for
 * harts on the host.  The target has no thread-local storage, so the core
 * keeps those records per hart there (mp_backend_cpu_id is the hart). */
#define MP_THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))

/* The host build: the calling thread's cell, in initial-exec TLS as with
 * the hosted backends, and the C library's errno set along with the
 * library's own, so that programs and tests written for errno work. */
extern _Thread_local mp_tcell_t mp_k210_tls_cell
    __attribute__((tls_model("initial-exec"), visibility("hidden")));

static inline mp_tcell_t *
mp_backend_tcell(void)
{
    return mp_tcell_tls(&mp_k210_tls_cell);
}

static inline void
mp_set_errno(int e)
{
    *mpool_errno_location() = e;
    errno = e;
}
#endif

#endif /* MP_BACKEND_INLINE_H */
