/* SPDX-License-Identifier: MIT */
/*
 * mpool.h - the public interface of libmpool, installed with every backend.
 *
 * libmpool is a memory-allocation library: a page allocator over page
 * providers ("backends") chosen when the library is configured, with object
 * caches and pools built on top.  Everything a program may call on any
 * backend is declared here; what only one backend has is in a header of its
 * own, installed by that backend alone (mpool-k210.h).  Every other symbol
 * in the library is hidden.
 *
 * Conventions, as in the C library:
 *   - A function that returns a pointer returns NULL on failure and sets
 *     errno; one that returns int returns -1 and sets errno.  (The k210
 *     backend sets an error number of its own as well, mpool_errno in
 *     mpool-k210.h: on bare metal there is no errno of a C library.)
 *   - A successful call leaves errno as it was.
 *   - Every function is thread-safe unless its manual page says otherwise.
 *
 * Each function has a manual page in section 3; libmpool(7) is the overview.
 */
#ifndef MPOOL_H
#define MPOOL_H

/* Two independent settings shape this header:
 *
 *   MPOOL_FREESTANDING  the program has no C library beyond the
 *       freestanding headers (a kernel): the header includes only
 *       <stddef.h> and <stdint.h>, and leaves out what takes a FILE stream
 *       or a file descriptor (mpool_report, mpool_report_fd).  A program
 *       defines it, or is compiled with -ffreestanding, which defines it
 *       here.
 *   MPOOL_K210  the program is linked with a library configured with
 *       --with-backend=k210, on bare metal or in its host build: the header
 *       leaves out what that library does not have (mpool_report,
 *       mpool_report_fd), and includes mpool-k210.h, the k210 backend's
 *       interface, at its end.  mpool-k210.h defines it, so a program may
 *       include that header instead. */
#if !defined(MPOOL_FREESTANDING) && defined(__STDC_HOSTED__) &&             \
    __STDC_HOSTED__ == 0
#define MPOOL_FREESTANDING 1
#endif

#include <stddef.h>
#include <stdint.h>
#if !defined(MPOOL_FREESTANDING)
#include <stdarg.h>
#include <stdio.h>
#endif

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
#define MPOOL_ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MPOOL_API
#define MPOOL_ATTR_MALLOC
#define MPOOL_ATTR_WARN_UNUSED
#define MPOOL_ATTR_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------------
 * Handles
 * ------------------------------------------------------------------------ */

/* A pool: an independent heap.  Opaque. */
typedef struct mpool mpool_t;

/* An object cache: objects of one size, kept constructed.  Opaque. */
typedef struct mpool_cache mpool_cache_t;

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
 * Pools
 *
 * A pool is an independent heap: blocks of any size, from size classes 8 B
 * .. 8 MiB (each an object cache of the pool's own, so allocation and free
 * use the same per-thread magazines as caches) and page runs above that.
 * mpool_destroy() releases everything the pool holds at once.
 * ------------------------------------------------------------------------ */

/* Options for mpool_create().  Set .size to sizeof(mpool_options_t): later
 * versions may add fields at the end. */
typedef struct mpool_options {
    size_t size;      /* in: sizeof(mpool_options_t) */
    const char *name; /* for reports and error messages; may be NULL */
    size_t limit;     /* most bytes of pages the pool may hold; 0: none.
                         Past it allocation fails with ENOMEM. */
    void *region;     /* NULL, or memory the pool is to carve all of its
                         blocks from, never touching a byte outside it */
    size_t region_size;
    size_t retain;    /* most bytes of empty slabs the pool keeps for
                         reuse; past it, freed memory goes back to the
                         system at once.  0: keep them until
                         mpool_reclaim(). */
    unsigned flags;   /* MPOOL_SINGLE_THREADED */
    mpool_t *parent;  /* NULL, or the pool this one is a child of: it is
                         destroyed, depth first, when its parent is
                         destroyed or reset (since 0.2; a .size that ends
                         before it means NULL).  The default pool may be a
                         parent; never destroyed nor reset, it leaves its
                         children until each is destroyed. */
} mpool_options_t;

/* Flags for mpool_options_t.flags. */
#define MPOOL_SINGLE_THREADED 0x1u /* one thread uses the pool: it takes no
                                      locks of its own, and other threads'
                                      reclaims leave it alone */

/* A new pool; opt == NULL gives the defaults.  NULL with errno EINVAL
 * (opt->size too small, an unknown flag, a region too small for one
 * block, or a parent that is not a live pool or is being destroyed) or
 * ENOMEM. */
MPOOL_API mpool_t *mpool_create(const mpool_options_t *opt)
    MPOOL_ATTR_WARN_UNUSED;
