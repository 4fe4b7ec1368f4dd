/* SPDX-License-Identifier: MIT */
/*
 * backends/sbrk/backend.c - segments from the program break, for programs
 * that want their heap to be the classic one: one range that grows with
 * sbrk(2) and shrinks again when its top is free, instead of mappings
 * scattered over the address space.
 *
 *   | malloc's | pad |=seg=|=seg=|=seg=| malloc's | pad |=seg=|=seg=|
 *   ^ start of the heap ^ 4 MiB aligned                       break ^
 *
 * Growing.  The C library's malloc moves the same break, so this file never
 * assumes the break is where it left it: every growth reads the break
 * (sbrk(0)), asks in one sbrk() call for the padding up to the next 4 MiB
 * boundary plus the segments, and checks that the old break sbrk() returns
 * is the one it read.  When another user moved the break in between, the
 * alignment is worked out again on what was granted; a grant too short to
 * hold the aligned segments is given back (when the break is still at its
 * end) and the growth is tried again, a few times at most.  A request for
 * one segment grows by a batch (4, then 8, 16, at most 32 segments) and
 * keeps the rest free, as the mmap backend does, so that steady growth
 * makes few system calls; a larger request grows by what it needs, less
 * any free segments that already end at the break.
 *
 * The free list.  mp_backend_segments_free() keeps what it is given: the
 * free ranges, sorted by address, adjacent ones merged, each described by
 * a node in its own first bytes.  mp_backend_segments_alloc() takes the
 * first fit, lowest address first, so that the top of the heap stays free
 * as long as possible.  A range knows whether it reads zero (fresh from the
 * break, or purged) apart from its node, which is cleared when the range
 * is handed out; ranges of different kinds are not merged, but a request
 * may span adjacent ones.
 *
 * Growing a span (mp_backend_segments_remap, a large block's realloc):
 * in place only, into the free range that starts where it ends, or by
 * growing the break when it ends there; otherwise ENOMEM and the core
 * copies the block elsewhere.
 *
 * Giving back (mp_backend_release_cached, at the end of mpool_reclaim).
 * The free ranges that end exactly at the current break are cut off with a
 * negative sbrk(), together with the padding below them when this file put
 * it there; every other free range is purged with madvise(MADV_DONTNEED)
 * and stays listed, holding address space but no memory.
 *
 * Failure: a refused sbrk() is ENOMEM to the caller, and the break stays
 * where it was.  Errors are returned, never left in errno.
 *
 * Locking: one lock protects the list, the counters and this file's calls
 * to sbrk().  It cannot cover the C library's: glibc's sbrk() is not atomic,
 * so a malloc() in another thread growing the main arena at the very moment
 * this file grows the break can race with it inside glibc.  Programs that
 * call malloc() from several threads at once should use the mmap backend
 * (doc/backends.md).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../hosted/hosted.h"

#define SBRK_BATCH_FIRST 4
#define SBRK_BATCH_MAX 32  /* 128 MiB of break */
#define SBRK_GROW_TRIES 4  /* growths retried after a racing sbrk() */
#define SBRK_RANGE_MAGIC ((uintptr_t)0x7362726b66726565ull) /* "sbrkfree" */

/* A free range's node, in the range's first bytes. */
typedef struct sbrk_range {
    uintptr_t check;         /* SBRK_RANGE_MAGIC ^ its address */
    struct sbrk_range *next; /* the next free range, at a higher address */
    size_t nsegments;
    bool zero;               /* the range reads zero, this node apart */
} sbrk_range_t;

static struct {
    mp_lock_t lock;
    sbrk_range_t *free;     /* free ranges, lowest address first */
    size_t free_segments;   /* segments in them */
    size_t next_batch;      /* the next growth for one segment */
    char *pad_start;        /* padding below the latest growth that */
    char *pad_end;          /*   needed any: given back with it */
    mp_backend_counters_t counters;
} sbrk_state = {
    .lock = MP_LOCK_INITIALIZER,
    .next_batch = SBRK_BATCH_FIRST,
};

#define SBRK_FAILED ((void *)-1)

/* ------------------------------------------------------------------------
 * The free list.  Callers hold the lock.
 * ------------------------------------------------------------------------ */

static void
sbrk_list_corrupted(void)
{
    static const char msg[] =
        "mpool: sbrk backend: the entry of a free segment range was "
        "overwritten (a write after free?)\n";

    mp_backend_write_error(msg, sizeof(msg) - 1);
    mp_backend_abort();
}

static inline char *
range_end(const sbrk_range_t *r)
{
    return (char *)r + (r->nsegments << MP_SEGMENT_SHIFT);
}

static sbrk_range_t *
range_check(sbrk_range_t *r)
{
    if (r != NULL && r->check != (SBRK_RANGE_MAGIC ^ (uintptr_t)r))
        sbrk_list_corrupted();
    return r;
}

