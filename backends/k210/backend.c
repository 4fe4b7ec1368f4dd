/* SPDX-License-Identifier: MIT */
/*
 * backends/k210/backend.c - segments from a range of RAM a kernel hands
 * over once: the page provider for bare metal (the Kendryte K210), in
 * freestanding C.  The host build (host.c) runs the same code over a
 * static array.
 *
 *   base                                                      base + len
 *   |--head--|=seg 0=|=seg 1=|=seg 2=| ... |=seg n-1=|--tail--|
 *            ^ aligned to 256 KiB                    ^ aligned
 *
 * mpool_k210_init() takes the range [base, base + len) and keeps the
 * whole 256 KiB segments inside it; the unaligned head and tail (each under
 * 256 KiB) are never touched and stay the kernel's.  A bitmap says which
 * segments are handed out.  A request for one segment takes the first free
 * one from the bottom; a request for n > 1 contiguous ones (a run larger
 * than a buddy block) the first fit from the top.  So the arenas' buddy
 * segments, which small long-lived things pin (slab descriptors, thread
 * tables), gather at one end, and large runs come and go at the other,
 * where the hole one leaves fits the next.  (With first fit from the
 * bottom for both, 8 MiB soon had no 2.5 MB hole among a dozen pinned
 * segments.)
 *
 * There is nothing to map or unmap: the core's buddy system does the
 * page-level work, in the segments' headers, and a segment it gives back
 * is free again at once.  Purge has nothing to give back (no OS is
 * underneath), so it answers ENOTSUP, and freed pages simply return to
 * the buddy lists.
 *
 * A segment is reported zero-filled only when it was never handed out and
 * the range was known to be zero at init: the host build's static array
 * is; RAM a kernel hands over is not assumed to be.
 *
 * Locking: one spinlock over the bitmap and the counters, taken only when
 * a segment comes or goes, never per allocation.
 *
 * What the target build needs from outside: the kernel's hooks (weak
 * defaults below), and memset/memcpy/memmove/memcmp (string.c has weak
 * ones).  No libc, no floating point, no 8- or 16-bit atomics.
 */
#include "backend.h"

#include "mpool-k210.h"

/* The most segments one range may hold: 1024, 256 MiB.  The bitmaps are
 * static (256 bytes), so the library needs nothing from the range itself. */
#define K210_SEGMENTS_MAX 1024
#define K210_WORD_BITS 64
#define K210_WORDS (K210_SEGMENTS_MAX / K210_WORD_BITS)

static struct {
    mp_lock_t lock;
    bool ready;                  /* a range was handed over */
    bool zeroed;                 /* ... and it was all zero bytes */
    bool warned;                 /* the "no range" diagnostic was written */
    char *base;                  /* the first whole segment */
    size_t nsegments;            /* whole segments in the range */
    uint64_t used[K210_WORDS];   /* bit i: segment i is handed out */
    uint64_t dirty[K210_WORDS];  /* bit i: segment i was ever handed out */
    mp_backend_counters_t counters;
} k210 = {
    .lock = MP_LOCK_INITIALIZER,
};

/* ------------------------------------------------------------------------
 * The lock's slow path
 * ------------------------------------------------------------------------ */

void
mp_lock_acquire_slow(mp_lock_t *lock)
{
    for (;;) {
        uint32_t free_state = 0;

        while (atomic_load_explicit(&lock->state, memory_order_relaxed) != 0)
            mp_backend_yield();
        if (atomic_compare_exchange_weak_explicit(&lock->state, &free_state,
                                                  1, memory_order_acquire,
                                                  memory_order_relaxed))
            return;
    }
}

/* ------------------------------------------------------------------------
 * The range
 * ------------------------------------------------------------------------ */

static bool
bit_get(const uint64_t *map, size_t i)
{
    return (map[i / K210_WORD_BITS] >> (i % K210_WORD_BITS)) & 1;
}

static void
bit_set(uint64_t *map, size_t i, bool on)
{
    uint64_t bit = (uint64_t)1 << (i % K210_WORD_BITS);

    if (on)
        map[i / K210_WORD_BITS] |= bit;
    else
        map[i / K210_WORD_BITS] &= ~bit;
}

/* Take [base, base + len) as the library's RAM.  0, or EINVAL for no
 * range, a range that wraps or leaves the address bits the core maps, one
 * that holds no whole segment or more than K210_SEGMENTS_MAX, or a second
 * call. */
int
mp_k210_init_range(void *base, size_t len, bool zeroed)
{
    uintptr_t start = (uintptr_t)base, end, first, last;
    int rc = 0;

    if (base == NULL || len == 0 || len > UINTPTR_MAX - start)
        return EINVAL;
    end = start + len;
    if (MP_ADDRESS_BITS < sizeof(uintptr_t) * 8 &&
        end > ((uintptr_t)1 << MP_ADDRESS_BITS))
        return EINVAL;
    if (start > UINTPTR_MAX - MP_SEGMENT_MASK)
        return EINVAL;
    first = (start + MP_SEGMENT_MASK) & ~(uintptr_t)MP_SEGMENT_MASK;
    last = end & ~(uintptr_t)MP_SEGMENT_MASK;
    if (last <= first || (last - first) >> MP_SEGMENT_SHIFT >
                             K210_SEGMENTS_MAX)
        return EINVAL;

    mp_lock_acquire(&k210.lock);
    if (k210.ready) {
        rc = EINVAL;
    } else {
        k210.base = (char *)first;
        k210.nsegments = (last - first) >> MP_SEGMENT_SHIFT;
        k210.zeroed = zeroed;
        k210.ready = true;
    }
    mp_lock_release(&k210.lock);
    return rc;
}

