/* SPDX-License-Identifier: MIT */
/*
 * malloc.c - libmpool-malloc: the C library's allocation functions over
 * libmpool's default pool, so that a program's every malloc() is served by
 * the slab system (seeds/001 and seeds/003 make it the global allocator).
 * Preload it (LD_PRELOAD=libmpool-malloc.so) or link with -lmpool-malloc;
 * C++ new and delete are defined here as well (malloc-new.c).
 *
 * The library is the core linked once more, with these functions added and
 * exported next to the mpool_* interface: a program that also uses pools
 * gets one heap, not two.  Each function is the pool function it names:
 * malloc is mpool_alloc on the default pool, whose fast path (a magazine,
 * no lock) is inlined here from pool/pool-fast.h, with the pool a
 * constant.
 *
 * What POSIX and glibc make of the corners:
 *   - malloc(0) returns a unique pointer; realloc(p, 0) frees p and
 *     returns NULL, as glibc does; realloc(NULL, n) is malloc(n).
 *   - Failure sets errno to ENOMEM (EINVAL for a bad alignment), except
 *     posix_memalign, which returns the error and leaves errno alone.
 *   - posix_memalign wants a power of two that is a multiple of
 *     sizeof(void *); memalign and aligned_alloc round any other alignment
 *     up to a power of two, as glibc 2.36 does (memalign(48, n) is
 *     64-aligned).  Any power of two is served, past 2 MiB from a page
 *     run of its own (glibc serves 64 MiB); ENOMEM when none can be.
 *   - malloc_trim(pad) gives free memory back (mpool_reclaim) and says
 *     whether it did; mallinfo, mallinfo2, malloc_stats and malloc_info
 *     report libmpool's numbers (malloc-info.c), and C++ operator new and
 *     delete are served here too (malloc-new.c).
 *   - free() of a pointer the library never handed out (memory the
 *     dynamic loader allocated before this library was loaded) is ignored;
 *     with MPOOL_DEBUG=1 it stops the program with a report instead.
 *   - malloc_usable_size(p) is what realloc(p, n) keeps in place for any
 *     n up to it.
 *
 * Forks and thread exits are handled by the core (fork.c, the backend's
 * thread-exit hook); start-up needs no allocation of its own, so there is
 * no recursion through dlsym or TLS set-up.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mpool.h"
#include "pool/pool-fast.h"

/* Tells pool.c that free() of a stranger is to be ignored (see above). */
MP_HIDDEN const bool mp_malloc_override = true;

#define DEFAULT_POOL (&mp_default_pool)

/* These replace the C library's; their prototypes come from <stdlib.h>
 * and <malloc.h>, declared again here for the ones glibc hides. */
#define EXPORT __attribute__((visibility("default")))
EXPORT void *memalign(size_t alignment, size_t size);
EXPORT void *valloc(size_t size);
EXPORT void *pvalloc(size_t size);
EXPORT size_t malloc_usable_size(void *ptr);
EXPORT int malloc_trim(size_t pad);

/* The default pool's fast paths, inlined (pool/pool-fast.h): no test of
 * a pool argument, no call on to mpool_alloc or mpool_free. */
EXPORT void *
malloc(size_t size)
{
    return mp_pool_default_alloc(size);
}

EXPORT void
free(void *ptr)
{
    mp_pool_default_free(ptr);
}

EXPORT void *
calloc(size_t nmemb, size_t size)
{
    return mpool_calloc(DEFAULT_POOL, nmemb, size);
}

EXPORT void *
realloc(void *ptr, size_t size)
{
    if (ptr != NULL && size == 0) {
        mpool_free(DEFAULT_POOL, ptr);
        return NULL;
    }
    return mpool_realloc(DEFAULT_POOL, ptr, size);
}

EXPORT void *
reallocarray(void *ptr, size_t nmemb, size_t size)
{
    size_t bytes;

    if (__builtin_mul_overflow(nmemb, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, bytes);
}

/* glibc's memalign, which glibc up to 2.37 also calls aligned_alloc: an
 * alignment that is not a power of two is rounded up to the next one (0
 * is 1); one above SIZE_MAX / 2 + 1 has none and fails with EINVAL.  The
 * pool takes any power of two: past 2 MiB the block is a page run of its
 * own, found through the page level's span map (glibc serves 64 MiB too);
 * one that no run can hold fails with ENOMEM. */
static void *
memalign_rounded(size_t alignment, size_t size)
{
    size_t power = 1;

    if (alignment > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    while (power < alignment)
        power <<= 1;
    return mpool_aligned_alloc(DEFAULT_POOL, power, size);
}

/* POSIX: the alignment must be a power of two and a multiple of
 * sizeof(void *); it is not rounded, and the error is returned. */
EXPORT int
posix_memalign(void **out, size_t alignment, size_t size)
{
    int saved = errno;
    void *p;

    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    p = mpool_aligned_alloc(DEFAULT_POOL, alignment, size);
    if (p == NULL) {
        int e = errno;
        errno = saved;
        return e;
    }
    *out = p;
    return 0;
}

/* As glibc 2.36: the same as memalign.  (glibc 2.38 and C17 make a
 * non-power-of-two alignment EINVAL here; programs that rely on either
 * are rare, and this library follows the glibc its tests are run on.) */
EXPORT void *
aligned_alloc(size_t alignment, size_t size)
{
    return memalign_rounded(alignment, size);
}

EXPORT void *
memalign(size_t alignment, size_t size)
{
    return memalign_rounded(alignment, size);
}

EXPORT void *
valloc(size_t size)
{
    return mpool_aligned_alloc(DEFAULT_POOL, mpool_page_size(), size);
}

EXPORT void *
pvalloc(size_t size)
{
    size_t page = mpool_page_size();

    if (size > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    return mpool_aligned_alloc(DEFAULT_POOL, page,
                               size == 0 ? page
                                         : (size + page - 1) & ~(page - 1));
}

EXPORT size_t
malloc_usable_size(void *ptr)
{
    return mp_pool_usable_inline(ptr);
}

/* glibc keeps pad bytes at the top of its heap; libmpool's free memory is
 * in pages and slabs all over its segments, and all of it is given back
 * (the caches' reclaim callbacks run, as for mpool_reclaim(NULL)).  1 when
 * some memory went back to the system, else 0, as glibc. */
EXPORT int
malloc_trim(size_t pad)
{
    (void)pad;
    return mpool_reclaim(NULL) > 0;
}