static sbrk_range_t *
range_write(void *base, size_t nsegments, bool zero, sbrk_range_t *next)
{
    sbrk_range_t *r = base;

    r->check = SBRK_RANGE_MAGIC ^ (uintptr_t)r;
    r->next = next;
    r->nsegments = nsegments;
    r->zero = zero;
    return r;
}

/* A node that ends up inside a zero range must read zero again. */
static void
range_erase(sbrk_range_t *r)
{
    memset(r, 0, sizeof(*r));
}

/* Add [base, base + nsegments segments) to the list, merging it with
 * neighbours of the same kind. */
static void
sbrk_insert_locked(char *base, size_t nsegments, bool zero)
{
    sbrk_range_t **link = &sbrk_state.free, *prev = NULL, *next;
    char *end = base + (nsegments << MP_SEGMENT_SHIFT);

    while (range_check(*link) != NULL && (char *)*link < base) {
        prev = *link;
        link = &prev->next;
    }
    next = *link;
    if ((prev != NULL && range_end(prev) > base) ||
        (next != NULL && (char *)next < end))
        sbrk_list_corrupted(); /* overlaps a free range: freed twice */
    sbrk_state.free_segments += nsegments;
    if (next != NULL && (char *)next == end && next->zero == zero) {
        sbrk_range_t *after = next->next;

        nsegments += next->nsegments;
        if (zero)
            range_erase(next);
        next = after;
    }
    if (prev != NULL && range_end(prev) == base && prev->zero == zero) {
        prev->nsegments += nsegments; /* nothing was written at base */
        prev->next = next;
    } else {
        *link = range_write(base, nsegments, zero, next);
    }
}

/* Take the first nsegments contiguous free segments, lowest address first;
 * NULL if no free stretch is that long. */
static char *
sbrk_take_locked(size_t nsegments, bool *is_zero)
{
    sbrk_range_t **link = &sbrk_state.free;

    while (range_check(*link) != NULL) {
        sbrk_range_t *r = *link, *q = r, *last = r;
        char *end = (char *)r;
        size_t have = 0, need = nsegments;
        bool zero = true;

        /* The stretch of adjacent ranges that starts at r. */
        while (q != NULL && (char *)q == end && have < nsegments) {
            have += q->nsegments;
            zero &= q->zero;
            end = range_end(q);
            last = q;
            q = range_check(q->next);
        }
        if (have < nsegments) {
            link = &last->next; /* no stretch starting inside is longer */
            continue;
        }
        for (q = r; need > 0;) {
            sbrk_range_t *next = q->next;
            size_t len = q->nsegments;
            bool q_zero = q->zero;

            if (zero)
                range_erase(q);
            if (len > need) {
                next = range_write((char *)q + (need << MP_SEGMENT_SHIFT),
                                   len - need, q_zero, next);
                len = need;
            }
            need -= len;
            q = next;
        }
        *link = q;
        sbrk_state.free_segments -= nsegments;
        *is_zero = zero;
        return (char *)r;
    }
    return NULL;
}

/* Take the nsegments free segments that start exactly at `at` (a span
 * growing in place), if the free list has them all; false otherwise,
 * nothing changed.  What they read is not promised. */
static bool
sbrk_take_at_locked(char *at, size_t nsegments)
{
    sbrk_range_t **link = &sbrk_state.free, *r, *q;
    size_t have = 0, need = nsegments;
    char *end = at;

    while (range_check(*link) != NULL && (char *)*link < at)
        link = &(*link)->next;
    r = *link;
    if (r == NULL || (char *)r != at)
        return false;
    for (q = r; q != NULL && (char *)q == end && have < nsegments;
         q = range_check(q->next)) {
        have += q->nsegments;
        end = range_end(q);
    }
    if (have < nsegments)
        return false;
    for (q = r; need > 0;) {
        sbrk_range_t *next = q->next;
        size_t len = q->nsegments;

        if (len > need) {
            next = range_write((char *)q + (need << MP_SEGMENT_SHIFT),
                               len - need, q->zero, next);
            len = need;
        }
        need -= len;
        q = next;
    }
    *link = q;
    sbrk_state.free_segments -= nsegments;
    return true;
}

/* The free segments in the stretch of adjacent ranges that ends exactly at
 * `brk`, and the link to the range it starts with; 0 if no free range ends
 * there. */
static size_t
sbrk_top_free_locked(const char *brk, sbrk_range_t ***start)
{
    sbrk_range_t **link = &sbrk_state.free, **stretch = NULL, *prev = NULL;
    size_t n = 0;

    for (; range_check(*link) != NULL; link = &(*link)->next) {
        sbrk_range_t *r = *link;

        if (prev == NULL || range_end(prev) != (char *)r) {
            stretch = link;
            n = 0;
        }
        n += r->nsegments;
        prev = r;
    }
    if (prev == NULL || range_end(prev) != brk)
        return 0;
    *start = stretch;
    return n;
}

