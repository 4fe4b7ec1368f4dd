/* SPDX-License-Identifier: MIT */
/*
 * backends/sbrk/backend-inline.h - the sbrk backend's geometry (see
 * lib/backend.h): the same as mmap's, so the core behaves alike on both;
 * the inline primitives are the hosted ones (backends/hosted/).
 *
 * Segments are 4 MiB, aligned to 4 MiB; the backend pads the break up to
 * that alignment each time it grows it.  Pages are 4 KiB; a build for a
 * machine with larger pages sets MP_PAGE_SHIFT in CPPFLAGS.
 */
#ifndef MP_BACKEND_INLINE_H
#define MP_BACKEND_INLINE_H

#ifndef MP_PAGE_SHIFT
#define MP_PAGE_SHIFT 12 /* 4 KiB */
#endif
#define MP_SEGMENT_SHIFT 22 /* 4 MiB */
#define MP_ADDRESS_BITS 48  /* the break lies in user space: 47 bits */
#define MP_ARENAS_MAX 64

#include "../hosted/hosted-inline.h"

#endif /* MP_BACKEND_INLINE_H */
