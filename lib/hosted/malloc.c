/* SPDX-License-Identifier: MIT */
/*
 * malloc.c - libmpool-malloc: the C library's allocation functions over
 * libmpool's default pool, so that a program's every malloc() is served by
 * the slab system (seeds/001 and seeds/003 make it the global allocator).
 * Preload it (LD_PRELOAD=libmpool-malloc.so) or link with -lmpool-malloc;
 * C++ new and delete go through malloc and need nothing more.
 *
 * The library is the core linked once more, with these functions added and
 * exported next to the mpool_* interface: a program that also uses pools
 * gets one heap, not two.  Each function is the pool function it names:
 * malloc is mpool_alloc on the default pool, whose fast path (a magazine,
 * no lock) is reached directly.
 *
 * What POSIX and glibc make of the corners:
 *   - malloc(0) returns a unique pointer; realloc(p, 0) frees p and
 *     returns NULL, as glibc does; realloc(NULL, n) is malloc(n).
 *   - Failure sets errno to ENOMEM (EINVAL for a bad alignment), except
 *     posix_memalign, which returns the error and leaves errno alone.
 *   - posix_memalign wants a power of two that is a multiple of
 *     sizeof(void *); aligned_alloc and memalign any power of two.  The
 *     library aligns up to 2 MiB; larger alignments fail with ENOMEM.
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
#include "page/page.h"

/* Tells pool.c that free() of a stranger is to be ignored (see above). */
MP_HIDDEN const bool mp_malloc_override = true;

extern MP_HIDDEN struct mpool mp_default_pool;
#define DEFAULT_POOL (&mp_default_pool)

/* These replace the C library's; their prototypes come from <stdlib.h>
 * and <malloc.h>, declared again here for the ones glibc hides. */
#define EXPORT __attribute__((visibility("default")))
EXPORT void *memalign(size_t alignment, size_t size);
EXPORT void *valloc(size_t size);
EXPORT void *pvalloc(size_t size);
EXPORT size_t malloc_usable_size(void *ptr);

EXPORT void *
malloc(size_t size)
{
    return mpool_alloc(DEFAULT_POOL, size);
}

EXPORT void
free(void *ptr)
{
    mpool_free(DEFAULT_POOL, ptr);
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

/* An alignment the pool cannot give is a lack of memory for POSIX. */
static void *
aligned(size_t alignment, size_t size)
{
    void *p = mpool_aligned_alloc(DEFAULT_POOL, alignment, size);

    if (p == NULL && errno == EINVAL &&
        (alignment & (alignment - 1)) == 0 && alignment != 0)
        errno = ENOMEM;
    return p;
}

EXPORT int
posix_memalign(void **out, size_t alignment, size_t size)
{
    int saved = errno;
    void *p;

    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    p = aligned(alignment, size);
    if (p == NULL) {
        int e = errno;
        errno = saved;
        return e;
    }
    *out = p;
    return 0;
}

EXPORT void *
aligned_alloc(size_t alignment, size_t size)
{
    return aligned(alignment, size);
}

EXPORT void *
memalign(size_t alignment, size_t size)
{
    return aligned(alignment, size);
}

EXPORT void *
valloc(size_t size)
{
    return aligned(mpool_page_size(), size);
}

EXPORT void *
pvalloc(size_t size)
{
    size_t page = mpool_page_size();

    if (size > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    return aligned(page, size == 0 ? page : (size + page - 1) & ~(page - 1));
}

EXPORT size_t
malloc_usable_size(void *ptr)
{
    return mpool_usable_size(ptr);
}