/* Merge adjacent ranges that are both zero (after purging). */
static void
sbrk_merge_locked(void)
{
    for (sbrk_range_t *r = sbrk_state.free; r != NULL;
         r = range_check(r->next)) {
        sbrk_range_t *next;

        while ((next = range_check(r->next)) != NULL &&
               (char *)next == range_end(r) && r->zero && next->zero) {
            r->nsegments += next->nsegments;
            r->next = next->next;
            range_erase(next);
        }
    }
}

/* ------------------------------------------------------------------------
 * The break.  Callers hold the lock.
 * ------------------------------------------------------------------------ */

/* Move the break up by enough for nsegments aligned segments; their start,
 * or NULL (ENOMEM) with the break where it was.  The memory is fresh from
 * the kernel: zero. */
static char *
sbrk_grow_locked(size_t nsegments)
{
    size_t size = nsegments << MP_SEGMENT_SHIFT;

    for (int attempt = 0; attempt < SBRK_GROW_TRIES; attempt++) {
        char *cur = sbrk(0), *old;
        uintptr_t start, end;
        size_t pad;

        if (cur == SBRK_FAILED)
            return NULL;
        pad = (size_t)(-(uintptr_t)cur & MP_SEGMENT_MASK);
        if (size > (size_t)PTRDIFF_MAX - pad ||
            (uintptr_t)cur + pad + size < (uintptr_t)cur)
            return NULL;
        sbrk_state.counters.os_map_calls++;
        old = sbrk((intptr_t)(pad + size));
        if (old == SBRK_FAILED)
            return NULL;
        /* Normally old == cur.  If not, another user moved the break
         * between the two calls: align what was granted, [old, end). */
        end = (uintptr_t)old + pad + size;
        start = ((uintptr_t)old + MP_SEGMENT_MASK) &
                ~(uintptr_t)MP_SEGMENT_MASK;
        if (start + size <= end) {
            /* A tail is left when the break moved by less than the
             * padding (or down): give it back if it is at the top. */
            if (end > start + size && (uintptr_t)sbrk(0) == end) {
                sbrk_state.counters.os_unmap_calls++;
                sbrk(-(intptr_t)(end - (start + size)));
            }
            if (start > (uintptr_t)old) {
                sbrk_state.pad_start = old;
                sbrk_state.pad_end = (char *)start;
            }
            return (char *)start;
        }
        /* Too short once aligned: hand it back if the break is still at
         * its end (else it is lost to everyone), and try again. */
        if ((uintptr_t)sbrk(0) == end) {
            sbrk_state.counters.os_unmap_calls++;
            sbrk(-(intptr_t)(pad + size));
        }
    }
    return NULL;
}

/* Grow the break so that nsegments contiguous free segments exist.  One
 * segment grows by a batch; more grow by what the free stretch ending at
 * the break (if any) lacks.  0, or ENOMEM when the break cannot grow. */
static int
sbrk_refill_locked(size_t nsegments)
{
    sbrk_range_t **top_link;
    size_t top = sbrk_top_free_locked(sbrk(0), &top_link);
    size_t want = top < nsegments ? nsegments - top : nsegments;
    size_t batch = nsegments == 1 ? sbrk_state.next_batch : want;
    char *base = sbrk_grow_locked(batch);

    if (base == NULL && batch > want) {
        batch = want; /* the break is tight: ask for just what is needed */
        base = sbrk_grow_locked(batch);
    }
    if (base == NULL)
        return ENOMEM;
    if (nsegments == 1 && sbrk_state.next_batch < SBRK_BATCH_MAX)
        sbrk_state.next_batch *= 2;
    sbrk_insert_locked(base, batch, true);
    return 0;
}

/* ------------------------------------------------------------------------
 * The backend
 * ------------------------------------------------------------------------ */

int
mp_backend_init(mp_backend_config_t *cfg)
{
    return mp_hosted_config(cfg);
}

int
mp_backend_segments_alloc(size_t nsegments, void **addr, bool *is_zero)
{
    int saved_errno = errno;
    char *p;
    int rc = 0;

    if (nsegments == 0 || nsegments > (SIZE_MAX >> MP_SEGMENT_SHIFT))
        return ENOMEM;
    mp_lock_acquire(&sbrk_state.lock);
    p = sbrk_take_locked(nsegments, is_zero);
    /* A refill falls short only when the break moved between its reading
     * of the free stretch at the top and its growth; the second one then
     * finds the first's growth at the break and extends it. */
    for (int i = 0; p == NULL && rc == 0 && i < 2; i++)
        if ((rc = sbrk_refill_locked(nsegments)) == 0)
            p = sbrk_take_locked(nsegments, is_zero);
    if (p != NULL)
        sbrk_state.counters.segments_out += nsegments;
    mp_lock_release(&sbrk_state.lock);
    errno = saved_errno;
    if (p == NULL)
        return ENOMEM;
    mp_hosted_advise_huge(p, nsegments << MP_SEGMENT_SHIFT);
    *addr = p;
    return 0;
}