int
mpool_k210_init(void *base, size_t len)
{
    int rc = mp_k210_init_range(base, len, false);

    if (rc != 0) {
        mp_set_errno(rc);
        return -1;
    }
    return 0;
}

void
mp_k210_range(void **base, size_t *nsegments)
{
    mp_lock_acquire(&k210.lock);
    *base = k210.base;
    *nsegments = k210.nsegments;
    mp_lock_release(&k210.lock);
}

/* ------------------------------------------------------------------------
 * The backend contract (lib/backend.h)
 * ------------------------------------------------------------------------ */

int
mp_backend_init(mp_backend_config_t *cfg)
{
#if !MP_K210_TARGET
    mp_k210_host_init(); /* the static array, unless the program gave RAM */
#endif
    cfg->os_page_size = MP_PAGE_SIZE; /* no MMU work here: the core's page */
    cfg->ncpu = MP_K210_HARTS;
    cfg->can_purge = false;
    cfg->purge_zeroes = false;
    cfg->can_protect = false;
    return 0;
}

/* No MMU, no huge pages: MPOOL_OPTIONS's "thp" is not this backend's. */
int
mp_backend_huge_pages(bool on, size_t *huge_page_size)
{
    (void)on;
    (void)huge_page_size;
    return ENOTSUP;
}

static const char no_range_msg[] =
    "libmpool: mpool_k210_init() was not called: no memory to allocate\n";

/* The first n free segments in a row, from the bottom of the range (n = 1)
 * or from its top (n > 1); the index of the lowest, or SIZE_MAX. */
static size_t
first_fit_locked(size_t n)
{
    size_t run = 0;

    if (n == 0 || n > k210.nsegments)
        return SIZE_MAX;
    if (n == 1) {
        for (size_t i = 0; i < k210.nsegments; i++)
            if (!bit_get(k210.used, i))
                return i;
        return SIZE_MAX;
    }
    for (size_t i = k210.nsegments; i-- > 0;) {
        run = bit_get(k210.used, i) ? 0 : run + 1;
        if (run == n)
            return i;
    }
    return SIZE_MAX;
}

int
mp_backend_segments_alloc(size_t nsegments, void **addr, bool *is_zero)
{
    size_t first;
    bool zero = true, warn = false;

    mp_lock_acquire(&k210.lock);
    if (!k210.ready && !k210.warned)
        warn = k210.warned = true;
    first = first_fit_locked(nsegments);
    if (first != SIZE_MAX) {
        for (size_t j = first; j < first + nsegments; j++) {
            zero &= k210.zeroed && !bit_get(k210.dirty, j);
            bit_set(k210.used, j, true);
            bit_set(k210.dirty, j, true);
        }
        k210.counters.segments_out += nsegments;
        *addr = k210.base + (first << MP_SEGMENT_SHIFT);
        *is_zero = zero;
    }
    mp_lock_release(&k210.lock);
    if (warn)
        mpool_k210_write(no_range_msg, sizeof(no_range_msg) - 1);
    return first != SIZE_MAX ? 0 : ENOMEM;
}

int
mp_backend_segments_free(void *addr, size_t nsegments)
{
    uintptr_t a = (uintptr_t)addr;
    size_t first;
    int rc = 0;

    mp_lock_acquire(&k210.lock);
    first = (a - (uintptr_t)k210.base) >> MP_SEGMENT_SHIFT;
    if (!k210.ready || (a & MP_SEGMENT_MASK) != 0 ||
        a < (uintptr_t)k210.base || first >= k210.nsegments ||
        nsegments == 0 || nsegments > k210.nsegments - first) {
        rc = EINVAL;
    } else {
        for (size_t j = first; j < first + nsegments; j++)
            if (!bit_get(k210.used, j))
                rc = EINVAL; /* not handed out: change nothing */
        if (rc == 0) {
            for (size_t j = first; j < first + nsegments; j++)
                bit_set(k210.used, j, false);
            k210.counters.segments_out -= nsegments;
        }
    }
    mp_lock_release(&k210.lock);
    return rc;
}

/* In place only, into the free segments after the span: there is nothing
 * to move pages with but a copy, which the core makes itself. */
