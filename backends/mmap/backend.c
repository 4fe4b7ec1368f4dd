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
 * A span grows by mremap(2): in place where the address space after it is
 * free, otherwise moved by the kernel (page tables, not bytes) to a fresh
 * aligned range reserved for it:
 *
 *     mmap(new + 4 MiB - page, PROT_NONE)   the reservation
 *     mremap(span, old, new, MAYMOVE | FIXED, aligned start in it)
 *     munmap the reservation's head and tail
 *
 * Failure: if the kernel refuses a mapping the call returns ENOMEM and
 * nothing is left mapped.  The over-map-and-trim scheme never loops.
 *
 * Locking: one mutex protects the pool and the counters.  It is taken only
 * on the slow path of the core (a new segment), never per allocation.
 *
 * What is not about mmap (the lock's slow paths, threads, the barrier,
 * error output) is in backends/hosted/hosted.c, shared with sbrk.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../hosted/hosted.h"

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
 * Segments
 * ------------------------------------------------------------------------ */

int
mp_backend_init(mp_backend_config_t *cfg)
{
    return mp_hosted_config(cfg);
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
    mp_hosted_advise_huge(p, nsegments << MP_SEGMENT_SHIFT);
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

/* Grow [addr, +old) to new bytes in place; 0 or an error number. */
static int
mmap_grow_in_place_locked(void *addr, size_t old, size_t new)
{
    mmap_state.counters.os_remap_calls++;
    return mremap(addr, old, new, 0) == MAP_FAILED ? errno : 0;
}

/* Move [addr, +old) to a fresh segment-aligned range of new bytes. */
static void *
mmap_move_locked(void *addr, size_t old, size_t new)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t over = new + MP_SEGMENT_SIZE - page;
    char *raw, *aligned, *end;
    void *moved;

    if (over < new)
        return NULL;
    mmap_state.counters.os_map_calls++;
    raw = mmap(NULL, over, PROT_NONE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    aligned = (char *)(((uintptr_t)raw + MP_SEGMENT_MASK) & ~MP_SEGMENT_MASK);
    end = raw + over;
    mmap_state.counters.os_remap_calls++;
    moved = mremap(addr, old, new, MREMAP_MAYMOVE | MREMAP_FIXED, aligned);
    if (moved == MAP_FAILED) {
        mmap_state.counters.os_unmap_calls++;
        munmap(raw, over);
        return NULL;
    }
    if (aligned > raw) {
        mmap_state.counters.os_unmap_calls++;
        munmap(raw, (size_t)(aligned - raw));
    }
    if (end > aligned + new) {
        mmap_state.counters.os_unmap_calls++;
        munmap(aligned + new, (size_t)(end - (aligned + new)));
    }
    return aligned;
}

int
mp_backend_segments_remap(void *addr, size_t nsegments, size_t new_nsegments,
                          void **new_addr, bool *tail_zero)
{
    int saved_errno = errno;
    size_t old = nsegments << MP_SEGMENT_SHIFT;
    size_t new = new_nsegments << MP_SEGMENT_SHIFT;
    void *p = addr;

    if (new_nsegments <= nsegments ||
        new_nsegments > (SIZE_MAX >> MP_SEGMENT_SHIFT))
        return EINVAL;
    mp_lock_acquire(&mmap_state.lock);
    if (mmap_grow_in_place_locked(addr, old, new) != 0)
        p = mmap_move_locked(addr, old, new);
    if (p != NULL)
        mmap_state.counters.segments_out += new_nsegments - nsegments;
    mp_lock_release(&mmap_state.lock);
    errno = saved_errno;
    if (p == NULL)
        return ENOMEM;
    mp_hosted_advise_huge(p, new);
    *new_addr = p;
    *tail_zero = true; /* what mremap adds is fresh anonymous memory */
    return 0;
}

int
mp_backend_purge(void *addr, size_t len)
{
    int rc = mp_hosted_purge(addr, len);

    mp_lock_acquire(&mmap_state.lock);
    mmap_state.counters.os_purge_calls++;
    mp_lock_release(&mmap_state.lock);
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

mp_lock_t *
mp_backend_fork_lock(void)
{
    return &mmap_state.lock;
}
