/* SPDX-License-Identifier: MIT */
/*
 * backends/hosted/hosted.h - what hosted.c offers the hosted backends'
 * own files (never the core): the configuration every Linux backend
 * reports, and purging with madvise(2).
 */
#ifndef MP_HOSTED_H
#define MP_HOSTED_H

#include "backend.h"

#define MP_HOSTED_HIDDEN __attribute__((visibility("hidden")))

/* Fill in the page size and the CPU count; EINVAL when the library was
 * built for a smaller page than this machine's.  Purging is
 * MADV_DONTNEED on private anonymous memory, so it is possible and a
 * purged range reads back as zeros. */
MP_HOSTED_HIDDEN int mp_hosted_config(mp_backend_config_t *cfg);

/* madvise(MADV_DONTNEED) on [addr, addr + len): 0 or an error number;
 * errno is left as it was. */
MP_HOSTED_HIDDEN int mp_hosted_purge(void *addr, size_t len);

/* madvise(MADV_HUGEPAGE) on the 2 MiB-aligned part of [addr, addr + len)
 * when transparent huge pages were asked for (mp_backend_huge_pages),
 * else nothing.  For segments as they are handed out; errno is left as it
 * was, and a refusal is not an error (the memory works all the same). */
MP_HOSTED_HIDDEN void mp_hosted_advise_huge(void *addr, size_t len);

#endif /* MP_HOSTED_H */
