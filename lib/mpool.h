/* SPDX-License-Identifier: MIT */
/*
 * mpool.h - the public interface of libmpool, and the only installed header.
 *
 * libmpool is a memory-allocation library: a page allocator over page
 * providers ("backends") chosen when the library is configured, with object
 * caches and pools built on top.  Everything a program may call is declared
 * here; every other symbol in the library is hidden.
 *
 * Conventions, as in the C library:
 *   - A function that returns a pointer returns NULL on failure and sets
 *     errno; one that returns int returns -1 and sets errno.
 *   - A successful call leaves errno as it was.
 *   - Every function is thread-safe unless its manual page says otherwise.
 *
 * Each function has a manual page in section 3; libmpool(7) is the overview.
 */
#ifndef MPOOL_H
#define MPOOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MPOOL_VERSION_MAJOR 0
#define MPOOL_VERSION_MINOR 1
#define MPOOL_VERSION_PATCH 0

#if defined(__GNUC__) || defined(__clang__)
#define MPOOL_API __attribute__((visibility("default")))
#define MPOOL_ATTR_MALLOC __attribute__((malloc))
#define MPOOL_ATTR_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define MPOOL_API
#define MPOOL_ATTR_MALLOC
#define MPOOL_ATTR_WARN_UNUSED
#endif

/* ------------------------------------------------------------------------
 * Handles
 * ------------------------------------------------------------------------ */

/* A pool: an independent heap.  Opaque. */
typedef struct mpool mpool_t;

/* ------------------------------------------------------------------------
 * Pages
 *
 * The page level hands out runs of whole pages, from one page to runs larger
 * than a backend segment, aligned to the page size.  It is what every other
 * layer of the library is built on, and it is public for callers that want
 * pages themselves: a kernel's page tables, a program's large buffers.
 * ------------------------------------------------------------------------ */

/* The size in bytes of the pages handed out by mpool_pages_alloc(). */
MPOOL_API size_t mpool_page_size(void);

/* A run of npages contiguous pages, aligned to mpool_page_size().  Its
 * contents are unspecified.  NULL with errno EINVAL for npages == 0, ENOMEM
 * when the backend has no memory or npages is too large to represent. */
MPOOL_API void *mpool_pages_alloc(size_t npages)
    MPOOL_ATTR_MALLOC MPOOL_ATTR_WARN_UNUSED;

/* Give back a run from mpool_pages_alloc(); npages must be the count it was
 * allocated with.  Returns 0; addr == NULL does nothing and returns 0.
 * -1 with errno EINVAL when addr is not the start of a live run from
 * mpool_pages_alloc() or npages does not match; nothing is changed then. */
MPOOL_API int mpool_pages_free(void *addr, size_t npages);

/* ------------------------------------------------------------------------
 * Reclaim
 * ------------------------------------------------------------------------ */

/* Give free memory back to the backend: free pages that still hold physical
 * memory are purged, and segments with no page in use are released.  Returns
 * the number of pages (of mpool_page_size() bytes) that held memory before
 * the call and no longer do.  pool == NULL reclaims everything the library
 * holds; any other value gives 0 with errno EINVAL in this version, which has
 * no pools yet. */
MPOOL_API size_t mpool_reclaim(mpool_t *pool);

#ifdef __cplusplus
}
#endif

#endif /* MPOOL_H */
