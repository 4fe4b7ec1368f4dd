/* SPDX-License-Identifier: MIT */
/*
 * vg.h - what the library tells valgrind's memcheck about the blocks it
 * hands out, so that memcheck sees inside caches and pools as it sees
 * inside malloc.
 *
 * An object handed out by a cache or pool is a heap block to memcheck
 * (VALGRIND_MALLOCLIKE_BLOCK: undefined, or defined where a constructor or
 * a zero fill made it so, and counted in leak checks with the stack that
 * allocated it); a freed one is freed (FREELIKE: inaccessible, and a second
 * free is an invalid free).  The bytes of a pool block past the size asked
 * for, and the padding after each cache object, are inaccessible: red
 * zones.  Destroying a cache or pool frees every block still out in it.
 * The library's own caches are never described, so its metadata shows up
 * neither as errors nor as leaks; where it must read or write inside a
 * freed object (a free-list link, a destructor at slab release) it opens
 * just those bytes first.
 *
 * Under memcheck (mp_vg_running(), asked once at initialisation) no
 * cache gets per-thread magazines and pools fill no fast size table, so
 * every call reaches the slow paths where the requests are made.  The fast
 * paths therefore carry no client request and cost nothing extra outside
 * valgrind; the slow paths pay a test of mp_vg_active.  configure enables
 * this when <valgrind/memcheck.h> is present (--disable-valgrind turns it
 * off); without it every function below is empty.
 */
#ifndef MP_VG_H
#define MP_VG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#if MPOOL_VALGRIND
#include <valgrind/memcheck.h>

extern __attribute__((visibility("hidden"))) bool mp_vg_active;

/* Running under memcheck: under valgrind, and a byte made inaccessible
 * reads back as such (other tools, callgrind among them, answer memcheck's
 * requests with 0, and keep the fast paths). */
static inline bool
mp_vg_running(void)
{
    char probe[8];
    uintptr_t bad;

    if (RUNNING_ON_VALGRIND == 0)
        return false;
    VALGRIND_MAKE_MEM_NOACCESS(probe, sizeof(probe));
    VALGRIND_DISABLE_ERROR_REPORTING;
    bad = (uintptr_t)VALGRIND_CHECK_MEM_IS_ADDRESSABLE(probe, sizeof(probe));
    VALGRIND_ENABLE_ERROR_REPORTING;
    VALGRIND_MAKE_MEM_UNDEFINED(probe, sizeof(probe));
    return bad != 0;
}

#define MP_VG(request)                                                     \
    do {                                                                   \
        if (__builtin_expect(mp_vg_active, 0)) {                           \
            request;                                                       \
        }                                                                  \
    } while (0)

static inline void mp_vg_block_alloc(const void *p, size_t n)
{ MP_VG(VALGRIND_MALLOCLIKE_BLOCK(p, n, 0, 0)); }
static inline void mp_vg_block_free(const void *p)
{ MP_VG(VALGRIND_FREELIKE_BLOCK(p, 0)); }
static inline void mp_vg_block_resize(const void *p, size_t old, size_t n)
{ MP_VG(VALGRIND_RESIZEINPLACE_BLOCK(p, old, n, 0)); }
static inline void mp_vg_noaccess(const void *p, size_t n)
{ MP_VG(VALGRIND_MAKE_MEM_NOACCESS(p, n)); }
static inline void mp_vg_undefined(const void *p, size_t n)
{ MP_VG(VALGRIND_MAKE_MEM_UNDEFINED(p, n)); }
static inline void mp_vg_defined(const void *p, size_t n)
{ MP_VG(VALGRIND_MAKE_MEM_DEFINED(p, n)); }
/* Reading bytes of a block that may lie past what the program asked for
 * (realloc copies the whole usable size): no report for this thread. */
static inline void mp_vg_quiet_begin(void)
{ MP_VG(VALGRIND_DISABLE_ERROR_REPORTING); }
static inline void mp_vg_quiet_end(void)
{ MP_VG(VALGRIND_ENABLE_ERROR_REPORTING); }
/* How many bytes from p on are accessible, up to n: the size the program
 * asked for, of a block whose tail the library made inaccessible. */
static inline size_t
mp_vg_addressable(const void *p, size_t n)
{
    uintptr_t bad = 0;

    if (mp_vg_active) {
        VALGRIND_DISABLE_ERROR_REPORTING;
        bad = (uintptr_t)VALGRIND_CHECK_MEM_IS_ADDRESSABLE(p, n);
        VALGRIND_ENABLE_ERROR_REPORTING;
    }
    return bad != 0 ? (size_t)(bad - (uintptr_t)p) : n;
}

#else /* !MPOOL_VALGRIND */

#define mp_vg_active false
static inline bool mp_vg_running(void) { return false; }
static inline void mp_vg_block_alloc(const void *p, size_t n)
{ (void)p; (void)n; }
static inline void mp_vg_block_free(const void *p) { (void)p; }
static inline void mp_vg_block_resize(const void *p, size_t old, size_t n)
{ (void)p; (void)old; (void)n; }
static inline void mp_vg_noaccess(const void *p, size_t n) { (void)p; (void)n; }
static inline void mp_vg_undefined(const void *p, size_t n) { (void)p; (void)n; }
static inline void mp_vg_defined(const void *p, size_t n) { (void)p; (void)n; }
static inline void mp_vg_quiet_begin(void) {}
static inline void mp_vg_quiet_end(void) {}
static inline size_t mp_vg_addressable(const void *p, size_t n)
{ (void)p; return n; }

#endif /* MPOOL_VALGRIND */
#endif /* MP_VG_H */
