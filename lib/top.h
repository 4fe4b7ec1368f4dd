/* SPDX-License-Identifier: MIT */
/*
 * top.h - the top layer's cross-file declarations: init.c, reclaim.c and
 * the hosted files (lib/hosted/), which drive every layer below.  Nothing
 * below includes it.
 */
#ifndef MP_TOP_H
#define MP_TOP_H

#include "pool/pool.h"

/* reclaim.c: what every layer can give back, for an allocation that ran
 * out of memory (installed as mp_cache_oom_reclaim by init.c). */
MP_HIDDEN size_t mp_reclaim_all(void);

/* hosted/fork.c: registered with pthread_atfork once the library is
 * initialised, in hosted builds; a weak reference elsewhere. */
MP_HIDDEN void mp_fork_register(void) __attribute__((weak));

#endif /* MP_TOP_H */
