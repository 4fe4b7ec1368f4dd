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

/* set-option.c: whether key is one of mpool_set_option's (hosted/options.c
 * tells an unknown key from a bad value so). */
MP_HIDDEN bool mp_option_known(const char *key);

/* hosted/options.c: the cache report at exit on (true) or off: 0, or an
 * error number.  A weak reference elsewhere: "stats" is ENOTSUP there. */
MP_HIDDEN int mp_option_stats(bool on) __attribute__((weak));

#endif /* MP_TOP_H */
