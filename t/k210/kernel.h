/* SPDX-License-Identifier: MIT */
/*
 * t/k210/kernel.h - the little kernel under the bare-metal test images:
 * console, exit, harts, TAP and test helpers.  No libc: everything here is
 * freestanding C on QEMU's virt machine (16550 UART, test finisher, CLINT).
 *
 * Hart 0 runs main(), which the kernel owns: it calls the image's
 * test_main(), and hands hart 1 to test_secondary() when test_main() calls
 * rv_release_secondary().  Hart 0 prints the plan and every result; hart 1
 * reports through shared memory, or through diag(), which any hart may call.
 */
#ifndef RV_KERNEL_H
#define RV_KERNEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The library's interface, the k210 part included (mpool-k210.h:
 * mpool_k210_init, the hooks this kernel overrides, mpool_errno; it brings
 * in mpool.h, freestanding here); the backend's header for the error
 * numbers, as there is no <errno.h> without a C library. */
#include "backend-inline.h"
#include "mpool-k210.h"

#define RV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define RV_NORETURN __attribute__((noreturn))

#define RV_NHARTS 2 /* harts that run tests; start.S parks the others */

/* Free RAM after the image, from link.ld. */
extern char __free_start[], __ram_end[];

/* ---- what a test image provides ---- */

/* Hart 0's tests; returns nothing: the kernel counts the results. */
void test_main(void);
/* Hart 1's part, started by rv_release_secondary(). */
void test_secondary(unsigned hart);

/* ---- machine ---- */

unsigned rv_hartid(void);
/* The CLINT's mtime: 10 MHz on QEMU virt. */
uint64_t rv_mtime(void);
#define RV_MTIME_HZ 10000000u
/* Stop QEMU: 0 passes, anything else fails with exit status 1..255. */
void rv_exit(int code) RV_NORETURN;
/* Write bytes to the UART (no lock: use the TAP functions below). */
void rv_write(const char *s, size_t len);

/* ---- spinlock on a 32-bit atomic (8/16-bit atomics need libatomic) ---- */

typedef struct rv_lock {
    atomic_uint owner; /* 0 free, else hart id + 1 */
} rv_lock_t;
void rv_lock(rv_lock_t *lock);
void rv_unlock(rv_lock_t *lock);

/* ---- harts ---- */

/* Let hart 1 run test_secondary(); call once, after mpool_k210_init(). */
void rv_release_secondary(void);
/* Both harts meet here; hart 0 bails out if hart 1 does not come within
 * RV_WAIT_SECONDS (say what it was waiting for). */
void rv_barrier(const char *what);
/* A deadline RV_WAIT_SECONDS from now, for loops that wait on the other
 * hart, and the check that bails out once it has passed. */
uint64_t rv_deadline(void);
void rv_check_deadline(uint64_t deadline, const char *what);
/* Hart 0 waits until test_secondary() has returned. */
void rv_wait_secondary(const char *what);
#define RV_WAIT_SECONDS 30

/* A one-way mailbox between two harts, a ring of atomic slots: the sender
 * owns head, the receiver tail.  Zero-initialise. */
#define RV_MBOX_SLOTS 64
typedef struct rv_mbox {
    _Atomic(uintptr_t) slot[RV_MBOX_SLOTS];
    unsigned head; /* next slot to fill (sender only) */
    unsigned tail; /* next slot to empty (receiver only) */
} rv_mbox_t;
/* What a sender posts in place of an object it failed to allocate, so
 * that the receiver's count still adds up. */
#define RV_MBOX_FAILED ((void *)1)
/* Post p (non-zero); false when the ring is full. */
bool rv_mbox_put(rv_mbox_t *mbox, void *p);
/* The next pointer posted, or NULL when there is none yet. */
void *rv_mbox_get(rv_mbox_t *mbox);

/* ---- TAP on the UART; lines are whole even when both harts print ---- */

void plan(unsigned count);
bool ok(bool pass, const char *fmt, ...) RV_PRINTF(2, 3);
bool is_u(unsigned long got, unsigned long want, const char *fmt, ...)
    RV_PRINTF(3, 4);
void diag(const char *fmt, ...) RV_PRINTF(1, 2);
void bail(const char *fmt, ...) RV_PRINTF(1, 2) RV_NORETURN;
/* main's exit status: 0 when every planned test ran and passed. */
int tap_status(void);

/* printf for the subset %[-0][width][l|ll|z](d|i|u|x|p|s|c|%). */
void rv_printf(const char *fmt, ...) RV_PRINTF(1, 2);

/* ---- a fatal error the image expects ---- */

/* Called by the library's halt instead of failing the run, when set; must
 * not return (e.g. __builtin_longjmp back into the test). */
extern void (*rv_halt_hook)(void);
/* The library's last diagnostic, as written to the UART. */
extern char rv_last_error[256];

/* ---- test helpers ---- */

/* xorshift64*: a per-hart pseudo-random sequence. */
uint64_t rv_rand(uint64_t *state);
/* Fill len bytes with a pattern made from seed and each word's offset, and
 * check it: rv_check returns the offset of the first wrong byte, or
 * SIZE_MAX when all are right. */
void rv_fill(void *p, size_t len, uint64_t seed);
size_t rv_check(const void *p, size_t len, uint64_t seed);


#endif /* RV_KERNEL_H */
