/* SPDX-License-Identifier: MIT */
/*
 * mpool-k210.h - the k210 backend's interface: handing the library its RAM
 * on bare metal, the hooks a kernel provides, and the library's own errno.
 *
 * Installed only by a library configured with --with-backend=k210 (its
 * host build and the bare-metal one, --host=riscv64-unknown-elf), next to
 * mpool.h, because only that library has these functions.  A program for it
 * includes this header; it brings in mpool.h and defines MPOOL_K210 first,
 * so that mpool.h leaves out what the k210 library does not have
 * (mpool_report, mpool_report_fd).  A program that defines MPOOL_K210 and
 * includes mpool.h gets this header from there.
 *
 * Being freestanding is a separate matter (MPOOL_FREESTANDING, mpool.h): a
 * kernel on the K210 is both, the host build's test programs only k210.
 *
 * See mpool_k210_init(3).
 */
#ifndef MPOOL_K210_H
#define MPOOL_K210_H

#ifndef MPOOL_K210
#define MPOOL_K210 1
#endif

#include "mpool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hand the library its RAM, [base, base + len), once, before any other
 * call; it uses the whole 256 KiB-aligned segments inside.  0, or -1 with
 * mpool_errno EINVAL (NULL, empty or wrapping range, no whole segment in
 * it, more than 256 MiB, or a second call). */
MPOOL_API int mpool_k210_init(void *base, size_t len);

/* Hooks: weak defaults in the library, which a kernel replaces by defining
 * its own.  The calling hart's id, 0 .. MP_K210_HARTS - 1 (default: the
 * mhartid CSR, M-mode only).  Diagnostics, one line each (default: none).
 * Stop after a fatal error (default: wfi forever). */
MPOOL_API unsigned mpool_k210_hart_id(void);
MPOOL_API void mpool_k210_write(const char *msg, size_t len);
MPOOL_API void mpool_k210_halt(void);

/* The library's errno, one per hart: where it stores the error number of
 * a failed call (the host build sets the C library's errno as well). */
MPOOL_API int *mpool_errno_location(void);
#define mpool_errno (*mpool_errno_location())

#ifdef __cplusplus
}
#endif

#endif /* MPOOL_K210_H */