/* Release every block of the pool and the pool itself, after destroying
 * its children, depth first.  NULL and the default pool are left alone. */
MPOOL_API void mpool_destroy(mpool_t *pool);
/* The process's default pool, which always exists. */
MPOOL_API mpool_t *mpool_default(void);
/* size bytes (0: a unique block that can be freed), 16-byte aligned when
 * size > 8.  NULL with errno ENOMEM. */
MPOOL_API void *mpool_alloc(mpool_t *pool, size_t size) MPOOL_ATTR_MALLOC;
/* nmemb * size zeroed bytes; NULL with errno ENOMEM on overflow. */
MPOOL_API void *mpool_calloc(mpool_t *pool, size_t nmemb, size_t size)
    MPOOL_ATTR_MALLOC;
/* size bytes aligned to alignment, any power of two (past 2 MiB, half a
 * segment on k210, a page run of its own): NULL with errno EINVAL for 0 or
 * not a power of two, ENOMEM when there is no memory or no run can hold
 * the alignment. */
MPOOL_API void *mpool_aligned_alloc(mpool_t *pool, size_t alignment,
                                    size_t size) MPOOL_ATTR_MALLOC;
/* Resize a block, in place when it stays in its class; ptr == NULL is
 * mpool_alloc.  On failure NULL with errno ENOMEM, and ptr is untouched. */
MPOOL_API void *mpool_realloc(mpool_t *pool, void *ptr, size_t size);
/* Free a block of the pool; NULL does nothing. */
MPOOL_API void mpool_free(mpool_t *pool, void *ptr);
/* Bytes usable in a block (>= the size asked for); 0 for NULL. */
MPOOL_API size_t mpool_usable_size(const void *ptr);

/* Free every block of the pool at once, and destroy its children first
 * (depth first); the pool stays usable with its options, and keeps up to
 * its retain bytes of slabs warm (all of them when retain is 0, until
 * mpool_reclaim).  0; -1 with errno EINVAL for NULL, the default pool or
 * something not a pool. */
MPOOL_API int mpool_reset(mpool_t *pool);

/* Call fn once for every live block of the pool, with its usable size;
 * stop when fn returns non-zero and return that value.  0 after a full
 * walk; -1 with errno EINVAL for a NULL pool or fn, or something not a
 * pool.  No other thread may allocate from or free to the pool meanwhile,
 * and fn must not either. */
typedef int mpool_walk_fn(void *block, size_t usable_size, void *arg);
MPOOL_API int mpool_walk(mpool_t *pool, mpool_walk_fn *fn, void *arg);

/* Copies of strings in the pool: s (strdup), at most n bytes of s
 * (strndup), always NUL-terminated.  NULL with errno EINVAL (pool or s
 * NULL) or ENOMEM. */
MPOOL_API char *mpool_strdup(mpool_t *pool, const char *s) MPOOL_ATTR_MALLOC;
MPOOL_API char *mpool_strndup(mpool_t *pool, const char *s, size_t n)
    MPOOL_ATTR_MALLOC;

/* Statistics of one pool.  Set .size to sizeof(mpool_stats_t) before the
 * call: a later version may add fields at the end, and fills in only those
 * the caller's size covers.  Exact when no other thread uses the pool
 * during the call, a consistent snapshot otherwise. */
typedef struct mpool_stats {
    size_t size;            /* in: sizeof(mpool_stats_t) */
    size_t bytes_in_use;    /* usable bytes of the pool's live blocks */
    size_t blocks_in_use;   /* live blocks */
    size_t bytes_held;      /* bytes of pages the pool holds, in use or not */
    size_t bytes_held_peak; /* highest bytes_held since mpool_create or
                               mpool_reset */
    size_t limit;           /* as set at mpool_create; 0: none */
    size_t retain;          /* as set at mpool_create; 0: no cap */
    size_t bytes_free;      /* of bytes_held, in free blocks: free objects
                               in slabs and magazines, empty slabs */
    size_t bytes_empty;     /* of bytes_free, in slabs with no live block */
    size_t large_blocks;    /* of blocks_in_use, those served as page runs */
    size_t children;        /* live child pools */
} mpool_stats_t;

/* Fill *stats for a pool (NULL: the default pool).  0; -1 with errno
 * EINVAL (stats NULL, a .size too small, or something not a pool). */
MPOOL_API int mpool_stats(const mpool_t *pool, mpool_stats_t *stats);

/* Statistics of the whole library, every pool and cache.  .size as for
 * mpool_stats_t. */
