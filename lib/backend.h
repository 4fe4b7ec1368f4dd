/* SPDX-License-Identifier: MIT */
/*
 * backend.h - the contract between the core (lib/) and the page provider
 * compiled in with it (backends/<name>/).
 *
 * The core reaches the operating system, or the bare machine, only through
 * the functions declared here.  Exactly one backend is compiled in, chosen by
 * `./configure --with-backend=NAME`, and the calls are direct.  Its fastest
 * primitives (the lock, the CPU id, the geometry constants) are static inline
 * in backends/<name>/backend-inline.h, found through the include path.
 *
 * backend-inline.h must define:
 *   MP_PAGE_SHIFT       log2 of the page size the core works in
 *   MP_SEGMENT_SHIFT    log2 of the segment size; segments are aligned to it
 *   MP_ADDRESS_BITS     bits of address space that segments can live in
 *   MP_ARENAS_MAX       the most arenas (independently locked page heaps)
 *   mp_lock_t           a mutual-exclusion lock, with
 *     void mp_lock_init(mp_lock_t *), mp_lock_acquire(), mp_lock_release()
 *   unsigned mp_backend_cpu_id(void)   the current CPU (a hint: it may be
 *                                       stale the moment it is returned)
 *   void mp_set_errno(int)             set the caller-visible error number
 *   mp_tcell_t *mp_backend_tcell(void) the calling thread's (or hart's)
 *                                       cell (below); its tcache is
 *                                       initially &mp_tcache_empty
 * and provide the error numbers ENOMEM and EINVAL.  It may define
 *   MP_THREAD_LOCAL     the storage class of per-thread variables; where
 *                       it does not, mp_backend_cpu_id() must name the
 *                       running CPU exactly (bare metal: the hart)
 *
 * The rules for the functions below:
 *   - Addresses and lengths are multiples of the segment size (segments_*)
 *     or of the page size (purge).  Out-parameters are never NULL.
 *   - They return 0 on success or an error number (ENOMEM, ...); they never
 *     set errno, and leave the caller's errno as it was.
 *   - segments_alloc() returns segment-aligned memory, readable and
 *     writable; *is_zero says whether it is known to be all zero bytes.
 *   - purge() drops the physical memory behind a range but keeps the range
 *     usable; reading it afterwards gives zeros when the config says
 *     purge_zeroes.  A backend that cannot purge returns ENOTSUP and the core
 *     counts nothing.
 *   - All functions may be called from any thread at any time after
 *     mp_backend_init(); the backend serialises its own state.
 */
#ifndef MP_BACKEND_H
#define MP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcell.h"
#include "backend-inline.h"

#define MP_PAGE_SIZE ((size_t)1 << MP_PAGE_SHIFT)
#define MP_SEGMENT_SIZE ((size_t)1 << MP_SEGMENT_SHIFT)
#define MP_SEGMENT_MASK (MP_SEGMENT_SIZE - 1)

/* What the backend can do, filled in once by mp_backend_init(). */
typedef struct mp_backend_config {
    size_t os_page_size; /* the machine's page size; divides MP_PAGE_SIZE */
    unsigned ncpu;       /* CPUs that mp_backend_cpu_id() may name */
    bool can_purge;      /* purge() gives physical memory back */
    bool purge_zeroes;   /* a purged range reads back as zeros */
    bool can_protect;    /* protect() can make pages inaccessible */
} mp_backend_config_t;

/* Counters kept by the backend, for tests and statistics. */
typedef struct mp_backend_counters {
    size_t os_map_calls;     /* calls that obtained memory from the OS */
    size_t os_unmap_calls;   /* calls that gave address space back */
    size_t os_purge_calls;   /* calls that dropped physical memory */
    size_t os_remap_calls;   /* calls that resized a mapping (mremap) */
    size_t segments_cached;  /* segments held ready, not handed out */
    size_t segments_out;     /* segments handed to the core */
} mp_backend_counters_t;

/* Called once, before anything else, by the core's initialisation. */
int mp_backend_init(mp_backend_config_t *cfg);

/* nsegments contiguous, aligned segments. */
int mp_backend_segments_alloc(size_t nsegments, void **addr, bool *is_zero);

/* Give back what one segments_alloc() call returned. */
int mp_backend_segments_free(void *addr, size_t nsegments);

/* Resize what one segments_alloc() (or segments_remap()) call returned,
 * from nsegments to new_nsegments, keeping its contents: in place, or at
 * a new segment-aligned *addr (in: the old address) without copying, the
 * pages moved by the system (mremap).  On failure the range is as it was.
 * *tail_zero says whether the segments added are known to read zero.
 * ENOTSUP where the backend cannot (then the core allocates and copies);
 * ENOMEM where it cannot now. */
int mp_backend_segments_remap(void *addr, size_t nsegments,
                              size_t new_nsegments, void **new_addr,
                              bool *tail_zero);

/* Drop the physical memory behind [addr, addr + len). */
int mp_backend_purge(void *addr, size_t len);

/* Ask for transparent huge pages (on) on the segments handed out from now
 * on, or stop asking (MPOOL_OPTIONS's "thp").  0, with *huge_page_size the
 * size of a huge page (a power of two that divides the segment size); or
 * ENOTSUP where the system has no such thing. */
int mp_backend_huge_pages(bool on, size_t *huge_page_size);

/* Make [addr, addr + len) inaccessible, or readable and writable again
 * (page-aligned).  ENOTSUP where there is no memory protection. */
int mp_backend_protect(void *addr, size_t len, bool accessible);
/* Give back the segments held ready in the backend's own cache; returns how
 * many were released.  They hold no physical memory, so reclaim counts no
 * pages for them. */
size_t mp_backend_release_cached(void);

/* A snapshot of the counters. */
void mp_backend_counters(mp_backend_counters_t *out);

/* The core's empty thread table, which every thread starts with. */
struct mp_tcache;
extern struct mp_tcache mp_tcache_empty __attribute__((visibility("hidden")));

/* Arrange for mp_tcache_thread_exit(tcache) to run when the calling thread
 * exits.  0, or an error number (then the core caches nothing for it). */
int mp_backend_thread_attach(void *tcache);
/* The core's thread-exit handler (magazine.c). */
void mp_tcache_thread_exit(void *tcache);

/* Make every other running thread of the process execute a full memory
 * barrier before returning (membarrier(2) on Linux).  0, or an error number
 * when the system has no such thing; then the core asks threads to flush
 * their caches instead of flushing them itself. */
int mp_backend_barrier_all_threads(void);

/* Hosted backends, for fork.c: the backend's one lock, which fork.c takes
 * last before fork() (the lock order) and releases or renews after it.
 * Bare-metal backends have no fork and need not define it. */
mp_lock_t *mp_backend_fork_lock(void);

/* Let another thread run (sched_yield); a busy-wait's pause. */
void mp_backend_yield(void);

/* Write a diagnostic where a person will see it (stderr, a UART). */
void mp_backend_write_error(const char *msg, size_t len);

/* Stop the program after a fatal error. */
void mp_backend_abort(void) __attribute__((noreturn));

#endif /* MP_BACKEND_H */