int
mp_backend_segments_remap(void *addr, size_t nsegments, size_t new_nsegments,
                          void **new_addr, bool *tail_zero)
{
    uintptr_t a = (uintptr_t)addr;
    size_t first;
    int rc = 0;

    mp_lock_acquire(&k210.lock);
    first = (a - (uintptr_t)k210.base) >> MP_SEGMENT_SHIFT;
    if (!k210.ready || (a & MP_SEGMENT_MASK) != 0 ||
        a < (uintptr_t)k210.base || first >= k210.nsegments ||
        nsegments == 0 || new_nsegments <= nsegments) {
        rc = EINVAL;
    } else if (new_nsegments > k210.nsegments - first) {
        rc = ENOMEM;
    } else {
        for (size_t j = first + nsegments; j < first + new_nsegments; j++)
            if (bit_get(k210.used, j))
                rc = ENOMEM;
        if (rc == 0) {
            bool zero = k210.zeroed;

            for (size_t j = first + nsegments; j < first + new_nsegments;
                 j++) {
                zero &= !bit_get(k210.dirty, j);
                bit_set(k210.used, j, true);
                bit_set(k210.dirty, j, true);
            }
            k210.counters.segments_out += new_nsegments - nsegments;
            k210.counters.os_remap_calls++;
            *new_addr = addr;
            *tail_zero = zero;
        }
    }
    mp_lock_release(&k210.lock);
    return rc;
}

int
mp_backend_purge(void *addr, size_t len)
{
    (void)addr;
    (void)len;
    return ENOTSUP; /* no OS to give physical memory back to */
}

int
mp_backend_protect(void *addr, size_t len, bool accessible)
{
    (void)addr;
    (void)len;
    (void)accessible;
    return ENOTSUP; /* no MMU in use: guard pages are poisoned instead */
}

size_t
mp_backend_release_cached(void)
{
    return 0; /* nothing is cached: a free segment is in the bitmap */
}

void
mp_backend_counters(mp_backend_counters_t *out)
{
    mp_lock_acquire(&k210.lock);
    *out = k210.counters;
    mp_lock_release(&k210.lock);
}

int
mp_backend_barrier_all_threads(void)
{
    return ENOSYS; /* the core asks the other harts to flush instead */
}

void
mp_backend_write_error(const char *msg, size_t len)
{
    mpool_k210_write(msg, len);
}

void
mp_backend_abort(void)
{
    mpool_k210_halt();
    mp_k210_park(); /* in case the kernel's hook returned */
}

#if !MP_K210_TARGET
/* The host build only, for fork.c where it is built: bare metal has no
 * fork. */
mp_lock_t *
mp_backend_fork_lock(void)
{
    return &k210.lock;
}
#endif

/* ------------------------------------------------------------------------
 * The target's side: per-hart state and the hooks' defaults.  (The host
 * build's are in host.c.)
 * ------------------------------------------------------------------------ */

#if MP_K210_TARGET

mp_tcell_t mp_k210_cells[MP_K210_HARTS + 1] = {
    [0 ... MP_K210_HARTS] = { .tcache = &mp_tcache_empty },
};

/* The library's errno, one per hart; harts out of range share the last. */
static int k210_errno[MP_K210_HARTS + 1];

int *
mpool_errno_location(void)
{
    unsigned hart = mpool_k210_hart_id();

    return &k210_errno[hart < MP_K210_HARTS ? hart : MP_K210_HARTS];
}

__attribute__((weak)) unsigned
mpool_k210_hart_id(void)
{
#if defined(__riscv)
    unsigned long id;

    __asm__ __volatile__("csrr %0, mhartid" : "=r"(id));
    return (unsigned)id;
#else
    return 0;
#endif
}

__attribute__((weak)) void
mpool_k210_write(const char *msg, size_t len)
{
    (void)msg; /* no console the library knows of */
    (void)len;
}

__attribute__((weak)) void
mpool_k210_halt(void)
{
    mp_k210_park();
}

void
mp_k210_park(void)
{
    for (;;) {
#if defined(__riscv)
        __asm__ __volatile__("wfi");
#endif
    }
}

/* Harts never exit: a hart's table lives as long as the kernel. */
int
mp_backend_thread_attach(void *tcache)
{
    unsigned hart = mpool_k210_hart_id();

    /* the core has just put the table in the hart's cell: a hart out of
     * range shares the spare cell, which must keep the empty table */
    (void)tcache;
    if (hart >= MP_K210_HARTS)
        mp_k210_bad_hart(hart);
    return 0;
}

void
mp_backend_yield(void)
{
    /* a spin-wait's pause; nothing to hand the hart to */
    __asm__ __volatile__("" ::: "memory");
}

static size_t
append(char *buf, size_t at, const char *s)
{
    while (*s != '\0')
        buf[at++] = *s++;
    return at;
}

void
mp_k210_bad_hart(unsigned hart)
{
    char line[96], digits[12];
    size_t n = 0, nd = 0;

    n = append(line, n, "libmpool: hart ");
    do {
        digits[nd++] = (char)('0' + hart % 10);
        hart /= 10;
    } while (hart != 0);
    while (nd > 0)
        line[n++] = digits[--nd];
    n = append(line, n, " is out of range: build with -DMP_K210_HARTS=N\n");
    mpool_k210_write(line, n);
    mp_backend_abort();
}

#endif /* MP_K210_TARGET */