typedef struct mpool_system_stats {
    size_t size;                 /* in: sizeof(mpool_system_stats_t) */
    size_t bytes_mapped;         /* address space taken from the backend */
    size_t bytes_committed;      /* of it, pages that hold memory (not
                                    purged) */
    size_t bytes_committed_peak; /* highest bytes_committed so far */
    size_t bytes_in_use;         /* in live blocks, objects and page runs,
                                    all pools and caches */
    size_t segments;             /* segments the page level holds */
    size_t pools;                /* live pools, the default one included */
    size_t caches;               /* live object caches made with
                                    mpool_cache_create */
    /* since 0.2: large runs freed and kept for reuse (decay) */
    size_t bytes_retained;       /* address space of the spans kept */
    size_t bytes_retained_dirty; /* of it, pages still holding memory (not
                                    purged yet) */
    size_t spans_retained;       /* spans kept */
} mpool_system_stats_t;

/* Fill *stats.  0; -1 with errno EINVAL (NULL, or a .size too small). */
MPOOL_API int mpool_system_stats(mpool_system_stats_t *stats);

/* ------------------------------------------------------------------------
 * Object caches
 *
 * A cache hands out objects of one size and alignment from slabs of pages.
 * An object keeps its constructed state while it is free: the constructor
 * runs once when the object is first carved out of a slab, the destructor
 * once when its slab is given back (Bonwick's object caching).  Per-thread
 * magazines in front of the slabs make allocation and free take no lock.
 * ------------------------------------------------------------------------ */

/* Build an object in place; return 0, or non-zero to fail the allocation
 * (with errno ENOMEM).  Runs with no lock of the library held: it may
 * allocate from and free to any other cache or pool, not this one
 * (mpool_cache_create(3)). */
typedef int mpool_ctor_fn(void *obj, void *arg);
/* Undo the constructor, just before the object's memory is given back. */
typedef void mpool_dtor_fn(void *obj, void *arg);
/* Called by mpool_reclaim() and when memory runs out: free objects the
 * program holds only as a cache of its own, and return how many. */
typedef size_t mpool_reclaim_fn(void *arg);

#define MPOOL_CACHE_NAME_MAX 31 /* bytes in a cache name, without the NUL */

/* Flags for mpool_cache_create(). */
#define MPOOL_CACHE_ZERO 0x1u       /* objects are zero-filled when handed
                                       out (no constructor allowed) */
#define MPOOL_CACHE_NOMAGAZINE 0x2u /* no per-thread caching: every call
                                       takes the cache's lock */
#define MPOOL_CACHE_DEBUG 0x4u      /* checking mode: red zones, poisoning,
                                       double and wrong-cache frees caught;
                                       also set for every cache by the
                                       environment variable MPOOL_DEBUG=1 */

/* A cache named `name` (unique among live caches) of objects of `size`
 * bytes aligned to `align` (0: 16 when size is a multiple of 16, else 8).  NULL with errno
 * EINVAL (bad size, alignment, name or flags), EEXIST (name in use) or
 * ENOMEM. */
MPOOL_API mpool_cache_t *mpool_cache_create(const char *name, size_t size,
                                            size_t align, mpool_ctor_fn *ctor,
                                            mpool_dtor_fn *dtor, void *arg,
                                            unsigned flags)
    MPOOL_ATTR_WARN_UNUSED;

/* An object from the cache, constructed; NULL with errno ENOMEM. */
MPOOL_API void *mpool_cache_alloc(mpool_cache_t *cache) MPOOL_ATTR_MALLOC;

/* Give an object back to the cache it came from.  obj == NULL does
 * nothing. */
MPOOL_API void mpool_cache_free(mpool_cache_t *cache, void *obj);

/* Destroy a cache with no object allocated: run the destructors, give back
 * every page, and free the name.  0; or -1 with errno EBUSY (objects still
 * allocated: the cache is left intact) or EINVAL (cache is NULL). */
MPOOL_API int mpool_cache_destroy(mpool_cache_t *cache);

/* The live cache called `name`; NULL with errno ENOENT (none) or EINVAL. */
MPOOL_API mpool_cache_t *mpool_cache_find(const char *name);

/* Install a reclaim callback (called with the cache's arg), or remove it
 * with NULL.  0, or -1 with errno EINVAL. */
MPOOL_API int mpool_cache_set_reclaim(mpool_cache_t *cache,
                                      mpool_reclaim_fn *fn);

/* How a cache caches objects per thread, as mpool_cache_stats_t.mode. */
#define MPOOL_MAGAZINE_NONE 0       /* no magazines (flag or checking mode) */
#define MPOOL_MAGAZINE_PER_THREAD 1 /* one magazine stack per thread */

/* Statistics for one cache.  Set .size to sizeof(mpool_cache_stats_t)
 * before the call: a later version may add fields at the end, and fills in
 * only those that the caller's size covers. */
