/* SPDX-License-Identifier: MIT */
/*
 * backends/mmap/backend-inline.h - the mmap backend's geometry (see
 * lib/backend.h); its inline primitives (lock, CPU id, thread table,
 * errno) are the hosted ones, in backends/hosted/hosted-inline.h.
 *
 * Segments are 4 MiB, aligned to 4 MiB, so that the segment header of any
 * address the library handed out is `addr & ~(4 MiB - 1)`.  Pages are 4 KiB;
 * a build for a machine with larger pages sets MP_PAGE_SHIFT in CPPFLAGS.
 */
#ifndef MP_BACKEND_INLINE_H
#define MP_BACKEND_INLINE_H

#ifndef MP_PAGE_SHIFT
#define MP_PAGE_SHIFT 12 /* 4 KiB */
#endif
#define MP_SEGMENT_SHIFT 22 /* 4 MiB */
#define MP_ADDRESS_BITS 48  /* user space on x86-64, AArch64, RV64 Sv48 */
#define MP_ARENAS_MAX 64

#include "../hosted/hosted-inline.h"

#endif /* MP_BACKEND_INLINE_H */
