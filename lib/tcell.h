/* SPDX-License-Identifier: MIT */
/*
 * tcell.h - the one type a backend keeps for the core per thread (or per
 * hart): its cell.  Apart from backend.h because every backend-inline.h
 * names it, and some programs (the k210 test kernel) include that header
 * alone.
 */
#ifndef MP_TCELL_H
#define MP_TCELL_H

#include <stdatomic.h>
#include <stdint.h>

/* A thread's (or a hart's) cell: the cache table it works on, and the
 * mark it sets while it works on the table.  Another thread (a drain,
 * magazine.c) swaps the table out and reads the mark, so both are atomic;
 * the owner's accesses are plain loads and stores.  The backend keeps one
 * per thread where the fast paths reach it in one or two instructions
 * (initial-exec TLS, or an array indexed by the hart). */
typedef struct mp_tcell {
    void *_Atomic tcache;
    _Atomic uint32_t in_op;
} mp_tcell_t;

/* What a backend's mp_backend_tcell() returns for a cell in initial-exec
 * TLS.  gcc 12 with -fsanitize=address,undefined can test such an address
 * for NULL on stale flags, and report a null member access that is not
 * there (seen in magazine.c's tcache_get): in sanitizer builds the
 * pointer is made opaque, so it gets a real test. */
static inline mp_tcell_t *
mp_tcell_tls(mp_tcell_t *cell)
{
#if defined(__SANITIZE_ADDRESS__)
    __asm__("" : "+r"(cell));
#endif
    return cell;
}

#endif /* MP_TCELL_H */