typedef struct mpool_cache_stats {
    size_t size;                         /* in: sizeof this struct */
    char name[MPOOL_CACHE_NAME_MAX + 1]; /* the cache's name */
    size_t object_size;                  /* size as requested */
    size_t align;                        /* alignment of every object */
    size_t stride;                       /* bytes from one object to the next */
    size_t slab_size;                    /* bytes in one slab */
    size_t objects_per_slab;
    size_t objects_in_use;               /* allocated by the program */
    size_t objects_cached;               /* free, held in magazines */
    size_t objects_total;                /* carved out of slabs so far and
                                            not given back */
    size_t slabs_full;                   /* no free object */
    size_t slabs_partial;
    size_t slabs_empty;                  /* no object out */
    size_t pages;                        /* pages held by the slabs */
    size_t waste;                        /* bytes of those pages that hold no
                                            object (tails, descriptors) */
    uint64_t allocs;                     /* mpool_cache_alloc() successes */
    uint64_t frees;                      /* mpool_cache_free() calls */
    uint64_t magazine_hits;              /* calls served by a magazine */
    uint64_t magazine_misses;            /* calls that went to the depot or
                                            the slabs */
    unsigned mode;                       /* MPOOL_MAGAZINE_* */
    unsigned flags;                      /* as given to mpool_cache_create */
} mpool_cache_stats_t;

/* Fill *stats.  0, or -1 with errno EINVAL (NULL argument, or a .size
 * smaller than the fields of version 0.1). */
MPOOL_API int mpool_cache_stats(const mpool_cache_t *cache,
                                mpool_cache_stats_t *stats);

/* A table of every live cache, one line each, like /proc/slabinfo.  0, or
 * -1 with errno from the failed write (EBADF, EIO, ...).  Hosted backends
 * only (mmap, sbrk), for programs with a C library: MPOOL_HAVE_REPORT says
 * they are declared. */
#if !defined(MPOOL_FREESTANDING) && !defined(MPOOL_K210)
#define MPOOL_HAVE_REPORT 1
MPOOL_API int mpool_report_fd(int fd);
MPOOL_API int mpool_report(FILE *stream);

/* A string in the pool formatted as printf would.  NULL with errno EINVAL
 * (pool or fmt NULL, or a bad format) or ENOMEM.  Hosted backends only, as
 * mpool_report. */
MPOOL_API char *mpool_asprintf(mpool_t *pool, const char *fmt, ...)
    MPOOL_ATTR_MALLOC MPOOL_ATTR_PRINTF(2, 3);
MPOOL_API char *mpool_vasprintf(mpool_t *pool, const char *fmt, va_list ap)
    MPOOL_ATTR_MALLOC MPOOL_ATTR_PRINTF(2, 0);
#endif

/* ------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------ */

/* Set one of the options MPOOL_OPTIONS="key=value,..." sets at start-up
 * (libmpool(7), ENVIRONMENT): debug, stats, retain, magazine, thp.  For a
 * program or kernel with no environment; call it before other threads use
 * the library.  0; -1 with errno EINVAL (key or value NULL, an unknown key
 * or a bad value: nothing is changed) or ENOTSUP (a key this backend does
 * not have). */
MPOOL_API int mpool_set_option(const char *key, const char *value);

/* ------------------------------------------------------------------------
 * Reclaim
 * ------------------------------------------------------------------------ */

/* Give free memory back to the backend: the caches' reclaim callbacks run,
 * objects cached in magazines go back to their slabs, empty slabs go back
 * to the page level, free pages that still hold physical memory are purged,
 * and segments with no page in use are released.  Returns
 * the number of pages (of mpool_page_size() bytes) that held memory before
 * the call and no longer do.  pool == NULL reclaims everything the library
 * holds; a pool, that pool's free objects and empty slabs, and then the free
 * pages of the page level.  0 with errno EINVAL for something not a pool. */
MPOOL_API size_t mpool_reclaim(mpool_t *pool);

/* ------------------------------------------------------------------------
 * Checking mode
 * ------------------------------------------------------------------------ */

/* Checking mode (1) or not (0) for every cache, pool class and large block
 * created afterwards, as MPOOL_DEBUG=1 does at start-up: red zones, double
 * free and wrong-free detection, quarantine, guard pages.  For a program
 * or kernel with no environment; call it before other threads use the
 * library.  Returns the previous setting, or -1 with errno EINVAL. */
MPOOL_API int mpool_set_debug(int on);

#ifdef __cplusplus
}
#endif

/* The k210 backend's interface, for programs that define MPOOL_K210 and
 * include this header. */
#ifdef MPOOL_K210
#include "mpool-k210.h"
#endif

#endif /* MPOOL_H */
