/* SPDX-License-Identifier: MIT */
/*
 * fault.c - fault injection for tests: make the Nth request for segments
 * from the backend fail with ENOMEM, as if the system had no memory left.
 *
 * mp_fault_countdown is 0 (disarmed) in every program that does not set
 * it; the only test-only code is here, and what it costs elsewhere is one
 * relaxed load in mp_segment_acquire (segment.c), the slow path that asks
 * the backend for segments and never runs on an allocation fast path.  A
 * test linked with the core (t/fault-t.c) stores N > 0; each request then
 * counts it down, and the one that takes it from 1 to 0 fails, which also
 * disarms it (or, with mp_fault_persist, that one and all after it).  Stored as a large number, it counts requests instead:
 * what was stored minus what is left is how many were made.  The variable
 * is hidden: the shared library does not export it.  See doc/design.md,
 * "Fault injection".
 */
#include "page/page.h"

MP_HIDDEN _Atomic long mp_fault_countdown;
/* With this set, the request that reaches 0 leaves the countdown at 1, so
 * that it and every request after it fail until the test disarms it: the
 * system stays out of memory, and the library's retries (reclaim, other
 * arenas' free pages) cannot absorb the failure. */
MP_HIDDEN _Atomic bool mp_fault_persist;
/* Requests failed so far. */
MP_HIDDEN _Atomic long mp_fault_injected;

int
mp_fault_hit(void)
{
    long n = atomic_load_explicit(&mp_fault_countdown, memory_order_relaxed);

    /* a compare-and-swap, so that racing requests fail exactly once */
    while (n > 0) {
        if ((n == 1 && atomic_load_explicit(&mp_fault_persist,
                                            memory_order_relaxed)) ||
            atomic_compare_exchange_weak_explicit(
                &mp_fault_countdown, &n, n - 1, memory_order_relaxed,
                memory_order_relaxed)) {
            if (n != 1)
                return 0;
            atomic_fetch_add_explicit(&mp_fault_injected, 1,
                                      memory_order_relaxed);
            return ENOMEM;
        }
    }
    return 0;
}
