/* SPDX-License-Identifier: MIT */
/*
 * backends/k210/host.c - the k210 backend's host build: the same backend
 * and core as on the K210, run as a process so that the whole test suite
 * exercises them, with threads standing in for harts.
 *
 *   RAM      a static, page-aligned array of 8 MiB plus the alignment
 *            slack, so that it always holds 32 whole 256 KiB segments (the
 *            K210's 8 MiB of SRAM at 0x80000000 is 32 of them).  The core's
 *            initialisation hands it over (mp_backend_init), unless the
 *            program called mpool_k210_init() with a range of its own
 *            first.  Static storage starts zeroed, so its segments are
 *            reported zero-filled until first used.
 *   harts    each thread gets the next index on its first call; thread
 *            caches are thread-local, and a thread's are flushed when it
 *            exits (a pthread key), as the hosted backends do.
 *   hooks    mpool_k210_write() writes to standard error,
 *            mpool_k210_halt() calls abort().
 *
 * Compiled only in the host build (backends/k210/Makefile.inc).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"

#if MP_K210_TARGET
#error "backends/k210/host.c belongs to the host build, not the target's"
#endif

#define HOST_RAM ((size_t)8 << 20)

static _Alignas(4096) unsigned char host_ram[HOST_RAM + MP_SEGMENT_SIZE -
                                            4096];

void
mp_k210_host_init(void)
{
    /* EINVAL here means the program handed over a range first: keep it. */
    (void)mp_k210_init_range(host_ram, sizeof(host_ram), true);
}

/* ------------------------------------------------------------------------
 * Per-thread state
 * ------------------------------------------------------------------------ */

_Thread_local mp_tcell_t mp_k210_tls_cell = { .tcache = &mp_tcache_empty };

static _Thread_local int host_errno
    __attribute__((tls_model("initial-exec")));
static _Thread_local unsigned host_hart
    __attribute__((tls_model("initial-exec"))); /* index + 1; 0: none */
static _Atomic unsigned host_harts;

int *
mpool_errno_location(void)
{
    return &host_errno;
}

__attribute__((weak)) unsigned
mpool_k210_hart_id(void)
{
    if (__builtin_expect(host_hart == 0, 0))
        host_hart = atomic_fetch_add_explicit(&host_harts, 1,
                                              memory_order_relaxed) +
                    1;
    return host_hart - 1;
}


/* A spinning thread lets the holder run: on the host, harts share CPUs. */
void
mp_backend_yield(void)
{
    int saved_errno = errno;

    sched_yield();
    errno = saved_errno;
}

/* ------------------------------------------------------------------------
 * The hooks' defaults
 * ------------------------------------------------------------------------ */

__attribute__((weak)) void
mpool_k210_write(const char *msg, size_t len)
{
    int saved_errno = errno;

    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, msg, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        msg += n;
        len -= (size_t)n;
    }
    errno = saved_errno;
}

__attribute__((weak)) void
mpool_k210_halt(void)
{
    abort();
}

void
mp_k210_park(void)
{
    abort();
}
