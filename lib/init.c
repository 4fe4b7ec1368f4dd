/* SPDX-License-Identifier: MIT */
/*
 * init.c - the library's global state and its one-time initialisation.
 *
 * Initialisation is lazy: the first call that needs the library sets it up,
 * so there is no constructor to order against a program's own, and the
 * same code runs on bare metal, where there are no constructors at all.
 * One thread wins a compare-and-swap and does the work; any other thread
 * arriving meanwhile waits for it.  After that, mp_init() is one load.
 */
#include "top.h"
#include "base/vg.h"



static int init_error; /* why initialisation failed, once it has */

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

int
mp_init_slow(void)
{
    int expected = 0;
    int state;

    if (atomic_compare_exchange_strong_explicit(&mp_init_state, &expected, 1,
                                                memory_order_acquire,
                                                memory_order_acquire)) {
        int rc = mp_page_init();

        if (rc != 0) {
            init_error = rc;
            atomic_store_explicit(&mp_init_state, 3, memory_order_release);
            return rc;
        }
#if MPOOL_VALGRIND
        mp_vg_active = mp_vg_running();
#endif
        mp_slab_key_init(&expected); /* a stack address: ASLR's */
        mp_cache_bootstrap();
        mp_pool_bootstrap();
        mp_cache_oom_reclaim = mp_reclaim_all;
        mp_pages_oom = mp_cache_oom;
        atomic_store_explicit(&mp_init_state, 2, memory_order_release);
        if (mp_fork_register != NULL) /* after: it may allocate */
            mp_fork_register();
        return 0;
    }
    while ((state = atomic_load_explicit(&mp_init_state,
                                         memory_order_acquire)) == 1)
        cpu_relax();
    return state == 2 ? 0 : init_error;
}