int
mp_backend_segments_free(void *addr, size_t nsegments)
{
    if (nsegments == 0 || ((uintptr_t)addr & MP_SEGMENT_MASK) != 0)
        return EINVAL;
    mp_lock_acquire(&sbrk_state.lock);
    sbrk_insert_locked(addr, nsegments, false);
    sbrk_state.counters.segments_out -= nsegments;
    mp_lock_release(&sbrk_state.lock);
    return 0;
}

/* Grow a span in place: into the free segments right after it, or, when
 * it ends at the break, by growing the break.  ENOMEM otherwise: the core
 * then moves the block (a copy).  Nothing here moves memory. */
int
mp_backend_segments_remap(void *addr, size_t nsegments, size_t new_nsegments,
                          void **new_addr, bool *tail_zero)
{
    int saved_errno = errno;
    char *end = (char *)addr + (nsegments << MP_SEGMENT_SHIFT);
    size_t more = new_nsegments - nsegments;
    int rc = ENOMEM;
    bool zero = false;

    if (new_nsegments <= nsegments ||
        new_nsegments > (SIZE_MAX >> MP_SEGMENT_SHIFT) ||
        ((uintptr_t)addr & MP_SEGMENT_MASK) != 0)
        return EINVAL;
    mp_lock_acquire(&sbrk_state.lock);
    if (sbrk_take_at_locked(end, more)) {
        rc = 0; /* free ranges: not promised to read zero */
    } else if ((char *)sbrk(0) == end) {
        char *grown = sbrk_grow_locked(more);

        if (grown == end) {
            rc = 0;
            zero = true; /* fresh from the break */
        }
        else if (grown != NULL) /* the break moved meanwhile: keep it */
            sbrk_insert_locked(grown, more, true);
    }
    if (rc == 0) {
        sbrk_state.counters.segments_out += more;
        sbrk_state.counters.os_remap_calls++;
        *new_addr = addr;
        *tail_zero = zero;
    }
    mp_lock_release(&sbrk_state.lock);
    errno = saved_errno;
    return rc;
}

int
mp_backend_purge(void *addr, size_t len)
{
    int rc = mp_hosted_purge(addr, len);

    mp_lock_acquire(&sbrk_state.lock);
    sbrk_state.counters.os_purge_calls++;
    mp_lock_release(&sbrk_state.lock);
    return rc;
}

/* Cut the free stretch that ends at the break off the heap, with the
 * padding below it if this file put it there; segments given back. */
static size_t
sbrk_trim_top_locked(void)
{
    char *brk = sbrk(0), *low;
    sbrk_range_t **link;
    size_t n = sbrk_top_free_locked(brk, &link);

    if (n == 0)
        return 0;
    low = (char *)*link;
    if (low == sbrk_state.pad_end && sbrk_state.pad_start != NULL)
        low = sbrk_state.pad_start;
    sbrk_state.counters.os_unmap_calls++;
    if (sbrk(-(intptr_t)(brk - low)) == SBRK_FAILED)
        return 0;
    if (low == sbrk_state.pad_start)
        sbrk_state.pad_start = sbrk_state.pad_end = NULL;
    *link = NULL;
    sbrk_state.free_segments -= n;
    return n;
}

size_t
mp_backend_release_cached(void)
{
    int saved_errno = errno;
    size_t released;

    mp_lock_acquire(&sbrk_state.lock);
    released = sbrk_trim_top_locked();
    for (sbrk_range_t *r = sbrk_state.free; r != NULL;
         r = range_check(r->next)) {
        sbrk_range_t *next = r->next;
        size_t n = r->nsegments;

        if (r->zero)
            continue;
        sbrk_state.counters.os_purge_calls++;
        if (mp_hosted_purge(r, n << MP_SEGMENT_SHIFT) != 0)
            continue;
        range_write(r, n, true, next); /* the node was purged with it */
        released += n;
    }
    sbrk_merge_locked();
    sbrk_state.next_batch = SBRK_BATCH_FIRST;
    mp_lock_release(&sbrk_state.lock);
    errno = saved_errno;
    return released;
}

void
mp_backend_counters(mp_backend_counters_t *out)
{
    mp_lock_acquire(&sbrk_state.lock);
    *out = sbrk_state.counters;
    out->segments_cached = sbrk_state.free_segments;
    mp_lock_release(&sbrk_state.lock);
}

mp_lock_t *
mp_backend_fork_lock(void)
{
    return &sbrk_state.lock;
}
