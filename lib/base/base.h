/* SPDX-License-Identifier: MIT */
/*
 * base/base.h - what every layer of the core uses: attribute macros, the
 * hiding of program pointers from valgrind's leak scan, the corruption
 * reporter, checking-build assertions, and the one-time initialisation's
 * state.  The base layer sits on the backend (backend.h) and below the
 * page level; it names nothing of the layers above it.
 *
 * The layers, bottom up (README's Layout table, doc/design.md §1):
 *
 *   backend   backends/<name>/, through lib/backend.h
 *   base      lib/base/    this header, locks and the lock order (lock.h)
 *   page      lib/page/    segments, arenas, the buddy system, huge spans
 *   cache     lib/cache/   object caches: slabs, magazines, checking mode
 *   pool      lib/pool/    pools: size classes, large blocks, regions
 *   top       lib/         init.c and reclaim.c drive every layer;
 *             lib/hosted/  what only hosted builds have (malloc, fork, report)
 *
 * A file includes headers of its own layer and of layers below it only
 * (t/layers-t.sh checks it).
 */
#ifndef MP_BASE_H
#define MP_BASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define MP_HIDDEN __attribute__((visibility("hidden")))
#define MP_LIKELY(x) __builtin_expect(!!(x), 1)
#define MP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MP_NOINLINE __attribute__((noinline))
#define MP_NORETURN __attribute__((noreturn))

/* Checking builds (./configure --enable-checking) define MP_CHECKING to 1:
 * MP_ASSERT then checks the invariants stated next to the code, and the
 * lock-order checker (lock.h) watches every lock.  Release builds compile
 * both away; no fast path carries either. */
#ifndef MP_CHECKING
#define MP_CHECKING 0
#endif

/* ------------------------------------------------------------------------
 * error.c
 * ------------------------------------------------------------------------ */

/* Report heap corruption, naming what and where, and stop the program. */
MP_HIDDEN MP_NORETURN void mp_panic(const char *function, const char *what,
                                    const void *addr);
/* The same, naming the cache (and the cache the object belongs to, for a
 * free into the wrong one); either name may be NULL. */
MP_HIDDEN MP_NORETURN void mp_cache_panic(const char *function,
                                          const char *what, const void *addr,
                                          const char *cache,
                                          const char *other);
/* A checking build's assertion failed: "libmpool: assertion failed:
 * <expr> at <file>:<line>", then stop. */
MP_HIDDEN MP_NORETURN void mp_assert_fail(const char *expr, const char *file,
                                          unsigned line);

/* The reporters' formatting, by hand (no stdio, no allocation): append a
 * string, a number in hex with 0x, or in decimal to buf[at .. cap);
 * return the new end. */
MP_HIDDEN size_t mp_fmt_str(char *buf, size_t at, size_t cap, const char *s);
MP_HIDDEN size_t mp_fmt_hex(char *buf, size_t at, size_t cap, uintptr_t v);
MP_HIDDEN size_t mp_fmt_uint(char *buf, size_t at, size_t cap,
                             unsigned long v);

#if MP_CHECKING
#define MP_ASSERT(expr)                                                    \
    do {                                                                   \
        if (MP_UNLIKELY(!(expr)))                                          \
            mp_assert_fail(#expr, __FILE__, __LINE__);                     \
    } while (0)
#else
#define MP_ASSERT(expr) ((void)0)
#endif

/* ------------------------------------------------------------------------
 * Program pointers kept by the library
 * ------------------------------------------------------------------------ */

/* The library's records of where the program's blocks are (a slab's first
 * object, a large block) are kept with the top bit flipped: not pointers to
 * valgrind's leak check, which scans the library's metadata like any
 * memory and would otherwise take them for references that keep a leaked
 * block reachable. */
#define MP_HIDE_BIT ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))

static inline uintptr_t
mp_hide(const void *p)
{
    return (uintptr_t)p ^ MP_HIDE_BIT;
}

static inline char *
mp_unhide(uintptr_t hidden)
{
    return (char *)(hidden ^ MP_HIDE_BIT);
}

/* ------------------------------------------------------------------------
 * One-time initialisation
 * ------------------------------------------------------------------------ */

/* 0 none, 1 busy, 2 done, 3 failed.  The state lives here so that every
 * layer's public entry points can test it; the work, which sets up each
 * layer bottom up, is the top layer's (init.c implements mp_init_slow). */
extern MP_HIDDEN _Atomic int mp_init_state;

MP_HIDDEN int mp_init_slow(void);

/* 0 when the library is ready; an error number otherwise. */
static inline int
mp_init(void)
{
    if (MP_LIKELY(atomic_load_explicit(&mp_init_state, memory_order_acquire)
                  == 2))
        return 0;
    return mp_init_slow();
}

static inline bool
mp_initialised(void)
{
    return atomic_load_explicit(&mp_init_state, memory_order_acquire) == 2;
}

#include "base/lock.h"

#endif /* MP_BASE_H */
